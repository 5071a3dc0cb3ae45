"""What pages show of a batch's record: the shopper's timeline (as it stands) and the staff's full record."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..context import get_storage
from ..i18n import current_language, gettext
from ..registry import places
from ..registry.records import Row
from . import events as trace_events

SHOPPER_OPEN = 3  # stages shown before the "more" fold on a phone
SHOPPER_MAX = 12  # stages on the shopper's page at most (each line cut to ONE_LINE): it stays under 30 KB
ONE_LINE = 160
SHOPPER_PHOTOS = 2  # photo links per stage on the shopper's page


def _item(event: Row, lang: str) -> dict[str, Any]:
    commune = places.commune(event["commune_code"])
    where = commune.display(lang) if commune else event["commune_code"]
    return {
        "id": event["id"], "stage": event["stage"],
        "event_time": event["event_time"], "place": f"{event['site']}, {where}" if event["site"] else where,
        "description": event["description"] or "", "inputs": event["inputs"], "ship_to": event["ship_to"],
        "photos": event["photos"], "corrects": event["corrects"], "reason": event["reason"],
        "corrected_by": event["corrected_by"], "created_by": event["created_by"], "source": event["source"],
        "created_at": event["created_at"],
    }


def for_shopper(batch_id: int | None, lang: str = "vi") -> list[dict[str, Any]]:
    """The batch's stages as they stand (corrected versions only), oldest first: the first SHOPPER_MAX - 1 and the
    last (where the product went), each described in one line."""
    if not batch_id:
        return []
    items = [_item(e, lang) for e in trace_events.current(trace_events.list_for(get_storage(), batch_id))]
    if len(items) > SHOPPER_MAX:
        items = items[:SHOPPER_MAX - 1] + items[-1:]
    for item in items:
        text = item["description"]
        item["description"] = text if len(text) <= ONE_LINE else text[:ONE_LINE - 1].rstrip() + "…"
    return items


def for_staff(batch_id: int, lang: str = "vi") -> list[dict[str, Any]]:
    """Every stage, corrections and corrected ones alike, with who entered each."""
    storage = get_storage()
    rows = trace_events.list_for(storage, batch_id)
    authors = {u["id"]: u for u in storage.find("users", id=list({e["created_by"] for e in rows if e["created_by"]}))}
    items = []
    for e in rows:
        author = authors.get(e["created_by"])
        items.append({**_item(e, lang), "author": (author["name"] or author["email"]) if author else None})
    return items


def for_serials(serials: list[Any], lang: str = "vi") -> list[dict[str, Any]]:
    """The full record of each batch the given serials belong to (an inspection's checked stamps), with stages."""
    from ..stamps import issuing

    storage = get_storage()
    seen: dict[int, dict[str, Any]] = {}
    for serial in serials:
        run = issuing.run_for_serial(storage, serial) if isinstance(serial, int) else None
        if run is None or run["batch_id"] in seen:
            continue
        batch = storage.get("batches", run["batch_id"])
        product = storage.get("products", batch["product_id"]) if batch else None
        stages = for_staff(run["batch_id"], lang) if batch and product else []
        if stages:
            seen[run["batch_id"]] = {"product": product["name"], "lot": batch["lot"], "stages": stages}  # type: ignore[index]
    return list(seen.values())


def passport_facts(outcome: Any) -> list[tuple[str, str]]:
    """The passport facts (ND 37/2026) the shopper's product card does not already show, as (term, value)."""
    if outcome is None or outcome.claims is None or outcome.batch is None or outcome.product is None:
        return []
    from . import passport  # imports the verification checker, which pages load anyway

    facts = []
    if outcome.product["gtin"]:
        facts.append((gettext("f.gtin"), outcome.product["gtin"]))
    ident = passport.public_identifier(outcome.producer) if outcome.producer else None
    if ident and ident["value"]:
        facts.append((gettext(f"id_type.{ident['type']}"), ident["value"]))
    last = passport.last_processing(trace_events.current(trace_events.list_for(get_storage(), outcome.batch["id"])))
    if last is not None:
        facts.append((gettext("stage.last_place"), _item(last, current_language())["place"]))
    return facts


def register(app: Flask) -> None:
    """Let templates ask for a batch's timeline and passport facts (the pages' views need not change)."""
    app.jinja_env.globals.update(trace_timeline=for_shopper, trace_record=for_staff, trace_facts=passport_facts,
                                 trace_open=SHOPPER_OPEN, trace_photos=SHOPPER_PHOTOS,
                                 trace_icons={name: s.icon for name, s in trace_events.STAGES.items()})
