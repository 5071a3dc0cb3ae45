"""The run page as a producer uses it on a phone: errors beside their fields in Vietnamese, decimal commas,
serials as printed, typed values kept, no activate button on a run issued active, calibration folded, the test
page by POST and a small preview."""

from __future__ import annotations

import html as htmllib
import io
import re

from pathlib import Path

from PIL import Image, ImageChops, ImageStat
from print_layouts import preview_png

from stamp_service import printing
from stamp_service.portal.runs import PREVIEW_DPI
from stamp_service.signing_keys import keystore

from stamp_service.context import get_storage
from stamp_service.stamps import issuing
from stamp_service.stamps.serials import format_serial

PREVIEW_LIMIT = 150_000


def issue_inactive(app, world, count: int = 30) -> dict:
    with app.app_context():
        return issuing.issue_run(get_storage(), keystore(app), world.batch_a, count, issuer="VN",
                                 host=app.config["PUBLIC_HOST"], active=False)


def field_error(page: str, name: str) -> str | None:
    """The error shown right under a field (its id e-<name>, inside the field's has-error box), or None."""
    match = re.search(rf'<div class="field has-error">(?:(?!<div class="field).)*?id="f-{name}"'
                      rf'(?:(?!<div class="field).)*?<p class="error" id="e-{name}">([^<]*)</p>', page, re.S)
    return htmllib.unescape(match[1]) if match else None


def value_of(page: str, name: str) -> str | None:
    match = re.search(rf'<input id="f-{name}"[^>]*value="([^"]*)"', page)
    return htmllib.unescape(match[1]) if match else None


def test_print_errors_sit_beside_their_fields_in_vietnamese_and_decimals_use_a_comma(app, world, login):
    producer = login("producer_a")
    answer = producer.post(f"/portal/runs/{world.run_a}/print-preview",
                           {"template": "a4-24-70x37", "offset_y_mm": "lệch", "scale_x": "0,5", "scale_y": "0,95"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "f.offset_y_mm" not in page and "f.scale_x" not in page and not re.search(r">f\.[a-z_]+<", page)
    assert '<a href="#f-offset_y_mm">Dịch dọc (mm)</a>' in page and '<a href="#f-scale_x">Tỉ lệ ngang</a>' in page
    assert field_error(page, "offset_y_mm") == "Phải là một số (ví dụ 0,5)."
    assert field_error(page, "scale_x") == "Từ 0,9 đến 1,1 (1 = giữ nguyên)."
    assert field_error(page, "scale_y") is None
    assert value_of(page, "offset_y_mm") == "lệch" and value_of(page, "scale_x") == "0,5"
    assert value_of(page, "scale_y") == "0,95"
    assert re.search(r'<details class="spaced" id="calibration" open>', page)  # unfolded to show the errors
    producer.client.set_cookie("lang", "en")
    english = producer.post(f"/portal/runs/{world.run_a}/print-preview", {"scale_x": "0,5"})
    assert field_error(english.get_data(as_text=True), "scale_x") == "From 0.9 to 1.1 (1 = unchanged)."
    producer.client.set_cookie("lang", "vi")

    fine = producer.post(f"/portal/runs/{world.run_a}/print-preview",
                         {"template": "a4-24-70x37", "scale_x": "0,95", "offset_x_mm": "-1,5"})
    page = fine.get_data(as_text=True)
    assert fine.status_code == 200 and "scale_x=0.95" in page and "offset_x_mm=-1.5" in page
    assert value_of(page, "scale_x") == "0,95" and value_of(page, "offset_x_mm") == "-1,5"
    assert re.search(r'<details class="spaced" id="calibration">', page)  # folded when nothing is wrong


def test_serials_are_shown_and_accepted_as_printed(app, world, login):
    producer = login("producer_a")
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
    third, sixth = format_serial(run["first_serial"] + 2), format_serial(run["first_serial"] + 5)
    page = producer.get(f"/portal/runs/{world.run_a}").get_data(as_text=True)
    assert f'placeholder="{format_serial(run["first_serial"])}"' in page
    ok = producer.post(f"/portal/runs/{world.run_a}/print-preview",
                       {"template": "a4-24-70x37", "first": third, "last": sixth})
    assert ok.status_code == 200 and value_of(ok.get_data(as_text=True), "first") == third
    pdf = producer.post(f"/portal/runs/{world.run_a}/stamps.pdf", {"template": "a4-24-70x37", "first": third,
                                                                   "last": sixth})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    typo = third[:-1] + str((int(third[-1]) + 1) % 10)
    wrong = producer.post(f"/portal/runs/{world.run_a}/print-preview", {"first": typo, "last": sixth})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 400
    assert field_error(page, "first") == ("Số sê-ri không đúng: hãy nhập như in trên tem, ví dụ "
                                          f"{format_serial(run['first_serial'])} (chữ số sau dấu gạch là số kiểm tra).")
    assert value_of(page, "first") == typo and value_of(page, "last") == sixth
    outside = producer.post(f"/portal/runs/{world.run_a}/print-preview",
                            {"first": format_serial(run["last_serial"] + 1)})
    assert outside.status_code == 400
    assert f"({format_serial(run['first_serial'])}–{format_serial(run['last_serial'])})" in field_error(
        outside.get_data(as_text=True), "first")


def test_a_refused_state_change_keeps_what_was_typed_and_writes_nothing(app, world, login):
    run = issue_inactive(app, world)
    producer = login("producer_a")
    first = format_serial(run["first_serial"])
    typo = first[:-1] + str((int(first[-1]) + 1) % 10)
    tenth = format_serial(run["first_serial"] + 9)
    refused = producer.post(f"/portal/runs/{run['id']}/state",
                            {"action": "activate", "from": typo, "to": tenth, "note": "Đã dán lên hộp"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert field_error(page, "from").startswith("Số sê-ri không đúng: hãy nhập như in trên tem")
    assert value_of(page, "from") == typo and value_of(page, "to") == tenth and value_of(page, "note") == "Đã dán lên hộp"
    no_confirm = producer.post(f"/portal/runs/{run['id']}/state", {"action": "void", "from": first, "to": first})
    page = no_confirm.get_data(as_text=True)
    assert no_confirm.status_code == 400 and "Hãy đánh dấu ô xác nhận trước khi hủy tem." in page
    assert 'id="e-confirm"' in page and value_of(page, "from") == first
    with app.app_context():
        assert get_storage().count("range_states", run_id=run["id"]) == 0
    done = producer.post(f"/portal/runs/{run['id']}/state", {"action": "activate", "from": first, "to": tenth})
    assert done.status_code == 302
    with app.app_context():
        storage = get_storage()
        assert issuing.serial_state(storage, run, run["first_serial"] + 9) == "active"
        assert issuing.serial_state(storage, run, run["first_serial"] + 10) == "inactive"


def test_the_activate_button_is_only_on_runs_that_need_it(app, world, login):
    producer = login("producer_a")
    active = producer.get(f"/portal/runs/{world.run_a}").get_data(as_text=True)  # issued active
    assert 'value="activate"' not in active and 'value="void"' in active
    assert "Đợt này được phát hành ở trạng thái đã kích hoạt" in active
    inactive = issue_inactive(app, world)
    page = producer.get(f"/portal/runs/{inactive['id']}").get_data(as_text=True)
    assert 'value="activate"' in page and "Đợt này được phát hành ở trạng thái đã kích hoạt" not in page


def test_the_test_page_is_posted_with_the_form_never_a_token_in_a_url(app, world, login):
    producer = login("producer_a")
    page = producer.get(f"/portal/runs/{world.run_a}").get_data(as_text=True)
    button = re.search(r'<button[^>]*formaction="/portal/runs/\d+/test-page.pdf"[^>]*>', page)[0]
    assert "formmethod" not in button  # the print form's own method: POST
    assert producer.get(f"/portal/runs/{world.run_a}/test-page.pdf?template=roll-40x30").status_code == 405
    pdf = producer.post(f"/portal/runs/{world.run_a}/test-page.pdf", {"template": "roll-40x30", "scale_y": "1,01"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    bad = producer.post(f"/portal/runs/{world.run_a}/test-page.pdf", {"template": "roll-40x30", "scale_y": "2"})
    assert bad.status_code == 400 and field_error(bad.get_data(as_text=True), "scale_y")
    no_token = producer.client.post(f"/portal/runs/{world.run_a}/test-page.pdf", data={"template": "roll-40x30"})
    assert no_token.status_code == 400


def test_the_preview_stays_small_on_every_a4_template(app, world, login):
    producer = login("producer_a")
    for template in ("a4-65-38x21", "a4-40-48x25", "a4-24-70x37", "a4-21-70x42", "a4-8-99x67"):
        page = producer.post(f"/portal/runs/{world.run_a}/print-preview", {"template": template}).get_data(
            as_text=True)
        src = htmllib.unescape(re.search(r'class="preview" alt="[^"]*" src="([^"]+)"', page)[1])
        png = producer.get(src)
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert len(png.data) < PREVIEW_LIMIT, (template, len(png.data))
        with Image.open(io.BytesIO(png.data)) as image:
            shown = image.convert("L")
        with app.app_context():  # the same page straight from the renderer, before it was made small
            run = issuing.get_run(get_storage(), world.run_a)
            labels = printing.labels(get_storage(), keystore(app), run, app.config["PUBLIC_HOST"],
                                     run["first_serial"], run["last_serial"], "full")
            layout = printing.available_templates(Path(app.instance_path))[template]
            original = Image.open(io.BytesIO(preview_png(labels, layout, dpi=PREVIEW_DPI))).convert("L")
        assert shown.size == original.size and shown.size[1] > shown.size[0] > 400  # an A4 page at 60 dpi
        difference = ImageChops.difference(shown, original)
        assert ImageStat.Stat(difference).mean[0] < 3, template  # looks the same: a few grey levels at most
        assert difference.getextrema()[1] < 40, template
