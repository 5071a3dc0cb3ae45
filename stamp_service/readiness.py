"""Readiness: can this instance record a scan right now (database writable, disk not nearly full)?"""

from __future__ import annotations

import shutil
from pathlib import Path

from .storage import Storage, StorageError


def checks(storage: Storage, instance: Path, min_free_mb: int) -> dict[str, str]:
    """Each check's outcome ("ok" or a short reason), with no paths: the answer is public."""
    results: dict[str, str] = {}
    try:
        storage.check_writable()
    except StorageError as exc:
        results["database"] = getattr(exc, "reason", "error")
    else:
        results["database"] = "ok"
    try:
        free_mb = shutil.disk_usage(instance).free // (1024 * 1024)
    except OSError:
        results["disk"] = "error"
    else:
        results["disk"] = "ok" if free_mb >= min_free_mb else "low"
    return results
