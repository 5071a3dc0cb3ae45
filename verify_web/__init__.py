"""Public pages: the shoppers' landing page (the stamp verification page mounts here too)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from werkzeug.wrappers import Response

from stamp_service.auth.access import public

bp = Blueprint("verify_web", __name__, template_folder="templates")


@bp.route("/")
@public
def index() -> str:
    """What an OCOP stamp is and how to check one."""
    return render_template("verify_web/index.html")


@bp.route("/healthz")
@public
def health() -> Response:
    """Liveness for load balancers: answers without touching the database."""
    return jsonify(status="ok")


@bp.route("/.well-known/jwks.json")
@public
def jwks() -> Response:
    """Our public keys (kid, status, issuing window) for offline verifiers; never cached past a revocation."""
    from stamp_service.signing_keys import keystore

    response = jsonify(keystore().jwks())
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
