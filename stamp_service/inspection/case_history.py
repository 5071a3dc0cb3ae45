"""A case's history: who opened it, who moved its status (each of the two confirmations), who edited it."""

from __future__ import annotations

from ..registry.records import Row
from ..storage import Storage

ACTIONS = ("opened", "status", "edited")


def record(storage: Storage, case_id: int, action: str, user_id: int | None, status: str | None = None) -> Row:
    """Add one step to a case's history."""
    if action not in ACTIONS:
        raise ValueError(f"unknown case action {action!r}")
    return storage.insert("case_events", {"case_id": case_id, "action": action, "user_id": user_id, "status": status})


def events(storage: Storage, case_id: int) -> list[Row]:
    """A case's history, oldest first, each step with the user's email and name (None for the command line)."""
    rows = storage.find("case_events", case_id=case_id, order_by="id")
    people = {u["id"]: u for u in storage.find("users", id=sorted({r["user_id"] for r in rows if r["user_id"]}))}
    return [{**r, "user_email": people.get(r["user_id"], {}).get("email"),
             "user_name": people.get(r["user_id"], {}).get("name")} for r in rows]


def last_status_by(storage: Storage, case_id: int, status: str) -> int | None:
    """Who last brought the case to this status, by opening it so or changing it (None if nobody known did)."""
    rows = storage.find("case_events", case_id=case_id, action=["opened", "status"], status=status,
                        order_by="id DESC", limit=1)
    return rows[0]["user_id"] if rows else None
