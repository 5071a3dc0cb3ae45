"""GS1 Digital Link URIs of products with a GTIN (/01/{gtin14}/10/{lot}[/21/{serial}]): the lot's page, or with
Accept: application/linkset+json its RFC 9264 linkset. Information only: authenticity needs the stamp's QR."""

from __future__ import annotations

from dataclasses import dataclass
from flask import current_app, jsonify, render_template, request, url_for
from werkzeug.wrappers import Response

from stamp_service.auth.access import public
from stamp_service.context import get_storage
from stamp_service.http_errors import error_response
from stamp_service.i18n import gettext
from stamp_service.registry import places, producers, recognitions
from stamp_service.registry.records import Row
from stamp_service.trace import digital_link

from . import bp


@dataclass(frozen=True)
class LotView:
    """What the timeline partial reads (as it reads a verification outcome), for a lot reached without a stamp."""

    batch: Row
    product: Row
    producer: Row
    claims: None = None  # no stamp was read: no passport facts that depend on one


def _wants_linkset() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", digital_link.LINKSET_TYPE])
    return best == digital_link.LINKSET_TYPE or request.args.get("linkType") == "linkset"


def _refuse(code: int, key: str) -> Response:
    if _wants_linkset():
        response = jsonify(error=gettext(key), fields={"uri": gettext(key)} if code == 400 else {})
        response.status_code = code
        return response
    return error_response(code, gettext(key), {"uri": request.path} if code == 400 else None)


@bp.route("/01/<path:rest>")
@public
def digital_link_page(rest: str) -> Response:
    """A Digital Link of one of our lots: its page, or its linkset; 400 for a malformed or wrongly ordered link."""
    host = current_app.config["PUBLIC_HOST"]
    # an encoded "/" inside a lot (%2F) must stay inside it: read the path as sent when the server gives it
    raw = (request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or request.path).split("?", 1)[0]
    try:
        link = digital_link.parse(host, raw if raw.startswith("/01/") else request.path)
    except digital_link.BadLink as exc:
        return _refuse(400, exc.key)
    storage = get_storage()
    found = digital_link.find(storage, link)
    if found is None:
        return _refuse(404, "error.dl_unknown")
    product, batch = found
    canonical = digital_link.build(host, link.gtin, batch["lot"], link.serial)
    if _wants_linkset():
        body = digital_link.linkset(canonical, canonical, product["name"], f"https://{host}{url_for('verify_web.index')}")
        response = jsonify(body)
        response.mimetype = digital_link.LINKSET_TYPE
    else:
        producer = producers.get(storage, product["producer_id"])
        rec = recognitions.current(storage, product["id"])
        html = render_template("verify_web/digital_link.html", o=LotView(batch, product, producer), link=link,
                               rec=rec, standing=recognitions.standing(rec) if rec else None,
                               commune=places.commune(batch["origin_commune_code"]))
        response = Response(html, mimetype="text/html")
    response.headers["Link"] = f'<{canonical}>; rel="linkset"; type="{digital_link.LINKSET_TYPE}"'
    response.vary.add("Accept")
    return response
