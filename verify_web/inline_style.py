"""The shoppers' pages carry their stylesheet inline (one round trip less on 3G), allowed by its hash in the
Content-Security-Policy (computed once at start-up) rather than by 'unsafe-inline'."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from stamp_service.http_headers import CSP

STYLESHEET = Path(__file__).parent / "static" / "verify.css"


@lru_cache(maxsize=1)
def css() -> Markup:
    """The stylesheet's text, as put between <style> and </style> (read once per process)."""
    return Markup(STYLESHEET.read_text(encoding="utf-8").strip())


def digest(text: str) -> str:
    """A CSP source allowing exactly this inline style: 'sha256-<base64 of its UTF-8 SHA-256>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@lru_cache(maxsize=1)
def policy() -> str:
    """The site's Content-Security-Policy with this stylesheet's hash added to style-src."""
    return CSP.replace("style-src 'self'", f"style-src 'self' {digest(css())}")
