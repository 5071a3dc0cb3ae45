"""What a label says and shows besides the QR: the call to action, the OCOP mark and the producer's logo."""

from __future__ import annotations

import pytest

from print_layouts import load_templates, render_pdf
from print_support import Signer, page_text, render_bytes

TEMPLATES = load_templates()


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    return Signer(tmp_path_factory.mktemp("keys"))


@pytest.mark.parametrize("name", list(TEMPLATES))
@pytest.mark.parametrize("lang, words", [("vi", "Quét để xác thực"), ("en", "Scan to verify")])
def test_every_template_asks_to_scan_in_the_label_language(name, lang, words, signer):
    pdf = render_bytes(render_pdf, [signer.stamp(8_100_000)], TEMPLATES[name], lang=lang)[0]
    text = " ".join(page_text(pdf).split())  # a narrow label wraps it over two lines
    assert words in text
    other = "Scan to verify" if lang == "vi" else "Quét để xác thực"
    assert other not in text
