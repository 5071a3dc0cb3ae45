"""User accounts and API tokens. Passwords are stored hashed (scrypt); tokens only as SHA-256 digests."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from werkzeug.security import check_password_hash, generate_password_hash

from ..registry.fields import Field, Invalid, Schema, ValidationError
from ..registry.records import Row, merged, require, save
from ..storage import Storage
from . import sessions, tokens
from .hashing import hash_password

ROLES = ("admin", "producer", "inspector", "gateway")
# A gateway is a machine that posts inbound SMS with its token: it has no business signing in to the portal.
SIGN_IN_ROLES = ("admin", "producer", "inspector")
MIN_PASSWORD = 10
TOKEN_PREFIX = tokens.PREFIX
# Compared against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")


def check_password(value: str) -> str:
    """A password long enough to resist guessing."""
    if len(value) < MIN_PASSWORD:
        raise Invalid("error.password_short", min=MIN_PASSWORD)
    if len(value) > 200:
        raise Invalid("error.too_long", max=200)
    return value


SCHEMA = Schema(
    "User",
    (
        Field("email", "email", required=True, max_length=120),
        Field("name", max_length=120),
        Field("role", "choice", required=True, choices=ROLES),
        Field("producer_id", "integer", minimum=1, description="Required for the producer role, empty otherwise"),
        Field("password", "string", required=True, max_length=200, check=check_password, write_only=True),
        Field("disabled", "integer", minimum=0, maximum=1),
    ),
)


def _check(storage: Storage, values: dict[str, Any], existing: Row | None) -> dict[str, Any]:
    record = merged(values, existing)
    if record.get("role") == "producer":
        if not record.get("producer_id"):
            raise ValidationError.single("producer_id", "error.producer_required")
        if storage.get("producers", record["producer_id"]) is None:
            raise ValidationError.single("producer_id", "error.producer_unknown")
    elif "role" in values or "producer_id" in values:
        values["producer_id"] = None
    if "password" in values:
        values["password_hash"] = hash_password(values.pop("password"))
    return values


def create(storage: Storage, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Create a user account."""
    return save(storage, "users", SCHEMA, data, strict=strict, check=_check)


def update(storage: Storage, user_id: int, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Change a user's role, producer, name, password or disabled flag (the password only when given)."""
    data = {k: v for k, v in data.items() if not (k == "password" and not v)}
    row = save(storage, "users", SCHEMA, data, row_id=user_id, strict=strict, check=_check)
    # A new password or a disabled account must end every sign-in made before it, including copied cookies.
    if data.get("password") or row["disabled"]:
        sessions.revoke_all(storage, user_id)
    return row


def get(storage: Storage, user_id: int) -> Row:
    """One user; raises RecordNotFound."""
    return require(storage, "users", user_id, "user")


def by_email(storage: Storage, email: str) -> Row | None:
    """The user with this e-mail (any case), or None."""
    return storage.find_one("users", email=email.strip().lower())


def attempt(storage: Storage, email: str, password: str,
            verify: Callable[[str, str], bool] = check_password_hash) -> tuple[Row | None, Row | None, str]:
    """Check a sign-in: (the user who may sign in or None, the account the e-mail names or None, reason)."""
    user = by_email(storage, email) if email else None
    ok = verify(user["password_hash"] if user else _DUMMY_HASH, password or "")
    if user is None:
        return None, None, "unknown_email"
    if not ok:
        return None, user, "wrong_password"
    if user["disabled"]:
        return None, user, "disabled"
    if user["role"] not in SIGN_IN_ROLES:
        return None, user, "role_cannot_sign_in"
    return user, user, "ok"


def authenticate(storage: Storage, email: str, password: str) -> Row | None:
    """The enabled user of a role that signs in whose e-mail and password match, or None."""
    return attempt(storage, email, password)[0]


def public(user: Row) -> dict[str, Any]:
    """A user as shown to others: never the password hash."""
    return {k: v for k, v in user.items() if k != "password_hash"}


def create_token(storage: Storage, user_id: int, label: str | None = None) -> str:
    """A new bearer token with its role's scopes and the default expiry (see auth.tokens)."""
    return tokens.create(storage, user_id, label)


def user_for_token(storage: Storage, token: str) -> Row | None:
    """The enabled user a live bearer token belongs to, or None."""
    found = tokens.lookup(storage, token)
    return found[0] if found else None


def change_password(storage: Storage, user_id: int, current: str, new: str, repeat: str,
                    verify: Callable[[str, str], bool] = check_password_hash) -> Row:
    """A user's own password change: the current password must match; every session of the user is revoked
    (the caller starts a fresh one for the browser that asked). Raises ValidationError naming the field."""
    user = get(storage, user_id)
    if not verify(user["password_hash"], current or ""):
        raise ValidationError.single("current_password", "password.current_wrong")
    try:
        check_password(new or "")
    except Invalid as exc:
        raise ValidationError({"new_password": exc.message}) from None
    if new != repeat:
        raise ValidationError.single("new_password_repeat", "password.mismatch")
    return update(storage, user_id, {"password": new})
