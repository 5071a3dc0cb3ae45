"""Claiming a two-layer stamp: the buyer scratches the foil and types the 8-digit hidden code (mã cào).

The first right code claims the stamp; a later right code learns when (and, if the first buyer shared it, in
which province) that happened, so a second buyer of the "same" pack knows it was refilled or copied. Every
attempt is recorded and guessing is limited, per stamp and per network (per sender for SMS). No Flask here:
the page, the API and the SMS gateway call claim() and present its result or its typed error.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .. import cose
from ..errors import Error
from ..i18n import Message
from ..keystore import KeyStore
from ..registry.fields import Field, Schema
from ..registry.records import Row
from ..stamps import hidden, issuing
from ..stamps.claims import StampClaims
from ..stamps.codec import looks_like_qr_text, parse_stamp_url
from ..stamps.errors import KeyRevoked, MalformedStamp, StampError
from ..stamps.serials import format_serial
from ..stamps.signing import serial_of_code
from ..storage import Storage
from .scans import ScanContext, iso, parse_iso
from . import thresholds

CHANNELS = ("web", "api", "sms")
RESULTS = ("first", "already-claimed", "wrong-code")
COUNTED = RESULTS  # what the network limit counts: real checks, not the refusals a flood earns itself

# What the API and the page accept (the page's province field is called "tinh", like the share form's).
INPUT = Schema("ClaimRequest", (
    Field("code", required=True, max_length=2000, description="The stamp's QR text (any case) or its printed serial",
          example="000 001-3"),
    Field("hidden_code", required=True, max_length=40, description="The 8 digits under the scratch-off foil; "
          "spaces, dots and dashes are ignored", example="1234 5678"),
    Field("province_code", max_length=2, description="The buyer's province, if they choose to share it "
          "(GET /api/v1/provinces)", example="22"),
))


# --- errors: each names what went wrong for the person typing, and the HTTP status it is answered with ------


class ClaimError(Error):
    """A claim that could not be checked; .message is for the shopper, .field the input it is about."""

    status = 400
    key = "claim.error"
    field: str | None = None

    @property
    def fields(self) -> Mapping[str, Message]:  # type: ignore[override]
        """The message beside the input it is about (none when it is about no one input)."""
        return {self.field: self.message} if self.field else {}


class MalformedCode(ClaimError):
    """The code cannot be read as a serial or a QR text (a mistyped digit, letters, nothing at all)."""

    status = 400
    key = "claim.malformed_code"
    field = "code"


class UnknownStamp(ClaimError):
    """A readable code that names no stamp of ours: never issued, or a QR text we did not sign."""

    status = 404
    key = "claim.unknown_stamp"
    field = "code"


class NoHiddenCode(ClaimError):
    """The stamp is ours but was printed without a scratch-off layer: there is nothing to claim."""

    status = 422
    key = "claim.no_hidden_code"
    field = "code"


class HiddenCodeFormat(ClaimError):
    """What was typed is not 8 digits: a typing slip, not a guess, so it is neither recorded nor counted."""

    status = 400
    key = "claim.code_format"
    field = "hidden_code"


class Limited(ClaimError):
    """Too many attempts on this stamp or from this network/sender; try again after retry_after seconds."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        if self.retry_after <= 90 * 60:
            self.key, n = "claim.limited_minutes", math.ceil(self.retry_after / 60)
        else:
            self.key, n = "claim.limited_hours", math.ceil(self.retry_after / 3600)
        super().__init__(f"limited for {self.retry_after} s", n=n)


# --- limits ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How much guessing is allowed (config CLAIM_LIMITS overrides any of these).

    Per stamp, 5 wrong codes in 24 hours: a stranger who types 5 wrong codes locks the real buyer out for at
    most a day, while exhausting the 10^8 codes would take 10^8 / 5 = 2*10^7 days (about 55,000 years) and one
    year of guessing hits a given stamp's code with probability 5 * 365 / 10^8 < 2*10^-5. Even an attacker
    with unlimited networks, guessing on 10 million stamps at once, needs 5*10^7 requests a day (about 580 per
    second, all day) to claim about one stamp in two days, and the worst that buys is a false "already claimed".
    Per network (per sender for SMS), 20 checks an hour: one shop or family never needs more, a script does.
    """

    wrong_per_serial: int = 5
    serial_hours: int = 24
    per_network: int = 20
    network_minutes: int = 60

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> "Limits":
        """Limits from config CLAIM_LIMITS (unknown names refused, values must be positive integers)."""
        return thresholds.from_config(cls, values, "CLAIM_LIMITS")


# --- the result --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimResult:
    """The answer to one right-format attempt: first, already-claimed or wrong-code."""

    result: str
    serial: int
    run: Row
    claim: Row | None  # the stamp's claim (just made for "first"); None for a wrong code, which learns nothing
    mine: bool = False  # the earlier claim came from this same device: the buyer typing their code again

    @property
    def claimed_at(self) -> str | None:
        """When the stamp was first claimed (UTC, ISO), unless the code was wrong."""
        return self.claim["at"] if self.claim else None

    @property
    def claimed_province(self) -> str | None:
        """The province the first buyer chose to share, if any."""
        return self.claim["province_code"] if self.claim else None

    @property
    def serial_text(self) -> str:
        """The serial as printed on the label."""
        return format_serial(self.serial)

    def as_json(self) -> dict[str, Any]:
        """What the API answers."""
        return {"result": self.result, "claimed_at": self.claimed_at, "claimed_province": self.claimed_province,
                "serial_text": self.serial_text}


# --- the claim ---------------------------------------------------------------------------------------------


def claim(storage: Storage, store: KeyStore, code: str, hidden_code_text: str | None, *, channel: str,
          context: ScanContext, now: dt.datetime | None = None, limits: Limits = Limits(),
          sender_hash: str | None = None) -> ClaimResult:
    """Check a hidden code against the stamp a code names and record the attempt; raises a ClaimError."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    serial = _serial(store, code)
    run = issuing.run_for_serial(storage, serial)
    if run is None:
        raise UnknownStamp("no run holds this serial")
    if not run["hidden_code"]:
        raise NoHiddenCode()
    typed = hidden.normalise(hidden_code_text)
    if typed is None or not typed.isascii():  # normalise's \d also takes other scripts' digits: not our codes
        raise HiddenCodeFormat()
    secret = hidden.run_secret(store, run)
    # SMS arrives through one gateway, so its network says nothing about the person: count by sender instead.
    who = {"sender_hash": sender_hash} if channel == "sms" else {"net_hash": context.net_hash}
    claimant = context.household or context.device
    attempt = {"at": iso(now), "serial": serial, "run_id": run["id"], "channel": channel, "household": claimant,
               "net_hash": context.net_hash, "sender_hash": sender_hash}
    wait = 0
    # One write transaction: two buyers typing the right code at the same moment cannot both be first, and
    # a flood cannot slip extra guesses between the count and the record (on PostgreSQL, the stamp's lock).
    with storage.transaction():
        storage.lock(f"claim:{serial}")
        wait = _wait(storage, serial, who, now, limits)
        if wait:
            storage.insert("claim_attempts", {**attempt, "result": "limited"})
        else:
            existing = claim_for(storage, serial)
            if not hidden.matches(secret, serial, typed):
                result, row = "wrong-code", None
            elif existing is not None:
                result, row = "already-claimed", existing
            else:
                result = "first"
                row = storage.insert("claims", {"serial": serial, "run_id": run["id"], "at": iso(now),
                                                "channel": channel, "household": claimant,
                                                "net_hash": context.net_hash, "province_code": context.province_code})
            storage.insert("claim_attempts", {**attempt, "result": result})
    if wait:
        raise Limited(wait)
    mine = result == "already-claimed" and claimant is not None and row is not None and row["household"] == claimant
    return ClaimResult(result, serial, run, row, mine)


def claim_for(storage: Storage, serial: int) -> Row | None:
    """The stamp's claim (the first right hidden code), or None."""
    rows = storage.find("claims", order_by="serial", limit=1, serial=serial)
    return rows[0] if rows else None


def claim_json(row: Row | None) -> dict[str, Any] | None:
    """A claim as the verify API shows it: when, and the province the buyer shared (or null)."""
    return None if row is None else {"claimed_at": row["at"], "claimed_province": row["province_code"]}


def _serial(store: KeyStore, code: str) -> int:
    """The serial a QR text or a printed serial names; raises MalformedCode or UnknownStamp."""
    text = (code or "").strip()
    if not text:
        raise MalformedCode("empty code")
    try:
        return serial_of_code(text, store.records())
    except KeyRevoked:
        # verify_stamp checks the signature before the key's status, so these claims are ours: a stamp of a
        # revoked key still answers (its verdict says the key was revoked).
        return StampClaims.from_cbor(cose.decode_sign1(parse_stamp_url(text)[1]).payload).serial
    except MalformedStamp as exc:
        # A typed serial that does not read is a typing slip; a QR-like text we cannot read is not ours.
        raise (UnknownStamp if looks_like_qr_text(text) else MalformedCode)(exc.detail) from None
    except StampError as exc:  # unknown key, bad signature: readable, but not a stamp we signed
        raise UnknownStamp(exc.detail) from None


def _wait(storage: Storage, serial: int, who: dict[str, str | None], now: dt.datetime, limits: Limits) -> int:
    """Seconds until another attempt is allowed (0: allowed now). The windows slide: an attempt counts while
    it is younger than the window, so the wait ends when the oldest attempt that fills the limit ages out."""
    waits = []
    second = dt.timedelta(seconds=1)  # times are whole seconds: "younger than the window" starts one later
    window = dt.timedelta(hours=limits.serial_hours)
    wrong = storage.find_since("claim_attempts", "at", iso(now - window + second), limit=limits.wrong_per_serial,
                               serial=serial, result="wrong-code")
    if len(wrong) >= limits.wrong_per_serial:
        waits.append(parse_iso(wrong[-1]["at"]) + window - now)
    column, value = next(iter(who.items()))
    if value:
        window = dt.timedelta(minutes=limits.network_minutes)
        recent = storage.find_since("claim_attempts", "at", iso(now - window + second), limit=limits.per_network,
                                    result=list(COUNTED), **{column: value})
        if len(recent) >= limits.per_network:
            waits.append(parse_iso(recent[-1]["at"]) + window - now)
    return max(1, math.ceil(max(waits).total_seconds())) if waits else 0
