"""The ocop-stamp command line. Every command has help: `ocop-stamp COMMAND --help`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click
from flask import Flask
from flask.cli import ScriptInfo

from ..auth import tokens, users
from ..config import CONFIG_FILE, DEFAULTS
from ..demo import write_demo_passphrase
from ..keystore import KeyStoreError
from ..signing_keys import keystore
from ..context import get_storage
from ..registry import batches as batch_registry
from ..registry.csv_import import KINDS, ImportFailed, import_csv
from ..registry.fields import ValidationError


def _app(ctx: click.Context) -> Flask:
    """The app this run works on: given by tests (directly or as a ScriptInfo), else built from the environment."""
    root = ctx.find_root()
    if isinstance(root.obj, Flask):
        return root.obj
    if isinstance(root.obj, ScriptInfo):
        root.obj = root.obj.load_app()
        return root.obj
    from ..app import create_app

    root.obj = create_app()
    return root.obj


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str]) -> None:
    """A listing: one JSON list for scripts, or one line per row for people."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(line(row))


def _validation_text(exc: ValidationError) -> str:
    fields = "; ".join(f"{name}: {msg}" for name, msg in exc.render("en").items())
    return exc.message.render("en") + (f" ({fields})" if fields else "")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ocop-stamp")
def cli() -> None:
    """Issue, print and verify OCOP traceability stamps.

    The instance folder (database, keys, config.toml) is $OCOP_STAMP_HOME, default ./instance.
    """


@cli.command()
@click.option("--demo", is_flag=True, help="Also load demo producers, products, batches and logins.")
@click.pass_context
def init(ctx: click.Context, demo: bool) -> None:
    """Create the instance folder and database (migrations run at every start, so this is safe to repeat)."""
    app = _app(ctx)
    with app.app_context():
        storage = get_storage()
        click.echo(f"Instance: {app.instance_path}")
        click.echo(f"Database: {app.config['DATABASE']} (schema: {', '.join(storage.migrations_applied())})")
        if demo:
            _ensure_demo(app)
        else:
            _ensure_signing_key(app)


def _ensure_demo(app: Flask) -> dict[str, str]:
    """Load the demo unless the database already has data; return the demo logins."""
    from .. import demo as demo_data

    instance = Path(app.instance_path)
    if not app.config.get("KEY_PASSPHRASE") and not app.config.get("DEVELOPMENT"):
        app.config["KEY_PASSPHRASE"] = write_demo_passphrase(instance)
        click.echo(f"Demo key passphrase written to {instance / CONFIG_FILE} (set OCOP_STAMP_KEY_PASSPHRASE in production).")
    _ensure_signing_key(app)
    storage = get_storage()
    if storage.count("users") == 0:
        demo_data.load(storage, instance)
        try:
            runs = demo_data.issue_demo_runs(storage, keystore(app), issuer=app.config["ISSUER"],
                                             host=app.config["PUBLIC_HOST"])
        except KeyStoreError as exc:
            runs = []
            click.echo(f"No demo stamps: {exc.message}", err=True)
        click.echo(f"Demo data loaded ({len(runs)} runs of stamps issued).")
    return demo_data.saved_logins(instance)


def _ensure_signing_key(app: Flask) -> None:
    """Create the first signing key if there is no active one (needs KEY_PASSPHRASE, or development mode)."""
    store = keystore(app)
    try:
        if any(k.status == "active" for k in store.list()):
            return
        info = store.generate()
    except KeyStoreError as exc:
        click.echo(f"No signing key yet: {exc.message}", err=True)
        return
    click.echo(f"Signing key created: {info.kid_hex} ({info.alg}), encrypted in {store.path}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int) -> None:
    """Serve the portal, API and verification pages with the production WSGI server (waitress)."""
    from ..server import serve as run

    app = _app(ctx)
    click.echo(f"Serving on http://{host}:{port}/ (instance {app.instance_path})")
    run(app, host, port, threads=threads)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int) -> None:
    """Set up demo data if needed, print the URL and demo logins, then serve."""
    from ..server import serve as run

    app = _app(ctx)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    if "OCOP_STAMP_PUBLIC_HOST" not in os.environ and app.config["PUBLIC_HOST"] == DEFAULTS["PUBLIC_HOST"]:
        app.config["PUBLIC_HOST"] = f"{shown}:{port}"  # so the demo's stamps open this server
    with app.app_context():
        logins = _ensure_demo(app)
        sample = _sample_stamp(app)
    url = f"http://{shown}:{port}/"
    click.echo(f"\nOCOP stamp service: {url}   (sign in at {url}login)")
    if sample:
        click.echo(f"A demo stamp to open: {sample}")
    if logins:
        click.echo("Demo logins (also in the instance folder's demo-logins.json):")
        for email, password in logins.items():
            click.echo(f"  {email:<28} {password}")
    else:
        click.echo("This instance has no demo logins (it had data before). Use `ocop-stamp user add`.")
    click.echo("Press Ctrl+C to stop.\n")
    run(app, host, port)


def _sample_stamp(app: Flask) -> str | None:
    """The address inside the demo's first stamp, as a phone would open it."""
    from ..stamps import issuing

    runs = issuing.list_runs(get_storage())
    if not runs:
        return None
    try:
        _serial, text = next(issuing.codes(runs[-1], keystore(app), app.config["PUBLIC_HOST"]))
    except (KeyStoreError, ValidationError):
        return None
    return "http://" + text.split("://", 1)[1]


@cli.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(users.ROLES), help="admin, producer, inspector or gateway (an SMS gateway: API token only, no portal sign-in).")
@click.option("--producer", "producer_id", type=int, help="Producer id (required for the producer role).")
@click.option("--name", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@click.option("--json", "as_json", is_flag=True, help="Print the new user as JSON.")
@click.pass_context
def user_add(ctx: click.Context, email: str, role: str, producer_id: int | None, name: str | None,
             password_stdin: bool, as_json: bool) -> None:
    """Create a user account (passwords are stored hashed)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    app = _app(ctx)
    with app.app_context():
        try:
            row = users.create(get_storage(), {"email": email, "role": role, "producer_id": producer_id,
                                               "name": name, "password": password})
        except ValidationError as exc:
            _fail(_validation_text(exc))
    if as_json:
        click.echo(json.dumps(users.public(row), ensure_ascii=False))
    else:
        click.echo(f"Created user {row['id']}: {row['email']} ({row['role']})")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """List user accounts."""
    app = _app(ctx)
    with app.app_context():
        rows = [users.public(u) for u in get_storage().find("users", order_by="email")]
    _print_rows(rows, as_json, lambda u: f"{u['id']:>4}  {u['email']:<32} {u['role']:<10} {u['producer_id'] or ''}"
                                         f"{'  (disabled)' if u['disabled'] else ''}")


@cli.group()
def token() -> None:
    """Manage API bearer tokens."""


@token.command("create")
@click.argument("email")
@click.option("--label", help="What the token is for.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(tokens.SCOPES),
              help="What the token may do (repeat for several); default: everything the user's role is for.")
@click.option("--days", default=tokens.DEFAULT_DAYS, show_default=True, type=click.IntRange(1, tokens.MAX_DAYS),
              help="Days until the token expires.")
@click.pass_context
def token_create(ctx: click.Context, email: str, label: str | None, scopes: tuple[str, ...], days: int) -> None:
    """Create an API token for a user; the token is printed once, on the last line."""
    app = _app(ctx)
    with app.app_context():
        storage = get_storage()
        row = users.by_email(storage, email)
        if row is None:
            _fail(f"no user with e-mail {email}")
        if row["disabled"]:
            _fail(f"user {email} is disabled")
        value = tokens.create(storage, row["id"], label, scopes=scopes or None, days=days)
    click.echo(f"Token for {row['email']} ({row['role']}); store it now, it is not shown again:", err=True)
    click.echo(value)


@token.command("list")
@click.option("--email", help="Only this user's tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (never the tokens or their digests).")
@click.pass_context
def token_list(ctx: click.Context, email: str | None, as_json: bool) -> None:
    """List API tokens: owner, label, scopes, expiry, last use, revoked."""
    app = _app(ctx)
    with app.app_context():
        storage = get_storage()
        owner = users.by_email(storage, email) if email else None
        if email and owner is None:
            _fail(f"no user with e-mail {email}")
        rows = tokens.list_all(storage, owner["id"] if owner else None)
    _print_rows(rows, as_json, lambda t: f"{t['id']:>4}  {t['email']:<28} {t['scopes'] or '-':<18} expires "
                                         f"{t['expires_at'] or 'never'}  used {t['last_used_at'] or 'never'}"
                                         f"  {t['label'] or ''}{'  (revoked)' if t['revoked_at'] else ''}")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke an API token by its id (from `token list`); it stops working at once."""
    app = _app(ctx)
    with app.app_context():
        if not tokens.revoke(get_storage(), token_id):
            _fail(f"no live token with id {token_id}")
    click.echo(f"Revoked token {token_id}.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (id, lot, product_id, producer_id, ...).")
@click.option("--producer", "producer_id", type=int, help="Only this producer's batches.")
@click.pass_context
def batches(ctx: click.Context, as_json: bool, producer_id: int | None) -> None:
    """List production batches."""
    app = _app(ctx)
    with app.app_context():
        rows = batch_registry.list_all(get_storage(), producer_id=producer_id)
    _print_rows(rows, as_json, lambda b: f"{b['id']:>5}  {b['lot']:<18} product {b['product_id']:<4} made "
                                         f"{b['production_date']}  qty {b['quantity']}  origin {b['origin_commune_code']}")


def _import_failed(exc: ImportFailed, file: Path, as_json: bool) -> None:
    """Say every problem of a refused import file (JSON for scripts, one line each for people) and exit 1."""
    errors = exc.report.error_dicts("en")
    if as_json:
        click.echo(json.dumps({"ok": False, "errors": errors}, ensure_ascii=False))
    else:
        click.echo(f"Nothing imported: {len(errors)} problem(s) in {file.name}", err=True)
        for e in errors:
            where = f"line {e['line']}" + (f", column {e['header']}" if e["header"] else "")
            click.echo(f"  {where}: {e['message']}", err=True)
    sys.exit(1)


@cli.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_command(ctx: click.Context, kind: str, file: Path, as_json: bool) -> None:
    """Import producers or products from a CSV or .xlsx file: all rows or none, with every problem listed."""
    app = _app(ctx)
    data = file.read_bytes()
    with app.app_context():
        try:
            report = import_csv(get_storage(), kind, data)
        except ImportFailed as exc:
            _import_failed(exc, file, as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "created": report.created}))
    else:
        click.echo(f"Imported {len(report.created)} {kind} from {file.name}.")


from . import stages, stamps  # noqa: E402,F401  (registers the stage and stamp commands on cli)
from . import maintenance  # noqa: E402,F401  (registers backup and check)


def main() -> Any:
    """Console-script entry point: a setting the service cannot start with is one clear line, not a traceback."""
    from ..settings_check import SettingsError

    try:
        return cli(prog_name="ocop-stamp", standalone_mode=False)
    except SettingsError as exc:
        click.echo(f"Error: configuration: {exc}", err=True)
        raise SystemExit(2) from None
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None


