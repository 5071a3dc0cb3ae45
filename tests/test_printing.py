"""Printing through the service: the print command and the portal's issue, preview, download and state forms,
with every QR of the output read back by an independent decoder."""

from __future__ import annotations

import io
import json
import re

import pypdfium2
import zxingcpp
from PIL import Image

from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.serials import format_serial
from stamp_service.stamps.signing import verify_stamp


def decode_pdf(data: bytes, dpi: int = 200) -> list[str]:
    """Every QR text in the PDF, page by page."""
    texts = []
    document = pypdfium2.PdfDocument(data)
    for page in document:
        image = page.render(scale=dpi / 72).to_pil()
        texts += [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    return texts


def test_templates_command(runner):
    rows = json.loads(runner.invoke(cli, ["templates", "--json"]).output)
    names = {r["name"] for r in rows}
    assert {"a4-65-38x21", "a4-40-48x25", "a4-24-70x37", "a4-21-70x42", "roll-50x30", "roll-40x30", "roll-30x20"} <= names
    assert all(r["per_page"] >= 1 and r["qr_level"] in "MQH" for r in rows)


def test_print_command_output_decodes_and_verifies(app, runner, world, tmp_path):
    out = tmp_path / "run.pdf"
    result = runner.invoke(cli, ["print", str(world.run_a), "--template", "a4-40-48x25", "-o", str(out),
                                 "--offset-x", "0.5", "--start", "3"])
    assert result.exit_code == 0, result.output
    assert "20 stamps on 1 pages" in result.output
    texts = decode_pdf(out.read_bytes())
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        records = keystore(app).records()
        settings = get_storage().find_one("print_settings", producer_id=world.producer_a)
    serials = sorted(verify_stamp(t, records).claims.serial for t in texts)
    assert serials == list(range(run["first_serial"], run["last_serial"] + 1))
    assert (settings["template"], settings["offset_x_mm"]) == ("a4-40-48x25", 0.5)  # remembered for next time
    again = runner.invoke(cli, ["print", str(world.run_a), "--template", "roll-30x20", "-o", str(tmp_path / "r.pdf"),
                                "--from", str(run["first_serial"]), "--to", str(run["first_serial"] + 1)])
    assert again.exit_code == 0 and len(pypdfium2.PdfDocument(str(tmp_path / "r.pdf"))) == 2


def test_print_command_bad_input(runner, world, tmp_path):
    out = str(tmp_path / "x.pdf")
    cases = [(["--template", "a4-999"], "Choose an existing label template"),
             (["--template", "a4-24-70x37", "--offset-x", "25"], "From -10 to 10 mm"),
             (["--template", "a4-24-70x37", "--scale-y", "2"], "From 0.9 to 1.1"),
             (["--template", "a4-24-70x37", "--start", "99"], "1 to 24"),
             (["--template", "a4-24-70x37", "--from", "999999"], "inside the run")]
    for args, message in cases:
        result = runner.invoke(cli, ["print", str(world.run_a), "-o", out, *args])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, args
    assert runner.invoke(cli, ["print", "404", "--template", "a4-24-70x37", "-o", out]).exit_code == 1
    test_page = runner.invoke(cli, ["print", str(world.run_a), "--template", "roll-50x30", "--test-page", "-o", out])
    assert test_page.exit_code == 0 and decode_pdf(open(out, "rb").read()) == []


def test_portal_issue_preview_download_and_states(app, login, world):
    session = login("producer_a")
    page = session.get(f"/portal/batches/{world.batch_a}").get_data(as_text=True)
    assert "Phát hành tem cho lô này" in page
    issued = session.post(f"/portal/batches/{world.batch_a}/runs", {"count": "30", "inactive": "1"})
    assert issued.status_code == 302
    run_url = issued.headers["Location"]
    run_id = int(run_url.rsplit("/", 1)[1])
    html = session.get(run_url).get_data(as_text=True)
    assert "Tải PDF để in" in html and "Chưa kích hoạt" in html
    preview = session.get(f"/portal/runs/{run_id}/preview.png?template=a4-24-70x37&start=2")
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.data)).size[0] > 300
    pdf = session.post(f"/portal/runs/{run_id}/stamps.pdf", {"template": "a4-24-70x37", "offset_y_mm": "-0,4",
                                                             "cut_lines": "1"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    texts = decode_pdf(pdf.data)
    assert len(texts) == 30 and len(set(texts)) == 30
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
        assert get_storage().find_one("print_settings", producer_id=world.producer_a)["offset_y_mm"] == -0.4
    bad = session.post(f"/portal/runs/{run_id}/stamps.pdf", {"template": "a4-24-70x37", "scale_x": "3"})
    assert bad.status_code == 400 and "Từ 0,9 đến 1,1" in bad.get_data(as_text=True)
    # activate the first ten by their printed serials; a mistyped check digit is refused
    first, tenth = format_serial(run["first_serial"]), format_serial(run["first_serial"] + 9)
    typo = first[:-1] + str((int(first[-1]) + 1) % 10)
    refused = session.post(f"/portal/runs/{run_id}/state", {"action": "activate", "from": typo, "to": tenth})
    assert refused.status_code == 400 and "hãy nhập như in trên tem" in refused.get_data(as_text=True)
    session.post(f"/portal/runs/{run_id}/state", {"action": "activate", "from": first, "to": tenth})
    with app.app_context():
        storage = get_storage()
        assert issuing.serial_state(storage, run, run["first_serial"] + 9) == "active"
        assert issuing.serial_state(storage, run, run["first_serial"] + 10) == "inactive"
    test_page = session.post(f"/portal/runs/{run_id}/test-page.pdf", {"template": "roll-40x30"})
    assert test_page.status_code == 200 and test_page.data.startswith(b"%PDF")


def test_other_producer_cannot_print_or_issue(login, world):
    session = login("producer_b")
    assert session.post(f"/portal/batches/{world.batch_a}/runs", {"count": "5"}).status_code == 404
    assert session.post(f"/portal/runs/{world.run_a}/stamps.pdf", {"template": "a4-24-70x37"}).status_code == 404
    assert session.get(f"/portal/runs/{world.run_a}/preview.png").status_code == 404


def test_issue_form_refusals_are_shown(login, world):
    session = login("producer_a")
    response = session.post(f"/portal/batches/{world.batch_a}/runs", {"count": "0"})
    page = session.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Số tem phải từ 1 đến 1000000", page)
    token_page = session.get(f"/portal/batches/{world.batch_b}")
    assert token_page.status_code == 404
