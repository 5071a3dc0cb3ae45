"""Errors as HTTP answers: JSON {"error", "fields"} on the API, a page elsewhere; never a traceback.

One handler serves every domain error (errors.Error): its status, its catalog message in the reader's language,
its fields; the technical detail goes to the log, never into the answer."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .auth.access import is_api_request
from .auth.csrf import CSRFError
from .errors import Error
from .i18n import gettext

log = logging.getLogger(__name__)


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


def error_answer(exc: Error) -> Response:
    """A domain error as the caller reads it: its status, its message in the reader's language, its fields."""
    if exc.status >= 500:
        # Our side (no passphrase, disk full, a database refusal we did not map): the operator needs the detail,
        # with key ids and file names; the caller learns only what the message says.
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.path, exc.detail,
                  exc_info=exc.status == 500)
    response = error_response(exc.status, exc.message.render(), {k: m.render() for k, m in exc.fields.items()})
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def register(app: Flask) -> None:
    """Install the error handlers."""
    app.register_error_handler(Error, error_answer)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
