"""Per-request resources: each worker thread keeps one Storage and lends it to its requests."""

from __future__ import annotations

import threading

from flask import current_app, g

from .config import database_target
from .storage import Storage, open_storage

# Opening SQLite and setting its pragmas costs more than a simple query, so each thread (waitress worker, CLI,
# test) reuses one SQLite connection; a PostgreSQL Storage borrows a pooled connection per request instead.
# A request never inherits an open transaction (see close_storage).
_local = threading.local()


def get_storage() -> Storage:
    """The request's (or CLI command's) storage."""
    if "storage" not in g:
        target = database_target(current_app.config)
        cached: Storage | None = getattr(_local, "storage", None)
        if cached is None or getattr(_local, "target", None) != target:
            if cached is not None:
                cached.close()
            cached = _local.storage = open_storage(target)
            _local.target = target
        g.storage = cached
    return g.storage


def close_storage(_exc: BaseException | None = None) -> None:
    """teardown: no transaction left open, pooled connections given back."""
    storage = g.pop("storage", None)
    if storage is not None:
        storage.release()
