"""Vietnamese-first interface text with an English switch: gettext catalogs (translations/*/messages.po), one lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, has_request_context, request

from . import catalogs

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "lang"


def negotiate_language() -> str:
    """The request's language: an explicit choice (?lang=, then the lang cookie the switch sets), else the
    browser's Accept-Language, else Vietnamese."""
    for chosen in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    default = current_app.config.get("DEFAULT_LANGUAGE", DEFAULT_LANGUAGE)
    return request.accept_languages.best_match(LANGUAGES, default=default) or default


def current_language() -> str:
    """The language of the current request (Vietnamese outside a request)."""
    if has_request_context():
        if "lang" not in g:
            g.lang = negotiate_language()
        return g.lang
    return DEFAULT_LANGUAGE


def _language(lang: str | None) -> str:
    """lang if the catalogs have it (else Vietnamese); the current language when None."""
    chosen = lang or current_language()
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _number(value: Any) -> int | None:
    """value as a whole number for choosing a plural form ("1.234" and "1,234" too), None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value.replace(".", "").replace(",", "").replace("\u00a0", "").replace(" ", "")
        return int(digits) if digits.isdigit() else None
    return None


def _plural_count(params: dict[str, Any]) -> int | None:
    """The number a plural entry agrees with: its count param, else n, else its first whole-number param."""
    for name in ("count", "n"):
        if name in params and _number(params[name]) is not None:
            return _number(params[name])
    return next((found for found in map(_number, params.values()) if found is not None), None)


def _plural(key: str, number: int, lang: str, params: dict[str, Any]) -> str:
    """The plural entry key's form for number in lang, params filled in."""
    return catalogs.load(lang).translations.ngettext(key, key, number).format(**params)


def ngettext(key: str, count: int, lang: str | None = None, **params: Any) -> str:
    """The form of key that agrees with count ("Scanned 1 time" / "Scanned 2 times"), {count} and {params} filled."""
    language = _language(lang)
    params = {"count": count, **params}
    if not isinstance(catalogs.text(key, language), tuple):
        return gettext(key, language, **params)
    return _plural(key, count, language, params)


def gettext(key: str, lang: str | None = None, **params: Any) -> str:
    """The text for key in the current language, with {params} filled in; the key itself if unknown.

    A plural entry picks its form by its count param (else n, else its first whole-number param)."""
    language = _language(lang)
    if any(isinstance(v, Message) for v in params.values()):  # a message inside a message: in the same language
        params = {k: v.render(language) if isinstance(v, Message) else v for k, v in params.items()}
    if any(isinstance(v, float) for v in params.values()):  # decimals the language's way: 0,9 in Vietnamese
        from .formats import number

        params = {k: number(v, language) if isinstance(v, float) else v for k, v in params.items()}
    entry = catalogs.text(key, language)
    if entry is None:
        return key.format(**params) if params else key
    if isinstance(entry, tuple):
        count = _plural_count(params)
        return _plural(key, 2 if count is None else count, language, params)
    return entry.format(**params) if params else entry


def has_text(key: str) -> bool:
    """Whether the catalogs have key."""
    return catalogs.text(key, DEFAULT_LANGUAGE) is not None


_ = gettext


@dataclass(frozen=True)
class Message:
    """A translatable message that renders in whatever language is current when it is shown."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        """The message's text in lang (default: the current language)."""
        return gettext(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.render()
