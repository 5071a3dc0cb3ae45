"""Per-network and per-device limits on public verifications, so a flood cannot fill the disk or the CPU.

Fixed windows, counted in this process's memory on the embedded deployment (one process), and in the shared
database with PostgreSQL (SharedThrottle), so a flood spread over several nodes meets one limit. The limits are set far above what the
shoppers of one network scan in a window (a carrier-grade NAT /24 at peak season included), so a real
shopper is refused only when someone floods from the very same network at the same time.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping
from . import thresholds

if TYPE_CHECKING:
    from ..storage import Storage


@dataclass(frozen=True)
class Limits:
    """How many verifications one network's fresh visitors, and one known device, may make per window."""

    window_seconds: int = 600
    fresh_per_network: int = 300  # requests without a valid device cookie, per network and window
    per_device: int = 120  # requests of one signed device cookie, per window (a shopper checks a few stamps)
    per_network: int = 3000  # everything from one network, per window (cookies farmed in bulk included)

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> "Limits":
        """Limits from config VERIFY_LIMITS (unknown names refused, values must be positive integers)."""
        return thresholds.from_config(cls, values, "VERIFY_LIMITS")


class Throttle:
    """Counts requests per key in fixed windows; answers how long to wait when a key is over its limit."""

    MAX_KEYS = 200_000  # memory bound: a flood of distinct keys resets the window early rather than grow

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: int | None = None
        self._counts: dict[str, int] = {}

    def hit(self, checks: list[tuple[str, int]], window_seconds: int, now: float | None = None) -> int:
        """Count one request against each (key, limit); 0 if all are within their limits, else the seconds to
        wait (Retry-After). A refused request is not counted, so a refused flood does not extend itself."""
        now = time.time() if now is None else now
        window = int(now // window_seconds)
        with self._lock:
            if window != self._window or len(self._counts) > self.MAX_KEYS:
                self._window, self._counts = window, {}
            if any(self._counts.get(key, 0) >= limit for key, limit in checks):
                return max(1, math.ceil((window + 1) * window_seconds - now))
            for key, _ in checks:
                self._counts[key] = self._counts.get(key, 0) + 1
            return 0


class SharedThrottle:
    """The same counting as Throttle, in the database table rate_counters, for several nodes."""

    def __init__(self) -> None:
        self._swept: int | None = None  # the last window this process cleared old counters for

    def hit(self, storage: "Storage", checks: list[tuple[str, int]], window_seconds: int,
            now: float | None = None) -> int:
        """Count one request against each (key, limit); 0 if all are within their limits, else the seconds to
        wait. A refused request is not counted (nodes racing at the limit may let a few more through)."""
        now = time.time() if now is None else now
        window = int(now // window_seconds)
        if self._swept != window:
            self._swept = window
            storage.delete_where("rate_counters", "window_no", window)
        keys = [key for key, _ in checks]
        counts = {r["key"]: r["n"] for r in storage.find("rate_counters", key=keys, window_no=window, order_by="key")}
        if any(counts.get(key, 0) >= limit for key, limit in checks):
            return max(1, math.ceil((window + 1) * window_seconds - now))
        with storage.transaction():
            for key in keys:
                storage.add_counts("rate_counters", {"key": key, "window_no": window})
        return 0
