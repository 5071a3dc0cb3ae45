"""GS1 Digital Link URIs for products with a GTIN: /01/{gtin14}/10/{lot}[/21/{serial}], parsed and built with biip,
and the RFC 9264 linkset we answer them with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message

from ..errors import Error
from ..registry.records import Row
from ..storage import Storage

LINKSET_TYPE = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
ALLOWED = (("01", "10"), ("01", "10", "21"))  # the two forms we serve, in GS1's qualifier order


class BadLink(Error, ValueError):
    """A Digital Link we refuse; key is the catalog message saying why, detail biip's own words."""

    status = 400

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        super().__init__(detail)


@dataclass(frozen=True)
class Link:
    """What a Digital Link names: a GTIN, a lot and maybe one item's serial."""

    gtin: str
    lot: str
    serial: str | None = None


def parse(host: str, path: str) -> Link:
    """The GTIN, lot and serial of a Digital Link path ('/01/.../10/...'); raises BadLink saying what is wrong."""
    try:
        uri = GS1DigitalLinkURI.parse(f"https://{host}{path}")
    except ParseError as exc:
        raise BadLink("error.dl_malformed", str(exc)) from None
    strings = uri.element_strings
    ais = tuple(e.ai.ai for e in strings)
    if not path.startswith("/01/") or ais not in ALLOWED:
        raise BadLink("error.dl_form")
    gtin = strings[0]
    if gtin.gtin_error or gtin.gtin is None:
        raise BadLink("error.gtin_check_digit", gtin.gtin_error or "")
    if path.split("/")[2] != gtin.value:  # GS1 Digital Link carries the GTIN as 14 digits
        raise BadLink("error.dl_gtin14")
    return Link(gtin.value, strings[1].value, strings[2].value if len(strings) == 3 else None)


def build(host: str, gtin: str, lot: str, serial: str | None = None) -> str:
    """The Digital Link URI of a lot (or an item of it) on host; raises BadLink when GS1 cannot carry it."""
    hri = f"(01){gtin.zfill(14)}(10){lot}" + (f"(21){serial}" if serial else "")
    try:
        message = GS1Message.parse_hri(hri)
    except ParseError as exc:
        raise BadLink("error.dl_malformed", str(exc)) from None
    if message.element_strings[0].gtin_error:
        raise BadLink("error.gtin_check_digit", message.element_strings[0].gtin_error)
    return GS1DigitalLinkURI.from_element_strings(message.element_strings).as_uri(domain=host)


def find(storage: Storage, link: Link) -> tuple[Row, Row] | None:
    """The product with that GTIN (stored as 8, 12, 13 or 14 digits) and its batch with that lot, if both exist."""
    candidates = {link.gtin, link.gtin[-13:], link.gtin[-12:], link.gtin[-8:]}
    product = next((p for p in storage.find("products", gtin=sorted(candidates)) if p["gtin"].zfill(14) == link.gtin),
                   None)
    if product is None:
        return None
    batch = storage.find_one("batches", product_id=product["id"], lot=link.lot.upper())
    return (product, batch) if batch is not None else None


def linkset(anchor: str, page: str, title: str, passport_hint: str) -> dict[str, Any]:
    """The RFC 9264 linkset of a lot: its page, traceability and certification with GS1 link types."""
    def link(href: str, **extra: Any) -> list[dict[str, Any]]:
        return [{"href": href, "title": title, "type": "text/html", "hreflang": ["vi", "en"], **extra}]

    return {"linkset": [{
        "anchor": anchor,
        f"{GS1_VOC}defaultLink": link(page),
        f"{GS1_VOC}pip": link(page),
        f"{GS1_VOC}traceability": link(f"{page}#timeline"),
        f"{GS1_VOC}certificationInfo": link(f"{page}#certificate"),
        f"{GS1_VOC}verificationService": [{"href": passport_hint, "title": "OCOP stamp verification",
                                            "type": "text/html", "hreflang": ["vi", "en"]}],
    }]}
