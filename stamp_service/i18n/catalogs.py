"""The interface text, read from the gettext catalogs translations/<lang>/LC_MESSAGES/messages.po.

The .po files are parsed once per process and compiled in memory (babel.messages.mofile): no .mo build step,
so a translator's edit to a .po is what the app shows after a restart, and there is no compiled file to go stale.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


@dataclass(frozen=True)
class Loaded:
    """One language's catalog: the gettext object the app asks, and the raw entries tests and tools read."""

    translations: Translations
    entries: dict[str, str | tuple[str, ...]]  # key -> text, or its plural forms


def po_path(lang: str) -> Path:
    """The .po file of a language."""
    return TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(lang: str) -> Catalog:
    """The parsed .po of a language (ValueError-like errors from Babel on a malformed file)."""
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN, abort_invalid=True)


@functools.cache
def load(lang: str) -> Loaded:
    """A language's catalog, compiled in memory on first use."""
    catalog = read(lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    entries: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
        entries[key] = tuple(message.string) if isinstance(message.string, (tuple, list)) else message.string
    return Loaded(Translations(compiled, domain=DOMAIN), entries)


def text(key: str, lang: str) -> str | tuple[str, ...] | None:
    """The raw text (or plural forms) of key in lang, None when the catalog has no such key."""
    return load(lang).entries.get(key)


def keys(lang: str = "vi") -> list[str]:
    """Every key of a language's catalog, in file order."""
    return list(load(lang).entries)
