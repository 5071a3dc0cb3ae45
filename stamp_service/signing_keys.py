"""The app's key store, built from configuration (KEY_DIR, KEY_PASSPHRASE, DEVELOPMENT, DATABASE_URL)."""

from __future__ import annotations

from flask import Flask, current_app

from .keystore import SCRYPT_N, SCRYPT_N_MIN, KeyStore


def keystore(app: Flask | None = None, *, offline: bool = False) -> KeyStore:
    """The configured key store; private keys need KEY_PASSPHRASE unless in development mode. With PostgreSQL the
    keys live in the database, shared by every node, and KEY_DIR is this node's cache of them (offline: the cache
    alone, as last filled)."""
    config = (app or current_app).config
    # Tests make hundreds of throw-away keys: they seal them with the cheapest scrypt a key file may claim.
    # tests/test_keystore.py checks the production cost separately.
    cost = SCRYPT_N_MIN if config.get("TESTING") else SCRYPT_N
    options = {"allow_unencrypted": bool(config.get("DEVELOPMENT")), "scrypt_n": cost}
    if config.get("DATABASE_URL") and not offline:
        from .context import get_storage
        from .shared_keys import SharedKeyStore

        return SharedKeyStore(get_storage(), config["KEY_DIR"], config.get("KEY_PASSPHRASE"), **options)
    return KeyStore(config["KEY_DIR"], config.get("KEY_PASSPHRASE"), **options)
