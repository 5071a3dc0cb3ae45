"""A batch's production stages over the API: record and list them, and export them as EPCIS 2.0."""

from __future__ import annotations

import json

from flask import current_app, g, jsonify, url_for
from werkzeug.wrappers import Response

from ..auth.access import roles
from ..context import get_storage
from ..registry import batches, products
from ..trace import epcis, events
from . import bp
from .body import json_object


@bp.route("/batches/<int:batch_id>/events", methods=["POST"])
@roles("producer", "admin")
def batch_event_add(batch_id: int) -> tuple[Response, int, dict[str, str]]:
    """Record one stage of the batch (its producer or the office; token scope issue): 201 with the stored event."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)  # 404 before reading a body for a batch not yours
    row = events.record(storage, batch_id, json_object(), producer_id=g.identity.scope, user_id=g.identity.user_id,
                        source="api")
    return jsonify(events.present(row)), 201, {"Location": url_for("api.batch_events", batch_id=batch_id)}


@bp.route("/batches/<int:batch_id>/events")
@roles("admin", "inspector", "producer")
def batch_events(batch_id: int) -> Response:
    """Every stage of the batch, corrections included, in the order they happened: {"items": [...]}."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)
    return jsonify(items=[events.present(e) for e in events.list_for(storage, batch_id)])


@bp.route("/batches/<int:batch_id>/epcis")
@roles("admin", "inspector", "producer")
def batch_epcis(batch_id: int) -> Response:
    """The batch's stages as an EPCIS 2.0 document (application/ld+json), valid against GS1's schema."""
    storage = get_storage()
    batch = batches.get(storage, batch_id, producer_id=g.identity.scope)
    doc = epcis.batch_document(storage, current_app.config["PUBLIC_HOST"], batch,
                               products.get(storage, batch["product_id"]))
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=epcis.MEDIA_TYPE)
