"""The app's key store, built from configuration (KEY_DIR, KEY_PASSPHRASE, DEVELOPMENT, DATABASE_URL)."""

from __future__ import annotations

from flask import Flask, current_app, has_app_context

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
        from .storage import open_storage

        if has_app_context() and (app is None or app is current_app._get_current_object()):
            return SharedKeyStore(get_storage(), config["KEY_DIR"], config.get("KEY_PASSPHRASE"), **options)
        # Outside a request (scripts, tests holding the app): a storage of its own, given back after each use.
        return SharedKeyStore(open_storage(config["DATABASE_URL"]), config["KEY_DIR"], config.get("KEY_PASSPHRASE"),
                              own_storage=True, **options)
    return KeyStore(config["KEY_DIR"], config.get("KEY_PASSPHRASE"), **options)
