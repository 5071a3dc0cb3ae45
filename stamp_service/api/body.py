"""Reading request bodies and paging parameters, with 400s that say what is wrong."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest

from ..i18n import Message
from ..registry.fields import ValidationError

MAX_LIMIT = 1000


def json_object() -> dict[str, Any]:
    """The request's JSON body as an object; raises ValidationError (400) for anything else."""
    if not request.is_json:
        raise ValidationError({}, Message("error.json_content_type"))
    try:
        data = request.get_json(force=False, silent=False)
    except BadRequest:
        raise ValidationError({}, Message("error.json_malformed")) from None
    if not isinstance(data, dict):
        raise ValidationError({}, Message("error.body_object"))
    return data


def paging() -> tuple[int, int]:
    """limit and offset from the query string (limit 1-1000, default 100)."""
    errors = {}
    values = {}
    for name, default, top in (("limit", 100, MAX_LIMIT), ("offset", 0, None)):
        raw = request.args.get(name, default)
        try:
            value = int(raw)
            if value < 0 or (top is not None and not 1 <= value <= top):
                raise ValueError
        except (TypeError, ValueError):
            errors[name] = Message("error.paging", {"max": MAX_LIMIT})
            continue
        values[name] = value
    if errors:
        raise ValidationError(errors)
    return values["limit"], values["offset"]
