"""Whose turn it is to write a SQLite file: writers queue here instead of in SQLite's busy handler.

SQLite lets one connection write at a time. A writer that finds the file locked waits in the busy handler, which
polls with sleeps growing to 100 ms: under load a waiting writer loses the lock to newcomers poll after poll, and
a scan that takes 5 ms of work waits up to a second (issue 14). So a writer first takes its turn here: the
threads of a process on a lock (woken the moment it is free), then the processes sharing the file (gunicorn's
workers, a CLI command) on an flock of a file beside it, polled every millisecond or two. Only one writer at a
time then reaches SQLite's lock, and finds it free.
"""

from __future__ import annotations

import functools
import os
import threading
import time

try:
    import fcntl
except ImportError:  # Windows: one process per database (waitress); SQLite's busy handler orders the rest
    fcntl = None  # type: ignore[assignment]

_POLL_MAX = 0.002  # seconds between tries for another process's turn


class WriterTurn:
    """This process's turn at writing one database file (threads first, then processes). Reentrant: a thread
    holding two connections to the file behaves as it did before, its second writer left to SQLite."""

    def __init__(self, path: str) -> None:
        self.lock_path = path + "-writer"
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        """Wait for the turn up to timeout seconds; whether it was given."""
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if self._depth == 0 and not self._take_file(deadline):
            self._threads.release()
            return False
        self._depth += 1
        return True

    def release(self) -> None:
        """End the turn (of the outermost acquire: the file lock goes with its descriptor)."""
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        self._threads.release()

    def _take_file(self, deadline: float) -> bool:
        if fcntl is None:
            return True
        try:
            # opened per turn, never kept: no descriptor per database for the life of the process, none inherited
            # by a fork while locked
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return True  # a folder we cannot write to: SQLite's busy handler, as before
        delay = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(delay)
                delay = min(2 * delay, _POLL_MAX)


_turns: dict[str, WriterTurn] = {}
_turns_guard = threading.Lock()


def writer_turn(path: str) -> WriterTurn | None:
    """The turn for writing one database file in this process (None for an in-memory database, which no other
    connection shares)."""
    if path in (":memory:", ""):
        return None
    key = _resolved(path)
    with _turns_guard:
        turn = _turns.get(key)
        if turn is None:
            turn = _turns[key] = WriterTurn(key)
        return turn


@functools.lru_cache(maxsize=256)
def _resolved(path: str) -> str:
    return os.path.realpath(path)  # one file, however it is named


def _forget_parents_turns() -> None:
    # A forked worker (gunicorn) is a process of its own: its threads must not share its parent's lock, which a
    # parent's thread may even have held at the fork.
    global _turns_guard
    _turns.clear()
    _turns_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parents_turns)
