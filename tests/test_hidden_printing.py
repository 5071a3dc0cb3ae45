"""Printing two-layer runs through the service: ocop-stamp print and the portal's run page, each QR read back
by a scanner, each hidden code found in its label's box, and the codes kept to those who may print."""

from __future__ import annotations

import csv
import io
import json

import pypdfium2
from PIL import Image

from print_layouts import hidden_box_rect, load_templates
from print_support import char_boxes, decode, page_text, rasterise
from stamp_service import printing
from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.hidden import hidden_code, run_secret
from stamp_service.stamps.serials import format_serial

TEMPLATES = load_templates()


def _two_layer_run(runner, world, count: int) -> int:
    result = runner.invoke(cli, ["issue", str(world.batch_a), "--count", str(count), "--hidden-code", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["id"]


def _expected(app, run_id: int):
    """(run, {serial: QR text}, {serial: hidden code})."""
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
    store = keystore(app)
    secret = run_secret(store, run)
    texts = dict(issuing.codes(run, store, app.config["PUBLIC_HOST"]))
    return run, texts, {s: hidden_code(secret, s) for s in texts}


def _check_page(app, run, pdf: bytes, page: int, template, serials: list[int], texts, codes, *, hidden_only: bool,
                first_slot: int = 0) -> None:
    """Label by label: its QR (if any) read in its cell, its hidden code alone inside its declared box."""
    found = decode(rasterise(pdf, page, 300), 300, template)
    if hidden_only:
        assert found == []
    else:
        assert sorted((f.cell, f.text) for f in found) == [(first_slot + i, texts[s]) for i, s in enumerate(serials)]
    with app.app_context():  # the labels exactly as the service builds them, for their declared boxes
        labels = list(printing.labels(get_storage(), keystore(app), run, app.config["PUBLIC_HOST"], serials[0],
                                      serials[-1], "hidden-only" if hidden_only else "full"))
    chars = char_boxes(pdf, page)
    for i, (serial, label) in enumerate(zip(serials, labels)):
        x, y, w, h = hidden_box_rect(template, label, hidden_only=hidden_only)
        left, top = template.cell_origin_mm(first_slot + i)
        inside = "".join(c for c, (l, t, r, b) in chars
                         if left + x <= (l + r) / 2 <= left + x + w and top + y <= (t + b) / 2 <= top + y + h)
        assert inside == codes[serial], f"serial {serial}: {inside!r} in its box"


def test_print_command_full_labels_and_hidden_only_sheet(app, runner, world, tmp_path):
    run_id = _two_layer_run(runner, world, 14)
    run, texts, codes = _expected(app, run_id)
    serials = sorted(texts)
    out = tmp_path / "full.pdf"
    result = runner.invoke(cli, ["print", str(run_id), "--template", "a4-24-70x37", "-o", str(out), "--start", "3"])
    assert result.exit_code == 0, result.output
    _check_page(app, run, out.read_bytes(), 0, TEMPLATES["a4-24-70x37"], serials, texts, codes, hidden_only=False,
                first_slot=2)
    assert "Cào lớp bạc, nhập mã để xác thực" in " ".join(page_text(out.read_bytes()).split())
    for name in ("a4-40-48x25", "roll-50x30"):
        path = tmp_path / f"{name}.pdf"
        assert runner.invoke(cli, ["print", str(run_id), "--template", name, "-o", str(path)]).exit_code == 0
        per_page = TEMPLATES[name].per_page
        _check_page(app, run, path.read_bytes(), 0, TEMPLATES[name], serials[:per_page], texts, codes,
                    hidden_only=False)
    sheet = tmp_path / "codes.pdf"
    result = runner.invoke(cli, ["print", str(run_id), "--template", "a4-65-38x21", "--hidden-only", "-o", str(sheet)])
    assert result.exit_code == 0, result.output
    data = sheet.read_bytes()
    _check_page(app, run, data, 0, TEMPLATES["a4-65-38x21"], serials, texts, codes, hidden_only=True)
    text = page_text(data)
    assert all(format_serial(s) in text for s in serials)
    with app.app_context():  # the scratch stock did not replace the producer's stamp stock
        assert get_storage().find_one("print_settings", producer_id=world.producer_a)["template"] == "roll-50x30"
    # QR labels alone, for stock too small for the box
    qr_only = tmp_path / "qr.pdf"
    assert runner.invoke(cli, ["print", str(run_id), "--template", "a4-65-38x21", "--qr-only",
                               "-o", str(qr_only)]).exit_code == 0
    data = qr_only.read_bytes()
    assert sorted(f.text for f in decode(rasterise(data, 0, 300), 300, TEMPLATES["a4-65-38x21"])) == \
        sorted(texts.values())
    assert not any(code in page_text(data).replace(" ", "") for code in codes.values())


def test_print_command_refusals_are_clear(app, runner, world, tmp_path):
    run_id = _two_layer_run(runner, world, 3)
    out = tmp_path / "x.pdf"
    small = runner.invoke(cli, ["print", str(run_id), "--template", "a4-65-38x21", "-o", str(out)])
    assert small.exit_code == 1 and "Traceback" not in small.output
    assert "38.1 x 21.2 mm have no room for a hidden-code box" in small.output
    assert "--qr-only" in small.output and "--hidden-only" in small.output and not out.exists()
    plain = runner.invoke(cli, ["print", str(world.run_a), "--template", "a4-24-70x37", "--hidden-only",
                                "-o", str(out)])
    assert plain.exit_code == 1 and "has no hidden codes" in plain.output and "Traceback" not in plain.output
    both = runner.invoke(cli, ["print", str(run_id), "--template", "a4-24-70x37", "--hidden-only", "--qr-only",
                               "-o", str(out)])
    assert both.exit_code == 2 and "one of --hidden-only and --qr-only" in both.output


def test_templates_command_says_which_stock_takes_a_box(runner):
    rows = {r["name"]: r for r in json.loads(runner.invoke(cli, ["templates", "--json"]).output)}
    assert rows["a4-24-70x37"]["hidden_box"] is True and rows["a4-65-38x21"]["hidden_box"] is False
    assert "no hidden-code box" in runner.invoke(cli, ["templates"]).output


def test_plain_runs_print_as_before(app, world):
    with app.app_context():
        storage = get_storage()
        run = issuing.get_run(storage, world.run_a)
        labels = list(printing.labels(storage, keystore(app), run, app.config["PUBLIC_HOST"]))
    assert len(labels) == 20 and all(label.hidden_code is None for label in labels)


def test_portal_run_page_prints_two_layer_runs(app, login, world):
    session = login("producer_a")
    issued = session.post(f"/portal/batches/{world.batch_a}/runs", {"count": "10", "hidden_code": "1"})
    run_id = int(issued.headers["Location"].rsplit("/", 1)[1])
    run, texts, codes = _expected(app, run_id)
    serials = sorted(texts)
    page = session.get(f"/portal/runs/{run_id}").get_data(as_text=True)
    assert "Có: tem hai lớp" in page and 'value="hidden-only"' in page and f"/portal/runs/{run_id}/codes.csv" in page
    assert "Chỉ mã cào, không có mã QR (giấy nhãn cào)" in page
    full = session.post(f"/portal/runs/{run_id}/stamps.pdf", {"template": "a4-24-70x37"})
    assert full.status_code == 200 and full.mimetype == "application/pdf"
    _check_page(app, run, full.data, 0, TEMPLATES["a4-24-70x37"], serials, texts, codes, hidden_only=False)
    sheet = session.post(f"/portal/runs/{run_id}/stamps.pdf", {"template": "a4-65-38x21", "content": "hidden-only"})
    assert sheet.status_code == 200 and "ma-cao-dot" in sheet.headers["Content-Disposition"]
    _check_page(app, run, sheet.data, 0, TEMPLATES["a4-65-38x21"], serials, texts, codes, hidden_only=True)
    # the too-small stock is refused beside its field, with the way out
    refused = session.post(f"/portal/runs/{run_id}/stamps.pdf", {"template": "a4-65-38x21"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "không đủ chỗ cho ô mã cào" in html and "Chỉ mã cào" in html
    preview = session.get(f"/portal/runs/{run_id}/preview.png?template=a4-65-38x21&content=hidden-only")
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.data)).format == "PNG"
    shown = session.post(f"/portal/runs/{run_id}/print-preview", {"template": "a4-40-48x25", "content": "full"})
    assert shown.status_code == 200 and "content=full" in shown.get_data(as_text=True)
    # the CSV
    download = session.get(f"/portal/runs/{run_id}/codes.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "charset=utf-8" in download.headers["Content-Type"] and download.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(int(r["serial"]), r["url"], r["hidden_code"]) for r in rows] == [(s, texts[s], codes[s]) for s in serials]


def test_portal_plain_run_has_no_hidden_options(login, world):
    session = login("producer_a")
    page = session.get(f"/portal/runs/{world.run_a}").get_data(as_text=True)
    assert 'name="content"' not in page and f"/portal/runs/{world.run_a}/codes.csv" in page
    refused = session.post(f"/portal/runs/{world.run_a}/stamps.pdf", {"template": "a4-24-70x37",
                                                                     "content": "hidden-only"})
    assert refused.status_code == 400 and "không có mã cào" in refused.get_data(as_text=True)
    bad = session.post(f"/portal/runs/{world.run_a}/stamps.pdf", {"template": "a4-24-70x37", "content": "all"})
    assert bad.status_code == 400


def test_hidden_codes_stay_with_those_who_may_print(app, login, runner, world):
    run_id = _two_layer_run(runner, world, 4)
    inspector = login("inspector")
    page = inspector.get(f"/portal/runs/{run_id}").get_data(as_text=True)
    assert "codes.csv" not in page and 'name="content"' not in page
    for url in (f"/portal/runs/{run_id}/codes.csv",
                f"/portal/runs/{run_id}/preview.png?template=a4-24-70x37&content=hidden-only"):
        assert inspector.get(url).status_code == 403, url
        assert login("producer_b").get(url).status_code == 404, url
    assert inspector.post(f"/portal/runs/{run_id}/stamps.pdf", {"template": "a4-24-70x37"}).status_code == 403
    admin = login("admin")
    assert admin.get(f"/portal/runs/{run_id}/codes.csv").status_code == 200
    document = pypdfium2.PdfDocument(admin.post(f"/portal/runs/{run_id}/stamps.pdf", {
        "template": "a4-24-70x37", "content": "hidden-only"}).data)
    assert len(document) == 1
    document.close()
