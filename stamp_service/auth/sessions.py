"""Server-side sign-ins: the cookie carries a random id, the database says whether it still counts.

A signed cookie alone cannot be taken back, so a copied one used to work until it expired. Each sign-in now
has a row; logout, a password change or reset, and disabling the account revoke rows, and every request
checks its row. Only a digest of the id is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from ..storage import Storage
from . import clock

# Writing last_seen on every request would turn each page view into a write; once a minute is enough to tell
# an idle session from a live one.
TOUCH_EVERY = dt.timedelta(minutes=1)


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(storage: Storage, user_id: int) -> str:
    """Open a session for the user; returns the id to put in the cookie."""
    sid = secrets.token_urlsafe(32)
    storage.insert("sessions", {"sid_hash": _digest(sid), "user_id": user_id})
    return sid


def is_live(storage: Storage, sid: object, user_id: int, lifetime: dt.timedelta) -> bool:
    """Whether this cookie's session is the user's, not revoked and not older than the lifetime."""
    if not isinstance(sid, str) or len(sid) > 100:
        return False
    row = storage.find_one("sessions", sid_hash=_digest(sid))
    if row is None or row["user_id"] != user_id or row["revoked_at"] is not None:
        return False
    moment = clock.now()
    if clock.parse(row["created_at"]) + lifetime < moment:
        return False
    if clock.parse(row["last_seen_at"]) + TOUCH_EVERY <= moment:
        storage.update("sessions", row["id"], {"last_seen_at": clock.stamp(moment)})
    return True


def revoke(storage: Storage, sid: object) -> None:
    """End one session (logout)."""
    if isinstance(sid, str):
        storage.update_where("sessions", {"revoked_at": clock.stamp(clock.now())}, sid_hash=_digest(sid),
                             revoked_at=None)


def revoke_all(storage: Storage, user_id: int) -> int:
    """End every session of the user (password change or reset, account disabled); returns how many."""
    return storage.update_where("sessions", {"revoked_at": clock.stamp(clock.now())}, user_id=user_id,
                                revoked_at=None)
