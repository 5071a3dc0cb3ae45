"""Signing in and out, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, g, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ..auth import users
from ..auth.access import public, roles
from ..context import get_storage
from ..i18n import LANG_COOKIE, LANGUAGES, gettext
from . import bp


def _safe_next(target: str | None) -> str:
    """A redirect target on this site only (no //evil.example or https://...)."""
    if not target:
        return url_for("portal.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("portal.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | tuple[str, int]:
    """The sign-in form."""
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")[:200]
        user = users.authenticate(get_storage(), email, request.form.get("password", "")[:200])
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            session.clear()  # a fresh session on sign-in: no fixation
            session.permanent = True
            session["user_id"] = user["id"]
            return redirect(next_url)
        error = gettext("login.failed")
    if g.identity is not None and request.method == "GET":
        return redirect(url_for("portal.home"))
    return render_template("portal/login.html", email=email, error=error), 400 if error else 200


@bp.route("/logout", methods=["POST"])
@roles("admin", "producer", "inspector")
def logout() -> Response:
    """Sign out."""
    session.clear()
    flash(gettext("flash.signed_out"), "success")
    return redirect(url_for("portal.login"))


@bp.route("/lang/<code>")
@public
def set_language(code: str) -> Response:
    """Switch the interface language and go back where the user was."""
    if code not in LANGUAGES:
        abort(404)
    back = request.args.get("next") or (urlsplit(request.referrer).path if request.referrer else None)
    response = make_response(redirect(_safe_next(back)))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
