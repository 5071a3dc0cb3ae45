"""A producer uploads its own product's photo in the portal (checked and re-encoded by the upload gate), and the
shopper's page shows it large, linking to the full image."""

from __future__ import annotations

import io

from PIL import Image

from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing


def encoded(size: tuple[int, int], fmt: str, colour=(30, 120, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def image_of(app, product_id: int) -> str | None:
    with app.app_context():
        return get_storage().get("products", product_id)["image"]


def test_a_producer_uploads_its_own_product_photo(app, world, login):
    producer = login("producer_a")
    url = f"/portal/products/{world.product_a}/photo"
    before = image_of(app, world.product_a)
    page = producer.get(url)
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    sent = producer.post(url, data={"image": (io.BytesIO(encoded((600, 400), "PNG")), "tra.png")},
                         content_type="multipart/form-data")
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/portal/products/{world.product_a}")
    after = image_of(app, world.product_a)
    assert after and after != before and after.endswith(".jpg")
    full = app.test_client().get(f"/media/products/{world.product_a}.jpg")
    assert full.status_code == 200 and full.data[:3] == b"\xff\xd8\xff"  # re-encoded as JPEG, not the PNG sent
    assert Image.open(io.BytesIO(full.data)).size == (600, 400)

    # The shopper's page shows it, tappable to the full image.
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        _serial, text = next(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"], 1, 1))
    html = app.test_client().get("/" + text.split("/", 3)[3]).get_data(as_text=True)
    assert f'<a class="photo" href="/xem/product/{world.product_a}"><img src="/media/products/{world.product_a}-small.jpg?v={after[:8]}"' in html
    page = app.test_client().get(f"/xem/product/{world.product_a}")
    assert page.status_code == 200 and f'<img class="full" src="/media/products/{world.product_a}.jpg?v={after[:8]}"' in page.get_data(as_text=True)
    assert app.test_client().get(f"/xem/product/{world.product_b}").status_code == 404  # it has no photo
    assert app.test_client().get("/xem/product/999").status_code == 404
    assert app.test_client().get(f"/xem/user/{world.product_a}").status_code == 404


def test_photo_upload_refusals_change_nothing(app, world, login, client):
    producer = login("producer_a")
    url = f"/portal/products/{world.product_a}/photo"
    before = image_of(app, world.product_a)
    # not an image: a clear error on the form, nothing stored
    bad = producer.post(url, data={"image": (io.BytesIO(b"%PDF-1.4 not a photo"), "x.jpg")},
                        content_type="multipart/form-data")
    assert bad.status_code == 400 and 'id="e-image"' in bad.get_data(as_text=True)
    assert "Traceback" not in bad.get_data(as_text=True)
    # no file at all
    empty = producer.post(url, data={}, content_type="multipart/form-data")
    assert empty.status_code == 400 and 'id="e-image"' in empty.get_data(as_text=True)
    # another producer's product: not found, not changed
    other = producer.post(f"/portal/products/{world.product_b}/photo",
                          data={"image": (io.BytesIO(encoded((40, 40), "PNG")), "x.png")},
                          content_type="multipart/form-data")
    assert other.status_code == 404 and image_of(app, world.product_b) is None
    # without the CSRF token
    forged = producer.client.post(url, data={"image": (io.BytesIO(encoded((40, 40), "PNG")), "x.png")},
                                  content_type="multipart/form-data")
    assert forged.status_code in (400, 403)
    # inspectors read products but do not change them; anonymous visitors go to the login
    assert login("inspector").get(url).status_code == 403
    assert client.get(url).status_code in (302, 401)
    assert image_of(app, world.product_a) == before


def test_the_office_uploads_a_decision_scan_the_shopper_can_open(app, world, login):
    admin = login("admin")
    url = f"/portal/recognitions/{world.recognition_a}/scan"
    assert admin.get(url).status_code == 200
    assert app.test_client().get(f"/media/decisions/{world.recognition_a}.jpg").status_code == 404  # none yet
    assert app.test_client().get(f"/xem/decision/{world.recognition_a}").status_code == 404
    # refusals store nothing: not an image, no file, no CSRF token, not the office
    bad = admin.post(url, data={"scan": (io.BytesIO(b"GIF89a not really"), "qd.gif")}, content_type="multipart/form-data")
    assert bad.status_code == 400 and 'id="e-scan"' in bad.get_data(as_text=True)
    assert admin.post(url, data={}, content_type="multipart/form-data").status_code == 400
    assert admin.client.post(url, data={"scan": (io.BytesIO(encoded((40, 40), "PNG")), "qd.png")},
                             content_type="multipart/form-data").status_code in (400, 403)
    assert login("producer_a").post(url, data={"scan": (io.BytesIO(encoded((40, 40), "PNG")), "qd.png")},
                                    content_type="multipart/form-data").status_code == 403
    with app.app_context():
        assert get_storage().get("recognitions", world.recognition_a)["decision_scan"] is None

    sent = admin.post(url, data={"scan": (io.BytesIO(encoded((1700, 2400), "PNG", (250, 250, 250))), "qd.png")},
                      content_type="multipart/form-data")
    assert sent.status_code == 302
    scan = app.test_client().get(f"/media/decisions/{world.recognition_a}.jpg")
    assert scan.status_code == 200 and scan.data[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(scan.data)).size == (1417, 2000)  # kept legible, not cut to a photo's 800
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        _serial, text = next(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"], 1, 1))
    html = app.test_client().get("/" + text.split("/", 3)[3]).get_data(as_text=True)
    assert f'<a href="/xem/decision/{world.recognition_a}">Xem bản chụp quyết định</a>' in html
    page = app.test_client().get(f"/xem/decision/{world.recognition_a}").get_data(as_text=True)
    assert "<h1>Quyết định số 1/QĐ-UBND</h1>" in page and f'src="/media/decisions/{world.recognition_a}.jpg?v=' in page
