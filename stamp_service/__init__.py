"""ocop-stamp: QR-code traceability stamps for Vietnam's OCOP programme."""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # create_app on first use, not at import: stamp_service.errors must import without Flask (print_layouts uses it)
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
