"""Configuration: defaults, then the instance folder's config.toml, then OCOP_STAMP_* variables, then a test mapping."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

ENV_PREFIX = "OCOP_STAMP"
HOME_ENV = "OCOP_STAMP_HOME"
CONFIG_FILE = "config.toml"
SECRET_FILE = "secret_key"

DEFAULTS: dict[str, Any] = {
    "DATABASE": "ocop-stamp.db",  # relative to the instance folder
    "DATABASE_URL": "",  # postgresql://user@host/db for several nodes; empty: the SQLite file DATABASE
    "KEY_DIR": "keys",  # relative to the instance folder
    "KEY_PASSPHRASE": None,
    "DEVELOPMENT": False,
    "PUBLIC_HOST": "localhost:8000",  # the host printed in every stamp's URL
    "OFFICE_NAME": "Văn phòng Điều phối Chương trình OCOP",  # the issuing office, named on every shopper's page
    "OFFICE_HOTLINE": "",  # its hotline for shoppers (0203 3 835 000); empty: the pages give no number
    "ISSUER": "VN",  # issuer id in every stamp (1-8 of A-Z 0-9 -), e.g. the province office's code
    "DEFAULT_LANGUAGE": "vi",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # uploads larger than this get a 413 (phone photos are 2-12 MB)
    "MAX_IMAGE_PIXELS": 4096 * 4096,  # product images and report/case photos
    "MAX_PHOTO_PIXELS": 50_000_000,  # inspectors' shelf photos (48 MP phone cameras), scaled down before decoding
    "DECODE_CONCURRENCY": 2,  # uploaded images decoded at once per process; more uploads queue (memory, not CPU)
    "DECODE_WAIT_SECONDS": 30,  # an upload that waited this long for a decode place gets 503 with Retry-After
    "READY_MIN_FREE_MB": 100,  # /readyz fails below this much free disk space in the instance folder
    "COPY_RULES": {},  # copy-detection thresholds that differ from the defaults (docs/copy-detection.md)
    "VERIFY_LIMITS": {},  # per-network and per-device limits on public verifications (docs/copy-detection.md)
    "CLAIM_LIMITS": {},  # hidden-code guessing limits that differ from the defaults (docs/configuration.md)
    "OVERPRINT_MARGIN": 0.10,  # a batch's runs may hold its quantity plus this fraction (spoilt and test labels)
    "DAILY_STAMP_QUOTA": 200_000,  # stamps one producer may issue in 24 hours (admins: `ocop-stamp quota`)
    "LOGIN_LIMITS": {},  # sign-in throttle and password-check pool settings that differ from the defaults
    "EXPORT_LIMITS": {},  # concurrent streamed exports per user and in all (stamp_service/exports.py)
    "PROXY_COUNT": 0,  # reverse proxies in front of us whose X-Forwarded-For is trusted
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
}


def instance_path() -> Path:
    """The instance folder: $OCOP_STAMP_HOME, default ./instance, made absolute."""
    return Path(os.environ.get(HOME_ENV) or "instance").resolve()


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Fill app.config from defaults, instance config file, environment and the test mapping, in that order."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_file(CONFIG_FILE, load=tomllib.load, text=False, silent=True)
    app.config.from_prefixed_env(ENV_PREFIX)
    if test_config:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    for key in ("DATABASE", "KEY_DIR"):
        if app.config[key] != ":memory:":
            app.config[key] = str(instance / app.config[key])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)


def database_target(config: Mapping[str, Any]) -> str:
    """The database the service uses: DATABASE_URL (PostgreSQL) when set, else the SQLite file DATABASE."""
    return config.get("DATABASE_URL") or config["DATABASE"]


def _instance_secret(instance: Path) -> str:
    """Read the session-signing secret from the instance folder, creating it (mode 0600) on first start."""
    path = instance / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret
