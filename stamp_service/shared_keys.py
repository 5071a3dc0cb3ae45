"""Signing keys shared by every node of a PostgreSQL deployment: the database holds the sealed key files (each
private key encrypted with KEY_PASSPHRASE, as on disk), and each node's key folder is only a cache of them.

So a node starts with an empty instance folder and signs and verifies with the same keys as the others; a key
generated, rotated, retired or revoked on one node reaches every other node at its next use of the key store (at
most PULL_SECONDS later). The passphrase itself is never stored: each node gets it from its configuration.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .keystore import KeyInfo, KeyStore, _write_atomic
from .storage import Conflict, Storage

#: how often a node asks the database whether keys changed (a tiny indexed read)
PULL_SECONDS = 1.0
_FILE = re.compile(r"^[0-9a-f]{8}\.(key|json)$")
# What each key folder last matched in the database (file name -> digest), and when it last asked.
_seen: dict[str, tuple[float, dict[str, str]]] = {}
_lock = threading.Lock()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SharedKeyStore(KeyStore):
    """A KeyStore whose files live in the database table key_files, with the key folder as this node's cache."""

    def __init__(self, storage: Storage, path: Path | str, passphrase: bytes | str | None, *,
                 own_storage: bool = False, **kw: Any) -> None:
        super().__init__(path, passphrase, **kw)
        self._storage = storage
        self._own_storage = own_storage  # not a request's: give its connection back after each use
        self.pull()

    def pull(self, *, force: bool = False) -> list[str]:
        """Bring this node's key folder up to the database's key files; return the files written."""
        folder = str(self.path)
        now = time.monotonic()
        with _lock:
            last, known = _seen.get(folder, (float("-inf"), {}))
            if not force and now - last < PULL_SECONDS:
                return []
        digests = {r["name"]: r["digest"] for r in self._storage.find("key_files", order_by="name")
                   if _FILE.match(r["name"])}
        written = []
        changed = [name for name, digest in digests.items() if known.get(name) != digest]
        if changed:
            self._ensure_dir()
            for row in self._storage.find("key_files", name=changed, order_by="name"):
                target = self.path / row["name"]
                data = bytes(row["content"])
                if not target.exists() or _digest(target.read_bytes()) != row["digest"]:
                    _write_atomic(target, data)
                    written.append(row["name"])
        with _lock:
            _seen[folder] = (now, digests)
        self._done()
        return written

    def push(self) -> list[str]:
        """Store this node's key files in the database (after a change made here); return the files stored."""
        if not self.path.is_dir():
            return []
        stored = []
        with self._storage.transaction():
            self._storage.lock("key_files")
            have = {r["name"]: r["digest"] for r in self._storage.find("key_files", order_by="name")}
            for file in sorted(self.path.iterdir()):
                if not _FILE.match(file.name):
                    continue
                data = file.read_bytes()
                digest = _digest(data)
                if have.get(file.name) == digest:
                    continue
                values = {"content": data, "digest": digest, "updated_at": _utc_now()}
                try:
                    self._storage.insert("key_files", {"name": file.name, **values})
                except Conflict:
                    self._storage.update_where("key_files", values, name=file.name)
                stored.append(file.name)
        with _lock:
            _seen.pop(str(self.path), None)
        self._done()
        return stored

    def _done(self) -> None:
        if self._own_storage:
            self._storage.release()

    def generate(self, alg: str = "EdDSA", **kw: Any) -> KeyInfo:
        """Create a new active key, here and for every node."""
        info = super().generate(alg, **kw)
        self.push()
        return info

    def rotate(self, alg: str = "EdDSA") -> KeyInfo:
        """Rotate here and for every node."""
        info = super().rotate(alg)
        self.push()
        return info

    def retire(self, kid: bytes) -> KeyInfo:
        """Retire here and for every node."""
        info = super().retire(kid)
        self.push()
        return info

    def revoke(self, kid: bytes, reason: str) -> KeyInfo:
        """Revoke here and for every node."""
        info = super().revoke(kid, reason)
        self.push()
        return info


def _utc_now() -> str:
    return datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
