"""The security headers every answer carries."""

from __future__ import annotations

from flask import Response, request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def security_headers(response: Response) -> Response:
    """after_request: headers that keep pages from being framed, sniffed or leaking referrers."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:  # served over TLS (directly or, with PROXY_COUNT, at the proxy): stay on it
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")  # the language follows the browser when no choice was made
    return response
