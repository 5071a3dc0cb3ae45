"""The JSON API under /api/v1: bearer tokens, JSON errors {"error", "fields"}, an OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import claims, imports, inspection, openapi, places, resources, sms, stamps, trace, verify  # noqa: E402,F401
