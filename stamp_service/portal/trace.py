"""A batch's production stages on the portal: the producer records them from a phone, everyone signed in reads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, request, url_for

from ..auth.access import roles
from ..context import get_storage
from ..i18n import gettext
from ..registry import batches, products
from ..registry.fields import ValidationError
from ..registry.records import Row
from ..trace import events
from ..vn_time import VIETNAM
from . import bp
from .forms import as_int, form_page
from .places_field import picker_context, within_province

# Form field -> where it goes in the event (the API's JSON shape); errors travel back the same way.
INPUT_FIELDS = ("material", "supplier", "supplier_id", "lot", "quantity")
SHIP_FIELDS = ("distributor", "address", "quantity")
PLACE_FIELD = "place_code"


def event_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The event a submitted stage form describes: one input row and one ship-to at most, time in Vietnam."""
    at = (form.get("at") or "").strip()
    if at and "+" not in at[10:] and not at.endswith("Z"):  # a datetime-local field: the producer's Vietnam time
        at = f"{at}:00+07:00" if len(at) == 16 else f"{at}+07:00"
    data: dict[str, Any] = {
        "stage": form.get("stage"), "at": at, "commune_code": form.get(PLACE_FIELD), "site": form.get("site"),
        "description": form.get("description"),
    }
    item = {k: form.get(f"input_{k}", "").strip() for k in INPUT_FIELDS}
    if any(item.values()):
        data["inputs"] = [{k: v for k, v in item.items() if v}]
    ship = {k: form.get(f"ship_to_{k}", "").strip() for k in SHIP_FIELDS}
    if any(ship.values()):
        data["ship_to"] = {k: v for k, v in ship.items() if v}
    if form.get("corrects"):
        data["corrects"] = form["corrects"]
        data["reason"] = form.get("reason")
    return data


def _form_field(name: str) -> str:
    """The form field an API error name belongs to (inputs[0].material -> input_material)."""
    if name.startswith("inputs[0]."):
        return "input_" + name.split(".", 1)[1]
    if name.startswith("ship_to."):
        return "ship_to_" + name.split(".", 1)[1]
    return {"commune_code": PLACE_FIELD, "inputs": "input_material", "ship_to": "ship_to_distributor"}.get(name, name)


@bp.route("/portal/batches/<int:batch_id>/stages/new", methods=["GET", "POST"])
@roles("producer", "admin")
def stage_new(batch_id: int):
    """Record one production stage of a batch (or correct one: ?corrects=<id>)."""
    storage = get_storage()
    scope = g.identity.scope
    batch = batches.get(storage, batch_id, producer_id=scope)
    corrects = as_int(request.values.get("corrects"))
    existing = {e["id"]: e for e in events.list_for(storage, batch_id)}
    target = existing.get(corrects) if corrects else None
    now = dt.datetime.now(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    initial: dict[str, Any] = {"at": now, PLACE_FIELD: batch["origin_commune_code"]}
    if target is not None:
        initial.update({"stage": target["stage"], "at": events.local_time(target).strftime("%Y-%m-%dT%H:%M"),
                        PLACE_FIELD: target["commune_code"], "site": target["site"] or "",
                        "description": target["description"] or "", "corrects": target["id"]})
        initial.update({f"input_{k}": v for k, v in (target["inputs"][:1] or [{}])[0].items()})
        initial.update({f"ship_to_{k}": v for k, v in (target["ship_to"] or {}).items()})

    def save(data: dict[str, Any]) -> Row:
        try:
            return events.record(storage, batch_id, event_from_form(data), producer_id=scope,
                                 user_id=g.identity.user_id, source="portal")
        except ValidationError as exc:
            raise ValidationError({_form_field(k): m for k, m in exc.fields.items()}, exc.message) from None

    return form_page(
        "portal/stage_form.html", within_province(save, field=PLACE_FIELD), initial=initial,
        done=lambda row: url_for("portal.batch_detail", batch_id=batch_id, _anchor="stages"),
        batch=batch, product=products.get(storage, batch["product_id"]), target=target,
        stages=[(name, gettext(f"stage.{name}")) for name in events.STAGES],
        picker=lambda values: picker_context(values, PLACE_FIELD), max_at=now,
    )

