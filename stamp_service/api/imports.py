"""CSV import through the API: the same all-or-nothing import as the portal."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from ..auth.access import roles
from ..context import get_storage
from ..registry.csv_import import KINDS, ImportFailed, import_csv
from ..registry.fields import ValidationError
from ..i18n import Message
from . import bp


@bp.route("/import/<kind>", methods=["POST"])
@roles("admin")
def import_file(kind: str) -> Response | tuple[Response, int]:
    """Import a CSV or .xlsx file (multipart field "file", or the raw body); every problem of every row is listed."""
    if kind not in KINDS:
        raise ValidationError({"kind": Message("error.choice")})
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    try:
        report = import_csv(get_storage(), kind, data)
    except ImportFailed as exc:
        return jsonify(error=exc.message.render(), fields={},
                       errors=exc.report.error_dicts()), 400
    return jsonify(kind=kind, rows=report.rows, created=report.created), 201
