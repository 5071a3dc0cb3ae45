"""The producer's home page: its runs, stamps issued and active, scans per Vietnam day, suspected copies and
reports on its products, never another producer's."""

from __future__ import annotations

import datetime as dt
import re

from stamp_service.context import get_storage
from stamp_service.stamps import issuing, producer_summary
from stamp_service.verification import scans as scan_rows


def test_state_counts_follow_the_newest_change_covering_each_serial(app, world):
    with app.app_context():
        storage = get_storage()
        run = issuing.get_run(storage, world.run_a)
        first = run["first_serial"]
        for state, lo, hi in (("inactive", 5, 14), ("void", 8, 9), ("active", 12, 19), ("void", 0, 0)):
            issuing.set_state(storage, run, state, first + lo, first + hi)
        counts = producer_summary.state_counts(storage, run)
        expected = {s: 0 for s in issuing.STATES}
        for serial in range(run["first_serial"], run["last_serial"] + 1):  # the verification page's own answer
            expected[issuing.serial_state(storage, run, serial)] += 1
    assert counts == expected == {"active": 12, "inactive": 5, "void": 3}


def scan(storage, at: str, batch_id: int, run_id: int | None = None, serial: int | None = None) -> None:
    scan_rows.store(storage, {"at": at, "serial": serial, "run_id": run_id, "batch_id": batch_id,
                              "verdict": "genuine", "source": "qr"})


def test_scans_are_counted_by_vietnam_days_and_only_the_producers_own(app, world):
    today = dt.date(2026, 12, 3)
    with app.app_context():
        storage = get_storage()
        scan(storage, "2026-12-02T16:59:59Z", world.batch_a)  # 23:59:59 on 2 December in Vietnam
        scan(storage, "2026-12-02T17:00:00Z", world.batch_a)  # midnight starting 3 December in Vietnam
        scan(storage, "2026-12-03T09:00:00Z", world.batch_a)
        scan(storage, "2026-12-03T09:00:00Z", world.batch_b)  # producer B's
        scan(storage, "2026-11-19T16:59:59Z", world.batch_a)  # 19 November in Vietnam: before the 14 days
        scan(storage, "2026-11-19T17:00:00Z", world.batch_a)  # 20 November in Vietnam: the first day shown
        mine = producer_summary.summary(storage, world.producer_a, today=today)
        theirs = producer_summary.summary(storage, world.producer_b, today=today)
    days = dict(mine["scans_per_day"])
    assert len(days) == 14 and min(days) == "2026-11-20" and max(days) == "2026-12-03"
    assert days["2026-12-02"] == 1 and days["2026-12-03"] == 2 and days["2026-11-20"] == 1
    assert mine["scans_total"] == 4 and theirs["scans_total"] == 1
    assert mine["runs"] == 1 and mine["stamps_issued"] == 20 and mine["stamps_active"] == 20
    assert theirs["runs"] == 0 and theirs["stamps_issued"] == 0


def test_the_home_page_shows_the_producers_own_stamps_doubts_and_reports(app, world, login):
    with app.app_context():
        storage = get_storage()
        run = issuing.get_run(storage, world.run_a)
        issuing.set_state(storage, run, "void", run["first_serial"], run["first_serial"] + 1)
        storage.insert("suspicions", {"serial": run["first_serial"] + 3, "run_id": run["id"],
                                      "batch_id": world.batch_a, "rule": "sheet", "evidence": "{}",
                                      "households": 5, "networks": 4})
        for status in ("new", "in_progress", "resolved"):
            storage.insert("reports", {"what": "Tem lạ", "status": status, "product_id": world.product_a,
                                       "serial": run["first_serial"]})
        storage.insert("reports", {"what": "Chả mực lạ", "status": "new", "product_id": world.product_b})
        scan(storage, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), world.batch_a)
    html = login("producer_a").get("/portal/").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Tem của tôi" in text
    assert "1 đợt phát hành" in text and "20 tem đã phát hành để in" in text and "18 tem đang kích hoạt" in text
    assert "20 tem, 18 đang kích hoạt, 2 đã hủy" in text
    assert "1 tem nghi bị sao chép" in text and "Tờ tem bị photo" in text
    assert "2 báo cáo của người mua đang chờ xử lý" in text  # new and in progress; not B's, not resolved
    assert "Tổng cộng 1 lượt quét." in text and "<svg" in html
    other = login("producer_b").get("/portal/").get_data(as_text=True)
    other_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", other))
    assert "0 tem nghi bị sao chép" in other_text and "1 báo cáo của người mua đang chờ xử lý" in other_text
    assert "Tổng cộng 0 lượt quét." in other_text
    assert "Tem của tôi" not in login("admin").get("/portal/").get_data(as_text=True)
