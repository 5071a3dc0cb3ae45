"""Vietnamese-first interface text with an English switch: one catalog, one lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, has_request_context, request

from .catalog import CATALOG

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "lang"


def negotiate_language() -> str:
    """The request's language: the lang cookie, else the browser's Accept-Language, else Vietnamese."""
    chosen = request.cookies.get(LANG_COOKIE)
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


def decimal(value: float, lang: str | None = None) -> str:
    """A decimal number the language's way: 0,9 in Vietnamese, 0.9 in English."""
    text = f"{value:g}"
    return text.replace(".", ",") if (lang or current_language()) == "vi" else text


def gettext(key: str, lang: str | None = None, **params: Any) -> str:
    """The text for key in the current language, with {params} filled in (decimals the language's way); the
    key itself if unknown."""
    lang = lang or current_language()
    params = {k: decimal(v, lang) if isinstance(v, float) else v for k, v in params.items()}
    entry = CATALOG.get(key)
    if entry is None:
        return key.format(**params) if params else key
    text = entry[1] if lang == "en" else entry[0]
    return text.format(**params) if params else text


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
