"""Public pages: the stamp verification page shoppers reach from the QR code, the typed-serial check, the
report form, hidden-code claims, GS1 Digital Link, the landing page and the public key set. Light: no script,
no outside request, under 30 KB. Nothing here needs a sign-in: the inspectors' pages live with the portal
(stamp_service/portal/inspect/)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("verify_web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/v-static")

from . import claims, digital_link, pages, reports  # noqa: E402,F401
