"""API bearer tokens: created with scopes and an expiry, stored only as SHA-256 digests, listed and revoked.

Scopes narrow what a token may do below what its user's role allows; the role check (@roles) still applies,
so a token can never do more than its user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any, Iterable

from ..registry.fields import Invalid
from ..storage import Storage
from . import clock

PREFIX = "ocop_"
SCOPES = ("read", "issue", "inspect", "gateway")
# What a new token may do when the creator names no scopes: everything its user's role is for.
ROLE_SCOPES = {"admin": ("read", "issue", "inspect"), "producer": ("read", "issue"),
               "inspector": ("read", "inspect"), "gateway": ("gateway",)}
DEFAULT_DAYS = 90
MAX_DAYS = 3650
# A write per request would serialise every API call on SQLite's one writer; a minute is precise enough.
TOUCH_EVERY = dt.timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(value: str | Iterable[str] | None, role: str) -> tuple[str, ...]:
    """Scopes from 'read,issue' (or a list); the role's own scopes when none are named."""
    if value is None or value == "":
        return ROLE_SCOPES.get(role, ())
    names = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    bad = sorted(set(names) - set(SCOPES))
    if bad:
        raise Invalid("error.token_scope_unknown", scopes=", ".join(bad), known=", ".join(SCOPES))
    return tuple(s for s in SCOPES if s in names)


def create(storage: Storage, user_id: int, label: str | None = None, *, scopes: Iterable[str] | str | None = None,
           days: int = DEFAULT_DAYS) -> str:
    """A new bearer token for the user; only its digest is stored, so it is shown once."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid("error.token_days", max=MAX_DAYS)
    user = storage.get("users", user_id)
    chosen = parse_scopes(scopes, user["role"] if user else "")
    token = PREFIX + secrets.token_urlsafe(32)
    expires = clock.stamp(clock.now() + dt.timedelta(days=days))
    storage.insert("api_tokens", {"user_id": user_id, "token_hash": _digest(token), "label": label,
                                  "scopes": " ".join(chosen), "expires_at": expires})
    return token


def lookup(storage: Storage, token: str) -> tuple[dict[str, Any], frozenset[str]] | None:
    """The enabled user and the scopes of a live (unexpired, unrevoked) token, or None; notes its use."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = storage.find_one("api_tokens", token_hash=_digest(token))
    if row is None or not hmac.compare_digest(row["token_hash"], _digest(token)) or row["revoked_at"]:
        return None
    moment = clock.now()
    if row["expires_at"] and clock.parse(row["expires_at"]) <= moment:
        return None
    user = storage.get("users", row["user_id"])
    if user is None or user["disabled"]:
        return None
    last = row["last_used_at"]
    if last is None or clock.parse(last) + TOUCH_EVERY <= moment:
        storage.update("api_tokens", row["id"], {"last_used_at": clock.stamp(moment)})
    return user, frozenset((row["scopes"] or "").split())


def list_all(storage: Storage, user_id: int | None = None) -> list[dict[str, Any]]:
    """Tokens (never their digests), with the owner's e-mail, oldest first."""
    where = {} if user_id is None else {"user_id": user_id}
    emails = {u["id"]: u["email"] for u in storage.find("users")}
    return [{**{k: v for k, v in row.items() if k != "token_hash"}, "email": emails.get(row["user_id"])}
            for row in storage.find("api_tokens", **where)]


def revoke(storage: Storage, token_id: int) -> bool:
    """Revoke one token by id; False when there is no such live token."""
    return storage.update_where("api_tokens", {"revoked_at": clock.stamp(clock.now())}, id=token_id,
                                revoked_at=None) > 0
