"""The command line: each command works, fails clearly on bad input, and is named in the docs."""

from __future__ import annotations

import json
from pathlib import Path

from stamp_service.cli import cli
from stamp_service.cli.reference import walk
from stamp_service.context import get_storage

ROOT = Path(__file__).resolve().parent.parent


def test_init_is_repeatable(app, runner):
    first = runner.invoke(cli, ["init"])
    with app.app_context():
        applied = get_storage().migrations_applied()
    assert first.exit_code == 0 and f"(schema: {', '.join(applied)})" in first.output
    assert applied[0] in ("0001_registry", "0014_postgresql_baseline") and len(applied) > 1
    assert runner.invoke(cli, ["init"]).exit_code == 0


def test_init_demo_loads_real_looking_data_once(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from stamp_service import create_app
    from stamp_service.context import get_storage
    from stamp_service.registry import recognitions

    monkeypatch.setenv("OCOP_STAMP_HOME", str(tmp_path / "demo"))
    app = create_app({"TESTING": True})
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "--demo"], obj=app)
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["init", "--demo"], obj=app).output.count("Demo data loaded") == 0
    logins = json.loads((tmp_path / "demo" / "demo-logins.json").read_text())
    assert "admin@demo.ocop.vn" in logins and (tmp_path / "demo" / "demo-logins.json").stat().st_mode & 0o077 == 0
    with app.app_context():
        storage = get_storage()
        names = [p["name"] for p in storage.find("products")]
        statuses = [recognitions.standing(r) for r in storage.find("recognitions")]
        communes = {p["commune_code"] for p in storage.find("producers")}
    assert "Trà hoa vàng Ba Chẽ" in names and "Mật hoa dừa Châu Thành" in names
    assert any(s.status == "expired" for s in statuses)
    assert any(s.expiring and 0 <= s.days_left <= 30 for s in statuses)
    assert any(s.status == "revoked" for s in statuses)
    assert {"06978", "06688", "29374"} <= communes


def test_user_add_token_and_api(runner, app, world):
    result = runner.invoke(cli, ["user", "add", "new@example.vn", "--role", "producer", "--producer",
                                 str(world.producer_a), "--password-stdin"], input="a long password\n")
    assert result.exit_code == 0, result.output
    token = runner.invoke(cli, ["token", "create", "new@example.vn"]).output.strip().splitlines()[-1]
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["email"] == "new@example.vn"


def test_user_add_bad_input(runner, world):
    short = runner.invoke(cli, ["user", "add", "x@example.vn", "--role", "admin", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10" in short.output
    no_producer = runner.invoke(cli, ["user", "add", "y@example.vn", "--role", "producer", "--password-stdin"],
                                input="long enough password\n")
    assert no_producer.exit_code == 1 and "producer" in no_producer.output
    bad_role = runner.invoke(cli, ["user", "add", "z@example.vn", "--role", "king", "--password-stdin"], input="x\n")
    assert bad_role.exit_code == 2
    duplicate = runner.invoke(cli, ["user", "add", "admin@example.vn", "--role", "admin", "--password-stdin"],
                              input="long enough password\n")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    assert "Traceback" not in short.output + no_producer.output + duplicate.output


def test_token_for_unknown_user(runner):
    result = runner.invoke(cli, ["token", "create", "ghost@example.vn"])
    assert result.exit_code == 1 and "no user" in result.output


def test_batches_json(runner, world):
    result = runner.invoke(cli, ["batches", "--json"])
    items = json.loads(result.output)
    by_id = {b["id"]: b for b in items}
    assert set(by_id) == {world.batch_a, world.batch_b}
    a = by_id[world.batch_a]
    assert (a["lot"], a["product_id"], a["producer_id"], a["origin_commune_code"]) == \
        ("A-001", world.product_a, world.producer_a, "06978")


def test_import_command(runner, tmp_path):
    good = tmp_path / "p.csv"
    good.write_text("name,type,commune_code\nHTX Một,cooperative,06978\n", encoding="utf-8")
    result = runner.invoke(cli, ["import", "producers", str(good)])
    assert result.exit_code == 0 and "Imported 1" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,type,commune_code\n,cooperative,06978\nX,cooperative,1\n", encoding="utf-8")
    result = runner.invoke(cli, ["import", "producers", str(bad)])
    assert result.exit_code == 1
    assert "line 2, column name" in result.output and "line 3, column commune_code" in result.output
    assert runner.invoke(cli, ["import", "producers", str(tmp_path / "missing.csv")]).exit_code == 2


def _commands():
    for path, command in walk(cli):
        yield "ocop-stamp " + " ".join(path), command


def test_every_command_has_help_and_is_documented(runner):
    docs = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for path, command in _commands():
        assert command.help, f"{path} has no help"
        assert f"`{path}" in docs, f"{path} is not documented in README.md or docs/cli.md"
        args = path.split()[1:] + ["--help"]
        assert runner.invoke(cli, args).exit_code == 0, path
