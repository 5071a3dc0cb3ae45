"""The app's key store, built from configuration (KEY_DIR, KEY_PASSPHRASE, DEVELOPMENT)."""

from __future__ import annotations

from flask import Flask, current_app

from .keystore import SCRYPT_N, SCRYPT_N_MIN, KeyStore


def keystore(app: Flask | None = None) -> KeyStore:
    """The configured key store; private keys need KEY_PASSPHRASE unless in development mode."""
    config = (app or current_app).config
    # Tests make hundreds of throw-away keys: they seal them with the cheapest scrypt a key file may claim.
    # tests/test_keystore.py checks the production cost separately.
    cost = SCRYPT_N_MIN if config.get("TESTING") else SCRYPT_N
    return KeyStore(config["KEY_DIR"], config.get("KEY_PASSPHRASE"), allow_unencrypted=bool(config.get("DEVELOPMENT")),
                    scrypt_n=cost)
