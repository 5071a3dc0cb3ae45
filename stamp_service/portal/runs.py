"""Stamp runs in the portal: a producer issues stamps for a batch, previews and downloads the PDF, activates
what was applied and voids what was spoiled."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from print_layouts import Calibration, NoRoomForBox, NoRoomForLinkCode, preview_png, render_pdf, render_test_page

from .. import exports
from .. import printing
from ..auth.access import roles
from ..context import get_storage
from ..i18n import current_language, formats, gettext
from ..registry import batches, products
from ..registry.fields import ValidationError
from ..signing_keys import keystore
from ..stamps import code_list, issuing
from ..stamps.errors import StampError
from ..stamps.serials import format_serial, parse_serial_or_number
from ..stamps.quotas import limits_from
from . import bp

PREVIEW_DPI = 60
PREVIEW_COLOURS = 16  # greys enough for anti-aliased text; the labels print black on white
CALIBRATION_FIELDS = ("offset_x_mm", "offset_y_mm", "scale_x", "scale_y")


def _run(run_id: int):
    return issuing.get_run(get_storage(), run_id, producer_id=g.identity.scope)


@bp.route("/portal/batches/<int:batch_id>/runs", methods=["POST"])
@roles("producer", "admin")
def run_new(batch_id: int):
    """Issue a run of stamps for the batch, then go to its print page."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)
    count = request.form.get("count", "").strip()
    try:
        run = issuing.issue_run(storage, keystore(), batch_id, int(count) if count.isdigit() else count,
                                active=not request.form.get("inactive"), issuer=current_app.config["ISSUER"],
                                host=current_app.config["PUBLIC_HOST"], user_id=g.identity.user_id,
                                producer_id=g.identity.scope, hidden_code=bool(request.form.get("hidden_code")),
                                limits=limits_from(current_app.config))
    except ValidationError as exc:
        flash(" ".join([exc.message.render(), *exc.render().values()]), "error")
        return redirect(url_for("portal.batch_detail", batch_id=batch_id))
    flash(gettext("run.issued", count=run["last_serial"] - run["first_serial"] + 1), "success")
    return redirect(url_for("portal.run_detail", run_id=run["id"]))


def _print_form(run: dict) -> tuple[dict, Calibration]:
    """The print form's values (what was submitted, else the producer's saved template and calibration), and
    the saved calibration that empty fields fall back to."""
    saved_template, saved = printing.saved_settings(get_storage(), run["producer_id"])
    values = {"template": saved_template or "a4-24-70x37", "start": "1", "offset_x_mm": saved.offset_x_mm,
              "offset_y_mm": saved.offset_y_mm, "scale_x": saved.scale_x, "scale_y": saved.scale_y,
              "content": "full"}
    values.update({k: v for k, v in request.values.items() if k in values or k in ("cut_lines", "first", "last", "digital_link")})
    return values, saved


def _print_job(run: dict, form: tuple[dict, Calibration] | None = None):
    """Template, calibration, start, serial range, cut lines, content (printing.CONTENTS) and whether to add the
    GS1 Digital Link code, from the request; raises ValidationError."""
    values, saved = form or _print_form(run)
    templates = printing.available_templates(Path(current_app.instance_path))
    template = printing.choose_template(templates, values.get("template"))
    calibration = printing.calibration_from(values, saved)
    cleaned = printing.SETTINGS.clean({"start": values.get("start")}, partial=True)
    first, last = _serial(run, "first", values.get("first")), _serial(run, "last", values.get("last"))
    lo, hi = _in_run(run, first, last, names={"from": "first", "to": "last"})
    start = printing.check_start(template, cleaned.get("start") or 1)
    content = values.get("content") or "full"
    if content not in printing.CONTENTS:
        raise ValidationError.single("content", "error.choice")
    return template, calibration, start, lo, hi, bool(values.get("cut_lines")), content, bool(values.get("digital_link"))


def _checked_job(run: dict, form: tuple[dict, Calibration] | None = None):
    """The print job, also refused when the run's labels cannot have what it asks (a hidden-code box the label
    has no room for, hidden codes of a run without them): before any preview or download starts."""
    job = _print_job(run, form)
    template, _calibration, _start, _lo, hi, _cut_lines, content, link = job
    try:
        printing.check_layout(get_storage(), keystore(), run, current_app.config["PUBLIC_HOST"], template, hi,
                              content, link)
    except NoRoomForBox as exc:
        raise ValidationError.single("template", "run.hidden_box_no_room", width=f"{exc.width_mm:g}",
                                     height=f"{exc.height_mm:g}") from None
    except NoRoomForLinkCode as exc:
        raise ValidationError.single("digital_link", "run.dl_no_room", width=formats.number(exc.width_mm),
                                     height=formats.number(exc.height_mm)) from None
    return job


def _run_page(run: dict, *, preview: bool = False, status: int = 200, state_form: dict | None = None,
              state_errors: dict[str, str] | None = None, state_error: str | None = None):
    """The run page; with preview, the print settings are checked and the first page shown (or the errors);
    state_* re-show the activate/void form with its errors and what was typed."""
    storage = get_storage()
    form = _print_form(run)
    values = form[0]
    errors: dict[str, str] = {}
    form_error = None
    preview_query = None
    if preview:
        try:
            template, calibration, start, _lo, _hi, _cut, content, link = _checked_job(run, form)
        except ValidationError as exc:
            errors, form_error, status = exc.render(), exc.message.render(), 400
        else:
            preview_query = {"template": template.name, "start": start, "offset_x_mm": calibration.offset_x_mm,
                             "offset_y_mm": calibration.offset_y_mm, "scale_x": calibration.scale_x,
                             "scale_y": calibration.scale_y, "content": content,
                             **({"digital_link": "1"} if link else {})}
    changes = storage.find("range_states", run_id=run["id"], order_by="id DESC")
    html = render_template(
        "portal/run.html", run=run, batch=batches.get(storage, run["batch_id"]),
        product=products.get(storage, run["product_id"]), changes=changes,
        templates=printing.available_templates(Path(current_app.instance_path)).values(), values=values,
        errors=errors, form_error=form_error, preview_query=preview_query, state_form=state_form or {},
        state_errors=state_errors or {}, state_error=state_error, calibration_fields=CALIBRATION_FIELDS,
        can_activate=run["initial_state"] != "active" or any(c["state"] == "inactive" for c in changes))
    return html, status


@bp.route("/portal/runs/<int:run_id>")
@roles("producer", "admin", "inspector")
def run_detail(run_id: int):
    """A run: its serials, their state changes, and (for its producer) the print form."""
    return _run_page(_run(run_id))


@bp.route("/portal/runs/<int:run_id>/print-preview", methods=["POST"])
@roles("producer", "admin")
def run_print_preview(run_id: int):
    """The run page again with the print settings checked and the first page shown (POST: the form carries
    the CSRF token, which must not end up in a URL)."""
    return _run_page(_run(run_id), preview=True)


@bp.route("/portal/runs/<int:run_id>/preview.png")
@roles("producer", "admin")
def run_preview(run_id: int) -> Response:
    """The first page of the PDF as it would print, as a small PNG."""
    run = _run(run_id)
    template, calibration, start, lo, hi, _cut, content, link = _checked_job(run)
    labels = printing.labels(get_storage(), keystore(), run, current_app.config["PUBLIC_HOST"], lo, hi, content,
                             digital_link=link)
    png = preview_png(labels, template, calibration=calibration, start=start, dpi=PREVIEW_DPI,
                      lang=current_language(), hidden_only=content == "hidden-only")
    return Response(_compact_png(png), mimetype="image/png", headers={"Cache-Control": "no-store"})


def _compact_png(png: bytes) -> bytes:
    """The preview as a palette PNG: an A4 page of QR codes drops from about 345 KB to under 100 KB (a phone
    on a slow network gets it), and black modules, grey text and outlines look the same."""
    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=PREVIEW_COLOURS, method=Image.Quantize.MAXCOVERAGE)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    return out.getvalue()


@bp.route("/portal/runs/<int:run_id>/stamps.pdf", methods=["POST"])
@roles("producer", "admin")
def run_pdf(run_id: int) -> Response:
    """The print-ready PDF, streamed as it renders (a long run starts downloading at once); the template and
    calibration are remembered for the producer's next print."""
    storage = get_storage()
    run = _run(run_id)
    try:
        template, calibration, start, lo, hi, cut_lines, content, link = _checked_job(run)
    except ValidationError:
        return _run_page(run, preview=True)  # the form again, each wrong value beside its field
    if content != "hidden-only":  # scratch labels are other stock: keep the stamp stock as the default
        printing.remember(storage, run["producer_id"], template.name, calibration)
    store, host, lang = keystore(), current_app.config["PUBLIC_HOST"], current_language()
    labels = printing.labels(storage, store, run, host, lo, hi, content, digital_link=link)
    first = next(labels)  # signing problems (a retired key) answer as an error page, not a broken download

    def render(sink) -> None:
        from itertools import chain

        render_pdf(chain([first], labels), template, sink, calibration=calibration, start=start,
                   cut_lines=cut_lines, lang=lang, title=f"OCOP {run_id}", hidden_only=content == "hidden-only")

    kind = "ma-cao" if content == "hidden-only" else "tem-ocop"
    filename = f"{kind}-dot-{run_id}-{template.name}.pdf"
    return exports.streamed(Response(printing.stream_pdf(render), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}))


@bp.route("/portal/runs/<int:run_id>/test-page.pdf", methods=["POST"])
@roles("producer", "admin")
def run_test_page(run_id: int) -> Response | tuple[str, int]:
    """An alignment test page for the chosen template and calibration: print it on plain paper over a sheet
    (POST: the print form carries the CSRF token, which must not end up in a URL)."""
    run = _run(run_id)
    try:
        template, calibration = _print_job(run)[:2]
    except ValidationError:
        return _run_page(run, preview=True)  # the form again, each wrong value beside its field
    return Response(printing.stream_pdf(lambda sink: render_test_page(template, sink, calibration=calibration,
                                                                      lang=current_language())),
                    mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="test-{template.name}.pdf"'})


@bp.route("/portal/runs/<int:run_id>/codes.csv")
@roles("producer", "admin")
def run_codes_csv(run_id: int) -> Response:
    """The run's codes as CSV (serial, serial_text, url, hidden_code) for another printing system; it holds the
    hidden codes, so only those who may print the run get it."""
    run = _run(run_id)
    lines = code_list.csv_lines(run, keystore(), current_app.config["PUBLIC_HOST"])
    return exports.streamed(Response(lines, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="ma-tem-dot-{run_id}.csv"', "Cache-Control": "no-store"}))


def _serial(run: dict, name: str, raw: object) -> int | None:
    """A serial from a form field, as printed ("000 299-6", check digit verified) or as a plain number; a wrong
    one is refused beside its field with an example of this run's printed serials."""
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return parse_serial_or_number(text)
    except StampError:
        raise ValidationError.single(name, "run.serial_wrong", example=format_serial(run["first_serial"])) from None


def _in_run(run: dict, first: int | None, last: int | None, names: dict[str, str]) -> tuple[int, int]:
    """issuing.run_range with its errors under this form's field names."""
    try:
        return issuing.run_range(run, first, last)
    except ValidationError as exc:
        raise ValidationError({names.get(k, k): m for k, m in exc.fields.items()}, exc.message) from None


@bp.route("/portal/runs/<int:run_id>/state", methods=["POST"])
@roles("producer", "admin")
def run_state(run_id: int):
    """Activate applied stamps or void spoiled ones, for the whole run or a range of serials."""
    run = _run(run_id)
    state = {"activate": "active", "void": "void"}.get(request.form.get("action", ""), "")
    try:
        if state == "void" and not request.form.get("confirm"):
            raise ValidationError.single("confirm", "run.void_needs_confirm")
        lo, hi = _in_run(run, _serial(run, "from", request.form.get("from")),
                         _serial(run, "to", request.form.get("to")), names={})
        issuing.set_state(get_storage(), run, state, lo, hi, user_id=g.identity.user_id,
                          note=request.form.get("note", "")[:300] or None)
    except ValidationError as exc:  # the page again: each error beside its field, what was typed kept
        state_form = {k: request.form.get(k, "") for k in ("from", "to", "note", "confirm")}
        return _run_page(run, status=400, state_form=state_form, state_errors=exc.render(),
                         state_error=exc.message.render())
    flash(gettext("run.state_changed"), "success")
    return redirect(url_for("portal.run_detail", run_id=run_id))
