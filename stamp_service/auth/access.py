"""Roles on every route: each view declares who may call it, and a route that declares nothing cannot start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from flask import Flask, current_app, g, jsonify, redirect, request, session, url_for
from werkzeug.exceptions import Forbidden

from ..context import get_storage
from ..i18n import gettext
from . import csrf, sessions, tokens
from .users import ROLES

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
# Flask's own static route serves CSS and icons: nothing private lives there.
BUILTIN_PUBLIC = {"static"}


@dataclass(frozen=True)
class Identity:
    """The signed-in user as the request sees them."""

    user_id: int
    email: str
    role: str
    producer_id: int | None
    name: str | None = None
    via_token: bool = False
    scopes: frozenset[str] = frozenset()  # what the bearer token may do (pages: unused)

    @property
    def scope(self) -> int | None:
        """The producer this user is limited to (None: sees every producer)."""
        return self.producer_id if self.role == "producer" else None


def roles(*allowed: str) -> Callable[[F], F]:
    """Declare which roles may call this view (the first thing a reader sees on a route)."""
    bad = set(allowed) - set(ROLES)
    if bad or not allowed:
        raise ValueError(f"unknown roles {bad}")

    def mark(view: F) -> F:
        view.access = frozenset(allowed)  # type: ignore[attr-defined]
        return view

    return mark


def needs_scope(scope: str) -> Callable[[F], F]:
    """Declare the token scope an API view needs, when it is not the default (GET: read, else issue)."""
    if scope not in tokens.SCOPES:
        raise ValueError(f"unknown scope {scope}")

    def mark(view: F) -> F:
        view.scope = scope  # type: ignore[attr-defined]
        return view

    return mark


def scope_of(view: Any, method: str) -> str:
    """The scope a token needs for this view and method: declared, else read for GET and issue otherwise."""
    declared = getattr(view, "scope", None)
    if declared:
        return declared
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "issue"


def public(view: F) -> F:
    """Declare a view open to anyone, signed in or not."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def access_of(app: Flask, endpoint: str) -> frozenset[str] | str | None:
    """What a route declared: PUBLIC, a set of roles, or None if it declared nothing."""
    if endpoint in BUILTIN_PUBLIC or endpoint.endswith(".static"):
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def check_every_route_declares_access(app: Flask) -> None:
    """Refuse to start when any route forgot to say who may call it."""
    missing = sorted(r.endpoint for r in app.url_map.iter_rules() if access_of(app, r.endpoint) is None)
    if missing:
        raise RuntimeError(f"routes without a declared role: {', '.join(missing)}")


def is_api_request() -> bool:
    """Whether this request is for the JSON API (which authenticates by bearer token only)."""
    return request.path.startswith("/api/")


def load_identity() -> Identity | None:
    """The caller: a live bearer token on the API, a live server-side session on pages."""
    scopes: frozenset[str] = frozenset()
    if is_api_request():
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        found = tokens.lookup(get_storage(), token.strip())
        user, scopes = found if found else (None, frozenset())
        via_token = True
    else:
        user_id = session.get("user_id")
        user = get_storage().get("users", user_id) if isinstance(user_id, int) else None
        if user is not None and (user["disabled"] or not _session_is_live(user["id"])):
            user = None
        via_token = False
    if user is None:
        return None
    return Identity(user["id"], user["email"], user["role"], user["producer_id"], user["name"], via_token, scopes)


def _session_is_live(user_id: int) -> bool:
    lifetime = current_app.permanent_session_lifetime
    return sessions.is_live(get_storage(), session.get("sid"), user_id, lifetime)


def enforce() -> Any:
    """before_request: check the route's declared roles, then (form posts) the CSRF token."""
    g.identity = None
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let the 404/405 handlers answer
        return None
    access = access_of(current_app, endpoint)
    if access != PUBLIC or not is_api_request():
        g.identity = load_identity()
    if access != PUBLIC:
        identity: Identity | None = g.identity
        if identity is None:
            return _sign_in_first()
        if access is None or identity.role not in access:
            raise Forbidden()
        if identity.via_token:
            needed = scope_of(current_app.view_functions[endpoint], request.method)
            if needed not in identity.scopes:
                return _missing_scope(needed)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not is_api_request():
        csrf.check()
    return None


def _missing_scope(needed: str) -> Any:
    """403 naming the scope the token lacks, so the caller knows which token to make."""
    response = jsonify(error=gettext("error.token_scope_missing", scope=needed), scope=needed, fields={})
    response.status_code = 403
    return response


def _sign_in_first() -> Any:
    """401 with a Bearer challenge on the API; the login page (coming back here after) elsewhere."""
    if is_api_request():
        response = jsonify(error="authentication required: send 'Authorization: Bearer <token>'", fields={})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="ocop-stamp"'
        return response
    return redirect(url_for("portal.login", next=request.full_path if request.query_string else request.path))
