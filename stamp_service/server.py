"""The production WSGI servers: waitress (one process, many threads, pure Python, the same on every platform) by
default, and gunicorn for several processes on one machine (`serve --workers N`, POSIX only)."""

from __future__ import annotations

import logging

import sys
from typing import Callable

from flask import Flask
from waitress import serve as waitress_serve

from .settings_check import SettingsError

DEFAULT_THREADS = 8


def check_servable(app: Flask) -> None:
    """Refuse to serve for real without a key passphrase."""
    if not app.config.get("KEY_PASSPHRASE") and not (app.config["DEVELOPMENT"] or app.config["TESTING"]):
        # Private keys are encrypted at rest: without a passphrase nothing can be issued, and the only way around
        # it (unencrypted keys) is for development.
        raise SettingsError("KEY_PASSPHRASE is not set: give it through OCOP_STAMP_KEY_PASSPHRASE (or config.toml)"
                            " before serving; DEVELOPMENT = true is for a developer's machine only")


def serve(app: Flask, host: str, port: int, *, threads: int = DEFAULT_THREADS) -> None:
    """Serve the app in this process until interrupted."""
    check_servable(app)
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


def serve_workers(app: Flask, factory: Callable[[], Flask], host: str, port: int, *, workers: int,
                  threads: int = DEFAULT_THREADS) -> None:
    """Serve with `workers` processes of `threads` threads each (gunicorn); each worker builds its own app with
    factory, after the fork, so no database connection or pool thread is shared between processes."""
    check_servable(app)
    if sys.platform == "win32":
        raise SettingsError("--workers needs gunicorn, which runs on Linux and macOS; on Windows serve one process "
                            "(waitress) per port instead")
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}", "workers": workers,
                "worker_class": "gthread", "threads": threads, "proc_name": "ocop-stamp",
                # ProxyFix (PROXY_COUNT) alone decides which forwarded headers to believe
                "forwarded_allow_ips": "", "secure_scheme_headers": {},
                "accesslog": None, "graceful_timeout": 20,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return factory()

    Server().run()
