"""Password checks on a small pool of their own, so a flood of sign-ins cannot take every server thread.

A scrypt check costs tens of milliseconds of CPU. Run on waitress's threads, sixteen connections of wrong
passwords kept every thread hashing and shoppers' verifications waited seconds. Here at most `workers`
checks run at once and at most `queue` more wait; any further sign-in is refused at once (LoginBusy), so the
threads a flood can hold are bounded by workers + queue, and the rest stay free for the public pages.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Error

DEFAULT_WORKERS = 2
PASSWORD_METHOD = "scrypt"  # werkzeug's scrypt: N=2^15, r=8, p=1 (tens of milliseconds a check)
# Tests only (TESTING): the same scheme 32 times cheaper, so a test world of five accounts does not spend a second
# hashing. A check reads the cost from the stored hash, so such a hash is never accepted as a production one.
TESTING_PASSWORD_METHOD = "scrypt:1024:8:1"


def hash_password(password: str) -> str:
    """The password's salted scrypt hash, as stored."""
    testing = has_app_context() and current_app.config.get("TESTING")
    return generate_password_hash(password, method=TESTING_PASSWORD_METHOD if testing else PASSWORD_METHOD)

DEFAULT_QUEUE = 4


class LoginBusy(Error):
    """Too many sign-ins are being checked right now; the caller should try again in a moment."""

    status = 503
    key = "login.busy"
    retry_after = 2


class PasswordChecker:
    """A bounded pool that checks passwords against their stored hashes."""

    def __init__(self, workers: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be at least 1 and queue at least 0")
        self.workers = workers
        self.queue = queue
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password-check")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether the password matches; raises LoginBusy when the pool and its queue are full."""
        if not self._slots.acquire(blocking=False):
            raise LoginBusy()
        try:
            return self._pool.submit(check_password_hash, stored_hash, password).result()
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stop the pool's threads (tests and shutdown)."""
        self._pool.shutdown(wait=False)
