"""Every interface text exists in Vietnamese and English, and every key a template or module uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from stamp_service.i18n.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent
VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.IGNORECASE)


def test_every_entry_has_both_languages():
    for key, (vi, en) in CATALOG.items():
        assert vi.strip() and en.strip(), key
        assert re.findall(r"{(\w+)}", vi) == re.findall(r"{(\w+)}", en) or \
            sorted(re.findall(r"{(\w+)}", vi)) == sorted(re.findall(r"{(\w+)}", en)), key


def test_vietnamese_text_has_its_diacritics():
    # A Vietnamese sentence of any length without a single diacritic is almost surely typed without them.
    for key, (vi, _en) in CATALOG.items():
        words = re.sub(r"{\w+}", "", vi).split()
        if len(words) >= 4:
            assert VIETNAMESE.search(vi), key


def test_keys_used_in_code_and_templates_exist():
    used = set()
    for path in list((ROOT / "stamp_service").rglob("*.py")) + list((ROOT / "verify_web").rglob("*.py")) + \
            list((ROOT / "stamp_service").rglob("*.html")) + list((ROOT / "verify_web").rglob("*.html")):
        if path.name == "catalog.py":
            continue
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""_\(\s*["']([a-z_]+\.[a-z0-9_.\-]+)["']""", text))
        used |= set(re.findall(r"""(?:Message|gettext|single)\([^"']*["']([a-z_]+\.[a-z0-9_.\-]+)["']""", text))
    prefixes = {k for k in used if k.endswith(("_", "."))}  # keys built in the template: "import.kind_" ~ kind
    assert all(any(c.startswith(p) for c in CATALOG) for p in prefixes), prefixes
    missing = sorted(k for k in used - prefixes if k not in CATALOG)
    assert not missing, missing
