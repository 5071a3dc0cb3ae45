"""With PostgreSQL, every node signs and verifies with the same keys: they live, sealed, in the database, and each
node's key folder is a cache of them."""

from __future__ import annotations

from databases import pg_storage, postgres_only  # noqa: F401 - fixture

from stamp_service.keystore import SCRYPT_N_MIN, KeyStore
from stamp_service.shared_keys import SharedKeyStore

pytestmark = postgres_only
PASSPHRASE = "a passphrase both nodes are given"


def _node(pg_storage, folder) -> SharedKeyStore:
    return SharedKeyStore(pg_storage, folder, PASSPHRASE, scrypt_n=SCRYPT_N_MIN)


def test_a_key_made_on_one_node_signs_and_changes_on_every_node(pg_storage, tmp_path):
    a = _node(pg_storage, tmp_path / "a")
    info = a.generate()
    b = _node(pg_storage, tmp_path / "b")  # a new node: an empty folder, filled from the database
    assert [k.kid for k in b.list()] == [info.kid]
    assert b.signing_key()[0].kid == info.kid  # b can unseal it: the same passphrase, the same sealed file
    stored = pg_storage.find("key_files", order_by="name")
    assert {r["name"] for r in stored} == {f"{info.kid_hex}.key", f"{info.kid_hex}.json"}
    sealed = next(bytes(r["content"]) for r in stored if r["name"].endswith(".key"))
    assert b"PRIVATE KEY" not in sealed and b'"cipher": "AES-256-GCM"' in sealed  # never a plain private key
    new = a.rotate()
    b.pull(force=True)
    assert {k.kid: k.status for k in b.list()} == {info.kid: "retired", new.kid: "active"}
    b.revoke(info.kid, "lộ khoá")  # a change on b reaches a
    a.pull(force=True)
    assert a.get(info.kid).status == "revoked"
    # a plain KeyStore on a's folder sees the same files: the cache is an ordinary key folder
    assert KeyStore(tmp_path / "a", PASSPHRASE).get(info.kid).status == "revoked"
