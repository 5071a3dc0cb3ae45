"""A producer's label artwork: its logo and the OCOP mark image of each star level, uploaded on its page."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, g, redirect, request, send_from_directory, url_for
from PIL import Image
from werkzeug.wrappers import Response

from ..auth.access import roles
from ..context import get_storage
from ..i18n import Message, gettext
from ..media import open_image, save_image
from ..media_gate import upload_slot
from ..printing import artwork_folder
from ..registry import label_marks, producers
from ..registry.fields import Invalid
from . import bp
from .producers import render_producer


def _folder() -> Path:
    return artwork_folder(Path(current_app.instance_path))


def _own(producer_id: int) -> None:
    """A producer user may change only its own artwork (404 for another's, as on its page)."""
    scope = g.identity.scope
    if scope is not None and scope != producer_id:
        abort(404)
    producers.get(get_storage(), producer_id)


def _stored(field: str) -> str:
    """The uploaded image of a form field, checked and re-encoded (no metadata), its transparency flattened
    onto white as the label's paper is (a plain conversion would turn it black); raises Invalid."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise Invalid("error.image_empty")
    with upload_slot():
        img = open_image(upload.read(), max_pixels=current_app.config["MAX_IMAGE_PIXELS"], mode="RGBA")
        paper = Image.new("RGB", img.size, (255, 255, 255))
        paper.paste(img, mask=img.getchannel("A"))
        return save_image(paper, _folder())


def _refused(producer_id: int, message: Message) -> tuple[str, int]:
    """The producer's page again, the problem beside the artwork forms; nothing was saved."""
    return render_producer(producer_id, artwork_error=message.render()), 400


@bp.route("/portal/producers/<int:producer_id>/logo", methods=["POST"])
@roles("admin", "producer")
def producer_logo(producer_id: int) -> Response | tuple[str, int]:
    """Upload (or replace) the producer's logo, printed on its labels."""
    _own(producer_id)
    try:
        name = _stored("logo")
    except Invalid as exc:
        return _refused(producer_id, exc.message)
    label_marks.set_logo(get_storage(), producer_id, name)
    flash(gettext("artwork.logo_saved"), "success")
    return redirect(url_for("portal.producer_detail", producer_id=producer_id) + "#artwork", code=303)


@bp.route("/portal/producers/<int:producer_id>/marks", methods=["POST"])
@roles("admin", "producer")
def producer_mark(producer_id: int) -> Response | tuple[str, int]:
    """Upload (or replace) the OCOP mark image of a star level (printed only while a product holds those stars)."""
    _own(producer_id)
    raw = request.form.get("stars", "")
    if not raw.isdigit() or int(raw) not in label_marks.STARS:
        return _refused(producer_id, Message("artwork.stars_choice"))
    try:
        name = _stored("mark")
    except Invalid as exc:
        return _refused(producer_id, exc.message)
    label_marks.set_mark(get_storage(), producer_id, int(raw), name)
    flash(gettext("artwork.mark_saved", stars=int(raw)), "success")
    return redirect(url_for("portal.producer_detail", producer_id=producer_id) + "#artwork", code=303)


@bp.route("/portal/producers/<int:producer_id>/artwork/<name>")
@roles("admin", "inspector", "producer")
def producer_artwork(producer_id: int, name: str) -> Response:
    """One of the producer's artwork images (its logo or a mark), for its page."""
    _own(producer_id)
    storage = get_storage()
    producer = producers.get(storage, producer_id)
    if name != producer.get("logo") and name not in label_marks.marks(storage, producer_id).values():
        abort(404)
    return send_from_directory(_folder(), name, mimetype="image/jpeg", max_age=3600)
