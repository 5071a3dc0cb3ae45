"""One verification: decode or look up the stamp, compute its verdict now, record the scan."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..keystore import PublicKeyRecord
from ..registry import recognitions
from ..registry.records import Row
from ..stamps import issuing
from ..stamps.claims import StampClaims
from ..stamps.codec import foreign_host, looks_like_qr_text, parse_stamp_url
from ..stamps.errors import KeyRevoked, MalformedStamp, StampError
from ..stamps.serials import parse_serial
from ..stamps.signing import verify_stamp
from ..storage import Storage
from . import claims as claim_rows, precedence, scans, suspicions
from .copy_detection import Rules
from ..vn_time import VIETNAM, day_start_utc
from .verdicts import Reason, Verdict

@dataclass
class Outcome:
    """Everything the page and the API show about one verification."""

    verdict: Verdict
    claims: StampClaims | None = None
    kid: str | None = None
    run: Row | None = None
    batch: Row | None = None
    product: Row | None = None
    producer: Row | None = None
    recognition: Row | None = None
    standing: recognitions.Standing | None = None
    serial_state: str | None = None
    scan_count: int = 0
    first_scan: str | None = None
    first_province: str | None = None  # where the stamp was first checked, if that shopper chose to say
    scan_id: int | None = None
    claim: Row | None = None  # the first check of the stamp's hidden code, if it has one and it was claimed
    household: str | None = None  # who this scan counted for (a fresh browser may join a household here)
    verified_by: str | None = None  # "signature" (a QR text) or "serial" (a typed number: registered, not signed)
    printed_host: str | None = None  # the host in front of a full QR text (None for a path or a typed serial)
    extra: dict[str, Any] = field(default_factory=dict)


def _judge(judging: precedence.Judging) -> Verdict:
    """The verdict for a stamp that is ours (signature or serial checked): the first of the declared rules
    (precedence.RULES: host, records, cases, recall, certificate, activation, copy history) that answers."""
    for rule in precedence.RULES:
        verdict = rule.decide(judging)
        if verdict is not None:
            return verdict
    raise AssertionError("the last rule (genuine) always answers")


def _load_records(storage: Storage, outcome: Outcome) -> None:
    """Fill in the run, batch, product, producer and current recognition the claims point at."""
    claims = outcome.claims
    assert claims is not None
    outcome.run = issuing.run_for_serial(storage, claims.serial)
    outcome.claim = claim_rows.claim_for(storage, claims.serial) if outcome.run and outcome.run["hidden_code"] else None
    outcome.batch = storage.get("batches", claims.batch_id)
    outcome.product = storage.get("products", claims.product_id)
    outcome.producer = storage.get("producers", outcome.product["producer_id"]) if outcome.product else None
    if outcome.product is not None:
        outcome.recognition = recognitions.current(storage, outcome.product["id"])
        outcome.standing = recognitions.standing(outcome.recognition) if outcome.recognition else None


def verify(storage: Storage, keys: Mapping[bytes, PublicKeyRecord], code: str, *, source: str,
           context: scans.ScanContext, rules: Rules, now: dt.datetime | None = None, record: bool = True,
           evidence: bool = False, host: str | None = None) -> Outcome:
    """Verify a QR text (any case) or a typed serial, record the scan (unless record=False: an inspector's
    check is kept with the visit, not counted as a shopper's scan), and return the outcome. evidence says
    whether this scan may count for the copy rules (a signed QR opened on the page, a token client); host is
    ours (PUBLIC_HOST): a full QR text printed for another host is a look-alike label."""
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    outcome = Outcome(Verdict("malformed"))
    text = (code or "").strip()
    foreign = None
    signed = looks_like_qr_text(text)  # a QR text carries a signature; a typed serial does not
    outcome.verified_by = "signature" if signed else "serial"
    try:
        if signed:
            stamp = verify_stamp(text, keys)
            outcome.claims, outcome.kid = stamp.claims, stamp.key.kid_hex
            outcome.printed_host = parse_stamp_url(text)[0]
            foreign = foreign_host(outcome.printed_host, host)
        else:
            serial = parse_serial(text)
            run = issuing.run_for_serial(storage, serial)
            if run is None:
                raise MalformedStamp("no stamp has this serial")
            outcome.claims, outcome.kid = issuing.run_claims(run, serial), run["kid"]
            key = keys.get(bytes.fromhex(run["kid"]))
            if key is None or key.info.status == "revoked":
                raise KeyRevoked()
    except StampError as exc:
        outcome.verdict = Verdict(exc.verdict, [Reason(exc.verdict, exc.message)])
    else:
        _load_records(storage, outcome)
        # One read of the stamp's recent scans serves the household, the view check and the copy rules.
        recent = suspicions.recent_scans(storage, outcome.claims.serial, rules, now)
        if record:
            context = identify(context, recent, now)
        outcome.household = context.household
        repeat = earlier_view(recent, context, rules, now) if source == "qr" else None
        judging = precedence.Judging(storage, outcome, rules, context, now, signed,
                                     evidence and signed and not repeat, recent, foreign, host)
        outcome.verdict = _judge(judging)
        # A crafted host answers this check and never counts against the producer.
        evidence = evidence and not foreign
        if repeat is not None:  # a reload, a language switch, a return from the report form: a view, not a scan
            outcome.scan_id, record = repeat["id"], False
    claims = outcome.claims if outcome.verdict.name not in ("malformed", "invalid-signature", "unknown-key") else None
    outcome.claims = claims
    if record:
        with storage.transaction():
            row = scans.record(storage, at=now, serial=claims.serial if claims else None,
                               run_id=outcome.run["id"] if claims and outcome.run else None,
                               batch_id=claims.batch_id if claims else None, verdict=outcome.verdict.name,
                               source=source, context=context, evidence=bool(claims) and evidence and signed)
        outcome.scan_id = row["id"]
    if claims is not None:
        outcome.scan_count, outcome.first_scan = storage.count_and_min("scans", "at", serial=claims.serial)
        first = scans.first_of(storage, claims.serial) if outcome.first_scan else None
        outcome.first_province = first["province_code"] if first else None
    return outcome


def identify(context: scans.ScanContext, recent: list[Row], now: dt.datetime) -> scans.ScanContext:
    """A fresh browser on a network where this stamp was already scanned today (Vietnam time) belongs to that
    household: a phone's in-app browser that lost its cookie, a second phone on the same home wifi."""
    if not context.fresh or not context.net_hash:
        return context
    day_start = day_start_utc(now.astimezone(VIETNAM).date())
    for row in recent:  # newest first
        if row["at"] < day_start:
            break
        if row["net_hash"] == context.net_hash and row["household"]:
            return dataclasses.replace(context, household=row["household"])
    return context


def earlier_view(recent: list[Row], context: scans.ScanContext, rules: Rules, now: dt.datetime) -> Row | None:
    """This household's own QR scan of this stamp within view_minutes, if this one merely repeats it (a reload,
    a language switch, a return from the report form)."""
    if not context.household:
        return None
    since = scans.iso(now - dt.timedelta(minutes=rules.view_minutes))
    for row in recent:  # newest first
        if row["at"] < since:
            break
        if row["household"] == context.household and row["source"] == "qr":
            return row
    return None

