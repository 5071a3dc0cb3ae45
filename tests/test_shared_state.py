"""With PostgreSQL, nodes share what a single process keeps to itself: the signing keys (sealed, in the database;
each node's key folder is a cache of them) and the verification limits' counters."""

from __future__ import annotations

from databases import pg_storage, postgres_only  # noqa: F401 - fixture

from stamp_service.keystore import SCRYPT_N_MIN, KeyStore
from stamp_service.shared_keys import SharedKeyStore
from stamp_service.verification.throttle import SharedThrottle

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


def test_a_flood_spread_over_nodes_meets_one_limit(pg_storage):
    node_a, node_b = SharedThrottle(), SharedThrottle()  # two processes' throttles, one database
    checks = [("net:abc", 5), ("fresh:abc", 3)]
    now = 1_800_000_000.0
    answers = [(node_a, node_b)[i % 2].hit(pg_storage, checks, 600, now=now + i) for i in range(6)]
    assert answers[:3] == [0, 0, 0] and all(wait > 0 for wait in answers[3:])
    assert node_b.hit(pg_storage, [("net:other", 5)], 600, now=now) == 0  # another network has its own budget
    assert node_a.hit(pg_storage, checks, 600, now=now + 600) == 0  # the next window starts afresh
    assert pg_storage.count("rate_counters", window_no=int(now // 600)) == 0  # old windows are swept
