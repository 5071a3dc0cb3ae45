"""The 34 provinces and 3,321 communes of the 2025 reorganisation (package data, MIT: see data/)."""

from __future__ import annotations

import csv
import functools
import unicodedata
from dataclasses import dataclass
from importlib import resources

from .fields import Invalid

DATA_FILE = "vn_admin_units.csv"


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city (2-digit code)."""

    code: str
    name: str
    full_name: str
    name_en: str


@dataclass(frozen=True)
class Commune:
    """A commune, ward or special zone (5-digit code) and its province."""

    code: str
    name: str
    full_name: str
    name_en: str
    unit: str
    province: Province

    def display(self, lang: str = "vi") -> str:
        """How the place is shown: commune then province, e.g. 'Xã Ba Chẽ, Tỉnh Quảng Ninh'."""
        if lang == "en":
            return f"{self.name_en}, {self.province.name_en}"
        return f"{self.full_name}, {self.province.full_name}"


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Province], dict[str, Commune]]:
    provinces: dict[str, Province] = {}
    communes: dict[str, Commune] = {}
    source = resources.files("stamp_service").joinpath("data", DATA_FILE)
    with source.open("r", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            province = provinces.setdefault(
                row["province_code"],
                Province(row["province_code"], row["province_name"], row["province_full_name"], row["province_name_en"]),
            )
            communes[row["commune_code"]] = Commune(
                row["commune_code"],
                row["commune_name"],
                row["commune_full_name"],
                row["commune_name_en"],
                row["commune_unit"],
                province,
            )
    return provinces, communes


def provinces() -> list[Province]:
    """All provinces, by code."""
    return sorted(_load()[0].values(), key=lambda p: p.code)


# Vietnamese alphabetical order: ă and â after a, đ after d, ê after e, ô and ơ after o, ư after u; tones only
# break ties (dictionary order: none, huyền, hỏi, ngã, sắc, nặng).
_ALPHABET = "a ă â b c d đ e ê f g h i j k l m n o ô ơ p q r s t u ư v w x y z".split()
_RANK = {letter: i for i, letter in enumerate(_ALPHABET)}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _syllable_key(word: str) -> tuple[tuple[tuple[int, str | int], ...], tuple[int, ...]]:
    """One word's letters (each base letter with its breve, circumflex or horn) and then its tones."""
    letters: list[tuple[int, str | int]] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", word):
        if char in _TONES:
            tones.append(_TONES[char])
        elif unicodedata.combining(char):
            if letters and letters[-1][0] == 0:  # ă, â, ê, ô, ơ, ư: another letter of the alphabet
                letter = unicodedata.normalize("NFC", _ALPHABET[int(letters[-1][1])] + char)
                letters[-1] = (0, _RANK.get(letter, letters[-1][1]))
        elif char in _RANK:
            letters.append((0, _RANK[char]))
        else:
            letters.append((1, char))  # digits and other letters: after the alphabet
    return tuple(letters), tuple(tones)


def vietnamese_key(text: str) -> tuple[tuple[tuple[tuple[int, str | int], ...], tuple[int, ...]], ...]:
    """A sort key for Vietnamese alphabetical order, word by word as dictionaries go (Cà Mau before Cao Bằng,
    Đà Nẵng after every D, Lâm Đồng after Lào Cai); tones break ties only."""
    return tuple(_syllable_key(word) for word in text.casefold().split())


def provinces_by_name() -> list[Province]:
    """All provinces in Vietnamese alphabetical order of their names, for lists people pick from."""
    return list(_provinces_by_name())


@functools.lru_cache(maxsize=1)
def _provinces_by_name() -> tuple[Province, ...]:
    # sorted once: the shopper's page lists them on every scan, and the key costs more than the page's queries
    return tuple(sorted(_load()[0].values(), key=lambda p: vietnamese_key(p.name)))


def communes(province_code: str | None = None) -> list[Commune]:
    """All communes (of one province if given), by code."""
    return sorted(
        (c for c in _load()[1].values() if province_code is None or c.province.code == province_code),
        key=lambda c: c.code,
    )


def province(code: str) -> Province | None:
    """The province with this code, or None."""
    return _load()[0].get(code)


def commune(code: str) -> Commune | None:
    """The commune with this code, or None."""
    return _load()[1].get(code)


def check_commune_code(value: str) -> str:
    """A known 5-digit commune code (refuses unknown codes, accepts them without leading zeros)."""
    text = value.strip()
    if text.isdigit() and len(text) < 5:
        text = text.zfill(5)  # spreadsheets drop leading zeros: 6978 -> 06978
    if commune(text) is None:
        raise Invalid("error.commune_unknown", code=value)
    return text
