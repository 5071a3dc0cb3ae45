"""The production WSGI server (waitress): multi-threaded, pure Python, the same on every platform."""

from __future__ import annotations

import logging

from flask import Flask
from waitress import serve as waitress_serve

from .settings_check import SettingsError

DEFAULT_THREADS = 8


def serve(app: Flask, host: str, port: int, *, threads: int = DEFAULT_THREADS) -> None:
    """Serve the app until interrupted; refuses to serve for real without a key passphrase."""
    if not app.config.get("KEY_PASSPHRASE") and not (app.config["DEVELOPMENT"] or app.config["TESTING"]):
        # Private keys are encrypted at rest: without a passphrase nothing can be issued, and the only way around
        # it (unencrypted keys) is for development.
        raise SettingsError("KEY_PASSPHRASE is not set: give it through OCOP_STAMP_KEY_PASSPHRASE (or config.toml)"
                            " before serving; DEVELOPMENT = true is for a developer's machine only")
    # waitress warns on every request that waits for a free thread; under load that floods the log.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress_serve(app, host=host, port=port, threads=threads, ident="ocop-stamp",
                   max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 64 * 1024,
                   **proxy_options(app))


def proxy_options(app: Flask) -> dict[str, bool]:
    """waitress drops X-Forwarded-* unless told otherwise; behind PROXY_COUNT proxies the app's ProxyFix must see
    them (it trusts exactly that many hops), so waitress passes them on. With no proxy they stay dropped, so a
    client cannot choose its own address."""
    return {"clear_untrusted_proxy_headers": not app.config["PROXY_COUNT"]}
