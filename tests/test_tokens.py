"""API tokens: scopes on top of roles, expiry, revocation, last use, and the token commands."""

from __future__ import annotations

import json

from stamp_service.auth import tokens
from stamp_service.cli import cli
from stamp_service.context import get_storage


def _bearer(app, token: str):
    client = app.test_client()
    return lambda method, url, **kw: client.open(url, method=method, headers={"Authorization": f"Bearer {token}"},
                                                 **kw)


def _token(app, world, who: str, **kw) -> str:
    with app.app_context():
        return tokens.create(get_storage(), world.users[who], "test", **kw)


def test_a_read_token_cannot_issue(app, world):
    call = _bearer(app, _token(app, world, "producer_a", scopes=["read"]))
    assert call("GET", "/api/v1/runs").status_code == 200
    refused = call("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 5})
    assert refused.status_code == 403
    body = refused.get_json()
    assert body["scope"] == "issue" and "issue" in body["error"]


def test_inspection_needs_the_inspect_scope(app, world):
    assert _bearer(app, _token(app, world, "inspector", scopes=["read"]))("GET", "/api/v1/cases").status_code == 403
    assert _bearer(app, _token(app, world, "inspector"))("GET", "/api/v1/cases").status_code == 200


def test_scopes_never_widen_a_role(app, world):
    call = _bearer(app, _token(app, world, "producer_a", scopes=["read", "issue", "inspect"]))
    assert call("GET", "/api/v1/cases").status_code == 403  # producers may not see cases, whatever the token says


def test_expired_and_revoked_tokens_are_refused(app, world):
    expiring = _token(app, world, "admin", days=1)
    revoked = _token(app, world, "admin")
    with app.app_context():
        storage = get_storage()
        storage.update_where("api_tokens", {"expires_at": "2020-01-01T00:00:00Z"},
                             token_hash=tokens._digest(expiring))
        row = storage.find_one("api_tokens", token_hash=tokens._digest(revoked))
        assert row["expires_at"] > "2026" and tokens.revoke(storage, row["id"])
    assert _bearer(app, expiring)("GET", "/api/v1/me").status_code == 401
    assert _bearer(app, revoked)("GET", "/api/v1/me").status_code == 401


def test_last_use_is_written_at_most_once_a_minute(app, world):
    value = _token(app, world, "admin")
    call = _bearer(app, value)
    with app.app_context():
        storage = get_storage()
        assert storage.find_one("api_tokens", token_hash=tokens._digest(value))["last_used_at"] is None
        call("GET", "/api/v1/me")
        first = storage.find_one("api_tokens", token_hash=tokens._digest(value))["last_used_at"]
        assert first is not None
        storage.update_where("api_tokens", {"last_used_at": "2026-01-01T00:00:00Z"}, token_hash=tokens._digest(value))
        call("GET", "/api/v1/me")  # over a minute since the recorded use: written again
        assert storage.find_one("api_tokens", token_hash=tokens._digest(value))["last_used_at"] > "2026-01-01T00:00:00Z"
        stamped = storage.find_one("api_tokens", token_hash=tokens._digest(value))["last_used_at"]
        for _ in range(3):
            call("GET", "/api/v1/me")
        assert storage.find_one("api_tokens", token_hash=tokens._digest(value))["last_used_at"] == stamped


def test_token_commands_create_list_and_revoke(runner, app, world):
    made = runner.invoke(cli, ["token", "create", "inspector@example.vn", "--scope", "read", "--days", "7",
                               "--label", "tablet"])
    assert made.exit_code == 0, made.output
    value = made.output.strip().splitlines()[-1]
    listed = json.loads(runner.invoke(cli, ["token", "list", "--email", "inspector@example.vn", "--json"]).output)
    mine = [t for t in listed if t["label"] == "tablet"]
    assert len(mine) == 1 and mine[0]["scopes"] == "read" and mine[0]["revoked_at"] is None
    assert "token_hash" not in mine[0] and value not in json.dumps(listed)
    assert _bearer(app, value)("GET", "/api/v1/me").status_code == 200
    revoked = runner.invoke(cli, ["token", "revoke", str(mine[0]["id"])])
    assert revoked.exit_code == 0, revoked.output
    assert _bearer(app, value)("GET", "/api/v1/me").status_code == 401
    assert runner.invoke(cli, ["token", "revoke", str(mine[0]["id"])]).exit_code == 1
    text = runner.invoke(cli, ["token", "list"]).output
    assert "(revoked)" in text and "tablet" in text


def test_token_create_refuses_a_scope_it_does_not_know(runner):
    result = runner.invoke(cli, ["token", "create", "admin@example.vn", "--scope", "everything"])
    assert result.exit_code == 2
