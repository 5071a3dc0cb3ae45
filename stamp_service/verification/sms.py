"""The SMS channel for phones without a camera: "OCOP <serial> [<hidden code>]" in, one plain SMS out.

Parsing is lenient (any case, extra spaces, the serial with or without its spaces and dash, the hidden code in
one or two groups); the reply is Vietnamese without diacritics in one GSM-7 message of at most 160
characters (stamp_service/i18n/gsm7.py). The sender's number is kept only as a keyed hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from ..i18n.formats import clock
from ..i18n import gettext
from ..i18n.gsm7 import LIMIT, plain, shorten
from ..registry import places
from ..registry.records import Row
from ..stamps.errors import MalformedStamp
from ..stamps.serials import format_serial, parse_serial
from .checker import Outcome
from .claims import ClaimResult

LANG = "vi"  # SMS answers in Vietnamese: the shoppers this channel is for
_KEYWORD = re.compile(r"^\W*(?:ocop|tem)\b", re.IGNORECASE)
_TOKEN = re.compile(r"\d(?:[\d.\-–]*\d)?")
_NUMBER = re.compile(r"^\+?\d{3,15}$")


@dataclass(frozen=True)
class Inbound:
    """What a shopper texted: the serial as typed (None: nothing like one) and the hidden code, if any."""

    serial_text: str | None
    hidden_text: str | None


def _valid_serial(text: str) -> bool:
    try:
        parse_serial(text)
    except MalformedStamp:
        return False
    return True


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def parse(message: str) -> Inbound:
    """Split a message into serial and hidden code, trusting the serial's check digit to find the boundary."""
    body = _KEYWORD.sub("", message or "", count=1)[:500]
    tokens = _TOKEN.findall(body)
    if not tokens:
        return Inbound(None, None)
    everything = " ".join(tokens)
    # "000 123-4 1234 5678": the longest valid serial at the front whose remainder is the 8-digit code.
    for k in range(len(tokens) - 1, 0, -1):
        serial, rest = " ".join(tokens[:k]), " ".join(tokens[k:])
        if len(_digits(rest)) == 8 and _valid_serial(serial):
            return Inbound(serial, rest)
    # "000 123-4 1234": the printed serial ends at its check digit's dash, whatever follows.
    for k, token in enumerate(tokens[:-1], start=1):
        if re.search(r"[-–]\d$", token) and _valid_serial(" ".join(tokens[:k])):
            return Inbound(" ".join(tokens[:k]), " ".join(tokens[k:]))
    if _valid_serial(everything):
        return Inbound(everything, None)
    digits = _digits(everything)
    if len(digits) > 8 and _valid_serial(digits[:-8]):  # "0001234123456778": typed without any space
        return Inbound(digits[:-8], digits[-8:])
    for k in range(len(tokens) - 1, 0, -1):  # a good serial, then something that is not 8 digits
        if _valid_serial(" ".join(tokens[:k])):
            return Inbound(" ".join(tokens[:k]), " ".join(tokens[k:]))
    return Inbound(everything, None)  # no valid serial anywhere: the reply says which number failed


def normalise_number(value: str) -> str | None:
    """A sender's number in one form (+84 for Vietnamese 0... and 84... numbers), or None if it is not one."""
    if not isinstance(value, str):
        return None
    number = re.sub(r"[\s().\-]", "", value)
    if number.startswith("00"):
        number = "+" + number[2:]
    if re.fullmatch(r"0\d{8,10}", number):
        number = "+84" + number[1:]
    elif re.fullmatch(r"84\d{8,10}", number):
        number = "+" + number
    return number if _NUMBER.match(number) else None


def sender_hash(number: str, secret: str) -> str:
    """The keyed hash a sender is known by (limits, claim records): the number itself is never stored."""
    return hmac.new(secret.encode(), b"sms-sender:" + number.encode(), hashlib.sha256).hexdigest()[:32]


# --- replies -----------------------------------------------------------------------------------------------


def text(key: str, **params: object) -> str:
    """A catalog text in Vietnamese, made plain for SMS."""
    return plain(gettext(key, LANG, **params))


def _where(province_code: str | None) -> str:
    province = places.province(province_code or "")
    return f" ({province.name})" if province else ""


def compose(head: str, tail: list[str], details: tuple[str, str, str] | None = None) -> str:
    """head, then the product (shortened or dropped to make room), then the first tail variant that fits."""
    head = plain(head)
    ending = next((plain(t) for t in tail if len(head) + 1 + len(plain(t)) <= LIMIT), "")
    room = LIMIT - len(head) - (len(ending) + 1 if ending else 0) - 1
    middle = _details(details, room) if details else ""
    text = " ".join(part for part in (head, middle, ending) if part)
    return shorten(text, LIMIT)  # only a head longer than a whole SMS could need this


def _details(details: tuple[str, str, str], room: int) -> str:
    """ "Product, Producer, N sao OCOP." in room characters: names shortened, the producer dropped first."""
    product, producer, stars = (plain(p) for p in details)
    stars = stars.rstrip(".") + "."
    for name, maker in ((product, producer), (product, "")):
        fixed = len(stars) + 2 + (2 if maker else 0)
        avail = room - fixed
        if avail < 8:
            continue
        if not maker:
            return f"{shorten(name, avail)}, {stars}" if name else stars
        want = len(name) + len(maker)
        if want <= avail:
            return f"{name}, {maker}, {stars}"
        first = shorten(name, max(avail - len(maker), avail * 3 // 5))
        second = shorten(maker, avail - len(first))
        if len(second) >= 6:
            return f"{first}, {second}, {stars}"
    return stars if len(stars) <= room else ""


def verdict_reply(outcome: Outcome, serial: int, tail: list[str]) -> str:
    """The reply for a stamp of ours: its verdict in capitals, what it is, then the claim news."""
    verdict = plain(gettext(f"verdict.{outcome.verdict.name}", LANG)).upper()
    head = text("sms.head", serial=format_serial(serial), verdict=verdict)
    details = None
    if outcome.product is not None:
        stars = outcome.recognition["stars"] if outcome.recognition else outcome.claims.stars if outcome.claims else 0
        details = (outcome.product["name"], outcome.producer["name"] if outcome.producer else "",
                   gettext("stars.words", LANG, n=stars))
    return compose(head, tail, details)


def claim_tail(result: ClaimResult) -> list[str]:
    """What the reply says about a hidden code that was checked, longest variant first."""
    at = clock(result.claimed_at, LANG)
    if result.result == "first":
        return [text("sms.first", at=at)]
    if result.result == "already-claimed":
        if result.mine:
            return [text("sms.already_mine", at=at)]
        return [text("sms.already", at=at, where=_where(result.claimed_province)), text("sms.already_short", at=at)]
    return [text("sms.wrong")]


def status_tail(run: Row | None, claim: Row | None, serial: int) -> list[str]:
    """What the reply says when no hidden code was sent: whether a buyer claimed it, or how to claim it."""
    if run is None or not run["hidden_code"]:
        return []
    if claim is not None:
        at = clock(claim["at"], LANG)
        return [text("sms.claimed", at=at, where=_where(claim["province_code"])), text("sms.claimed", at=at, where="")]
    return [text("sms.hint", serial=format_serial(serial).replace(" ", ""))]


def not_ours(typed: str) -> str:
    """The reply for a serial we cannot read, or that no stamp of ours has."""
    shown = shorten(plain(typed), 20)
    return compose(text("sms.unknown" if _valid_serial(typed) else "sms.malformed", serial=shown), [])


def help_reply() -> str:
    """The reply to a message with no serial in it: how to write one."""
    return compose(text("sms.help"), [])
