"""The verdict's declared precedence (verification/precedence.py): each rule alone gives its verdict, of two
adjacent rules the earlier wins, and docs/copy-detection.md shows the order the code walks.

Every case is a real stamp signed with the instance's key and checked by checker.verify against real SQLite;
each rule's condition is made by the same means the service uses (a recall, a revocation, a voided range, a
confirmed case, an inactive range, shoppers' scans)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from stamp_service.context import get_storage
from stamp_service.inspection import cases
from stamp_service.registry import recognitions
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.serials import format_serial
from stamp_service.stamps.signing import sign_stamp
from stamp_service.verification import checker, suspicions
from stamp_service.verification.copy_detection import Rules
from stamp_service.verification.precedence import RULES
from stamp_service.verification.scans import ScanContext, iso

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
NAMES = [rule.name for rule in RULES]


class Stamp:
    """One stamp of run A as a shopper holds it, and the world around it, changed condition by condition."""

    def __init__(self, app, world) -> None:
        self.app, self.world = app, world
        with app.app_context():
            self.run = issuing.get_run(get_storage(), world.run_a)
        self.serial = self.run["first_serial"] + 2
        self.changes: dict = {}  # claims that differ from what the run issued
        self.printed_host = app.config["PUBLIC_HOST"]

    def code(self) -> str:
        """The QR text: signed with the run's own key, with any changed claims and the printed host."""
        key, private = keystore(self.app).signing_key(bytes.fromhex(self.run["kid"]))
        claims = dataclasses.replace(issuing.run_claims(self.run, self.serial), **self.changes)
        return sign_stamp(claims, private, key, self.printed_host)

    def check(self, code: str | None = None, *, household: str = "h4", now: dt.datetime = NOW,
              record: bool = False, source: str = "qr") -> checker.Outcome:
        """Verify as a shopper's phone would (not recorded unless asked: the check itself changes nothing)."""
        with self.app.app_context():
            context = ScanContext(household, f"n-{household}", "Chrome/Android", household=household)
            return checker.verify(get_storage(), keystore(self.app).records(), code or self.code(), source=source,
                                  context=context, rules=Rules(), now=now, record=record,
                                  evidence=source == "qr", host=self.app.config["PUBLIC_HOST"])

    def reason(self) -> tuple[str, str]:
        verdict = self.check().verdict
        return verdict.name, verdict.reasons[0].code


def _foreign_host(stamp: Stamp) -> None:
    stamp.printed_host = "tem-ocop.example.com"


def _unissued_serial(stamp: Stamp) -> None:
    stamp.serial = 9_000_000


def _five_stars(stamp: Stamp) -> None:
    stamp.changes["stars"] = 5  # the run issued 4


def _confirmed_case(stamp: Stamp) -> None:
    with stamp.app.app_context():
        cases.create(get_storage(), {"kind": "stamp", "serial": str(stamp.serial), "status": "confirmed",
                                     "title": "Tem giả ở chợ"}, user_id=stamp.world.users["inspector"],
                     role="inspector")


def _recall(stamp: Stamp) -> None:
    with stamp.app.app_context():
        issuing.recall(get_storage(), stamp.world.batch_a, "Phát hiện nấm mốc")


def _void(stamp: Stamp) -> None:
    with stamp.app.app_context():
        issuing.set_state(get_storage(), stamp.run, "void", stamp.serial, stamp.serial)


def _revoke_certificate(stamp: Stamp) -> None:
    with stamp.app.app_context():
        recognitions.revoke(get_storage(), stamp.world.recognition_a, {"reason": "Vi phạm tiêu chí"})


def _expire_certificate(stamp: Stamp) -> None:
    """Ended yesterday, while the batch was produced today: expired before it was made."""
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    with stamp.app.app_context():
        get_storage().update("recognitions", stamp.world.recognition_a, {"valid_until": yesterday})


def _deactivate(stamp: Stamp) -> None:
    with stamp.app.app_context():
        issuing.set_state(get_storage(), stamp.run, "inactive", stamp.serial, stamp.serial)


def _open_suspicion(stamp: Stamp) -> None:
    with stamp.app.app_context():
        get_storage().insert("suspicions", {"serial": stamp.serial, "run_id": stamp.run["id"], "rule": "sheet",
                                            "at": iso(NOW - dt.timedelta(days=1)), "evidence": "{}",
                                            "households": 5, "networks": 4})


def _copy_evidence(stamp: Stamp) -> None:
    """Two owners who came back the next day, then more households, each in its own network: the next household
    (h4, the check) makes four networks besides its own, and households_48h fires."""
    start = NOW - dt.timedelta(hours=32)
    for hours, household in [(0, "h0"), (1, "h1"), (25, "h0"), (26, "h1"), (30, "h2"), (31, "h3")]:
        stamp.check(household=household, now=start + dt.timedelta(hours=hours), record=True)


def _expiring_certificate(stamp: Stamp) -> None:
    soon = (dt.date.today() + dt.timedelta(days=12)).isoformat()
    with stamp.app.app_context():
        get_storage().update("recognitions", stamp.world.recognition_a, {"valid_until": soon})


def _nothing(stamp: Stamp) -> None:
    pass


# The precedence as the docs state it, earliest first: how to make each rule's condition hold, and the
# (verdict, first reason) it then gives.
MAKE = {
    "host_not_ours": (_foreign_host, ("suspected-copy", "host_not_ours")),
    "never_issued": (_unissued_serial, ("suspected-copy", "never_issued")),
    "records_mismatch": (_five_stars, ("suspected-copy", "records_mismatch")),
    "confirmed_counterfeit": (_confirmed_case, ("suspected-copy", "confirmed_counterfeit")),
    "recalled": (_recall, ("recalled", "recalled")),
    "void": (_void, ("suspected-copy", "void")),
    "certificate_revoked": (_revoke_certificate, ("certificate-revoked", "certificate_revoked")),
    "certificate_expired": (_expire_certificate, ("certificate-expired", "certificate_expired")),
    "not_activated": (_deactivate, ("not-activated", "not_activated")),
    "suspected_since": (_open_suspicion, ("suspected-copy", "suspected_since")),
    "copy_rules": (_copy_evidence, ("suspected-copy", "households_48h")),
    "warnings": (_expiring_certificate, ("warning", "certificate_expiring")),
    "genuine": (_nothing, ("genuine", "genuine")),
}


ORDER = list(MAKE)


def test_the_code_declares_this_order():
    assert NAMES == ORDER
    assert [rule.verdict for rule in RULES] == [expected[0] for _make, expected in MAKE.values()]


@pytest.mark.parametrize("name", ORDER)
def test_each_rule_alone_gives_its_verdict(app, world, name):
    stamp = Stamp(app, world)
    make, expected = MAKE[name]
    make(stamp)
    assert stamp.reason() == expected


@pytest.mark.parametrize("earlier, later", list(zip(ORDER, ORDER[1:])), ids=lambda n: n)
def test_of_two_adjacent_rules_the_earlier_wins(app, world, earlier, later):
    """The later rule's condition first (the test above shows it alone gives its verdict), then the earlier's
    too: the earlier rule's verdict. never_issued over records_mismatch: a 5-star stamp signed for a serial no
    run issued has no run to differ from, so it reads never issued."""
    stamp = Stamp(app, world)
    MAKE[later][0](stamp)
    MAKE[earlier][0](stamp)
    assert stamp.reason() == MAKE[earlier][1]


@pytest.mark.sqlite_only  # counts the statements through SQLite's trace callback
def test_a_recalled_batch_with_an_expired_certificate_reads_recalled(app, world):
    """... and pays only for the rules it reached: nothing after the recall is read."""
    stamp = Stamp(app, world)
    _expire_certificate(stamp)
    _recall(stamp)
    statements: list[str] = []
    with app.app_context():
        get_storage().db.conn.set_trace_callback(statements.append)
        try:
            outcome = stamp.check()
        finally:
            get_storage().db.conn.set_trace_callback(None)
    assert outcome.verdict.name == "recalled" and "Phát hiện nấm mốc" in outcome.verdict.reasons[0].message.render()
    assert outcome.serial_state is None
    assert any("FROM cases" in sql for sql in statements)  # a rule before the recall
    for table in ("range_states", "suspicions", "claim_attempts"):  # rules after it: the void state, copy history
        assert not any(f"FROM {table}" in sql for sql in statements), table


def test_never_issued_beats_every_later_rule(app, world):
    stamp = Stamp(app, world)
    for name in ORDER[ORDER.index("never_issued") + 1:]:
        if name != "copy_rules":  # its scans would be of the issued serial, which the stamp no longer claims
            MAKE[name][0](stamp)
    assert stamp.reason() == MAKE["records_mismatch"][1]  # everything after holds too
    _unissued_serial(stamp)
    assert stamp.reason() == ("suspected-copy", "never_issued")


def test_a_typed_serial_walks_the_same_rules_but_proves_no_signature_and_raises_no_copy(app, world):
    """A typed number is the run's own (it cannot differ from it) and never evidence: with the same shoppers'
    scans as a signed QR that raises a suspicion, the typed serial stays genuine_typed; a recall shows as on a QR."""
    stamp = Stamp(app, world)
    typed = format_serial(stamp.serial)
    outcome = stamp.check(typed, source="typed")
    assert (outcome.verdict.name, outcome.verdict.reasons[0].code) == ("genuine", "genuine_typed")
    _copy_evidence(stamp)
    outcome = stamp.check(typed, source="typed")
    assert (outcome.verdict.name, outcome.verdict.reasons[0].code) == ("genuine", "genuine_typed")
    assert outcome.verified_by == "serial"
    with app.app_context():
        assert suspicions.for_serial(get_storage(), stamp.serial) == []
    assert stamp.reason() == ("suspected-copy", "households_48h")  # the signed QR, same scans
    _recall(stamp)
    assert stamp.check(typed, source="typed").verdict.name == "recalled"


def test_the_docs_show_the_order_the_code_walks(tmp_path):
    """docs/copy-detection.md's table is cog output from RULES; a stale table (or a doc edited by hand) fails."""
    from cogapp import Cog

    doc = ROOT / "docs" / "copy-detection.md"
    assert Cog().main(["cog", "--check", str(doc)]) == 0, "run: cog -r docs/copy-detection.md"
    text = doc.read_text(encoding="utf-8")
    positions = [text.index(f"| `{name}` |") for name in NAMES]
    assert positions == sorted(positions)
    stale = tmp_path / "copy-detection.md"
    stale.write_text(text.replace("| `recalled` | `recalled` |", "| `recalled` | `recalled` | (edited) |"),
                     encoding="utf-8")
    assert Cog().main(["cog", "--check", str(stale)]) != 0
