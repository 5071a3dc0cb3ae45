"""Streamed exports (a run's codes, its PDF, its CSV) hold a server thread for as long as the client reads, and
a slow reader reads for a long time. A few such downloads must not take every thread from the shoppers'
verification pages, so each user may stream EXPORT_LIMITS.per_user at once and the whole process
EXPORT_LIMITS.total; any more get 429 with Retry-After."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

from flask import current_app, g
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from .verification import thresholds

RETRY_SECONDS = 15


@dataclass(frozen=True)
class Limits:
    """Concurrent streamed exports per signed-in user and in all (waitress has 8 threads by default)."""

    per_user: int = 2
    total: int = 3

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> "Limits":
        """Limits from config EXPORT_LIMITS (unknown names refused, values must be positive integers)."""
        return thresholds.from_config(cls, values, "EXPORT_LIMITS")


class Slots:
    """The exports streaming now, per user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: Counter[int] = Counter()

    def take(self, user_id: int, limits: Limits) -> bool:
        """Take a slot for this user, or False if the user or the process has no slot left."""
        with self._lock:
            if self._by_user[user_id] >= limits.per_user or sum(self._by_user.values()) >= limits.total:
                return False
            self._by_user[user_id] += 1
            return True

    def give_back(self, user_id: int) -> None:
        """Free the user's slot (when the response is closed: finished, failed or abandoned)."""
        with self._lock:
            self._by_user[user_id] -= 1
            if self._by_user[user_id] <= 0:
                del self._by_user[user_id]


def streamed(response: Response) -> Response:
    """Let this streamed response hold one of the signed-in user's export slots until it is closed."""
    slots: Slots = current_app.extensions.setdefault("ocop_stamp.exports", Slots())
    user_id = g.identity.user_id
    if not slots.take(user_id, Limits.from_config(current_app.config.get("EXPORT_LIMITS"))):
        response.close()
        raise TooManyRequests(retry_after=RETRY_SECONDS)
    released = threading.Event()

    def give_back() -> None:
        if not released.is_set():  # once: at the body's end, or when the response is closed, whichever is first
            released.set()
            slots.give_back(user_id)

    body = response.response

    def finishing():  # a download read to its end frees the slot even if nobody closes the response
        try:
            yield from body
        finally:
            give_back()

    response.response = finishing()
    response.call_on_close(give_back)
    return response
