"""ocop-stamp: QR-code traceability stamps for Vietnam's OCOP programme."""

from .app import create_app

__all__ = ["create_app"]
