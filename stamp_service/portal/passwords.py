"""Passwords: a user changes their own (throttled like signing in), the office makes a one-time reset link, and
the user sets a new password through that link."""

from __future__ import annotations

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ..auth import clock, resets, sessions, throttle, users
from ..auth.access import public, roles
from ..auth.hashing import LoginBusy
from ..context import get_storage
from ..i18n import gettext
from ..registry.fields import ValidationError
from . import bp

PASSWORD_FIELDS = ("current_password", "new_password", "new_password_repeat")


def _form(template: str, status: int, errors: dict[str, str] | None = None, message: str | None = None,
          headers: dict[str, str] | None = None, **context) -> tuple[str, int, dict[str, str]]:
    """The password form again: passwords are never echoed back, the error sits beside its field."""
    html = render_template(template, values={}, errors=errors or {}, form_error=message, **context)
    return html, status, headers or {}


@bp.route("/portal/password", methods=["GET", "POST"])
@roles("admin", "producer", "inspector")
def password_change() -> Response | tuple[str, int, dict[str, str]]:
    """Change one's own password: needs the current one; other sign-ins end, this browser stays signed in."""
    template = "portal/password_change.html"
    if request.method == "GET":
        return _form(template, 200)
    storage = get_storage()
    identity = g.identity
    moment = clock.now()
    limits = throttle.Limits.from_config(current_app.config["LOGIN_LIMITS"])
    who = throttle.caller(identity.email, request.remote_addr, current_app.config["SECRET_KEY"], moment)
    wait = throttle.retry_after(storage, who, limits, moment)
    if wait:
        return _form(template, 429, message=gettext("login.throttled", seconds=wait),
                     headers={"Retry-After": str(wait)})
    form = {k: request.form.get(k, "")[:200] for k in PASSWORD_FIELDS}
    try:
        users.change_password(storage, identity.user_id, form["current_password"], form["new_password"],
                              form["new_password_repeat"], current_app.extensions["password_checker"].verify)
    except LoginBusy as exc:
        return _form(template, 503, message=exc.message.render(), headers={"Retry-After": str(exc.retry_after)})
    except ValidationError as exc:
        if "current_password" in exc.fields:  # a wrong guess counts like a failed sign-in
            throttle.record_failure(storage, who, "wrong_current_password", identity.user_id, moment)
        return _form(template, 400, exc.render(), exc.message.render())
    session["sid"] = sessions.start(storage, identity.user_id)  # every older session was revoked
    flash(gettext("password.changed"), "success")
    return redirect(url_for("portal.home"))


@bp.route("/portal/users/<int:user_id>/reset-link", methods=["POST"])
@roles("admin")
def user_reset_link(user_id: int) -> str:
    """Make a one-time reset link for a user and show it once, for the office to hand over."""
    storage = get_storage()
    user = users.get(storage, user_id)
    link = resets.create(storage, user_id, created_by=g.identity.user_id)
    url = url_for("portal.password_reset", token=link.token, _external=True)
    return render_template("portal/reset_link.html", user=user, url=url, expires_at=link.expires_at)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def password_reset(token: str) -> Response | tuple[str, int, dict[str, str]]:
    """Set a new password through a one-time link from the office."""
    storage = get_storage()
    template = "portal/password_reset.html"
    no_referrer = {"Referrer-Policy": "no-referrer"}  # the token must not leave in a Referer header
    if resets.live(storage, token) is None:
        return _form(template, 404, message=gettext("password.link_invalid"), headers=no_referrer, usable=False)
    if request.method == "GET":
        return _form(template, 200, headers=no_referrer, usable=True)
    try:
        resets.use(storage, token, request.form.get("new_password", "")[:200],
                   request.form.get("new_password_repeat", "")[:200])
    except ValidationError as exc:
        return _form(template, 400, exc.render(), exc.message.render(), headers=no_referrer, usable=True)
    session.clear()  # whoever was signed in in this browser is not the user who just reset
    flash(gettext("password.reset_done"), "success")
    response = make_response(redirect(url_for("portal.login")))
    response.headers.update(no_referrer)
    return response
