"""Password reset by the office: an admin makes a one-time link for a user who forgot their password and hands
it over (in person, by phone, by Zalo); the user sets a new password through it.

The link carries a random token; only its SHA-256 digest is stored. A link works once, for LIFETIME, and making
a new link for the same user cancels the older ones. Using it sets the password and revokes every session of the
user (users.update does that), so whoever held a copied cookie is out too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from ..registry.fields import Invalid, ValidationError
from ..registry.records import Row
from ..storage import Storage
from . import clock, users

LIFETIME = dt.timedelta(hours=24)  # long enough to reach someone in a commune office, short enough to go stale
MAX_TOKEN = 100  # longer is not one of ours: no lookup


@dataclass(frozen=True)
class Link:
    """A link just made: the token to put in the URL (shown once) and when it stops working."""

    token: str
    expires_at: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(storage: Storage, user_id: int, *, created_by: int | None, lifetime: dt.timedelta = LIFETIME) -> Link:
    """A new one-time reset link for the user; older unused links of that user stop working."""
    users.get(storage, user_id)  # RecordNotFound for an unknown user
    token = secrets.token_urlsafe(32)
    moment = clock.now()
    with storage.transaction():
        storage.update_where("password_resets", {"used_at": clock.stamp(moment)}, user_id=user_id, used_at=None)
        row = storage.insert("password_resets", {"user_id": user_id, "token_hash": _digest(token),
                                                 "created_by": created_by,
                                                 "expires_at": clock.stamp(moment + lifetime)})
    return Link(token, row["expires_at"])


def live(storage: Storage, token: object) -> Row | None:
    """The unused, unexpired reset this token names, or None."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        return None
    row = storage.find_one("password_resets", token_hash=_digest(token))
    if row is None or row["used_at"] is not None or clock.parse(row["expires_at"]) <= clock.now():
        return None
    user = storage.get("users", row["user_id"])
    return row if user is not None and not user["disabled"] else None


def use(storage: Storage, token: str, password: str, repeat: str) -> Row:
    """Set the user's new password through a live link (once); every session of the user is revoked."""
    try:
        users.check_password(password or "")
    except Invalid as exc:
        raise ValidationError({"new_password": exc.message}) from None
    if password != repeat:
        raise ValidationError.single("new_password_repeat", "password.mismatch")
    with storage.transaction():
        row = live(storage, token)
        if row is None:
            raise ValidationError.single("token", "password.link_invalid")
        # Marking it used first, guarded on used_at IS NULL, makes a second use lose even when two race.
        if storage.update_where("password_resets", {"used_at": clock.stamp(clock.now())}, id=row["id"],
                                used_at=None) != 1:
            raise ValidationError.single("token", "password.link_invalid")
        return users.update(storage, row["user_id"], {"password": password})
