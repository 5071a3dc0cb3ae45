"""The gettext catalogs: both languages complete and consistent, plural forms, the converter that merges a
catalog.py into them, and the one place numbers and dates are formatted."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from stamp_service.i18n import _convert, catalogs, formats, gettext, ngettext

ROOT = Path(__file__).resolve().parent.parent
VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.IGNORECASE)
PLACEHOLDER = re.compile(r"{(\w+)}")


def _forms(text: str | tuple[str, ...] | None) -> tuple[str, ...]:
    return text if isinstance(text, tuple) else (text or "",)


@pytest.mark.parametrize("lang, plurals", [("vi", "nplurals=1; plural=0;"), ("en", "nplurals=2; plural=(n != 1);")])
def test_po_files_parse_cleanly_with_their_plural_forms(lang, plurals):
    with catalogs.po_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang, abort_invalid=True)
    assert catalog.plural_forms == plurals
    assert catalog.mime_headers and dict(catalog.mime_headers)["Plural-Forms"] == plurals
    assert not catalog.fuzzy and not [m.id for m in catalog if m.id and m.fuzzy]
    assert not catalog.obsolete
    problems = [(m.id, e) for m, errors in catalog.check() for e in errors]
    assert not problems, problems
    # Babel drops the flag when it reads a key-as-msgid entry, so look at the file's text: every entry whose text
    # has {placeholders} is flagged for translators' tools.
    for block in filter(str.strip, catalogs.po_path(lang).read_text(encoding="utf-8").split("\n\n")[1:]):
        if PLACEHOLDER.search(block.split("msgstr", 1)[1]):
            assert "#, python-brace-format" in block, block


def test_both_languages_have_every_key_with_text_and_the_same_placeholders():
    assert catalogs.keys("vi") == catalogs.keys("en")
    assert len(catalogs.keys("vi")) > 500
    for key in catalogs.keys("vi"):
        vi, en = _forms(catalogs.text(key, "vi")), _forms(catalogs.text(key, "en"))
        assert all(t.strip() for t in vi + en), key
        wanted = sorted(set(PLACEHOLDER.findall(vi[0])))
        for form in vi + en:
            assert sorted(set(PLACEHOLDER.findall(form))) == wanted, (key, form)


def test_plural_entries_have_all_forms():
    plural = [k for k in catalogs.keys() if isinstance(catalogs.text(k, "vi"), tuple)]
    assert {"public.scanned_times", "run.issued", "visit.checked", "inspect.found", "dash.days"} <= set(plural)
    for key in plural:
        assert len(catalogs.text(key, "vi")) == 1 and len(catalogs.text(key, "en")) == 2, key
    singular = [k for k in catalogs.keys() if not isinstance(catalogs.text(k, "en"), tuple)]
    assert not [k for k in singular if isinstance(catalogs.text(k, "vi"), tuple)]


def test_vietnamese_text_has_its_diacritics():
    # A Vietnamese sentence of any length without a single diacritic is almost surely typed without them.
    for key in catalogs.keys():
        for vi in _forms(catalogs.text(key, "vi")):
            words = re.sub(r"{\w+}", "", vi).split()
            if len(words) >= 4:
                assert VIETNAMESE.search(vi), key


def test_keys_used_in_code_and_templates_exist():
    used = set()
    known = set(catalogs.keys())
    for path in list((ROOT / "stamp_service").rglob("*.py")) + list((ROOT / "verify_web").rglob("*.py")) + \
            list((ROOT / "stamp_service").rglob("*.html")) + list((ROOT / "verify_web").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""_\(\s*["']([a-z_]+\.[a-z0-9_.\-]+)["']""", text))
        used |= set(re.findall(r"""(?:Message|gettext|single)\([^"']*["']([a-z_]+\.[a-z0-9_.\-]+)["']""", text))
    prefixes = {k for k in used if k.endswith(("_", "."))}  # keys built in the template: "import.kind_" ~ kind
    assert all(any(c.startswith(p) for c in known) for p in prefixes), prefixes
    missing = sorted(k for k in used - prefixes if k not in known)
    assert not missing, missing
    assert len(used) > 300  # the scan found the callers (a broken pattern would pass vacuously)


def test_count_phrases_agree_with_the_count():
    assert gettext("public.scanned_times", "en", count=1, first="x") == "Scanned 1 time · first on x"
    assert gettext("public.scanned_times", "en", count=2, first="x") == "Scanned 2 times · first on x"
    assert gettext("public.scanned_times", "vi", count=1, first="x") == "Đã quét 1 lần · lần đầu x"
    assert ngettext("run.issued", 1, "en") == "1 stamp issued."
    assert ngettext("run.issued", 0, "en") == "0 stamps issued."
    assert ngettext("run.issued", 21, "vi") == "Đã phát hành 21 tem."
    assert gettext("dash.days", "en", n=1) == "1 day" and gettext("dash.days", "en", n=5) == "5 days"
    # a count already formatted for display still picks the right form
    assert gettext("visit.checked", "en", count="1,234") == "1,234 stamps checked"
    assert gettext("home.expires_in", "en", days=1, date="d") == "Expires in 1 day (d): re-rating due"
    # an unknown key is shown as itself; a plain entry ignores ngettext's count
    assert gettext("no.such_key", "en") == "no.such_key"
    assert ngettext("nav.home", 3, "en") == "Overview"
    assert gettext("nav.home", "fr") == "Tổng quan"  # a language without a catalog reads Vietnamese


def test_numbers_and_dates_follow_the_language():
    assert formats.number(1234, "vi") == "1.234" and formats.number(1234, "en") == "1,234"
    assert formats.number(0.5, "vi") == "0,5" and formats.number(0.5, "en") == "0.5"
    assert formats.number("n/a", "vi") == "n/a" and formats.number(None, "vi") == ""
    assert formats.date("2026-12-03", "vi") == "03/12/2026" and formats.date("2026-12-03", "en") == "2026-12-03"
    assert formats.date("not a date", "vi") == "not a date"
    # stored UTC; shown in Vietnam (UTC+7), so 20:30 UTC is already the next day; a naive time is UTC too
    assert formats.datetime("2026-11-23T20:30:00Z", "vi") == "24/11/2026 03:30"
    assert formats.datetime("2026-11-23 20:30:00", "en") == "2026-11-24 03:30"
    assert formats.short_day("2026-03-05", "vi") == "05/03" and formats.short_day("2026-03-05", "en") == "03-05"


def test_formatting_uses_the_request_language(app):
    with app.test_request_context("/?lang=en"):
        assert formats.number(12345) == "12,345" and formats.date("2026-12-03") == "2026-12-03"
    with app.test_request_context("/", headers={"Accept-Language": "vi"}):
        assert formats.number(12345) == "12.345" and formats.clock("2026-12-03T07:32:00Z") == "14:32 03/12/2026"


# --- the converter --------------------------------------------------------------------------------------------

CATALOG_PY = '''
CATALOG = {
    "nav.home": ("Trang mới", "A changed text the .po must not take"),
    "run.issued": ("Đã phát hành {count} tem.", "{count} stamps issued."),
    "test.new_key": ("Khóa mới {name}", "A new key {name}"),
    "test.new_plural": (("{count} mục",), ("{count} item", "{count} items")),
}
'''


def test_converter_merges_new_keys_keeps_existing_entries_and_is_idempotent(tmp_path, capsys):
    target = tmp_path / "translations"
    shutil.copytree(catalogs.TRANSLATIONS, target)
    source = tmp_path / "catalog.py"
    source.write_text(CATALOG_PY, encoding="utf-8")

    assert _convert.main([str(source), "--dir", str(target)]) == 0
    # the .po's text is kept, and the run says so (the integrator sees edits a branch made in catalog.py)
    assert "kept en nav.home: 'Overview' (catalog.py has 'A changed text the .po must not take')" in capsys.readouterr().err
    first = {lang: _convert.po_path(lang, target).read_bytes() for lang in _convert.LANGUAGES}
    assert _convert.main([str(source), "--dir", str(target)]) == 0  # the integrator may run it twice
    assert {lang: _convert.po_path(lang, target).read_bytes() for lang in _convert.LANGUAGES} == first

    entries = {}
    for lang in _convert.LANGUAGES:
        with _convert.po_path(lang, target).open("rb") as handle:
            entries[lang] = {m.id if isinstance(m.id, str) else m.id[0]: m for m in read_po(handle) if m.id}
    assert entries["en"]["nav.home"].string == "Overview"  # the .po's entry wins
    assert entries["en"]["run.issued"].string == ("{count} stamp issued.", "{count} stamps issued.")  # plural kept
    assert entries["vi"]["test.new_key"].string == "Khóa mới {name}"
    assert '#, python-brace-format\nmsgid "test.new_key"' in _convert.po_path("en", target).read_text(encoding="utf-8")
    assert entries["en"]["test.new_plural"].string == ("{count} item", "{count} items")
    assert entries["vi"]["test.new_plural"].string == ("{count} mục",)
    assert list(entries["en"])[-2:] == ["test.new_key", "test.new_plural"]  # appended, existing order untouched
    assert len(entries["en"]) == len(catalogs.keys()) + 2


def test_converter_writes_fresh_catalogs_that_the_app_reader_accepts(tmp_path):
    source = tmp_path / "catalog.py"
    source.write_text(CATALOG_PY, encoding="utf-8")
    assert _convert.main([str(source), "--dir", str(tmp_path / "out")]) == 0
    text = _convert.po_path("en", tmp_path / "out").read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"' in text and '"Language: en\\n"' in text
    assert '#, python-brace-format\nmsgid "test.new_key"' in text
    vi = _convert.po_path("vi", tmp_path / "out").read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in vi
    assert 'msgid "nav.home"\nmsgstr "Trang mới"' in vi


def test_converter_refuses_a_plural_with_the_wrong_number_of_forms(tmp_path):
    source = tmp_path / "catalog.py"
    source.write_text('CATALOG = {"x.y": (("a", "b"), ("c", "d"))}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="plural forms for vi"):
        _convert.main([str(source), "--dir", str(tmp_path / "out")])
