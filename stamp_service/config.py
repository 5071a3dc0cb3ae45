"""Configuration: defaults (declared in settings.py), then the instance folder's config.toml, then OCOP_STAMP_*
variables, then a test mapping."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from .settings import DEFAULTS

ENV_PREFIX = "OCOP_STAMP"
HOME_ENV = "OCOP_STAMP_HOME"
CONFIG_FILE = "config.toml"
SECRET_FILE = "secret_key"


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
