"""A batch's stages from a CSV or .xlsx file on the portal: upload, every problem beside the upload, a template."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..auth.access import roles
from ..context import get_storage
from ..i18n import current_language, gettext
from ..registry import batches, products
from ..registry.csv_import import ImportFailed
from ..trace import stage_import
from . import bp

TEMPLATE_FILE = "mau-nhap-giai-doan.csv"


@bp.route("/portal/batches/<int:batch_id>/stages/import", methods=["GET", "POST"])
@roles("producer", "admin")
def stage_import_page(batch_id: int) -> BaseResponse | tuple[str, int]:
    """Upload a file of a batch's stages: all recorded (back to the batch page) or none, with every problem listed."""
    storage = get_storage()
    batch = batches.get(storage, batch_id, producer_id=g.identity.scope)
    errors, status = [], 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors, status = [{"line": 0, "header": None, "message": gettext("import.no_file")}], 400
        else:
            try:
                report = stage_import.import_stages(storage, batch_id, upload.read(), producer_id=g.identity.scope,
                                                    user_id=g.identity.user_id)
            except ImportFailed as exc:
                errors, status = exc.report.error_dicts(), 400
            else:
                flash(gettext("stage.imported", count=len(report.created)), "success")
                return redirect(url_for("portal.batch_detail", batch_id=batch_id, _anchor="stages"))
    return render_template("portal/stage_import.html", batch=batch, product=products.get(storage, batch["product_id"]),
                           errors=errors), status


@bp.route("/portal/stages/template.csv")
@roles("producer", "admin")
def stage_import_template() -> Response:
    """The empty stage file, headers in the page's language."""
    return Response(stage_import.template(current_language()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={TEMPLATE_FILE}"})
