"""Issuing runs of stamps: a serial range per run, no row per stamp, every QR text derived on demand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

from ..i18n import Message
from ..keystore import KeyStore
from ..registry import batches, recognitions
from ..registry.fields import ValidationError
from ..registry.records import RecordNotFound, Row
from ..storage import Storage
from .claims import MAX_ID, StampClaims
from .hidden import hidden_code as derive_hidden_code, run_secret
from .qr import MAX_VERSION, qr_version
from .quotas import Limits, check_batch, check_daily
from .serials import format_serial
from .signing import sign_stamp

MAX_RUN = 1_000_000
STATES = ("active", "inactive", "void")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_claims(run: Row, serial: int) -> StampClaims:
    """What the stamp with this serial of the run says."""
    return StampClaims(
        issuer=run["issuer"],
        issued_at=dt.datetime.fromisoformat(run["issued_at"].replace("Z", "+00:00")),
        product_id=run["product_id"],
        batch_id=run["batch_id"],
        serial=serial,
        stars=run["stars"],
        origin_commune=run["origin_commune_code"],
        production_date=dt.date.fromisoformat(run["production_date"]),
        expiry_date=dt.date.fromisoformat(run["expiry_date"]) if run["expiry_date"] else None,
        certificate_valid_until=dt.date.fromisoformat(run["certificate_valid_until"]),
    )


def issue_run(
    storage: Storage, store: KeyStore, batch_id: int, count: Any, *, issuer: str, host: str, active: bool = True,
    user_id: int | None = None, producer_id: int | None = None, hidden_code: bool = False, limits: Limits = Limits(),
) -> Row:
    """Allocate `count` serials for a batch (with hidden_code, two-layer stamps: each also has a scratch-off
    code); refuses a recalled batch, a product without a valid certificate, more stamps than the batch's quantity
    plus the overprint margin and, for a producer's own request (producer_id given), more than its daily quota."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RUN:
        raise ValidationError.single("count", "error.run_count", max=MAX_RUN)
    if not isinstance(hidden_code, bool):
        raise ValidationError.single("hidden_code", "error.boolean")
    batch = batches.get(storage, batch_id, producer_id=producer_id)
    if batch["recalled_at"]:
        raise ValidationError({}, Message("issue.batch_recalled"))
    rec = recognitions.current(storage, batch["product_id"])
    standing = recognitions.standing(rec) if rec else None
    if rec is None or standing is None or not standing.certified:
        status = standing.status if standing else "none"
        raise ValidationError({}, Message("issue.certificate_not_valid", {"status": status}))
    key, private_key = store.signing_key()
    issued_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    values = {
        "batch_id": batch["id"], "initial_state": "active" if active else "inactive", "issuer": issuer,
        "issued_at": issued_at.isoformat().replace("+00:00", "Z"), "kid": key.kid_hex,
        "product_id": batch["product_id"], "stars": rec["stars"], "origin_commune_code": batch["origin_commune_code"],
        "production_date": batch["production_date"], "expiry_date": batch["expiry_date"],
        "certificate_valid_until": rec["valid_until"], "created_by": user_id, "hidden_code": int(hidden_code),
    }
    with storage.transaction():
        # One issuer at a time, on every node (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), so ranges
        # stay gap-free and disjoint, and parallel requests cannot each pass the quota on the same remainder.
        storage.lock("serials")
        check_batch(storage, batch, count, limits.overprint_margin)
        if producer_id is not None:  # admins and the command line are exempt: they also set the quotas
            check_daily(storage, producer_id, count, limits.daily_quota, issued_at)
        first = (storage.max_value("runs", "last_serial") or 0) + 1
        last = first + count - 1
        if last > MAX_ID:
            raise ValidationError.single("count", "issue.serials_exhausted")
        run = {**values, "first_serial": first, "last_serial": last}
        # The longest stamp of the run must still fit the QR size labels are made for.
        version = qr_version(sign_stamp(run_claims(run, last), private_key, key, host))
        if version > MAX_VERSION:
            raise ValidationError({}, Message("issue.too_large", {"version": version, "host": host}))
        return storage.insert("runs", run)


def get_run(storage: Storage, run_id: int, *, producer_id: int | None = None) -> Row:
    """One run with its batch's producer_id; RecordNotFound also for another producer's run."""
    run = storage.get("runs", run_id)
    if run is None:
        raise RecordNotFound("run", run_id)
    batch = batches.get(storage, run["batch_id"])
    if producer_id is not None and batch["producer_id"] != producer_id:
        raise RecordNotFound("run", run_id)
    return {**run, "producer_id": batch["producer_id"], "count": run["last_serial"] - run["first_serial"] + 1,
            "hidden_code": bool(run["hidden_code"])}


def list_runs(storage: Storage, *, batch_id: int | None = None, producer_id: int | None = None) -> list[Row]:
    """Runs, newest first (of one batch, or one producer's batches)."""
    if batch_id is not None and producer_id is None:
        batch_ids = [batch_id]  # one batch: no need to list them all
    else:
        batch_ids = [b["id"] for b in batches.list_all(storage, producer_id=producer_id)]
        if batch_id is not None:
            batch_ids = [b for b in batch_ids if b == batch_id]
    rows = storage.find("runs", batch_id=batch_ids, order_by="id DESC")
    return [{**r, "count": r["last_serial"] - r["first_serial"] + 1, "hidden_code": bool(r["hidden_code"])}
            for r in rows]


def run_range(run: Row, first: Any, last: Any) -> tuple[int, int]:
    """A serial range inside the run (the whole run when not given)."""
    lo = run["first_serial"] if first is None else first
    hi = run["last_serial"] if last is None else last
    errors = {}
    for name, value in (("from", lo), ("to", hi)):
        if isinstance(value, bool) or not isinstance(value, int) or not run["first_serial"] <= value <= run["last_serial"]:
            errors[name] = Message("error.serial_outside_run", {"first": format_serial(run["first_serial"]),
                                                                "last": format_serial(run["last_serial"])})
    if errors:
        raise ValidationError(errors)
    if hi < lo:
        raise ValidationError.single("to", "error.range_order")
    return lo, hi


def codes(run: Row, store: KeyStore, host: str, first: int | None = None, last: int | None = None) -> Iterator[tuple[int, str]]:
    """(serial, QR text) for a range of the run, signed again on the fly with the run's key."""
    lo, hi = run_range(run, first, last)
    key, private_key = store.reissuing_key(bytes.fromhex(run["kid"]))  # a retired key may derive its own runs again
    template = run_claims(run, lo)
    for serial in range(lo, hi + 1):
        claims = dataclasses.replace(template, serial=serial)
        yield serial, sign_stamp(claims, private_key, key, host)


def hidden_codes(run: Row, store: KeyStore, first: int | None = None,
                 last: int | None = None) -> Iterator[tuple[int, str]]:
    """(serial, 8-digit hidden code) for a range of a two-layer run; refuses a run issued without hidden codes."""
    if not run["hidden_code"]:
        raise ValidationError({}, Message("issue.no_hidden_codes", {"id": run["id"]}))
    lo, hi = run_range(run, first, last)
    secret = run_secret(store, run)  # also for a retired key: its stamps keep their codes
    # Checked and derived before the first item, so a refusal is raised here, not halfway through a stream.
    return ((serial, derive_hidden_code(secret, serial)) for serial in range(lo, hi + 1))


def set_state(
    storage: Storage, run: Row, state: str, first: Any = None, last: Any = None, *, user_id: int | None = None,
    note: str | None = None,
) -> Row:
    """Activate, deactivate or void a range of a run (the whole run by default)."""
    if state not in STATES:
        raise ValidationError.single("state", "error.choice")
    lo, hi = run_range(run, first, last)
    return storage.insert("range_states", {"run_id": run["id"], "first_serial": lo, "last_serial": hi, "state": state,
                                           "note": note, "changed_by": user_id})


def serial_state(storage: Storage, run: Row, serial: int) -> str:
    """active, inactive or void: the newest change covering the serial, else the run's initial state."""
    changes = storage.find_covering("range_states", "first_serial", "last_serial", serial, run_id=run["id"])
    return changes[0]["state"] if changes else run["initial_state"]


def run_for_serial(storage: Storage, serial: int) -> Row | None:
    """The run a serial belongs to, or None if it was never issued (runs' ranges never overlap: issue_run
    allocates each after the last under the write lock)."""
    return storage.find_holding("runs", "first_serial", "last_serial", serial)


def recall(storage: Storage, batch_id: int, reason: Any) -> Row:
    """Recall a batch (thu hồi lô): every stamp of it reads recalled from the next scan on."""
    batch = batches.get(storage, batch_id)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError.single("reason", "error.required")
    if batch["recalled_at"]:
        raise ValidationError.single("reason", "issue.already_recalled")
    storage.update("batches", batch_id, {"recalled_at": _now(), "recall_reason": reason.strip()[:500]})
    return batches.get(storage, batch_id)
