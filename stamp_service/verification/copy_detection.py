"""Copy detection: rules over a stamp's scan history that flag photocopied stamps (docs/copy-detection.md).

A genuine stamp photocopied onto fake goods keeps a valid signature; what gives it away is how it is scanned:
by many phones within hours, in provinces too far apart to travel between, or as a burst of neighbouring
serials from one copied sheet. Each rule has a configurable threshold (config COPY_RULES).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, Mapping

from .geo import province_distance_km
from .verdicts import Reason, reason


@dataclass(frozen=True)
class Rules:
    """Thresholds, with defaults from what the field has seen."""

    devices_per_hour: int = 12  # distinct devices scanning one stamp within an hour: suspected copy
    devices_per_week: int = 30  # distinct devices within 7 days: suspected copy
    warn_devices_per_day: int = 3  # distinct devices within 24 h: more than usual (warning)
    warn_scans_per_week: int = 10  # scans within 7 days: more than usual (warning)
    far_km: int = 300  # two scans this far apart (province seats)...
    far_hours: int = 6  # ...within this many hours: suspected copy
    burst_serials: int = 8  # distinct serials within +/- burst_window of this one...
    burst_window: int = 10
    burst_minutes: int = 15  # ...scanned within these minutes...
    burst_networks: int = 2  # ...from at least this many networks: a copied sheet being tried

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> "Rules":
        """Rules from config COPY_RULES (unknown names refused, values must be positive integers)."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown COPY_RULES: {sorted(unknown)}")
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"COPY_RULES.{name} must be a positive integer")
        return cls(**values)


@dataclass(frozen=True)
class ScanFacts:
    """What the rules need to know about one scan."""

    at: dt.datetime
    who: str  # the device id, or the network hash when there is no device cookie (API callers)
    net_hash: str | None
    province_code: str | None


@dataclass(frozen=True)
class Signals:
    """The rules that fired: suspicions make a suspected copy, warnings a warning."""

    suspicions: list[Reason]
    warnings: list[Reason]


def _since(now: dt.datetime, **delta: float) -> dt.datetime:
    return now - dt.timedelta(**delta)


def evaluate(rules: Rules, current: ScanFacts, history: list[ScanFacts], neighbours: list[tuple[int, str | None]],
             serial: int) -> Signals:
    """Apply the rules to this scan, the stamp's earlier scans (7 days) and the (serial, network) pairs of
    nearby serials of the same run scanned within the last burst_minutes."""
    now = current.at
    everything = history + [current]
    suspicions: list[Reason] = []
    warnings: list[Reason] = []

    hour = {s.who for s in everything if s.at >= _since(now, hours=1)}
    if len(hour) >= rules.devices_per_hour:
        suspicions.append(reason("devices_per_hour", count=len(hour)))
    week = {s.who for s in everything}
    if len(week) >= rules.devices_per_week:
        suspicions.append(reason("devices_per_week", count=len(week)))

    if current.province_code:
        for earlier in history:
            if earlier.province_code and earlier.at >= _since(now, hours=rules.far_hours):
                km = province_distance_km(current.province_code, earlier.province_code)
                if km is not None and km >= rules.far_km:
                    suspicions.append(reason("far_apart", km=round(km), hours=rules.far_hours))
                    break

    recent = [*neighbours, (serial, current.net_hash)]
    serials = {sn for sn, _ in recent if abs(sn - serial) <= rules.burst_window}
    networks = {net for _, net in recent if net}
    if len(serials) >= rules.burst_serials and len(networks) >= rules.burst_networks:
        suspicions.append(reason("burst", count=len(serials), minutes=rules.burst_minutes))

    if not suspicions:
        day = {s.who for s in everything if s.at >= _since(now, hours=24)}
        if len(day) >= rules.warn_devices_per_day:
            warnings.append(reason("many_devices_today", count=len(day)))
        elif len(everything) >= rules.warn_scans_per_week:
            warnings.append(reason("many_scans_week", count=len(everything)))
    return Signals(suspicions, warnings)
