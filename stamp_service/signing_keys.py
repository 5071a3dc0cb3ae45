"""The app's key store, built from configuration (KEY_DIR, KEY_PASSPHRASE, DEVELOPMENT)."""

from __future__ import annotations

from flask import Flask, current_app

from .keystore import KeyStore


def keystore(app: Flask | None = None) -> KeyStore:
    """The configured key store; private keys need KEY_PASSPHRASE unless in development mode."""
    config = (app or current_app).config
    return KeyStore(config["KEY_DIR"], config.get("KEY_PASSPHRASE"), allow_unencrypted=bool(config.get("DEVELOPMENT")))
