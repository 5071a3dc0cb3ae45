"""CSV import page: the office uploads its producer or product spreadsheet."""

from __future__ import annotations

from flask import Response, flash, render_template, request

from ..auth.access import roles
from ..context import get_storage
from ..i18n import current_language, gettext
from ..registry.csv_import import KINDS, ImportFailed, import_csv, template_csv
from . import bp

TEMPLATE_FILES = {"producers": "mau-nhap-chu-the.csv", "products": "mau-nhap-san-pham.csv"}


@bp.route("/portal/import", methods=["GET", "POST"])
@roles("admin")
def import_page() -> tuple[str, int]:
    """Upload a CSV or .xlsx file of producers or products; all rows are saved or none, with every problem listed."""
    kind = request.values.get("kind", "producers")
    if kind not in KINDS:
        kind = "producers"
    report, errors, status = None, [], 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors, status = [{"line": 0, "column": None, "message": gettext("import.no_file")}], 400
        else:
            try:
                report = import_csv(get_storage(), kind, upload.read())
            except ImportFailed as exc:
                errors, status = exc.report.error_dicts(), 400
            else:
                flash(gettext("import.done", count=len(report.created)), "success")
    return render_template("portal/import.html", kind=kind, kinds=KINDS, report=report, errors=errors), status


@bp.route("/portal/import/template.csv")
@roles("admin")
def import_template() -> Response:
    """The empty import file of a kind (?kind=producers|products), headers in the page's language."""
    kind = request.args.get("kind", "producers")
    if kind not in KINDS:
        kind = "producers"
    return Response(template_csv(kind, current_language()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={TEMPLATE_FILES[kind]}"})
