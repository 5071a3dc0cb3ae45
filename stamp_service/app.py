"""The application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from . import filters, http_errors, http_headers, settings
from .auth import access
from .auth.hashing import PasswordChecker
from .auth.throttle import Limits as LoginLimits
from .config import database_target, instance_path, load_config
from .context import close_storage
from .trace import timeline
from .storage import open_storage


class TLSAwareSessions(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over TLS (directly, or at a trusted proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service: config, schema migrations, blueprints, role checks, error pages."""
    app = Flask("stamp_service", instance_path=str(instance_path()), instance_relative_config=True)
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    load_config(app, test_config)
    settings.check(app.config)  # a wrong setting stops start-up with its name, before anything is served

    # Migrations run at every start, so an upgrade needs no separate step.
    open_storage(database_target(app.config), migrate=True).close()
    app.teardown_appcontext(close_storage)

    from verify_web import bp as verify_bp

    from .api import bp as api_bp
    from .portal import bp as portal_bp
    from .portal.inspect import bp as inspect_bp

    app.register_blueprint(verify_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(inspect_bp)
    app.register_blueprint(api_bp)

    app.session_interface = TLSAwareSessions()
    app.before_request(access.enforce)
    app.after_request(http_headers.security_headers)
    http_errors.register(app)
    filters.register(app)
    timeline.register(app)
    access.check_every_route_declares_access(app)
    login_limits = LoginLimits.from_config(app.config["LOGIN_LIMITS"])
    app.extensions["password_checker"] = PasswordChecker(login_limits.hash_workers, login_limits.hash_queue)
    if app.config["PROXY_COUNT"]:
        # Behind a reverse proxy the client's network is in X-Forwarded-For; trust only our own proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_COUNT"]), x_proto=1)  # type: ignore[method-assign]
    return app
