"""The verdict of a stamp of ours, declared: named rules in precedence order, the first that answers wins.

A stamp reaches these rules once its code was read (a valid signature, or a typed serial found in a run); what
is refused while reading (mistyped, malformed, unknown-key, invalid-signature, key-revoked) never gets here.
Each rule may rely on the ones before it not having answered (past never_issued the stamp has a run). The
queries behind a rule run only when the walk reaches it, so a stamp pays only for the rules it reaches: the
verification page is the busiest route. docs/copy-detection.md's table is generated from RULES (cog).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..i18n import formats
from ..inspection import cases
from ..stamps import issuing
from . import copy_detection, scans, suspicions
from .copy_detection import Evidence, Rules, Signals
from .identity import vietnam_time
from .verdicts import Reason, Verdict, reason

if TYPE_CHECKING:
    from ..registry.records import Row
    from ..storage import Storage
    from .checker import Outcome


@dataclass
class Judging:
    """One stamp of ours being judged: its records (outcome), this scan, and what the rules have read so far."""

    storage: Storage
    outcome: Outcome
    rules: Rules
    context: scans.ScanContext
    now: dt.datetime
    signed: bool  # a QR text with its signature checked (not a typed serial)
    evidence: bool  # this scan may count for the copy rules
    recent: list[Row] = field(default_factory=list)  # the stamp's recent scans, newest first
    foreign: str | None = None  # the host printed in front of the QR text when it is not ours
    host: str | None = None  # ours (PUBLIC_HOST)

    @property
    def run(self) -> Row:
        """The stamp's run (every rule after never_issued may count on it)."""
        assert self.outcome.run is not None
        return self.outcome.run

    @property
    def serial(self) -> int:
        """The stamp's serial."""
        assert self.outcome.claims is not None
        return self.outcome.claims.serial

    def serial_state(self) -> str:
        """active, inactive or void, read once and kept on the outcome (the inspector's page shows it)."""
        if self.outcome.serial_state is None:
            self.outcome.serial_state = issuing.serial_state(self.storage, self.run, self.serial)
        return self.outcome.serial_state

    @cached_property
    def signals(self) -> Signals:
        """What the copy rules say about this scan with the stamp's history (read only when a rule asks)."""
        current = Evidence(self.now, self.serial, self.context.household or "-", self.context.net_hash) \
            if self.evidence else None
        history = suspicions.evidence_of(self.recent)
        if copy_detection.quiet(current, history):  # one household so far (most stamps): nothing can fire
            return Signals()
        storage, rules, now = self.storage, self.rules, self.now
        return copy_detection.evaluate(rules, current, history,
                                       suspicions.neighbours(storage, self.run["id"], self.serial, rules, now), now,
                                       suspicions.claimants(storage, self.serial, rules, now))


@dataclass(frozen=True)
class Rule:
    """One step of the verdict: its name, the verdict it gives, when (for the docs), and the check itself."""

    name: str
    verdict: str
    when: str
    decide: Callable[[Judging], Verdict | None]


def _host_not_ours(j: Judging) -> Verdict | None:
    # A crafted host costs nothing to type: whatever the content, the label is a look-alike.
    if j.foreign is None:
        return None
    return Verdict("suspected-copy", [reason("host_not_ours", host=j.foreign, ours=(j.host or "").lower())])


def _never_issued(j: Judging) -> Verdict | None:
    return Verdict("suspected-copy", [reason("never_issued")]) if j.outcome.run is None else None


def _records_mismatch(j: Judging) -> Verdict | None:
    # e.g. a stolen retired key signing a backdated 5-star stamp for another run's serial; a typed serial's
    # claims are the run's own, so only a signed stamp can differ
    mismatch = differs_from_run(j.outcome, j.run) if j.signed else None
    return None if mismatch is None else Verdict("suspected-copy", [reason("records_mismatch", field=mismatch)])


def _confirmed_counterfeit(j: Judging) -> Verdict | None:
    flagged = cases.confirmed_for(j.storage, j.run["batch_id"], j.serial)
    if flagged is None:
        return None
    return Verdict("suspected-copy", [reason("confirmed_counterfeit", case=flagged["id"])])


def _recalled(j: Judging) -> Verdict | None:
    batch = j.outcome.batch
    if batch is None or not batch["recalled_at"]:
        return None
    return Verdict("recalled", [reason("recalled", reason=batch["recall_reason"] or "")])


def _void(j: Judging) -> Verdict | None:
    return Verdict("suspected-copy", [reason("void")]) if j.serial_state() == "void" else None


def _certificate_revoked(j: Judging) -> Verdict | None:
    standing = j.outcome.standing
    revoked = standing is not None and standing.status == "revoked"
    return Verdict("certificate-revoked", [reason("certificate_revoked")]) if revoked else None


def _certificate_expired(j: Judging) -> Verdict | None:
    standing = j.outcome.standing
    if standing is not None and (standing.status not in ("expired", "superseded") or expired_after_making(j.outcome)):
        return None  # goods made under a valid certificate may be sold after it ends: a warning, not a fake
    return Verdict("certificate-expired", [reason("certificate_expired")])


def _not_activated(j: Judging) -> Verdict | None:
    return Verdict("not-activated", [reason("not_activated")]) if j.serial_state() == "inactive" else None


def _suspected_since(j: Judging) -> Verdict | None:
    # raised once, a suspicion stays until an inspector dismisses it
    raised = suspicions.open_for(j.storage, j.serial)
    if raised is None:
        return None
    return Verdict("suspected-copy", [reason("suspected_since", at=vietnam_time(raised["at"]))])


def _copy_rules(j: Judging) -> Verdict | None:
    if not (j.signals.suspicions and j.evidence):
        return None
    suspicions.raise_for(j.storage, j.run, j.serial, j.signals, j.now)
    return Verdict("suspected-copy", j.signals.suspicions)


def _warnings(j: Judging) -> Verdict | None:
    outcome, standing = j.outcome, j.outcome.standing
    found: list[Reason] = []
    if expired_after_making(outcome):
        # The date reads the Vietnamese way (03/12/2026) in either language, as the reason stores it.
        found.append(reason("certificate_expired_after", until=formats.date(outcome.recognition["valid_until"], "vi")))
    found.extend(j.signals.warnings)
    if outcome.claim is not None and outcome.claim["household"] != j.context.household:
        found.append(reason("claimed_before", at=vietnam_time(outcome.claim["at"])))
    if standing is not None and standing.expiring:
        found.append(reason("certificate_expiring", days=standing.days_left))
    return Verdict("warning", found) if found else None


def _genuine(j: Judging) -> Verdict:
    # A typed serial proves only that the number is registered (anyone can copy it off a pack); only a scanned
    # QR code carries the signature.
    return Verdict("genuine", [reason("genuine" if j.signed else "genuine_typed")])


RULES: tuple[Rule, ...] = (
    Rule("host_not_ours", "suspected-copy",
         "a full QR text printed for another host than ours (`PUBLIC_HOST`): a look-alike label, whatever it "
         "copied from a genuine stamp", _host_not_ours),
    Rule("never_issued", "suspected-copy", "a validly signed serial that no run issued", _never_issued),
    Rule("records_mismatch", "suspected-copy",
         "a signed stamp whose claims (key, issue time, stars, dates, ...) differ from what its run issued",
         _records_mismatch),
    Rule("confirmed_counterfeit", "suspected-copy",
         "an inspector's confirmed case covers the stamp (its serial, a range or its batch)", _confirmed_counterfeit),
    Rule("recalled", "recalled", "the batch was recalled (`ocop-stamp recall`)", _recalled),
    Rule("void", "suspected-copy", "the stamp was voided (misprinted or lost) yet is on goods", _void),
    Rule("certificate_revoked", "certificate-revoked",
         "the product's current recognition was revoked (whatever its dates)", _certificate_revoked),
    Rule("certificate_expired", "certificate-expired",
         "the product's current recognition expired before the batch was produced (or there is none)",
         _certificate_expired),
    Rule("not_activated", "not-activated",
         "the stamp's range was issued `--inactive` and not activated yet (stolen blanks)", _not_activated),
    Rule("suspected_since", "suspected-copy",
         "a copy suspicion was raised on this stamp and not dismissed", _suspected_since),
    Rule("copy_rules", "suspected-copy",
         "one of the copy rules below raises a suspicion now (only a scan that is evidence can)", _copy_rules),
    Rule("warnings", "warning",
         "a livestream-like burst, more households than usual today, the hidden code already claimed by another "
         "household, the certificate expires within 30 days, or it has expired but the batch was produced while "
         "it was valid (reason `certificate_expired_after`: \"sản xuất khi chứng nhận còn hiệu lực\")", _warnings),
    Rule("genuine", "genuine",
         "none of the above (reason `genuine`; a typed serial: `genuine_typed`, registered but not signed)",
         _genuine),
)


def expired_after_making(outcome: Outcome) -> bool:
    """Whether the certificate has expired but the stamp's batch was produced while it was valid."""
    standing, rec, claims = outcome.standing, outcome.recognition, outcome.claims
    if standing is None or standing.status != "expired" or rec is None or claims is None:
        return False
    return rec["valid_from"] <= claims.production_date.isoformat() <= rec["valid_until"]


def differs_from_run(outcome: Outcome, run: Row) -> str | None:
    """The first claim of a signed stamp that differs from what its run issued (key, issue time, stars, ...)."""
    claims = outcome.claims
    assert claims is not None
    if outcome.kid != run["kid"]:
        return "kid"
    expected = issuing.run_claims(run, claims.serial)
    for name in ("issuer", "issued_at", "product_id", "batch_id", "stars", "origin_commune", "production_date",
                 "expiry_date", "certificate_valid_until", "version"):
        if getattr(claims, name) != getattr(expected, name):
            return name
    return None
