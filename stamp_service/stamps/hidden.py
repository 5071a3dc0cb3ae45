"""Hidden codes of two-layer stamps: 8 digits under scratch-off foil, derived from the serial with a secret.

No row per stamp: the code is HMAC-SHA256(secret, serial) reduced to 8 decimal digits, where the secret is
derived from the run's signing key (keystore.derived_secret), so it is as well kept as the key itself. The code
is never put inside the QR text and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from ..keystore import KeyStore
from ..registry.records import Row

DIGITS = 8
PURPOSE = "hidden-code"
_FORMAT = re.compile(r"^[0-9]{8}$")  # ASCII digits only (\d would also take other scripts' digits)
# 2**256 is not a multiple of 10**8, but the bias of taking 32 bytes mod 10**8 is below 2**-200: irrelevant.
_MODULUS = 10**DIGITS


def hidden_code(secret: bytes, serial: int) -> str:
    """The 8-digit hidden code of one serial."""
    digest = hmac.new(secret, b"serial:%d" % serial, hashlib.sha256).digest()
    return f"{int.from_bytes(digest, 'big') % _MODULUS:0{DIGITS}d}"


def run_secret(store: KeyStore, run: Row) -> bytes:
    """The secret the hidden codes of this run are derived with (from the run's signing key)."""
    return store.derived_secret(bytes.fromhex(run["kid"]), PURPOSE)


def normalise(text: str | None) -> str | None:
    """A typed hidden code with spaces, dots and dashes removed, or None if it is not 8 digits."""
    if not isinstance(text, str):
        return None
    digits = re.sub(r"[\s.\-]", "", text)[:40]
    return digits if _FORMAT.match(digits) else None


def matches(secret: bytes, serial: int, typed: str) -> bool:
    """Whether a typed (normalised) code is this serial's hidden code, compared in constant time."""
    return hmac.compare_digest(hidden_code(secret, serial).encode(), typed.encode())


def format_code(code: str) -> str:
    """How a hidden code is printed and shown: two groups of four digits ("1234 5678")."""
    return f"{code[:4]} {code[4:]}"
