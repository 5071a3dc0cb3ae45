"""The portal: server-rendered pages for the provincial office, producers and inspectors."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from . import batches, home, imports, label_artwork, producers, products, recognitions, runs, session_views, users  # noqa: E402,F401
