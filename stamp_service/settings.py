"""Every setting, declared once: its default (config.DEFAULTS), its check at start-up and its meaning (the table
in docs/configuration.md is generated from here: `cog -r docs/*.md`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, MutableMapping

from . import settings_check as checks
from .i18n import LANGUAGES


class _Computed:
    """The default of a setting that has none to declare: Flask's own, or made at start-up."""

    def __repr__(self) -> str:
        return "COMPUTED"


COMPUTED: Any = _Computed()


@dataclass(frozen=True)
class Setting:
    """One setting: name, default, meaning (for people) and the check its value must pass."""

    name: str
    default: Any
    meaning: str
    check: checks.Check | None = None
    shown: str | None = None  # the default as the docs write it, when its Python value is not clear to people
    flask: bool = False  # Flask reads it itself (sessions, uploads); our own code may read it too

    def shown_default(self) -> str:
        """The default as docs/configuration.md shows it."""
        if self.shown is not None:
            return self.shown
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if self.default is None:
            return "none"
        if self.default == "":
            return "empty"
        if isinstance(self.default, (str, dict, float)):
            return f"`{self.default}`"
        return str(self.default)


_POSITIVE_INTEGERS = "positive integers, anything else stops start-up"

SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE", "ocop-stamp.db", "SQLite file, relative to the instance folder (when `DATABASE_URL` is "
            "empty)"),
    Setting("DATABASE_URL", "", "`postgresql://user@host:5432/dbname`: serve from a PostgreSQL database that any "
            "number of nodes share ([deployment.md](deployment.md)); empty: the SQLite file `DATABASE`",
            checks.database_url),
    Setting("KEY_DIR", "keys", "signing key store, relative to the instance folder (see `keys/README.md`)"),
    Setting("KEY_PASSPHRASE", None, "passphrase that encrypts private keys at rest; set it through the environment, "
            "not a file in the repository"),
    Setting("DEVELOPMENT", False, "development mode (allows unencrypted keys); true or false", checks.strict_bool),
    Setting("TESTING", False, "tests only: cheap password hashes and key sealing, no passphrase needed to serve; "
            "never in production", checks.strict_bool, flask=True),
    Setting("PUBLIC_HOST", "localhost:8000", "host printed in stamps' URLs: a host name with an optional port, "
            "without `https://` or a path", checks.host),
    Setting("SECRET_KEY", COMPUTED, "signs session cookies and keys the hashes of scanners' networks and SMS "
            "senders; generated on first start into `instance/secret_key` (mode 0600); at least 32 characters",
            checks.secret, shown="generated", flask=True),
    Setting("DEFAULT_LANGUAGE", "vi", "the pages' language (`vi` or `en`) for a visitor who chose none (`?lang=`, "
            "the language switch) and whose browser asks for neither", checks.one_of(*LANGUAGES)),
    Setting("MAX_CONTENT_LENGTH", 16 * 1024 * 1024, "larger uploads get 413 (phone photos are 2-12 MB)",
            checks.positive, shown="16 MiB", flask=True),
    Setting("MAX_IMAGE_PIXELS", 4096 * 4096, "larger product images and report or case photos are refused (read "
            "from the image header, before any pixel is decoded; JPEG, PNG and WebP only, HEIC too where "
            "`pillow-heif` is installed)", checks.positive, shown="16.7 M"),
    Setting("MAX_PHOTO_PIXELS", 50_000_000, "larger inspectors' shelf photos (48 MP phone cameras) are refused "
            "(smaller ones are scaled down before decoding)", checks.positive, shown="50 M"),
    Setting("DECODE_CONCURRENCY", 2, "uploaded images (product images, report, case and shelf photos) decoded at "
            "once per process; more uploads wait for a place, so parallel uploads queue instead of multiplying "
            "memory", checks.positive),
    Setting("DECODE_WAIT_SECONDS", 30, "an upload that waited this long for a decode place gets 503 with "
            "`Retry-After`", checks.positive_number),
    Setting("READY_MIN_FREE_MB", 100, "`GET /readyz` answers 503 when the instance folder's disk has less free "
            "space than this (MiB)", checks.not_negative),
    Setting("OFFICE_NAME", "Văn phòng Điều phối Chương trình OCOP", "the issuing office, named with the official "
            "host at the foot of every shopper's page (1-120 characters)", checks.office_name),
    Setting("OFFICE_HOTLINE", "", "the office's hotline for shoppers (e.g. 0203 3 835 000), shown (tap to call) in what "
            "to do after a bad verdict: digits, spaces, dots, an optional leading `+`; empty: no number is shown",
            checks.hotline),
    Setting("ISSUER", "VN", "issuer id in every stamp (1-8 of A-Z, 0-9, -), e.g. the province office's code",
            checks.issuer),
    Setting("COPY_RULES", {}, "copy-detection thresholds that differ from the defaults "
            "([copy-detection.md](copy-detection.md)); " + _POSITIVE_INTEGERS,
            checks.beside("stamp_service.verification.copy_detection:Rules.from_config")),
    Setting("VERIFY_LIMITS", {}, "limits on public verifications per network and device that differ from the "
            "defaults (`window_seconds` 600, `fresh_per_network` 300, `per_device` 120, `per_network` 3000; "
            "[copy-detection.md](copy-detection.md)); " + _POSITIVE_INTEGERS,
            checks.beside("stamp_service.verification.throttle:Limits.from_config")),
    Setting("CLAIM_LIMITS", {}, "hidden-code guessing limits that differ from the defaults ([claims.md](claims.md)): "
            "`wrong_per_serial` (5) wrong codes per stamp within `serial_hours` (24), and `per_network` (20) "
            "attempts per network, or per SMS sender, within `network_minutes` (60); " + _POSITIVE_INTEGERS,
            checks.beside("stamp_service.verification.claims:Limits.from_config")),
    Setting("OVERPRINT_MARGIN", 0.10, "the runs of a batch may hold at most its quantity plus this fraction of it "
            "(spoilt labels, test prints); `0.1` is 10%, so a batch of 1,000 gets at most 1,100 stamps; a number "
            "from 0 to 10, anything else stops start-up",
            checks.beside("stamp_service.stamps.quotas:limits_from", as_config=True)),
    Setting("DAILY_STAMP_QUOTA", 200_000, "stamps one producer may issue through its own portal or API account in "
            "any 24 hours; an admin can set another quota for one producer with `ocop-stamp quota PRODUCER_ID N` "
            "([cli.md](cli.md)); admins and the command line are not held to it; a whole number from 0 to "
            "100,000,000, anything else stops start-up",
            checks.beside("stamp_service.stamps.quotas:limits_from", as_config=True)),
    Setting("LOGIN_LIMITS", {}, "sign-in throttle and password-check pool settings that differ from the defaults "
            "([security.md](security.md#sign-in-sessions-and-tokens)): `per_account` (5) failures per account and "
            "`per_network` (30) per network (/24 or /48) within `window_minutes` (60) before each further try "
            "waits `base_seconds` (2), doubling per failure up to `max_seconds` (900); `hash_workers` (2) password "
            "checks at once and `hash_queue` (4) waiting, any more sign-ins answered 503 at once; "
            + _POSITIVE_INTEGERS, checks.beside("stamp_service.auth.throttle:Limits.from_config")),
    Setting("EXPORT_LIMITS", {}, "streamed exports (a run's codes, PDF, CSV) at once that differ from the defaults: "
            "`per_user` (2) per signed-in user and `total` (3) in the process; more get 429 with `Retry-After`, so "
            "slow downloads cannot take every server thread from the shoppers' pages; " + _POSITIVE_INTEGERS,
            checks.beside("stamp_service.exports:Limits.from_config")),
    Setting("PROXY_COUNT", 0, "reverse proxies in front whose `X-Forwarded-For` is trusted (0-5)",
            checks.proxy_count),
    Setting("SESSION_COOKIE_SECURE", False, "send the portal's session cookie over HTTPS only; it is sent that way "
            "anyway whenever the request came over TLS (directly, or at a trusted proxy)", checks.strict_bool,
            flask=True),
    Setting("SESSION_COOKIE_HTTPONLY", True, "the session cookie is out of reach of the pages' scripts; true or "
            "false (keep it true)", checks.strict_bool, flask=True),
    Setting("SESSION_COOKIE_SAMESITE", "Lax", "`Lax` or `Strict`: whether a link from another site arrives signed "
            "in (`Strict`: never; forms from other sites never carry the cookie either way)",
            checks.one_of("Lax", "Strict"), flask=True),
    Setting("PERMANENT_SESSION_LIFETIME", 8 * 3600, "seconds a portal sign-in lasts from when it began, whatever the "
            "activity; logout, a password change or reset and disabling the account end it at once (server-side "
            "sessions)", checks.positive, shown="8 hours", flask=True),
)

DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS if s.default is not COMPUTED}


def check(config: MutableMapping[str, Any]) -> None:
    """Normalise and check the settings in place; raise SettingsError for the first one that is wrong."""
    for setting in SETTINGS:
        if setting.check is not None:
            config[setting.name] = setting.check(setting.name, config.get(setting.name))


def markdown_table() -> str:
    """The settings as the Markdown table of docs/configuration.md."""
    rows = ["| name | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.name}` | {s.shown_default()} | {s.meaning} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"
