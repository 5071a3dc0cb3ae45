"""Public place look-ups: the 2025 provinces and communes (open data)."""

from __future__ import annotations

from dataclasses import asdict

from flask import abort, jsonify
from werkzeug.wrappers import Response

from ..auth.access import public
from ..registry import places
from . import bp


@bp.route("/provinces")
@public
def province_list() -> Response:
    """The 34 provinces."""
    return jsonify(items=[asdict(p) for p in places.provinces()])


@bp.route("/provinces/<code>/communes")
@public
def province_communes(code: str) -> Response:
    """The communes of one province."""
    if places.province(code) is None:
        abort(404)
    return jsonify(items=[{k: v for k, v in asdict(c).items() if k != "province"} for c in places.communes(code)])


@bp.route("/communes/<code>")
@public
def commune_get(code: str) -> Response:
    """One commune with its province."""
    commune = places.commune(code)
    if commune is None:
        abort(404)
    return jsonify(asdict(commune))
