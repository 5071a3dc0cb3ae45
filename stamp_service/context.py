"""Per-request resources: one storage connection per request, closed when the request ends."""

from __future__ import annotations

from flask import current_app, g

from .storage import Storage


def get_storage() -> Storage:
    """The request's (or CLI command's) storage connection, opened on first use."""
    if "storage" not in g:
        g.storage = Storage(current_app.config["DATABASE"])
    return g.storage


def close_storage(_exc: BaseException | None = None) -> None:
    """teardown: close the connection if this request opened one."""
    storage = g.pop("storage", None)
    if storage is not None:
        storage.close()
