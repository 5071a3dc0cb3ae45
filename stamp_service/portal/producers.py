"""Producers: the office registers and edits them; inspectors read; a producer sees its own."""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template, url_for

from ..auth.access import roles
from ..context import get_storage
from ..registry import label_marks, producers, products, recognitions
from . import bp
from .forms import form_page
from .places_field import picker_context, within_province


@bp.route("/portal/producers")
@roles("admin", "inspector")
def producer_list() -> str:
    """All producers."""
    rows = producers.list_all(get_storage())
    return render_template("portal/producers.html", producers=rows)


@bp.route("/portal/producers/new", methods=["GET", "POST"])
@roles("admin")
def producer_new():
    """Register a producer."""
    return form_page(
        "portal/producer_form.html",
        within_province(lambda data: producers.create(get_storage(), data)),
        done=lambda row: url_for("portal.producer_detail", producer_id=row["id"]),
        picker=picker_context,
        producer=None,
    )


@bp.route("/portal/producers/<int:producer_id>")
@roles("admin", "inspector", "producer")
def producer_detail(producer_id: int) -> str:
    """A producer with its products and their current recognitions."""
    return render_producer(producer_id)


def render_producer(producer_id: int, **extra: Any) -> str:
    """The producer's page (only a producer's own for a producer user: 404 otherwise), with extra context."""
    scope = g.identity.scope
    if scope is not None and scope != producer_id:
        abort(404)
    storage = get_storage()
    producer = producers.get(storage, producer_id)
    rows = products.list_all(storage, producer_id=producer_id)
    current = recognitions.current_for(storage, [p["id"] for p in rows])
    return render_template("portal/producer.html", producer=producer, products=rows, current=current,
                           standing=recognitions.standing, marks=label_marks.marks(storage, producer_id),
                           mark_stars=label_marks.STARS, **extra)


@bp.route("/portal/producers/<int:producer_id>/edit", methods=["GET", "POST"])
@roles("admin")
def producer_edit(producer_id: int):
    """Change a producer's details."""
    producer = producers.get(get_storage(), producer_id)
    return form_page(
        "portal/producer_form.html",
        within_province(lambda data: producers.update(get_storage(), producer_id, data)),
        initial=producer,
        done=lambda row: url_for("portal.producer_detail", producer_id=row["id"]),
        picker=picker_context,
        producer=producer,
    )
