"""Checks for the identifiers the registry stores: GTINs and producer identifiers."""

from __future__ import annotations

import re

from .fields import Invalid


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
        return m[1] + (f"-{m[2]}" if m[2] else "")
    if id_type == "personal_id":
        if not re.fullmatch(r"\d{12}", compact):
            raise Invalid("error.personal_id")
        return compact
    if not value.strip() or len(value.strip()) > 50:
        raise Invalid("error.identifier")
    return value.strip()
