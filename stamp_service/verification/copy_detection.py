"""Copy detection: rules over a stamp's scan evidence that flag photocopied stamps (docs/copy-detection.md).

A genuine stamp photocopied onto fake goods keeps a valid signature; what gives it away is who scans it: more
households than one pack ever meets, provinces too far apart, or the neighbouring serials of one photocopied
sheet each bought by several households. What must NOT give a stamp away is what an honest market or an
attacker produces: a household's many phones and in-app browsers (identity.py folds them into one household),
a shop's display pack, a livestream screen scanned by dozens at once (a warning, never an accusation), a
producer test-scanning a run (a household scanning many serials is handling stock, not buying), and requests
from a few networks, however many (the framing floor: an accusation needs evidence from at least
`floor_networks` networks besides the current scanner's own).

Everything here is pure: the checker loads the evidence and stores what the rules raise.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .geo import province_distance_km
from .identity import epoch_of, vietnam_day
from .verdicts import Reason, reason
from . import thresholds


@dataclass(frozen=True)
class Rules:
    """Thresholds, each configurable (COPY_RULES); docs/copy-detection.md gives each one's measured effect."""

    households_48h: int = 4  # distinct households scanning one stamp within 48 hours: suspected copy
    households_7d: int = 6  # ... within 7 days: suspected copy
    owner_households: int = 2  # ... if this many households own a pack with it (came back another day, or
    # tried its hidden code): a shop's display pack is scanned by many, owned by none
    crowd_7d: int = 24  # households within 7 days that make a suspected copy even with no owner
    sheet_window: int = 25  # a photocopied sheet: serials within +/- this many of this one (same run) ...
    sheet_serials: int = 4  # ... of which at least this many were each scanned by sheet_households ...
    sheet_households: int = 3  # ... households or more (a family's phones on two days can look like two) ...
    sheet_days: int = 7  # ... within these days, while this one has 2+ households: suspected copy
    far_km: int = 300  # shared provinces this far apart (province seats) ...
    far_hours: int = 12  # ... within these hours: suspected copy
    provinces_14d: int = 3  # this many shared provinces within 14 days: suspected copy
    floor_networks: int = 4  # an accusation needs evidence from this many networks besides the scanner's own
    handler_serials: int = 3  # a household scanning this many serials near this one handles stock, not buys it
    burst_minutes: int = 20  # households first seen within these minutes of each other count as one occasion;
    burst_households: int = 8  # this many in one occasion is a burst (a livestream, a screen): a warning
    warn_households_24h: int = 3  # distinct households within 24 hours: more than usual (warning)
    view_minutes: int = 30  # the same household again within these minutes is a view (reload), not a scan

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> "Rules":
        """Rules from config COPY_RULES (unknown names refused, values must be positive integers)."""
        return thresholds.from_config(cls, values, "COPY_RULES")

    @property
    def history_days(self) -> int:
        """How far back the rules read a stamp's own evidence."""
        return max(14, self.sheet_days)


@dataclass(frozen=True)
class Evidence:
    """One evidence scan as the rules see it (a signed QR opened on the page, or a token client's look-up)."""

    at: dt.datetime
    serial: int
    household: str
    net_hash: str | None
    province_code: str | None = None


@dataclass
class Signals:
    """The rules that fired: suspicions make a suspected copy, warnings a warning; evidence is kept with a
    raised suspicion for inspectors."""

    suspicions: list[Reason] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def _since(now: dt.datetime, **delta: float) -> dt.datetime:
    return now - dt.timedelta(**delta)


def handlers(rules: Rules, scans: Iterable[Evidence]) -> set[str]:
    """Households that scanned many different serials nearby: a producer test-scanning a printed sheet, a shop
    checking its stock. Their scans say nothing about copies."""
    serials: dict[str, set[int]] = defaultdict(set)
    for s in scans:
        serials[s.household].add(s.serial)
    return {h for h, seen in serials.items() if len(seen) >= rules.handler_serials}


def occasions(rules: Rules, scans: list[Evidence]) -> tuple[dict[str, str], set[str]]:
    """Households grouped by when they first scanned: all first seen within burst_minutes of a group's first
    are one occasion (a livestream, a screen, a market stall), counted once; returns household -> stand-in, and
    the stand-ins of bursts (occasions of burst_households or more)."""
    first: dict[str, dt.datetime] = {}
    for s in sorted(scans, key=lambda s: s.at):
        first.setdefault(s.household, s.at)
    window = dt.timedelta(minutes=rules.burst_minutes)
    stand_in: dict[str, str] = {}
    sizes: dict[str, int] = defaultdict(int)
    start: dt.datetime | None = None
    for household, at in sorted(first.items(), key=lambda item: item[1]):
        if start is None or at - start > window:
            start, leader = at, household
        stand_in[household] = leader
        sizes[leader] += 1
    return stand_in, {leader for leader, n in sizes.items() if n >= rules.burst_households}


def networks(scans: Iterable[Evidence], excluding: Evidence | None) -> int:
    """Distinct networks among scans of households other than the current scan's, leaving out the current scan's
    network too (an attacker scanning from one of their networks must not count the others), each household
    counting with the
    first network it was seen on (a phone on mobile data shows up from a new /24 at every session: one
    household must not look like several places), counted within each calendar month (network hashes are
    comparable only within one) and the largest month taken."""
    household = excluding.household if excluding else None
    per_epoch: dict[str, dict[str, str]] = defaultdict(dict)
    for s in sorted(scans, key=lambda s: s.at):
        if s.net_hash and s.household != household:
            per_epoch[epoch_of(s.at)].setdefault(s.household, s.net_hash)
    own_net = excluding.net_hash if excluding else None
    return max((len(set(first.values()) - {own_net}) for first in per_epoch.values()), default=0)


def _owners(scans: Iterable[Evidence], since: dt.datetime) -> set[str]:
    """Households that scanned on two or more days (Vietnam time) since a time."""
    days: dict[str, set[str]] = defaultdict(set)
    for s in scans:
        if s.at >= since:
            days[s.household].add(vietnam_day(s.at))
    return {h for h, seen in days.items() if len(seen) >= 2}


def _households(scans: Iterable[Evidence], since: dt.datetime) -> set[str]:
    return {s.household for s in scans if s.at >= since}


def quiet(current: Evidence | None, history: list[Evidence]) -> bool:
    """Whether at most one household ever scanned: then no rule can fire and the neighbours need not be read."""
    households = {s.household for s in history}
    if current is not None:
        households.add(current.household)
    return len(households) < 2


def evaluate(rules: Rules, current: Evidence | None, history: list[Evidence], neighbours: list[Evidence],
             now: dt.datetime, claimants: Iterable[str] = ()) -> Signals:
    """Apply the rules to this scan (None when it is not evidence), the stamp's earlier evidence (history_days),
    the evidence of its neighbouring serials of the same run (sheet_days), and the households that tried the
    stamp's hidden code (they hold a pack with this serial)."""
    own = history + ([current] if current else [])
    stock = handlers(rules, own + neighbours)
    own = [s for s in own if s.household not in stock]
    near = [s for s in neighbours if s.household not in stock]
    stand_in, burst_leaders = occasions(rules, own)
    # Households count once per occasion; a burst's many networks count as one (a screen seen across the country).
    own = [Evidence(s.at, s.serial, stand_in[s.household],
                    "burst" if stand_in[s.household] in burst_leaders else s.net_hash, s.province_code) for s in own]
    me = Evidence(current.at, current.serial, stand_in.get(current.household, current.household),
                  current.net_hash) if current else None
    signals = Signals()

    households_48h = _households(own, _since(now, hours=48))
    households_7d = _households(own, _since(now, days=7))
    found: list[tuple[Reason, list[Evidence]]] = []
    # A pack on a shop's display is scanned by many households, each once, in the shop; copies are bought, and
    # some buyers look at their pack again on another day or scratch its hidden code. Counting alone accuses the
    # display, so the household rules also want owners: households that came back to this serial on another day
    # or tried its hidden code.
    owners = _owners(own, _since(now, days=rules.history_days)) | {stand_in.get(h, h) for h in claimants}
    if len(owners) >= rules.owner_households:
        if len(households_48h) >= rules.households_48h:
            found.append((reason("households_48h", count=len(households_48h)), own))
        elif len(households_7d) >= rules.households_7d:
            found.append((reason("households_7d", count=len(households_7d)), own))
    elif len(households_7d) >= rules.crowd_7d:  # more than the busiest display sees in a week, owners or not
        found.append((reason("households_7d", count=len(households_7d)), own))

    sheet_since = _since(now, days=rules.sheet_days)
    by_serial: dict[int, set[str]] = defaultdict(set)
    for s in near:
        if s.at >= sheet_since and s.serial != (current.serial if current else None):
            by_serial[s.serial].add(s.household)
    crowded = sorted(sn for sn, hh in by_serial.items() if len(hh) >= rules.sheet_households)
    if len(crowded) >= rules.sheet_serials and len(_households(own, sheet_since)) >= 2:
        sheet = [s for s in near if s.serial in crowded and s.at >= sheet_since]
        found.append((reason("sheet", count=len(crowded)), own + sheet))

    shared = [s for s in own if s.province_code and s.at >= _since(now, days=14)]
    far = _far_apart(rules, shared, now)
    if len(owners) < rules.owner_households:
        pass  # a display pack's shoppers include tourists, who may share their home province
    elif far is not None:
        found.append((reason("far_apart", km=far, hours=rules.far_hours), own))
    else:
        provinces = {s.province_code for s in shared}
        if len(provinces) >= rules.provinces_14d and len({s.household for s in shared}) >= rules.provinces_14d:
            found.append((reason("provinces_14d", count=len(provinces)), own))

    for found_reason, basis in found:
        nets = networks(basis, excluding=me)
        if nets >= rules.floor_networks:
            signals.suspicions.append(found_reason)
            signals.evidence.setdefault("rules", []).append(found_reason.code)
            signals.evidence["networks"] = max(nets, signals.evidence.get("networks", 0))
    if signals.suspicions:
        signals.evidence.update(households_48h=len(households_48h), households_7d=len(households_7d),
                                neighbours_crowded=crowded[:20], handlers=len(stock))
        return signals
    recent_bursts = {s.household for s in own if s.household in burst_leaders and s.at >= _since(now, hours=24)}
    if recent_bursts:
        size = sum(1 for h in stand_in.values() if h in recent_bursts)
        signals.warnings.append(reason("burst", count=size, minutes=rules.burst_minutes))
    households_24h = _households(own, _since(now, hours=24))
    if len(households_24h) >= rules.warn_households_24h:
        signals.warnings.append(reason("many_households_today", count=len(households_24h)))
    return signals


def _far_apart(rules: Rules, shared: list[Evidence], now: dt.datetime) -> int | None:
    """The distance (km) of two shared provinces of different households within far_hours, if any is far."""
    window = dt.timedelta(hours=rules.far_hours)
    ordered = sorted(shared, key=lambda s: s.at)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.at - a.at > window:
                break
            if a.household != b.household and a.province_code != b.province_code:
                km = province_distance_km(a.province_code, b.province_code)  # type: ignore[arg-type]
                if km is not None and km >= rules.far_km:
                    return round(km)
    return None
