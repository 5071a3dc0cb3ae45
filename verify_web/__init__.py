"""Public pages: the stamp verification page shoppers reach from the QR code, the typed-serial check, the
report form, the landing page and the public key set. Light: no script, no outside request, under 30 KB."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("verify_web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/v-static")

from . import (  # noqa: E402,F401
    case_pages, claims, dashboard, digital_link, inspector, pages, report_inbox, reports, visits,
)
