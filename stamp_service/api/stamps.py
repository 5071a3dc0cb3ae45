"""Issuing through the API: runs of a batch, their QR texts, range states and recalls."""

from __future__ import annotations

from itertools import chain

from flask import Response, current_app, g, jsonify, request, url_for

from .. import exports, printing
from ..auth.access import roles
from ..context import get_storage
from ..registry import batches, products
from ..registry.fields import Field, Schema
from ..signing_keys import keystore
from ..stamps import issuing
from ..stamps.quotas import limits_from
from . import bp
from .body import json_object


RANGE = Schema("Range", (Field("from", "integer", minimum=1), Field("to", "integer", minimum=1)))
# The body of POST /batches/{id}/runs (also its OpenAPI schema). count is checked by issue_run, whose message
# names the limit; the flags are cleaned here.
ISSUE = Schema("RunIssue", (
    Field("count", "integer", required=True, minimum=1, maximum=issuing.MAX_RUN, description="How many stamps"),
    Field("active", "boolean", description="false: stamps read 'not activated' until activated (default true)"),
    Field("hidden_code", "boolean", description="true: two-layer stamps, each with an 8-digit hidden code to "
                                                "print under scratch-off foil (default false)"),
))


@bp.route("/batches/<int:batch_id>/runs", methods=["POST"])
@roles("admin", "producer")
def run_create(batch_id: int) -> tuple[Response, int, dict[str, str]]:
    """Issue a run of stamps for a batch: body {"count": N, "active": true, "hidden_code": false}."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)  # 404 before reading a body for a batch not yours
    body = json_object()
    flags = ISSUE.clean(body, partial=True, only=("active", "hidden_code"))
    run = issuing.issue_run(storage, keystore(), batch_id, body.get("count"), active=flags.get("active") is not False,
                            issuer=current_app.config["ISSUER"], host=current_app.config["PUBLIC_HOST"],
                            user_id=g.identity.user_id, producer_id=g.identity.scope,
                            hidden_code=flags.get("hidden_code") is True, limits=limits_from(current_app.config))
    run = issuing.get_run(storage, run["id"])
    return jsonify(run), 201, {"Location": url_for("api.run_get", run_id=run["id"])}


@bp.route("/runs")
@roles("admin", "inspector", "producer")
def run_list() -> Response:
    """Runs, newest first (a producer sees its own)."""
    return jsonify(items=issuing.list_runs(get_storage(), producer_id=g.identity.scope))


@bp.route("/runs/<int:run_id>")
@roles("admin", "inspector", "producer")
def run_get(run_id: int) -> Response:
    """One run."""
    return jsonify(issuing.get_run(get_storage(), run_id, producer_id=g.identity.scope))


@bp.route("/runs/<int:run_id>/codes")
@roles("admin", "producer")
def run_codes(run_id: int) -> Response:
    """The run's QR texts, one per line (text/plain, streamed): ?from=S&to=S for part of it."""
    run = issuing.get_run(get_storage(), run_id, producer_id=g.identity.scope)
    bounds = RANGE.clean(request.args)
    lines = issuing.codes(run, keystore(), current_app.config["PUBLIC_HOST"], bounds["from"], bounds["to"])
    first = next(lines)  # raise range and key errors now, as a 4xx, not halfway through the stream
    body = (f"{text}\n" for _serial, text in chain([first], lines))
    # the generator needs no request context: run and key are loaded
    return exports.streamed(Response(body, mimetype="text/plain"))


@bp.route("/runs/<int:run_id>/digital-link")
@roles("admin", "producer")
def run_digital_link(run_id: int) -> Response:
    """The GS1 Digital Link URI the run's labels may carry as a second QR (for another printing system, beside
    /codes); 400 for a product without a GTIN."""
    storage = get_storage()
    run = issuing.get_run(storage, run_id, producer_id=g.identity.scope)
    batch, product = batches.get(storage, run["batch_id"]), products.get(storage, run["product_id"])
    uri = printing.link_text(product, batch, current_app.config["PUBLIC_HOST"], "full")
    return jsonify(uri=uri, gtin=product["gtin"].zfill(14), lot=batch["lot"])


def _state_change(run_id: int, state: str) -> Response:
    storage = get_storage()
    run = issuing.get_run(storage, run_id, producer_id=g.identity.scope)
    body = json_object()
    change = issuing.set_state(storage, run, state, body.get("from"), body.get("to"), user_id=g.identity.user_id,
                               note=body.get("reason") if isinstance(body.get("reason"), str) else None)
    return jsonify(change)


@bp.route("/runs/<int:run_id>/activate", methods=["POST"])
@roles("admin", "producer")
def run_activate(run_id: int) -> Response:
    """Activate a range of a run: body {"from": S, "to": S} (both optional: the whole run)."""
    return _state_change(run_id, "active")


@bp.route("/runs/<int:run_id>/void", methods=["POST"])
@roles("admin", "producer")
def run_void(run_id: int) -> Response:
    """Void a range of a run: body {"from": S, "to": S, "reason": "..."}."""
    return _state_change(run_id, "void")


@bp.route("/batches/<int:batch_id>/recall", methods=["POST"])
@roles("admin")
def batch_recall(batch_id: int) -> Response:
    """Recall a batch: body {"reason": "..."}."""
    return jsonify(issuing.recall(get_storage(), batch_id, json_object().get("reason")))
