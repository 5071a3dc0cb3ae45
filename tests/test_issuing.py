"""Issuing stamps: serial ranges that never overlap or half-exist, refusals, derived codes, states, keys."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from conftest import KEY_PASSPHRASE
from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.keystore import KeyNotUsable, KeyStore, load_jwks
from stamp_service.registry import recognitions
from stamp_service.registry.fields import ValidationError
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.errors import KeyRevoked
from stamp_service.stamps.qr import qr_version
from stamp_service.stamps.signing import verify_stamp
from stamp_service.config import database_target
from stamp_service.storage import open_storage


def issue(app, batch_id, count, **kw):
    with app.app_context():
        return issuing.issue_run(get_storage(), keystore(app), batch_id, count, issuer="VN",
                                 host=app.config["PUBLIC_HOST"], **kw)


def test_runs_are_contiguous_and_one_row_each(app, world):
    first = issue(app, world.batch_a, 10)
    big = issue(app, world.batch_a, 1_000_000)
    assert big["first_serial"] == first["last_serial"] + 1
    assert big["last_serial"] - big["first_serial"] + 1 == 1_000_000
    with app.app_context():
        assert get_storage().count("runs") == 3  # the fixture's run, and these two: no row per stamp


def _issue_in_process(args):
    db, key_dir, batch_id, n = args
    store = KeyStore(key_dir, KEY_PASSPHRASE, scrypt_n=2**10)
    storage = open_storage(db)
    ranges = [(r["first_serial"], r["last_serial"]) for r in
              (issuing.issue_run(storage, store, batch_id, 7, issuer="VN", host="tem.example.vn") for _ in range(n))]
    storage.close()
    return ranges


def test_concurrent_processes_never_overlap(app, world):
    jobs = [(database_target(app.config), app.config["KEY_DIR"], world.batch_a, 15)] * 4
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        ranges = [r for result in pool.map(_issue_in_process, jobs) for r in result]
    serials = [s for lo, hi in ranges for s in range(lo, hi + 1)]
    assert len(ranges) == 60 and len(serials) == len(set(serials)) == 60 * 7
    with app.app_context():
        rows = get_storage().find("runs", order_by="first_serial")
    assert all(b["first_serial"] == a["last_serial"] + 1 for a, b in zip(rows, rows[1:]))


def _crash_inside_transaction(db, key_dir, batch_id):
    import stamp_service.stamps.issuing as target

    target.qr_version = lambda *a, **k: os._exit(3)  # the process dies after allocating, before committing
    target.issue_run(open_storage(db), KeyStore(key_dir, KEY_PASSPHRASE), batch_id, 50, issuer="VN", host="h.vn")


def test_a_crash_mid_issue_leaves_no_half_run(app, world):
    before = issue(app, world.batch_a, 5)
    proc = multiprocessing.get_context("spawn").Process(
        target=_crash_inside_transaction, args=(database_target(app.config), app.config["KEY_DIR"], world.batch_a))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3
    after = issue(app, world.batch_a, 5)  # the database is not left locked, and the dead run took no serials
    assert after["first_serial"] == before["last_serial"] + 1
    with app.app_context():
        assert get_storage().count("runs") == 3


@pytest.mark.parametrize("count", [0, -5, 1_000_001, "10", True, None, 2.5])
def test_bad_counts_are_refused(app, world, count):
    with pytest.raises(ValidationError) as exc:
        issue(app, world.batch_a, count)
    assert "count" in exc.value.fields


def test_refused_without_a_valid_certificate(app, world):
    with pytest.raises(ValidationError) as exc:
        issue(app, world.batch_b, 5)  # product B has no recognition at all
    assert exc.value.message.render("en").startswith("The product has no valid OCOP certificate (status: none)")
    with app.app_context():
        recognitions.revoke(get_storage(), world.recognition_a, {"reason": "test"})
    with pytest.raises(ValidationError) as exc:
        issue(app, world.batch_a, 5)
    assert "revoked" in exc.value.message.render("en")


def test_refused_for_an_expired_certificate(app, world):
    with app.app_context():
        recognitions.create(get_storage(), {"product_id": world.product_b, "stars": 3, "level": "district",
                                            "issuing_body": "UBND huyện", "decision_number": "1",
                                            "decision_date": (dt.date.today() - dt.timedelta(days=1200)).isoformat()})
    with pytest.raises(ValidationError) as exc:
        issue(app, world.batch_b, 5)
    assert "expired" in exc.value.message.render("en")


def test_refused_for_a_recalled_batch(app, world):
    with app.app_context():
        issuing.recall(get_storage(), world.batch_a, "Nhiễm khuẩn")
        with pytest.raises(ValidationError):
            issuing.recall(get_storage(), world.batch_a, "again")
    with pytest.raises(ValidationError) as exc:
        issue(app, world.batch_a, 5)
    assert "recalled" in exc.value.message.render("en")


def test_refused_when_the_host_makes_stamps_too_big(app, world):
    app.config["PUBLIC_HOST"] = "truy-xuat-nguon-goc.ocop.quangninh.gov.vn"
    with pytest.raises(ValidationError) as exc:
        issue(app, world.batch_a, 5)
    assert "QR version" in exc.value.message.render("en")


def test_codes_verify_and_are_derived_the_same_every_time(app, world):
    run = issue(app, world.batch_a, 25)
    with app.app_context():
        run = issuing.get_run(get_storage(), run["id"])
    store = keystore(app)
    codes = list(issuing.codes(run, store, app.config["PUBLIC_HOST"]))
    assert [s for s, _ in codes] == list(range(run["first_serial"], run["last_serial"] + 1))
    assert codes == list(issuing.codes(run, store, app.config["PUBLIC_HOST"]))  # Ed25519 is deterministic
    records = store.records()
    for serial, text in codes:
        assert text.startswith("HTTPS://TEM.EXAMPLE.VN/S/") and qr_version(text) <= 8
        claims = verify_stamp(text, records).claims
        assert (claims.serial, claims.batch_id, claims.product_id, claims.stars) == (serial, world.batch_a, world.product_a, 4)
        assert claims.origin_commune == "06978"
    part = list(issuing.codes(run, store, "tem.example.vn", run["first_serial"] + 3, run["first_serial"] + 5))
    assert part == codes[3:6]
    for lo, hi in ((0, 5), (run["first_serial"], run["last_serial"] + 1), (run["last_serial"], run["first_serial"])):
        with pytest.raises(ValidationError):
            list(issuing.codes(run, store, "tem.example.vn", lo, hi))


def test_range_states_newest_change_wins(app, world):
    run = issue(app, world.batch_a, 100, active=False)
    lo = run["first_serial"]
    with app.app_context():
        storage = get_storage()
        assert issuing.serial_state(storage, run, lo) == "inactive"
        issuing.set_state(storage, run, "active", lo, lo + 49)
        issuing.set_state(storage, run, "void", lo + 40, lo + 59, note="kẹt giấy")
        states = [issuing.serial_state(storage, run, lo + i) for i in (0, 39, 40, 59, 60, 99)]
        assert states == ["active", "active", "void", "void", "inactive", "inactive"]
        assert issuing.run_for_serial(storage, lo + 99)["id"] == run["id"]
        assert issuing.run_for_serial(storage, run["last_serial"] + 1) is None


def test_rotation_keeps_old_stamps_valid_and_revocation_turns_them_red(app, world):
    old_run = issue(app, world.batch_a, 3)
    store = keystore(app)
    old_codes = [t for _, t in issuing.codes(old_run, store, "tem.example.vn")]
    store.rotate()
    new_run = issue(app, world.batch_a, 3)
    assert new_run["kid"] != old_run["kid"]
    assert verify_stamp(old_codes[0], store.records()).key.status == "retired"
    # The retired key signs nothing new, but the unprinted rest of its run stays printable: the same bytes.
    assert [t for _, t in issuing.codes(old_run, store, "tem.example.vn")] == old_codes
    with pytest.raises(KeyNotUsable):
        store.signing_key(bytes.fromhex(old_run["kid"]))
    store.revoke(bytes.fromhex(old_run["kid"]), "key file leaked")
    with pytest.raises(KeyRevoked):
        verify_stamp(old_codes[0], store.records())
    with pytest.raises(KeyNotUsable):
        list(issuing.codes(old_run, store, "tem.example.vn"))


def test_a_key_retired_in_the_second_it_started_still_has_an_end(tmp_path):
    store = KeyStore(tmp_path / "keys", "a passphrase long enough", scrypt_n=2**10)
    first = store.generate()
    retired = store.retire(first.kid)  # within the same second as its start
    assert retired.status == "retired" and retired.not_after is not None and retired.not_after > retired.not_before


def test_jwks_is_public_and_tracks_revocation(app, world, client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    keys = response.get_json()["keys"]
    assert len(keys) == 1 and keys[0]["status"] == "active" and "nbf" in keys[0] and "d" not in keys[0]
    keystore(app).revoke(keystore(app).list()[0].kid, "test")
    assert client.get("/.well-known/jwks.json").get_json()["keys"][0]["status"] == "revoked"


def test_without_a_passphrase_issuing_says_so(app, world, api):
    app.config["KEY_PASSPHRASE"] = None
    response = api("admin")("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 5})
    assert response.status_code == 503
    assert "passphrase" in response.get_json()["error"].lower()


def test_cli_issue_codes_verify_states(app, runner, world, tmp_path):
    result = runner.invoke(cli, ["issue", str(world.batch_a), "--count", "4", "--inactive", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert {"id", "batch_id", "first_serial", "last_serial"} <= set(run) and run["last_serial"] - run["first_serial"] == 3
    codes = runner.invoke(cli, ["codes", str(run["id"])]).output.split()
    assert len(codes) == 4
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(app.test_client().get("/.well-known/jwks.json").get_json()))
    ok = runner.invoke(cli, ["verify", "--jwks", str(jwks), *codes])
    assert ok.exit_code == 0 and ok.output.count("OK   serial") == 4 and "Xã Ba Chẽ, Tỉnh Quảng Ninh" in ok.output
    tampered = codes[0][:-3] + ("000" if not codes[0].endswith("000") else "111")
    bad = runner.invoke(cli, ["verify", "--jwks", str(jwks), codes[1], tampered, "HTTPS://TEM.EXAMPLE.VN/S/42"])
    assert bad.exit_code == 1 and bad.output.count("FAIL") == 2 and bad.output.count("OK") == 1
    # a genuine payload behind a look-alike host: the signature holds, the address is not ours
    lookalike = codes[1].replace("TEM.EXAMPLE.VN", "TEM-EXAMPLE.VN")
    ours = runner.invoke(cli, ["verify", "--jwks", str(jwks), "--host", "tem.example.vn", codes[1], lookalike])
    assert ours.exit_code == 1 and "OK   serial" in ours.output and "host tem.example.vn" in ours.output
    assert "FAIL host-not-ours: printed for tem-example.vn" in ours.output
    assert runner.invoke(cli, ["activate", str(run["id"]), "--from", str(run["first_serial"])]).exit_code == 0
    outside = runner.invoke(cli, ["void", str(run["id"]), "--from", "1", "--to", str(run["last_serial"] + 9)])
    assert outside.exit_code == 1 and "inside the run" in outside.output
    assert runner.invoke(cli, ["recall", str(world.batch_a), "--reason", "Bao bì lỗi"]).exit_code == 0
    refused = runner.invoke(cli, ["issue", str(world.batch_a), "--count", "4"])
    assert refused.exit_code == 1 and "recalled" in refused.output and "Traceback" not in refused.output
    assert runner.invoke(cli, ["codes", "999"]).exit_code == 1


def test_cli_keys(runner):
    listed = json.loads(runner.invoke(cli, ["keys", "list", "--json"]).output)
    assert [k["status"] for k in listed] == ["active"]
    assert runner.invoke(cli, ["keys", "rotate"]).exit_code == 0
    statuses = sorted(k["status"] for k in json.loads(runner.invoke(cli, ["keys", "list", "--json"]).output))
    assert statuses == ["active", "retired"]
    bad = runner.invoke(cli, ["keys", "revoke", "nothex", "--reason", "x"])
    assert bad.exit_code == 1 and "key id" in bad.output


def test_api_runs_codes_and_states(app, api, world):
    admin, producer_b = api("admin"), api("producer_b")
    created = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 3, "active": False})
    assert created.status_code == 201, created.get_json()
    run = created.get_json()
    assert run["initial_state"] == "inactive" and run["count"] == 3
    lines = admin("GET", f"/api/v1/runs/{run['id']}/codes").get_data(as_text=True).split()
    assert len(lines) == 3
    records = load_jwks(admin("GET", "/.well-known/jwks.json").get_json())
    assert verify_stamp(lines[2], records).claims.serial == run["last_serial"]
    assert admin("GET", f"/api/v1/runs/{run['id']}/codes?from=abc").status_code == 400
    assert admin("GET", f"/api/v1/runs/{run['id']}/codes?from=1&to=2").status_code == 400
    assert producer_b("GET", f"/api/v1/runs/{run['id']}/codes").status_code == 404
    assert admin("POST", f"/api/v1/runs/{run['id']}/activate", json={"from": "x"}).status_code == 400
    assert admin("POST", f"/api/v1/runs/{run['id']}/void", json={"from": run["first_serial"], "to": run["first_serial"],
                                                               "reason": "rách"}).status_code == 200
    assert admin("POST", f"/api/v1/batches/{world.batch_a}/recall", json={}).status_code == 400
    assert admin("POST", f"/api/v1/batches/{world.batch_a}/recall", json={"reason": "Lỗi"}).status_code == 200
