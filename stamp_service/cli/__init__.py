"""The ocop-stamp command line. Every command has help: `ocop-stamp COMMAND --help`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from ..auth import tokens, users
from ..config import CONFIG_FILE, DEFAULTS
from ..demo import write_demo_passphrase
from ..keystore import KeyStoreError
from ..signing_keys import keystore
from ..context import get_storage
from ..registry import batches as batch_registry
from ..registry.csv_import import KINDS, ImportFailed, import_csv
from ..registry.fields import ValidationError


def _create_app() -> Flask:
    """The app configured by the environment ($OCOP_STAMP_HOME, OCOP_STAMP_*); built only when a command needs it."""
    from ..app import create_app

    return create_app()


class AppCommands(AppGroup):
    """The root group: its commands run in the app's context (flask.cli's with_appcontext), the app loaded once.

    Not FlaskGroup: that one adds --app, --env-file and --debug, takes in the commands of every installed Flask
    plugin, and builds the app (creating its database) just to list the commands for --help."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        given = extra.get("obj")
        if isinstance(given, Flask):  # a test hands over its app itself
            extra["obj"] = ScriptInfo(create_app=lambda: given, set_debug_flag=False)
        elif given is None:
            extra["obj"] = ScriptInfo(create_app=_create_app, set_debug_flag=False)
        return super().make_context(info_name, args, parent, **extra)


def _settings_only() -> Flask:
    """An app holding only the configuration (no database opened, no migration run): for the commands that must
    work when the database cannot be opened (offline verification, checking a damaged file)."""
    from ..config import instance_path, load_config

    app = Flask("stamp_service", instance_path=str(instance_path()))
    load_config(app, None)
    return app


def _fatal(message: str) -> NoReturn:
    """Refuse the input: say why on standard error and exit 1 (click's own usage errors exit 2)."""
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


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


@click.group(cls=AppCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ocop-stamp")
def cli() -> None:
    """Issue, print and verify OCOP traceability stamps.

    The instance folder (database, keys, config.toml) is $OCOP_STAMP_HOME, default ./instance.
    """


@cli.command()
@click.option("--demo", is_flag=True, help="Also load demo producers, products, batches and logins.")
def init(demo: bool) -> None:
    """Create the instance folder and database (migrations run at every start, so this is safe to repeat).

    Upgrading needs no separate step: the migrations also run whenever the service starts. --demo loads the demo
    data and logins unless the database already has users."""
    storage = get_storage()
    click.echo(f"Instance: {current_app.instance_path}")
    click.echo(f"Database: {storage.target} (schema: {', '.join(storage.migrations_applied())})")
    if demo:
        _ensure_demo()
    else:
        _ensure_signing_key()


def _ensure_demo() -> dict[str, str]:
    """Load the demo unless the database already has data; return the demo logins."""
    from .. import demo as demo_data

    config = current_app.config
    instance = Path(current_app.instance_path)
    if not config.get("KEY_PASSPHRASE") and not config.get("DEVELOPMENT"):
        config["KEY_PASSPHRASE"] = write_demo_passphrase(instance)
        click.echo(f"Demo key passphrase written to {instance / CONFIG_FILE} (set OCOP_STAMP_KEY_PASSPHRASE in production).")
    _ensure_signing_key()
    storage = get_storage()
    if storage.count("users") == 0:
        demo_data.load(storage, instance)
        try:
            runs = demo_data.issue_demo_runs(storage, keystore(), issuer=config["ISSUER"], host=config["PUBLIC_HOST"])
        except KeyStoreError as exc:
            runs = []
            click.echo(f"No demo stamps: {exc.detail}", err=True)
        click.echo(f"Demo data loaded ({len(runs)} runs of stamps issued).")
    return demo_data.saved_logins(instance)


def _ensure_signing_key() -> None:
    """Create the first signing key if there is no active one (needs KEY_PASSPHRASE, or development mode)."""
    store = keystore()
    try:
        if any(k.status == "active" for k in store.list()):
            return
        info = store.generate()
    except KeyStoreError as exc:
        click.echo(f"No signing key yet: {exc.detail}", err=True)
        return
    click.echo(f"Signing key created: {info.kid_hex} ({info.alg}), encrypted in {store.path}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads (per process).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes: 1 serves with waitress; more with gunicorn (Linux, macOS), each with --threads.")
def serve(host: str, port: int, threads: int, workers: int) -> None:
    """Serve the portal, API and verification pages with a production WSGI server: waitress in this process,
    or gunicorn's processes with --workers. Several nodes may serve one PostgreSQL database (DATABASE_URL,
    docs/deployment.md)."""
    from ..app import create_app
    from ..server import serve as run, serve_workers

    app = current_app._get_current_object()
    click.echo(f"Serving on http://{host}:{port}/ (instance {app.instance_path}, {workers} process(es))")
    if workers == 1:
        run(app, host, port, threads=threads)
    else:
        serve_workers(app, create_app, host, port, workers=workers, threads=threads)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
def demo(host: str, port: int) -> None:
    """Set up demo data if needed, print the URL and demo logins, then serve.

    The same as `ocop-stamp init --demo` when the instance is new, then `ocop-stamp serve`."""
    from ..server import serve as run

    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    if "OCOP_STAMP_PUBLIC_HOST" not in os.environ and current_app.config["PUBLIC_HOST"] == DEFAULTS["PUBLIC_HOST"]:
        current_app.config["PUBLIC_HOST"] = f"{shown}:{port}"  # so the demo's stamps open this server
    logins = _ensure_demo()
    sample = _sample_stamp()
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
    run(current_app._get_current_object(), host, port)


def _sample_stamp() -> str | None:
    """The address inside the demo's first stamp, as a phone would open it."""
    from ..stamps import issuing

    runs = issuing.list_runs(get_storage())
    if not runs:
        return None
    try:
        _serial, text = next(issuing.codes(runs[-1], keystore(), current_app.config["PUBLIC_HOST"]))
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
def user_add(email: str, role: str, producer_id: int | None, name: str | None, password_stdin: bool,
             as_json: bool) -> None:
    """Create a user account (passwords are stored hashed).

    With --password-stdin the password is the first line of standard input (for scripts); otherwise it is asked
    for twice without echo. At least 10 characters; stored as a scrypt hash. A gateway account is for the SMS
    gateway: it cannot sign in to the portal, and its token (`ocop-stamp token create`) may call
    POST /api/v1/sms/inbound and nothing else."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        row = users.create(get_storage(), {"email": email, "role": role, "producer_id": producer_id,
                                           "name": name, "password": password})
    except ValidationError as exc:
        _fatal(_validation_text(exc))
    if as_json:
        click.echo(json.dumps(users.public(row), ensure_ascii=False))
    else:
        click.echo(f"Created user {row['id']}: {row['email']} ({row['role']})")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def user_list(as_json: bool) -> None:
    """List user accounts (never the password hashes)."""
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
def token_create(email: str, label: str | None, scopes: tuple[str, ...], days: int) -> None:
    """Create an API token for a user; the token is printed once, on the last line.

    Only its SHA-256 digest is stored. --scope narrows what the token may do: read (GET calls), issue (calls
    that change data: runs, activation, voiding, recalls, the registry, imports), inspect (the inspectors'
    calls: decode, cases, stamp history) and gateway (inbound SMS). Without --scope the token gets what its
    user's role is for (admin: read, issue, inspect; producer: read, issue; inspector: read, inspect; gateway:
    gateway). Scopes never widen a role: a producer's token with inspect still cannot see cases. A call outside
    the token's scopes gets 403 with {"error": ..., "scope": "issue"}. After --days days, and after
    `ocop-stamp token revoke`, calls get 401."""
    storage = get_storage()
    row = users.by_email(storage, email)
    if row is None:
        _fatal(f"no user with e-mail {email}")
    if row["disabled"]:
        _fatal(f"user {email} is disabled")
    value = tokens.create(storage, row["id"], label, scopes=scopes or None, days=days)
    click.echo(f"Token for {row['email']} ({row['role']}); store it now, it is not shown again:", err=True)
    click.echo(value)


@token.command("list")
@click.option("--email", help="Only this user's tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (never the tokens or their digests).")
def token_list(email: str | None, as_json: bool) -> None:
    """List API tokens: owner, label, scopes, expiry, last use, revoked.

    The last use is recorded at most once a minute."""
    storage = get_storage()
    owner = users.by_email(storage, email) if email else None
    if email and owner is None:
        _fatal(f"no user with e-mail {email}")
    rows = tokens.list_all(storage, owner["id"] if owner else None)
    _print_rows(rows, as_json, lambda t: f"{t['id']:>4}  {t['email']:<28} {t['scopes'] or '-':<18} expires "
                                         f"{t['expires_at'] or 'never'}  used {t['last_used_at'] or 'never'}"
                                         f"  {t['label'] or ''}{'  (revoked)' if t['revoked_at'] else ''}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke an API token by its id (from `token list`); it stops working at once.

    Exit status 1 when there is no live token with that id."""
    if not tokens.revoke(get_storage(), token_id):
        _fatal(f"no live token with id {token_id}")
    click.echo(f"Revoked token {token_id}.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (id, lot, product_id, producer_id, ...).")
@click.option("--producer", "producer_id", type=int, help="Only this producer's batches.")
def batches(as_json: bool, producer_id: int | None) -> None:
    """List production batches, newest first.

    The items of --json have at least id, lot, product_id, producer_id, origin_commune_code, production_date,
    expiry_date and quantity."""
    rows = batch_registry.list_all(get_storage(), producer_id=producer_id)
    _print_rows(rows, as_json, lambda b: f"{b['id']:>5}  {b['lot']:<18} product {b['product_id']:<4} made "
                                         f"{b['production_date']}  qty {b['quantity']}  origin {b['origin_commune_code']}")


def _import_failed(exc: ImportFailed, file: Path, as_json: bool) -> NoReturn:
    """Say every problem of a refused import file (JSON for scripts, one line each for people) and exit 1."""
    errors = exc.report.error_dicts("en")
    if as_json:
        click.echo(json.dumps({"ok": False, "errors": errors}, ensure_ascii=False))
    else:
        click.echo(f"Nothing imported: {len(errors)} problem(s) in {file.name}", err=True)
        for e in errors:
            where = f"line {e['line']}" + (f", column {e['header']}" if e["header"] else "")
            click.echo(f"  {where}: {e['message']}", err=True)
    raise SystemExit(1)


@cli.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_command(kind: str, file: Path, as_json: bool) -> None:
    """Import producers or products from a CSV or .xlsx file: all rows or none, with every problem listed.

    A CSV file is UTF-8, comma, semicolon or tab separated; of an Excel workbook (.xlsx) the first sheet is read.
    Vietnamese headers such as "Tên chủ thể", "Mã số thuế", "Mã xã", "Tên sản phẩm", "Số sao" are understood,
    dates as DD/MM/YYYY or YYYY-MM-DD (or Excel dates). Every row is checked; if any is wrong nothing is saved
    and every problem of every row is listed with its line and the column as the file's own header names it
    (JSON: line, column = the field, header = the file's column, message). The portal's import page offers a
    template to fill in (/portal/import/template.csv?kind=producers|products: the header row, UTF-8 with a BOM
    so that Excel shows the diacritics).

    Producers: name, type, id_type, id_value (or tax_code / personal_id), address, commune_code, phone, email.
    A tax code (mã số thuế: 10 digits, or 13 for a branch) must pass its check digit (the 10th); a phone number
    must be Vietnamese: mobile 0[35789] + 8 digits, landline 02 + 9 digits, or a 1800/1900 hotline (+84 or 84
    may replace the leading 0; spaces, dots, dashes and brackets are fine). The same checks apply in the portal
    and the API.

    Products: producer_identifier (the producer's tax code or other identifier) or producer_id, name,
    product_group, gtin, description and optionally a recognition: stars, decision_number, decision_date,
    issuing_body, level, valid_until."""
    data = file.read_bytes()
    try:
        report = import_csv(get_storage(), kind, data)
    except ImportFailed as exc:
        _import_failed(exc, file, as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "created": report.created}))
    else:
        click.echo(f"Imported {len(report.created)} {kind} from {file.name}.")


from . import maintenance, scans, stages, stamps  # noqa: E402,F401  (registers their commands on cli)


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


