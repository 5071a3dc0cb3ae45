"""Convert a Python CATALOG (key -> (Vietnamese, English)) into the gettext .po files, merging into existing ones.

Usage: python -m stamp_service.i18n._convert [path/to/catalog.py] [--dir path/to/translations]

msgid is the key, msgstr the text. A key already in a .po keeps its entry (a translator's edits and plural forms
win); keys new in the catalog are appended in catalog order. Running it again changes nothing (the file is only
rewritten when an entry was added, whatever Babel version runs it). A catalog entry that needs plural forms is written as tuples of forms:
``"run.issued": (("Đã phát hành {count} tem.",), ("{count} stamp issued.", "{count} stamps issued."))``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import io
import re
import sys
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
TRANSLATIONS = HERE / "translations"
LANGUAGES = ("vi", "en")
PROJECT = "ocop-stamp"
BRACE = re.compile(r"{\w+}")

Entry = tuple[Any, Any]
HEADER = """\
# {name} interface text of ocop-stamp (msgid = the key the code uses, msgstr = the text shown).
# Edit with any gettext tool; see docs/translating.md. Plural entries: msgid_plural repeats the key.
#"""


def load_catalog(path: Path) -> dict[str, Entry]:
    """The CATALOG dict of a catalog.py file, loaded without importing the package it sits in."""
    spec = importlib.util.spec_from_file_location("_ocop_catalog_source", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.CATALOG)


def po_path(lang: str, directory: Path = TRANSLATIONS) -> Path:
    """Where a language's messages.po lives."""
    return directory / lang / "LC_MESSAGES" / "messages.po"


def _new_catalog(lang: str) -> Catalog:
    """An empty catalog with this project's headers (Plural-Forms from Babel's table: vi 1 form, en 2)."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    name = {"vi": "Vietnamese", "en": "English"}[lang]
    return Catalog(locale=lang, domain="messages", project=PROJECT, version="1.0", copyright_holder=PROJECT,
                   msgid_bugs_address="OCOP Stamp maintainers", creation_date=now, revision_date=now,
                   language_team=f"OCOP Stamp {name}", last_translator="OCOP Stamp", fuzzy=False,
                   header_comment=HEADER.format(name=name))


def _read(path: Path, lang: str) -> Catalog:
    """The existing .po at path, or a fresh catalog when there is none."""
    if not path.exists():
        return _new_catalog(lang)
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain="messages")


def _flag_placeholders(catalog: Catalog) -> None:
    """Flag every entry whose text has {name} placeholders python-brace-format (Babel only looks at the msgid,
    which here is a key without braces, and drops the flag again when it reads the file)."""
    for message in catalog:
        if not message.id:
            continue
        texts = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if any(BRACE.search(text or "") for text in texts):
            message.flags.add("python-brace-format")


def _render(catalog: Catalog) -> bytes:
    """The .po text of catalog: catalog order, no line wrapping (diffs stay one line per text)."""
    _flag_placeholders(catalog)
    catalog.fuzzy = False
    out = io.BytesIO()
    write_po(out, catalog, width=0, sort_output=False, omit_header=False, include_previous=False)
    return out.getvalue()


def _add(catalog: Catalog, key: str, text: Any) -> None:
    """Add key with text (a string, or a tuple of plural forms) to catalog."""
    if isinstance(text, (tuple, list)):
        forms = tuple(text)
        if len(forms) != catalog.num_plurals:
            raise SystemExit(f"{key}: {len(forms)} plural forms for {catalog.locale}, expected {catalog.num_plurals}")
        catalog.add((key, key), forms)
    else:
        catalog.add(key, text)


def convert(source: dict[str, Entry], directory: Path = TRANSLATIONS) -> list[Path]:
    """Merge source into each language's .po under directory; the files that changed (none if any entry is bad)."""
    rendered = {}
    for index, lang in enumerate(LANGUAGES):  # build every file before writing one: a bad entry changes nothing
        path = po_path(lang, directory)
        catalog = _read(path, lang)
        added = [key for key in source if key not in catalog]
        for key in added:
            _add(catalog, key, source[key][index])
        if path.exists() and not added:
            continue  # untouched: not even rewritten by another Babel version (its Generated-By header)
        if path.exists():
            catalog.revision_date = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        rendered[path] = _render(catalog)
    changed = []
    for path, text in rendered.items():
        if not path.exists() or path.read_bytes() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)
            changed.append(path)
    return changed


def differences(source: dict[str, Entry], directory: Path = TRANSLATIONS) -> list[tuple[str, str, str, str]]:
    """(lang, key, text in the .po, text in source) for keys both have with different single texts: the .po
    keeps its own, so a merge can see which edits made in catalog.py it did not take."""
    found = []
    for index, lang in enumerate(LANGUAGES):
        path = po_path(lang, directory)
        if not path.exists():
            continue
        catalog = _read(path, lang)
        for key, texts in source.items():
            message = catalog.get(key)
            text = texts[index]
            if message is not None and isinstance(message.string, str) and isinstance(text, str) \
                    and message.string != text:
                found.append((lang, key, message.string, text))
    return found


def main(argv: list[str] | None = None) -> int:
    """Command line: merge a catalog.py into the .po files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", nargs="?", type=Path, default=HERE / "catalog.py",
                        help="catalog.py to read (default: stamp_service/i18n/catalog.py)")
    parser.add_argument("--dir", type=Path, default=TRANSLATIONS, help="translations folder to merge into")
    args = parser.parse_args(argv)
    if not args.catalog.exists():
        parser.error(f"{args.catalog} does not exist")
    source = load_catalog(args.catalog)
    for lang, key, kept, other in differences(source, args.dir):
        print(f"kept {lang} {key}: {kept!r} (catalog.py has {other!r})", file=sys.stderr)
    for path in convert(source, args.dir):
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
