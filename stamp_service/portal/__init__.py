"""The portal: server-rendered pages for the provincial office, producers and inspectors."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from . import (  # noqa: E402,F401
    batches, decision_scans, home, imports, label_artwork, passwords, producers, product_photos, products,
    recognitions, reports, runs, session_views, stage_import, trace, users,
)
