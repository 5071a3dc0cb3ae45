"""Vietnamese text for one plain SMS: no diacritics, only the GSM-7 basic alphabet, at most 160 characters.

A message with even one character outside GSM 03.38's basic alphabet is sent as UCS-2 and holds only 70
characters (and costs two or three SMS on a long reply); the extension table's characters ([ ] { } ~ ^ | \\ €)
take two septets each. Cheap phones also show unaccented Vietnamese more reliably than accented.
"""

from __future__ import annotations

import unicodedata

LIMIT = 160
# GSM 03.38 basic character set, without ESC (0x1B, the escape to the extension table) and the two line
# breaks: a reply is one line.
BASIC = frozenset(
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Letters that do not decompose into a base letter and marks, and punctuation phones and product names use.
_REPLACE = str.maketrans({
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "–": "-", "—": "-", "‑": "-", "−": "-", "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
    "«": '"', "»": '"', "…": "...", "•": "-", "·": "-", "×": "x", "[": "(", "]": ")", "{": "(", "}": ")",
    "|": "/", "\\": "/", "~": "-", "^": "", "`": "'", "€": "EUR", "\t": " ", "\n": " ", "\r": " ",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "°": "o",
})


def plain(text: str) -> str:
    """The text without diacritics (Việt Nam -> Viet Nam, đ -> d) in GSM-7 basic characters; others dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_REPLACE))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_REPLACE)
    return " ".join("".join(c for c in stripped if c in BASIC).split())


def fits(text: str) -> bool:
    """Whether the text goes as one GSM-7 SMS: basic alphabet only, at most 160 characters."""
    return len(text) <= LIMIT and all(c in BASIC for c in text)


def shorten(text: str, room: int) -> str:
    """The text cut to at most room characters, at a word if one ends late enough, marked with '..'."""
    if len(text) <= room:
        return text
    if room < 3:
        return ""
    cut = text[:room - 2]
    space = cut.rfind(" ")
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + ".."
