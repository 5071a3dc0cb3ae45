"""Two-layer stamps on the issuing side: runs with hidden codes through the library, the CLI, the API and the
portal; the codes derived from the run's key, never inside a QR text."""

from __future__ import annotations

import csv
import io
import json

import pytest

from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.registry.fields import ValidationError
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.hidden import hidden_code, run_secret
from stamp_service.stamps.serials import format_serial


def issue(app, batch_id, count, **kw):
    with app.app_context():
        run = issuing.issue_run(get_storage(), keystore(app), batch_id, count, issuer="VN",
                                host=app.config["PUBLIC_HOST"], **kw)
        return issuing.get_run(get_storage(), run["id"])


def test_a_run_stores_whether_it_has_hidden_codes(app, world):
    plain, two_layer = issue(app, world.batch_a, 3), issue(app, world.batch_a, 3, hidden_code=True)
    assert plain["hidden_code"] is False and two_layer["hidden_code"] is True
    with app.app_context():
        rows = {r["id"]: r for r in issuing.list_runs(get_storage())}
        assert get_storage().get("runs", two_layer["id"])["hidden_code"] == 1
    assert rows[plain["id"]]["hidden_code"] is False and rows[two_layer["id"]]["hidden_code"] is True
    for wrong in ("yes", 1, None):
        with pytest.raises(ValidationError) as exc:
            issue(app, world.batch_a, 3, hidden_code=wrong)
        assert "hidden_code" in exc.value.fields


def test_hidden_codes_are_derived_from_the_run_key_and_never_in_the_qr(app, world):
    run = issue(app, world.batch_a, 40, hidden_code=True)
    store = keystore(app)
    secret = run_secret(store, run)
    codes = list(issuing.hidden_codes(run, store))
    assert [s for s, _ in codes] == list(range(run["first_serial"], run["last_serial"] + 1))
    assert all(code == hidden_code(secret, serial) and len(code) == 8 and code.isdigit() for serial, code in codes)
    assert len({code for _, code in codes}) == 40
    assert codes == list(issuing.hidden_codes(run, store))  # derived, not stored: the same every time
    texts = dict(issuing.codes(run, store, app.config["PUBLIC_HOST"]))
    # Each stamp's own QR text (a random 8-digit string turns up by chance in ~300 random digits about once in
    # 300,000 tries; checking all 40 x 40 pairs would make that a flaky test, 1 in 200).
    assert not any(code in texts[serial] for serial, code in codes)
    lo = run["first_serial"] + 5
    assert list(issuing.hidden_codes(run, store, lo, lo + 2)) == codes[5:8]
    with pytest.raises(ValidationError) as exc:  # refused at the call, before any code is derived
        issuing.hidden_codes(run, store, run["last_serial"] + 1, None)
    assert "from" in exc.value.fields


def test_a_run_without_hidden_codes_has_none_to_give(app, world):
    run = issue(app, world.batch_a, 3)
    with pytest.raises(ValidationError) as exc:
        issuing.hidden_codes(run, keystore(app))
    assert exc.value.message.render("en") == f"Run {run['id']} has no hidden codes (it is not a two-layer run)."


def test_a_retired_key_keeps_its_hidden_codes(app, world):
    run = issue(app, world.batch_a, 3, hidden_code=True)
    store = keystore(app)
    before = list(issuing.hidden_codes(run, store))
    store.rotate()
    assert store.get(bytes.fromhex(run["kid"])).status == "retired"
    assert list(issuing.hidden_codes(run, store)) == before


def test_cli_issue_with_and_without_hidden_codes(app, runner, world):
    result = runner.invoke(cli, ["issue", str(world.batch_a), "--count", "5", "--hidden-code", "--json"])
    assert result.exit_code == 0, result.output
    two_layer = json.loads(result.output)
    assert two_layer["hidden_code"] is True and two_layer["count"] == 5
    plain = json.loads(runner.invoke(cli, ["issue", str(world.batch_a), "--count", "2", "--json"]).output)
    assert plain["hidden_code"] is False
    listed = {r["id"]: r for r in json.loads(runner.invoke(cli, ["runs", "--json"]).output)}
    assert listed[two_layer["id"]]["hidden_code"] is True and listed[plain["id"]]["hidden_code"] is False
    text = runner.invoke(cli, ["issue", str(world.batch_a), "--count", "2", "--hidden-code"]).output
    assert "with hidden codes" in text


def test_cli_codes_csv(app, runner, world):
    run_id = json.loads(runner.invoke(cli, ["issue", str(world.batch_a), "--count", "6", "--hidden-code",
                                            "--json"]).output)["id"]
    result = runner.invoke(cli, ["codes", str(run_id), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "serial,serial_text,url,hidden_code"
    rows = list(csv.DictReader(io.StringIO(result.output)))
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
    store = keystore(app)
    secret = run_secret(store, run)
    texts = dict(issuing.codes(run, store, app.config["PUBLIC_HOST"]))
    assert [int(r["serial"]) for r in rows] == list(range(run["first_serial"], run["last_serial"] + 1))
    for row in rows:
        serial = int(row["serial"])
        assert row["serial_text"] == format_serial(serial) and row["url"] == texts[serial]
        assert row["hidden_code"] == hidden_code(secret, serial)
    part = runner.invoke(cli, ["codes", str(run_id), "--format", "csv", "--from", str(run["first_serial"] + 1),
                               "--to", str(run["first_serial"] + 2)])
    assert len(part.output.splitlines()) == 3
    # a run without hidden codes: the column is there and empty; the plain format is unchanged
    plain = runner.invoke(cli, ["codes", str(world.run_a), "--format", "csv"]).output
    plain_rows = list(csv.DictReader(io.StringIO(plain)))
    assert len(plain_rows) == 20 and all(r["hidden_code"] == "" for r in plain_rows)
    lines = runner.invoke(cli, ["codes", str(run_id)]).output.split()
    assert lines == [texts[s] for s in sorted(texts)]
    assert runner.invoke(cli, ["codes", str(run_id), "--format", "text"]).output.split() == lines
    bad = runner.invoke(cli, ["codes", str(run_id), "--format", "csv", "--from", "1"])
    assert bad.exit_code == 1 and "inside the run" in bad.output and "Traceback" not in bad.output
    assert runner.invoke(cli, ["codes", str(run_id), "--format", "xml"]).exit_code == 2


def test_api_issues_two_layer_runs(app, api, world):
    producer = api("producer_a")
    created = producer("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 4, "hidden_code": True})
    assert created.status_code == 201, created.get_json()
    run = created.get_json()
    assert run["hidden_code"] is True
    assert producer("GET", f"/api/v1/runs/{run['id']}").get_json()["hidden_code"] is True
    plain = producer("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 1}).get_json()
    assert plain["hidden_code"] is False
    items = {r["id"]: r for r in producer("GET", "/api/v1/runs").get_json()["items"]}
    assert items[run["id"]]["hidden_code"] is True and items[plain["id"]]["hidden_code"] is False
    refused = producer("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 1, "hidden_code": "maybe"})
    assert refused.status_code == 400 and "hidden_code" in refused.get_json()["fields"]
    inactive = producer("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 1, "active": False})
    assert inactive.get_json()["initial_state"] == "inactive"
    # QR texts never carry the code
    lines = api("admin")("GET", f"/api/v1/runs/{run['id']}/codes").get_data(as_text=True).split()
    codes = dict(issuing.hidden_codes(run, keystore(app)))
    assert len(lines) == 4 and not any(code in line for code in codes.values() for line in lines)


def test_openapi_describes_hidden_code(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["paths"]["/api/v1/batches/{batch_id}/runs"]["post"]["requestBody"]["content"]["application/json"]
    properties = body["schema"]["properties"]
    # optional flags: a boolean, or null for the default (OpenAPI 3.1 says it with a type list, not `nullable`)
    assert properties["hidden_code"]["type"] == properties["active"]["type"] == ["boolean", "null"]
    assert body["schema"]["required"] == ["count"]
    run = doc["paths"]["/api/v1/runs/{run_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert run["properties"]["hidden_code"]["type"] == "boolean"


def test_portal_issue_form_offers_two_layer_stamps(app, login, world):
    session = login("producer_a")
    page = session.get(f"/portal/batches/{world.batch_a}").get_data(as_text=True)
    assert "Tem hai lớp: thêm mã cào (mã ẩn dưới lớp bạc)" in page and 'name="hidden_code"' in page
    issued = session.post(f"/portal/batches/{world.batch_a}/runs", {"count": "12", "hidden_code": "1"})
    assert issued.status_code == 302
    run_id = int(issued.headers["Location"].rsplit("/", 1)[1])
    plain = session.post(f"/portal/batches/{world.batch_a}/runs", {"count": "2"})
    plain_id = int(plain.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert issuing.get_run(get_storage(), run_id)["hidden_code"] is True
        assert issuing.get_run(get_storage(), plain_id)["hidden_code"] is False
    english = session.get(f"/portal/batches/{world.batch_a}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Two-layer stamps: add a scratch-off code" in english
