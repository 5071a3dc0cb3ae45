"""How many uploaded images are decoded at once: parallel uploads queue here instead of multiplying memory."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from flask import current_app
from werkzeug.exceptions import ServiceUnavailable

_lock = threading.Lock()
_gates: dict[int, threading.BoundedSemaphore] = {}

RETRY_AFTER = 10  # seconds: a queue that did not move for DECODE_WAIT_SECONDS is busy, not broken


def _gate(slots: int) -> threading.BoundedSemaphore:
    # One semaphore per configured size, shared by every worker thread of the process.
    with _lock:
        gate = _gates.get(slots)
        if gate is None:
            gate = _gates[slots] = threading.BoundedSemaphore(max(1, slots))
        return gate


@contextlib.contextmanager
def decode_slot(slots: int, wait_seconds: float) -> Iterator[None]:
    """Hold one of slots decode places while decoding; 503 with Retry-After if none frees within wait_seconds."""
    gate = _gate(slots)
    if not gate.acquire(timeout=wait_seconds):
        exc = ServiceUnavailable()
        exc.retry_after = RETRY_AFTER  # read by the error handler
        raise exc
    try:
        yield
    finally:
        gate.release()


def upload_slot() -> contextlib.AbstractContextManager[None]:
    """decode_slot sized by the app's DECODE_CONCURRENCY and DECODE_WAIT_SECONDS."""
    return decode_slot(int(current_app.config["DECODE_CONCURRENCY"]), float(current_app.config["DECODE_WAIT_SECONDS"]))
