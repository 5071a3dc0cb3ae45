"""Signing in and out, and the language switch."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ..auth import clock, sessions, throttle, users
from ..auth.hashing import LoginBusy
from ..auth.access import public, roles
from ..context import get_storage
from ..i18n import LANG_COOKIE, LANGUAGES, gettext
from . import bp


# Where a role starts after signing in: inspectors work in shops, so their page is the inspection page.
LANDING = {"inspector": "inspect.inspect_home"}


def landing(role: str | None) -> str:
    """The start page of a role."""
    return url_for(LANDING.get(role or "", "portal.home"))


def _safe_next(target: str | None, role: str | None = None) -> str:
    """A redirect target on this site only (no //evil.example or https://...); else the role's start page."""
    if not target:
        return landing(role)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return landing(role)
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | tuple[str, int]:
    """The sign-in form."""
    if request.method == "POST":
        return _sign_in()
    if g.identity is not None:
        return redirect(landing(g.identity.role))
    return render_template("portal/login.html", email="", error=None), 200


def _sign_in() -> Response | tuple[str, int, dict[str, str]]:
    """Check a posted sign-in: throttled first (no hashing for a locked-out caller), then on the password pool."""
    storage = get_storage()
    email = request.form.get("email", "")[:200]
    moment = clock.now()
    limits = throttle.Limits.from_config(current_app.config["LOGIN_LIMITS"])
    who = throttle.caller(email, request.remote_addr, current_app.config["SECRET_KEY"], moment)
    wait = throttle.retry_after(storage, who, limits, moment)
    if wait:
        return _refused(email, gettext("login.throttled", seconds=wait), 429, wait)
    checker = current_app.extensions["password_checker"]
    try:
        user, account, reason = users.attempt(storage, email, request.form.get("password", "")[:200], checker.verify)
    except LoginBusy as exc:
        return _refused(email, exc.message.render(), 503, exc.retry_after)
    if user is None:
        throttle.record_failure(storage, who, reason, account["id"] if account else None, moment)
        return _refused(email, gettext("login.failed"), 400, None)
    next_url = _safe_next(request.args.get("next"), user["role"])
    session.clear()  # a fresh session on sign-in: no fixation
    session.permanent = True
    session["user_id"] = user["id"]
    session["sid"] = sessions.start(storage, user["id"])
    return redirect(next_url)


def _refused(email: str, error: str, status: int, retry_after: int | None) -> tuple[str, int, dict[str, str]]:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return render_template("portal/login.html", email=email, error=error), status, headers


@bp.route("/logout", methods=["POST"])
@roles("admin", "producer", "inspector")
def logout() -> Response:
    """Sign out: the server forgets the session, so a copy of the cookie stops working too."""
    sessions.revoke(get_storage(), session.get("sid"))
    session.clear()
    flash(gettext("flash.signed_out"), "success")
    return redirect(url_for("portal.login"))


@bp.route("/lang/<code>")
@public
def set_language(code: str) -> Response:
    """Switch the interface language and go back where the user was."""
    if code not in LANGUAGES:
        abort(404)
    back = _safe_next(request.args.get("next") or (urlsplit(request.referrer).path if request.referrer else None))
    parts = urlsplit(back)
    if "lang" in dict(parse_qsl(parts.query)):  # a ?lang= left in the address would outrank the choice just made
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
        back = parts.path + (f"?{query}" if query else "")
    response = make_response(redirect(back))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
