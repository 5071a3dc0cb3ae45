"""Error answers: JSON {"error", "fields"} on the API, a page elsewhere; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .auth.access import is_api_request
from .auth.csrf import CSRFError
from .i18n import gettext
from print_layouts import TemplateError

from .keystore import KeyStoreError, NoPassphrase
from .registry.fields import ValidationError
from .registry.records import NotFound
from .storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

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


def _message_key(code: int, exc: HTTPException) -> str:
    if isinstance(exc, CSRFError):
        return "error.csrf"
    return f"error.http_{code}"


def error_response(code: int, message: str, fields: dict[str, str] | None = None) -> Response:
    """The error in the form the caller reads: JSON for the API, an HTML page otherwise."""
    if is_api_request():
        response = jsonify(error=message, fields=fields or {})
    else:
        response = Response(render_template("error.html", code=code, message=message, fields=fields or {}),
                            mimetype="text/html")
    response.status_code = code
    return response


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    key = _message_key(code, exc)
    retry_after = getattr(exc, "retry_after", None) if code in (429, 503) else None
    message = gettext(key, seconds=retry_after or 60) if code == 429 else gettext(key)
    if message == key:  # no catalog entry for this code
        message = exc.name
    response = error_response(code, message)
    if retry_after:
        response.headers["Retry-After"] = str(int(retry_after))
    allowed = getattr(exc, "valid_methods", None)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _unexpected(exc: Exception) -> Response:
    # Logged with the traceback for us; the caller gets a plain message, never the traceback.
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, gettext("error.http_500"))


def _validation(exc: ValidationError) -> Response:
    return error_response(400, exc.message.render(), exc.render())


def _not_found(exc: NotFound) -> Response:
    return error_response(404, exc.message.render())


def _keystore(exc: KeyStoreError) -> Response:
    # A configuration problem on our side (no passphrase, no active key): the detail, with key ids and file names,
    # goes to the log for the office; the caller learns only that signing is unavailable, and why if it is the
    # missing passphrase (something the operator, not a producer, must fix).
    log.error("key store: %s", exc.message)
    key = "error.signing_no_passphrase" if isinstance(exc, NoPassphrase) else "error.signing_unavailable"
    return error_response(503, gettext(key))


def _storage_unavailable(exc: StorageUnavailable) -> Response:
    # Disk full, read-only file or a lock held too long: the operator needs to know; the caller may retry.
    log.error("storage unavailable on %s %s: %s", request.method, request.path, exc.reason)
    response = error_response(503, gettext(exc.message_key))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _template(exc: TemplateError) -> Response:
    return error_response(400, str(exc))


def register(app: Flask) -> None:
    """Install the error handlers."""
    app.register_error_handler(TemplateError, _template)
    app.register_error_handler(KeyStoreError, _keystore)
    app.register_error_handler(StorageUnavailable, _storage_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(ValidationError, _validation)
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
