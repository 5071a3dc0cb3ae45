"""The province-then-commune picker the producer and batch forms share."""

from __future__ import annotations

from typing import Any, Callable

from ..registry import places
from ..registry.fields import ValidationError
from ..registry.records import Row


def picker_context(values: dict[str, Any], field: str = "commune_code") -> dict[str, Any]:
    """Provinces, the chosen one, and its communes (chosen from the form, else from the commune code)."""
    province = values.get("province_code") or ""
    if not places.province(province):
        commune = places.commune(str(values.get(field) or ""))
        province = commune.province.code if commune else ""
    return {
        "provinces": places.provinces(),
        "chosen_province": province,
        "province_communes": places.communes(province) if province else [],
    }


def within_province(save: Callable[[dict[str, Any]], Row], field: str = "commune_code") -> Callable[[dict[str, Any]], Row]:
    """Wrap a form save: when the province picked changed, the commune must be one of that province.

    Without JavaScript a user who changes the province submits a commune of the old one; re-showing the form
    with this error lists the new province's communes, so the second submit succeeds.
    """

    def checked(data: dict[str, Any]) -> Row:
        province = data.pop("province_code", None)
        commune = places.commune(str(data.get(field) or "").zfill(5)) if data.get(field) else None
        if province and commune and commune.province.code != province:
            raise ValidationError.single(field, "error.commune_not_in_province")
        return save(data)

    return checked
