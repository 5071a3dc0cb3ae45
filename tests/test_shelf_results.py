"""An inspector's shelf photo: results most serious first with a count, and the photo marked by number."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

from stamp_service.inspection.shelf import SEVERITY, TONE_COLOURS
from stamp_service.verification.verdicts import VERDICTS
from test_inspection import forge, pillow_limit, shelf_jpeg, stamp_codes, text_of, upload  # noqa: F401

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # for a human to look at
TILE = 4 * 33  # a stamp's QR tile in shelf_jpeg: about 4 px modules, 25-29 modules plus the quiet zone


def _results(html: str) -> list[tuple[int, str]]:
    """(number, verdict badge text) of each result card, in page order."""
    cards = re.findall(r'<li class="card" value="(\d+)">.*?<span class="badge [a-z]+">(.*?)</span>', html, re.S)
    return [(int(n), " ".join(badge.split())) for n, badge in cards]


def _red_share(img: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of the box's pixels in the marks' red (what a forged code's box is drawn in)."""
    red = TONE_COLOURS["bad"]
    part = img.crop(box).convert("RGB")
    data = part.tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3])
    hits = sum(1 for p in pixels if all(abs(a - b) < 60 for a, b in zip(p, red)))
    return hits / (part.width * part.height)


def test_every_verdict_has_a_severity():
    assert sorted(SEVERITY) == sorted(VERDICTS)
    assert SEVERITY[0] == "invalid-signature" and SEVERITY[-1] == "genuine"


def test_results_come_most_serious_first_with_a_count(app, world, login, pillow_limit) -> None:
    (_, good_1), (_, good_2), (_, other) = stamp_codes(app, world.run_a, 3)
    inspector = login("inspector")
    texts = [good_1, forge(other), good_2, "HTTPS://EXAMPLE.VN/KHUYEN-MAI"]
    response = inspector.post("/inspect/photo", {"photo": upload(shelf_jpeg(texts))})
    html = text_of(response)
    assert response.status_code == 200, html
    assert _results(html) == [(1, "✗ Tem giả: chữ ký không khớp"), (2, "✗ Không có trong hệ thống: nghi hàng giả"),
                              (3, "✓ Chính hãng"), (4, "✓ Chính hãng")]
    tally = re.search(r'<ul class="tally".*?</ul>', html, re.S)[0]
    counted = re.findall(r'<span class="badge [a-z]+">(.*?)</span> <strong>(\d+)</strong>', tally)
    assert [(" ".join(b.split()), int(n)) for b, n in counted] == [
        ("✗ Tem giả: chữ ký không khớp", 1), ("✗ Không có trong hệ thống: nghi hàng giả", 1), ("✓ Chính hãng", 2)]


def test_the_photo_is_marked_with_numbered_boxes_for_staff_only(app, world, login, client, pillow_limit) -> None:
    (_, good), (_, other) = stamp_codes(app, world.run_a, 2)
    inspector = login("inspector")
    html = text_of(inspector.post("/inspect/photo", {"photo": upload(shelf_jpeg([good, forge(other)]))}))
    marked = re.search(r'<img src="(/inspect/media/visits/[0-9a-f]{32}\.jpg)"', html)
    assert marked, html
    answer = inspector.get(marked[1])
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    img = Image.open(io.BytesIO(answer.data))
    SHOTS.mkdir(exist_ok=True)
    img.save(SHOTS / "inspect-marked-shelf.png")
    assert img.size == (600, 400)  # shelf_jpeg's size: marked on the photo as stored
    # shelf_jpeg puts code i at x = 30 + 270 i, y = 40 (+30 for odd i); the forged one (i = 1) gets a red box
    # with its number, the genuine one none.
    forged_area = (300 - 20, 70 - 45, 300 + TILE + 20, 70 + TILE + 20)
    genuine_area = (30 - 20, 40 - 45, 30 + TILE + 20, 40 + TILE + 20)
    assert _red_share(img, forged_area) > 0.02
    assert _red_share(img, genuine_area) < 0.002
    with app.app_context():  # the visit keeps the photo as taken; the marked copy is for the page
        from stamp_service.context import get_storage

        kept = {r["photo"] for r in get_storage().find("visit_checks", visit_id=world.visit)}
    assert len(kept) == 1 and marked[1].rsplit("/", 1)[1] not in kept
    for who in ("producer_a",):
        assert login(who).get(marked[1]).status_code == 403
    assert client.get(marked[1]).status_code in (302, 401)
