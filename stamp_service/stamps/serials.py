"""The serial as people read and type it: digits in groups of three and a Damm check digit (catches every
single wrong digit and every swap of two neighbours), e.g. 1234567 -> "1 234 567-8"."""

from __future__ import annotations

import re

from .claims import MAX_ID
from .errors import MalformedStamp, MistypedSerial

# The Damm quasigroup table of order 10 (H. M. Damm, 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3), (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6), (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7), (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
MIN_DIGITS = 6


def damm(digits: str) -> int:
    """The Damm check digit of a string of digits."""
    interim = 0
    for d in digits:
        interim = _DAMM[interim][int(d)]
    return interim


def format_serial(serial: int) -> str:
    """The printed form: at least six digits in groups of three, then '-' and the check digit."""
    digits = f"{serial:0{MIN_DIGITS}d}"
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    body = " ".join(groups)
    return f"{body}-{damm(f'{serial:0{MIN_DIGITS}d}')}"


def parse_serial_or_number(text: str) -> int:
    """A serial typed by staff: the bare number from a listing, or as printed (check digit verified)."""
    compact = (text or "").strip()
    return int(compact) if compact.isascii() and compact.isdigit() else parse_serial(compact)


def parse_serial(text: str) -> int:
    """The serial from what a person typed (spaces, dots and dashes ignored); raises MistypedSerial for digits
    that cannot be a serial as printed (too few, a wrong check digit), MalformedStamp for anything else."""
    compact = re.sub(r"[\s.\-–]", "", text or "")
    if not compact.isascii() or not compact.isdigit() or len(compact) > 12:
        raise MalformedStamp("a serial is 7 to 12 digits, the last one a check digit")
    # Only digits: someone copied the number off a label and slipped (left out the check digit or a group).
    if len(compact) < MIN_DIGITS + 1:
        raise MistypedSerial("a serial has at least 7 digits, the last one a check digit")
    body, check = compact[:-1], int(compact[-1])
    if damm(body) != check:
        raise MistypedSerial()
    serial = int(body)
    if not 0 < serial <= MAX_ID:
        raise MalformedStamp("no such serial")
    return serial
