"""Every setting checked at start-up, with a message that names it: a typo stops the service before it serves,
not at the first scan. Booleans are parsed strictly: the string "false" in config.toml is false, not true."""

from __future__ import annotations

import re
from typing import Any, MutableMapping

from .errors import Error

BOOLEANS = ("DEVELOPMENT", "TESTING", "SESSION_COOKIE_HTTPONLY")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")
ISSUER_RE = re.compile(r"^[A-Z0-9-]{1,8}$")
# A host printed in every stamp: a DNS name or IPv4 address, an optional port; no scheme, path or user.
HOST_RE = re.compile(r"^(?=.{1,253}(?::|$))[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")
# A phone number as people write it: digits, spaces and dots, an optional leading + (tel: links keep + and digits).
HOTLINE_RE = re.compile(r"^\+?[0-9](?:[0-9 .]{1,18})[0-9]$")
MIN_SECRET = 32  # characters of SECRET_KEY: it signs sessions, device cookies and network hashes
POSITIVE = ("MAX_CONTENT_LENGTH", "MAX_IMAGE_PIXELS", "MAX_PHOTO_PIXELS", "PERMANENT_SESSION_LIFETIME")
LANGUAGES = ("vi", "en")


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


def check(config: MutableMapping[str, Any]) -> None:
    """Normalise and check the settings in place; raise SettingsError for the first one that is wrong."""
    for name in BOOLEANS:
        if name in config:
            config[name] = strict_bool(name, config[name])
    issuer = config.get("ISSUER")
    if not isinstance(issuer, str) or not ISSUER_RE.match(issuer):
        raise SettingsError(f"ISSUER must be 1-8 of A-Z, 0-9 and '-', not {issuer!r}")
    host = config.get("PUBLIC_HOST")
    if not isinstance(host, str) or not HOST_RE.match(host) or ".." in host:
        raise SettingsError(f"PUBLIC_HOST must be a host name with an optional port (tem.ocop.example.vn, "
                            f"127.0.0.1:8000), without https:// or a path, not {host!r}")
    office = config.get("OFFICE_NAME")
    if not isinstance(office, str) or not 1 <= len(office.strip()) <= 120:
        raise SettingsError(f"OFFICE_NAME must be the issuing office's name (1-120 characters), not {office!r}")
    config["OFFICE_NAME"] = office.strip()
    hotline = config.get("OFFICE_HOTLINE")
    if isinstance(hotline, int) and not isinstance(hotline, bool):  # OCOP_STAMP_OFFICE_HOTLINE=1900... reads as a number
        hotline = str(hotline)
    if not isinstance(hotline, str) or (hotline.strip() and not HOTLINE_RE.match(hotline.strip())):
        raise SettingsError(f"OFFICE_HOTLINE must be a phone number (digits, spaces, dots, an optional leading +), "
                            f"or empty, not {hotline!r}")
    config["OFFICE_HOTLINE"] = hotline.strip()
    secret = config.get("SECRET_KEY")
    if not isinstance(secret, str) or len(secret) < MIN_SECRET:
        raise SettingsError(f"SECRET_KEY must be at least {MIN_SECRET} characters (leave it unset to have one "
                            f"made in the instance folder)")
    for name in POSITIVE:
        value = config.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SettingsError(f"{name} must be a positive whole number, not {value!r}")
    proxies = config.get("PROXY_COUNT")
    if isinstance(proxies, bool) or not isinstance(proxies, int) or not 0 <= proxies <= 5:
        raise SettingsError(f"PROXY_COUNT must be the number of reverse proxies in front (0-5), not {proxies!r}")
    if config.get("DEFAULT_LANGUAGE") not in LANGUAGES:
        raise SettingsError(f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}")
