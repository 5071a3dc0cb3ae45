"""How a setting is checked at start-up, with a message that names it: a typo stops the service before it serves,
not at the first scan. Booleans are parsed strictly: the string "false" in config.toml is false, not true.

Each check takes the setting's name and value and returns the value to use (normalised) or raises SettingsError;
which setting gets which check is declared once, in stamp_service/settings.py."""

from __future__ import annotations

import importlib
import re
from typing import Any, Callable

Check = Callable[[str, Any], Any]

from .errors import Error

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")
ISSUER_RE = re.compile(r"^[A-Z0-9-]{1,8}$")
# A host printed in every stamp: a DNS name or IPv4 address, an optional port; no scheme, path or user.
HOST_RE = re.compile(r"^(?=.{1,253}(?::|$))[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")
# A phone number as people write it: digits, spaces and dots, an optional leading + (tel: links keep + and digits).
HOTLINE_RE = re.compile(r"^\+?[0-9](?:[0-9 .]{1,18})[0-9]$")
MIN_SECRET = 32  # characters of SECRET_KEY: it signs sessions, device cookies and network hashes
MAX_PROXIES = 5


class SettingsError(Error, ValueError):
    """A setting the service cannot start with; the detail says which and what it expects (for the operator)."""

    key = "error.settings"


def strict_bool(name: str, value: Any) -> bool:
    """A boolean setting from TOML, the environment or a test mapping; anything unclear is refused."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive(name: str, value: Any) -> int:
    """A whole number of at least 1."""
    if not _whole(value) or value < 1:
        raise SettingsError(f"{name} must be a positive whole number, not {value!r}")
    return value


def not_negative(name: str, value: Any) -> int:
    """A whole number of at least 0."""
    if not _whole(value) or value < 0:
        raise SettingsError(f"{name} must be a whole number of at least 0, not {value!r}")
    return value


def positive_number(name: str, value: Any) -> float | int:
    """A number (seconds, say) above 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise SettingsError(f"{name} must be a number above 0, not {value!r}")
    return value


def one_of(*choices: str) -> Check:
    """A check that the value is one of choices."""

    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}")
        return value

    return check


def issuer(name: str, value: Any) -> str:
    """The issuer id in every stamp."""
    if not isinstance(value, str) or not ISSUER_RE.match(value):
        raise SettingsError(f"{name} must be 1-8 of A-Z, 0-9 and '-', not {value!r}")
    return value


def host(name: str, value: Any) -> str:
    """The host printed in every stamp's URL."""
    if not isinstance(value, str) or not HOST_RE.match(value) or ".." in value:
        raise SettingsError(f"{name} must be a host name with an optional port (tem.ocop.example.vn, "
                            f"127.0.0.1:8000), without https:// or a path, not {value!r}")
    return value


def office_name(name: str, value: Any) -> str:
    """The issuing office's name, trimmed."""
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 120:
        raise SettingsError(f"{name} must be the issuing office's name (1-120 characters), not {value!r}")
    return value.strip()


def hotline(name: str, value: Any) -> str:
    """A phone number as people write it, trimmed, or empty."""
    if _whole(value):  # OCOP_STAMP_OFFICE_HOTLINE=1900... reads as a number
        value = str(value)
    if not isinstance(value, str) or (value.strip() and not HOTLINE_RE.match(value.strip())):
        raise SettingsError(f"{name} must be a phone number (digits, spaces, dots, an optional leading +), "
                            f"or empty, not {value!r}")
    return value.strip()


def secret(name: str, value: Any) -> str:
    """A signing secret long enough to resist guessing."""
    if not isinstance(value, str) or len(value) < MIN_SECRET:
        raise SettingsError(f"{name} must be at least {MIN_SECRET} characters (leave it unset to have one "
                            f"made in the instance folder)")
    return value


def proxy_count(name: str, value: Any) -> int:
    """How many reverse proxies are in front of the service."""
    if not _whole(value) or not 0 <= value <= MAX_PROXIES:
        raise SettingsError(f"{name} must be the number of reverse proxies in front (0-{MAX_PROXIES}), "
                            f"not {value!r}")
    return value


def database_url(name: str, value: Any) -> str:
    """Empty (SQLite), or a PostgreSQL URL."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not value.startswith(("postgresql://", "postgres://")):
        raise SettingsError(f"{name} must be a postgresql:// URL (several nodes sharing one database), or empty "
                            f"to use the SQLite file DATABASE")
    return value


def beside(target: str, *, as_config: bool = False) -> Check:
    """A check that lives beside its domain ("module:Class.from_config", called with the value, or with
    {name: value} when as_config); its ValueError becomes a SettingsError. Imported when it runs: the domains
    import much of the service, which the configuration must not."""
    module, _, path = target.partition(":")

    def check(name: str, value: Any) -> Any:
        found: Any = importlib.import_module(module)
        for part in path.split("."):
            found = getattr(found, part)
        try:
            found({name: value} if as_config else value)
        except SettingsError:
            raise
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return value

    return check
