"""Issuing limits: a batch gets its quantity plus the overprint margin, a producer its daily quota; admins raise it."""

from __future__ import annotations

import datetime as dt

import pytest

from stamp_service import create_app
from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.registry import batches
from stamp_service.registry.fields import ValidationError
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.quotas import Limits, limits_from


def _batch(app, world, quantity: int) -> int:
    with app.app_context():
        return batches.create(get_storage(), {"product_id": world.product_a, "lot": f"Q-{quantity}",
                                              "production_date": dt.date.today().isoformat(),
                                              "quantity": quantity})["id"]


def _issue(app, batch_id, count, **kw):
    with app.app_context():
        return issuing.issue_run(get_storage(), keystore(app), batch_id, count, issuer="VN",
                                 host=app.config["PUBLIC_HOST"], **kw)


def _api(client, token, batch_id, count):
    return client.post(f"/api/v1/batches/{batch_id}/runs", json={"count": count},
                       headers={"Authorization": f"Bearer {token}", "Accept-Language": "vi"})


def test_a_run_on_a_batch_of_one_cannot_take_a_million_serials(app, world, client):
    tiny = _batch(app, world, 1)
    response = _api(client, world.tokens["producer_a"], tiny, 1_000_000)
    assert response.status_code == 400, response.get_json()
    text = str(response.get_json())
    assert "Lô có 1 sản phẩm nên chỉ được phát hành tối đa 1 tem" in text
    with app.app_context():
        assert get_storage().count("runs", batch_id=tiny) == 0
    assert _api(client, world.tokens["producer_a"], tiny, 1).status_code == 201
    assert _api(client, world.tokens["producer_a"], tiny, 1).status_code == 400  # the sum of runs counts too


def test_the_overprint_margin_is_configurable_and_summed_over_runs(app, world):
    batch = _batch(app, world, 1000)
    _issue(app, batch, 600)
    _issue(app, batch, 500)  # 1100 = 1000 + 10%
    with pytest.raises(ValidationError) as exc:
        _issue(app, batch, 1)
    assert exc.value.fields["count"].render("en").startswith("The batch has 1000 units, so at most 1100 stamps")
    _issue(app, batch, 400, limits=Limits(overprint_margin=0.5))  # a province that allows 50% more
    assert limits_from({"OVERPRINT_MARGIN": 0.25, "DAILY_STAMP_QUOTA": 5}) == Limits(0.25, 5)
    with pytest.raises(ValueError):
        limits_from({"OVERPRINT_MARGIN": "10%"})
    with pytest.raises(ValueError):  # a wrong setting stops start-up, not the first run
        create_app({"TESTING": True, "DAILY_STAMP_QUOTA": -1, "KEY_PASSPHRASE": "x", "DATABASE": ":memory:"})


def test_a_producer_has_a_daily_quota_admins_do_not(app, world, client):
    app.config["DAILY_STAMP_QUOTA"] = 1000
    token = world.tokens["producer_a"]
    already = 20  # the fixture's run of batch A, issued moments ago, counts
    assert _api(client, token, world.batch_a, 1000 - already).status_code == 201
    refused = _api(client, token, world.batch_a, 1)
    assert refused.status_code == 400
    assert "Đã vượt hạn mức phát hành 1000 tem mỗi ngày" in str(refused.get_json())
    # An admin issues for the producer's batch regardless, and may raise the producer's quota.
    assert _api(client, world.tokens["admin"], world.batch_a, 5000).status_code == 201
    assert _api(client, token, world.batch_a, 1).status_code == 400  # the admin's run counts for the producer too


def test_the_quota_command_raises_and_clears_a_producers_quota(app, world, client, runner):
    app.config["DAILY_STAMP_QUOTA"] = 100
    token = world.tokens["producer_a"]
    assert _api(client, token, world.batch_a, 500).status_code == 400
    result = runner.invoke(cli, ["quota", str(world.producer_a), "10000"])
    assert result.exit_code == 0, result.output
    assert "10,000 stamps a day, 20 issued in the last 24 hours" in result.output
    assert _api(client, token, world.batch_a, 500).status_code == 201
    assert runner.invoke(cli, ["quota", str(world.producer_a), "--default"]).exit_code == 0
    assert _api(client, token, world.batch_a, 1).status_code == 400
    assert runner.invoke(cli, ["quota", "99999"]).exit_code != 0
    assert runner.invoke(cli, ["quota", str(world.producer_a), "-1"]).exit_code != 0


def test_runs_older_than_a_day_do_not_count(app, world, client):
    app.config["DAILY_STAMP_QUOTA"] = 100
    with app.app_context():
        storage = get_storage()
        yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
        storage.update("runs", world.run_a, {"issued_at": yesterday})
    assert _api(client, world.tokens["producer_a"], world.batch_a, 100).status_code == 201
