"""Streamed exports hold a slot until their response is closed: a user may stream two at once and the process
three, so slow downloads cannot take every thread from the shoppers' verification pages."""

from __future__ import annotations


def _open(app, world, who):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world.tokens[who]}"}
    return client.get(f"/api/v1/runs/{world.run_a}/codes", headers=headers, buffered=False)


def test_exports_are_limited_per_user_and_in_all_until_closed(app, world):
    first, second = _open(app, world, "producer_a"), _open(app, world, "producer_a")
    assert first.status_code == second.status_code == 200
    third = _open(app, world, "producer_a")
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0 and third.get_json()["error"]
    admin = _open(app, world, "admin")  # another user: the process's third slot
    assert admin.status_code == 200
    assert _open(app, world, "admin").status_code == 429  # the process is full
    shopper = app.test_client().get("/api/v1/verify", query_string={"code": "000 001-3"})
    assert shopper.status_code == 200  # the public routes do not wait for exports
    first.close()  # a finished (or abandoned) download gives its slot back
    again = _open(app, world, "producer_a")
    assert again.status_code == 200 and "HTTPS://" in next(iter(again.response)).decode()
    for response in (second, admin, again):
        response.close()


def test_a_download_read_to_its_end_frees_its_slot(app, world):
    for _ in range(4):  # one after the other, each read to the end (as a browser does), never closed explicitly
        response = _open(app, world, "producer_a")
        assert response.status_code == 200 and response.get_data(as_text=True).count("HTTPS://") == 20
