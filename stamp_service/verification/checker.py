"""One verification: decode or look up the stamp, compute its verdict now, record the scan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..i18n import Message
from ..keystore import PublicKeyRecord
from ..registry import recognitions
from ..registry.records import Row
from ..inspection import cases
from ..stamps import issuing
from ..stamps.claims import StampClaims
from ..stamps.codec import looks_like_qr_text
from ..stamps.errors import KeyRevoked, MalformedStamp, StampError
from ..stamps.serials import parse_serial
from ..stamps.signing import verify_stamp
from ..storage import Storage
from . import copy_detection, scans
from .copy_detection import Rules, ScanFacts
from .verdicts import Reason, Verdict, reason

HISTORY_DAYS = 7


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
    scan_id: int | None = None
    claim: Row | None = None  # the first check of the stamp's hidden code, if it has one and it was claimed
    extra: dict[str, Any] = field(default_factory=dict)


def scan_facts(row: Row) -> ScanFacts:
    """What copy detection needs from a stored scan."""
    return ScanFacts(scans.parse_iso(row["at"]), row["device"] or f"net:{row['net_hash']}", row["net_hash"],
                     row["province_code"])


def _judge(storage: Storage, outcome: Outcome, rules: Rules, context: scans.ScanContext, now: dt.datetime,
           signed: bool) -> Verdict:
    """The verdict for a stamp that is ours (signature or serial checked): records, certificate, history."""
    claims, run = outcome.claims, outcome.run
    assert claims is not None
    if run is None:
        return Verdict("suspected-copy", [reason("never_issued")])
    if run["batch_id"] != claims.batch_id or run["product_id"] != claims.product_id:
        return Verdict("suspected-copy", [reason("records_mismatch")])
    flagged = cases.confirmed_for(storage, run["batch_id"], claims.serial)
    if flagged is not None:  # an inspector confirmed counterfeits under this stamp's serial or batch
        return Verdict("suspected-copy", [reason("confirmed_counterfeit", case=flagged["id"])])
    batch = outcome.batch
    if batch is not None and batch["recalled_at"]:
        return Verdict("recalled", [reason("recalled", reason=batch["recall_reason"] or "")])
    outcome.serial_state = issuing.serial_state(storage, run, claims.serial)
    if outcome.serial_state == "void":
        return Verdict("suspected-copy", [reason("void")])
    standing = outcome.standing
    if standing is None or standing.status in ("expired", "superseded"):
        return Verdict("certificate-expired", [reason("certificate_expired")])
    if standing.status == "revoked":
        return Verdict("certificate-revoked", [reason("certificate_revoked")])
    if outcome.serial_state == "inactive":
        return Verdict("not-activated", [reason("not_activated")])
    history_rows = storage.find_since("scans", "at", scans.iso(now - dt.timedelta(days=HISTORY_DAYS)),
                                      serial=claims.serial)
    neighbours = storage.distinct_between("scans", ("serial", "net_hash"), "serial", claims.serial - rules.burst_window,
                                          claims.serial + rules.burst_window, "at",
                                          scans.iso(now - dt.timedelta(minutes=rules.burst_minutes)), run_id=run["id"])
    current = ScanFacts(now, context.device or f"net:{context.net_hash}", context.net_hash, context.province_code)
    signals = copy_detection.evaluate(rules, current, [scan_facts(r) for r in history_rows],
                                      [(sn, net) for sn, net in neighbours if sn != claims.serial], claims.serial)
    if signals.suspicions:
        return Verdict("suspected-copy", signals.suspicions)
    warnings: list[Reason] = list(signals.warnings)
    if standing.expiring:
        warnings.append(reason("certificate_expiring", days=standing.days_left))
    if warnings:
        return Verdict("warning", warnings)
    # A typed serial proves only that the number is registered (anyone can copy it off a pack); only a scanned
    # QR code carries the signature.
    return Verdict("genuine", [reason("genuine" if signed else "genuine_typed")])


def _load_records(storage: Storage, outcome: Outcome) -> None:
    """Fill in the run, batch, product, producer and current recognition the claims point at."""
    claims = outcome.claims
    assert claims is not None
    outcome.run = issuing.run_for_serial(storage, claims.serial)
    outcome.batch = storage.get("batches", claims.batch_id)
    outcome.product = storage.get("products", claims.product_id)
    outcome.producer = storage.get("producers", outcome.product["producer_id"]) if outcome.product else None
    if outcome.product is not None:
        outcome.recognition = recognitions.current(storage, outcome.product["id"])
        outcome.standing = recognitions.standing(outcome.recognition) if outcome.recognition else None


def verify(storage: Storage, keys: Mapping[bytes, PublicKeyRecord], code: str, *, source: str,
           context: scans.ScanContext, rules: Rules, now: dt.datetime | None = None, record: bool = True) -> Outcome:
    """Verify a QR text (any case) or a typed serial, record the scan (unless record=False: an inspector's
    check is kept with the visit, not counted as a shopper's scan), and return the outcome."""
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    outcome = Outcome(Verdict("malformed"))
    text = (code or "").strip()
    signed = looks_like_qr_text(text)  # a QR text carries a signature; a typed serial does not
    try:
        if signed:
            stamp = verify_stamp(text, keys)
            outcome.claims, outcome.kid = stamp.claims, stamp.key.kid_hex
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
        outcome.verdict = Verdict(exc.verdict, [Reason(exc.verdict, _message(exc))])
    else:
        _load_records(storage, outcome)
        outcome.verdict = _judge(storage, outcome, rules, context, now, signed)
    claims = outcome.claims if outcome.verdict.name not in ("malformed", "invalid-signature", "unknown-key") else None
    if not record:
        outcome.claims = claims
        if claims is not None:
            outcome.scan_count, outcome.first_scan = storage.count_and_min("scans", "at", serial=claims.serial)
        return outcome
    with storage.transaction():
        row = scans.record(storage, at=now, serial=claims.serial if claims else None,
                           run_id=outcome.run["id"] if claims and outcome.run else None,
                           batch_id=claims.batch_id if claims else None, verdict=outcome.verdict.name,
                           source=source, context=context)
    outcome.scan_id = row["id"]
    if claims is not None:
        outcome.scan_count, outcome.first_scan = storage.count_and_min("scans", "at", serial=claims.serial)
    else:
        outcome.claims = None
    return outcome


def _message(exc: StampError) -> Message:
    """The reader-facing reason for a refused stamp, with the technical detail kept for inspectors."""
    return Message(f"reason.{exc.verdict}", {"detail": exc.message})
