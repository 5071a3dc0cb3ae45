"""The QR text: HTTPS://HOST/S/<digits>. Upper case and digits keep the QR in alphanumeric and numeric modes.

The digits are the COSE message read as one big-endian number behind a 0x01 marker byte, so leading zero
bytes survive and every byte costs about 2.41 digits (3.32 bits each: QR numeric mode wastes nothing).
"""

from __future__ import annotations

import re

from .errors import MalformedStamp

SHORT_PATH = "S"
MAX_DIGITS = 400  # a version-8 QR holds at most ~360 digits: anything longer is not our stamp
_URL = re.compile(r"^(?:HTTPS?://([^/\s]+))?/?S/([0-9]+)/?$", re.IGNORECASE | re.ASCII)


def bytes_to_digits(data: bytes) -> str:
    """Bytes as decimal digits (with the 0x01 marker that keeps leading zeros)."""
    return str(int.from_bytes(b"\x01" + data, "big"))


def digits_to_bytes(digits: str) -> bytes:
    """The inverse of bytes_to_digits; raises MalformedStamp."""
    if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_DIGITS or digits.startswith("0"):
        raise MalformedStamp("the stamp number is not valid")
    number = int(digits)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    if not raw or raw[0] != 1:
        raise MalformedStamp("the stamp number is not valid")
    return raw[1:]


def stamp_url(message: bytes, host: str) -> str:
    """The text to put in the QR code."""
    return f"HTTPS://{host.upper()}/{SHORT_PATH}/{bytes_to_digits(message)}"


def looks_like_qr_text(text: str) -> bool:
    """Whether a code is a scanned QR text (which carries a signature) rather than a typed serial."""
    return "/" in text or len(text) > 20


def parse_stamp_url(text: str) -> tuple[str | None, bytes]:
    """(host or None, COSE message) from a QR text, in any letter case, or just the S/<digits> path."""
    if not isinstance(text, str):
        raise MalformedStamp()
    match = _URL.match(text.strip())
    if match is None:
        raise MalformedStamp("not a stamp address of ours")
    host, digits = match.groups()
    return (host.lower() if host else None), digits_to_bytes(digits)


def foreign_host(printed: str | None, ours: str | None) -> str | None:
    """The printed host (parse_stamp_url's) when it is not ours (None if ours, absent, or ours unknown).

    The signature covers the claims, not the address in front of them: a genuine payload behind a look-alike
    domain sends shoppers to someone else's page, which can say "genuine" for anything."""
    if printed is None or not ours or printed == ours.lower():
        return None
    return printed
