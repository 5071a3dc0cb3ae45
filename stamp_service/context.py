"""Per-request resources: each worker thread keeps one storage connection and lends it to its requests."""

from __future__ import annotations

import threading

from flask import current_app, g

from .storage import Storage

# Opening SQLite and setting its pragmas costs more than a simple query, so each thread (waitress worker, CLI,
# test) reuses one connection; a request never inherits an open transaction (see close_storage).
_local = threading.local()


def get_storage() -> Storage:
    """The request's (or CLI command's) storage connection."""
    if "storage" not in g:
        path = current_app.config["DATABASE"]
        cached: Storage | None = getattr(_local, "storage", None)
        if cached is None or cached.path != path:
            if cached is not None:
                cached.close()
            cached = _local.storage = Storage(path)
        g.storage = cached
    return g.storage


def close_storage(_exc: BaseException | None = None) -> None:
    """teardown: give the connection back with no transaction left open."""
    storage = g.pop("storage", None)
    if storage is not None and storage.db.conn.in_transaction:
        storage.db.conn.rollback()
