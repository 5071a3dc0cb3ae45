"""Checks for the identifiers the registry stores: GTINs and producer identifiers."""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.vn import mst

from .fields import Invalid

# Vietnamese numbers as written: +84 or 84 may stand for the leading 0; spaces, dots, dashes and brackets group.
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
_PHONE_NATIONAL = re.compile(
    r"0[35789]\d{8}"  # mobile (10 digits since the 2018 renumbering)
    r"|02\d{9}"  # landline: 0 + area code 2x(x) + subscriber, 11 digits since 2017
    r"|1[89]00\d{4}(?:\d{2})?"  # 1800 (free) / 1900 (paid) hotlines, 8 or 10 digits
)


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for a GTIN without its last digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def check_gtin(value: str) -> str:
    """A GTIN-8/12/13/14 with a correct check digit, returned as digits only."""
    digits = re.sub(r"[\s-]", "", value)
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        raise Invalid("error.gtin_format")
    if gtin_check_digit(digits[:-1]) != int(digits[-1]):
        raise Invalid("error.gtin_check_digit")
    return digits


def check_identifier(id_type: str, value: str) -> str:
    """A producer identifier normalised for its type; raises Invalid when it cannot be one."""
    compact = re.sub(r"[\s.]", "", value)
    if id_type == "tax_code":
        # 10 digits, or 13 written as 10 + "-" + 3 for a branch (mã số thuế đơn vị phụ thuộc)
        m = re.fullmatch(r"(\d{10})(?:-?(\d{3}))?", compact)
        if not m:
            raise Invalid("error.tax_code")
        try:
            mst.validate(m[1])
        except ValidationError:  # the 10th digit checks the first nine: catches most typing slips
            raise Invalid("error.tax_code_check_digit") from None
        return m[1] + (f"-{m[2]}" if m[2] else "")
    if id_type == "personal_id":
        if not re.fullmatch(r"\d{12}", compact):
            raise Invalid("error.personal_id")
        return compact
    if not value.strip() or len(value.strip()) > 50:
        raise Invalid("error.identifier")
    return value.strip()


def check_phone(value: str) -> str:
    """A Vietnamese phone number (mobile, landline or 1800/1900 hotline), as written but with its spacing
    tidied; raises Invalid when it cannot be one."""
    text = " ".join(value.split())
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not _PHONE_NATIONAL.fullmatch(digits):
        raise Invalid("error.phone")
    return text
