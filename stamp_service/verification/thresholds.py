"""Thresholds read from configuration (COPY_RULES, VERIFY_LIMITS, CLAIM_LIMITS): each a frozen dataclass of
positive integers, refused at start-up when a name is unknown or a value is not a positive integer."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


def from_config(cls: type[T], values: Mapping[str, Any] | None, setting: str) -> T:
    """An instance of cls with the configured values over its defaults; ValueError names the bad setting."""
    values = dict(values or {})
    unknown = set(values) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ValueError(f"unknown {setting}: {sorted(unknown)}")
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{setting}.{name} must be a positive integer")
    return cls(**values)
