"""Stamp commands: signing keys, issuing runs, printing codes, range states, recalls and offline verification."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask

from ..context import get_storage
from ..keystore import ALGS, KeyInfo, KeyStoreError, load_jwks, parse_kid
from ..registry import places
from ..registry.fields import ValidationError
from ..registry.records import RecordNotFound
from ..signing_keys import keystore
from ..stamps import code_list, issuing, quotas
from ..stamps.errors import StampError
from ..stamps.codec import foreign_host, parse_stamp_url
from ..stamps.signing import verify_stamp
from . import _app, _fail, _print_rows, _validation_text, cli


def _key_dict(info: KeyInfo) -> dict[str, Any]:
    return {"kid": info.kid_hex, "alg": info.alg, "status": info.status,
            "not_before": info.not_before.isoformat(), "not_after": info.not_after.isoformat() if info.not_after else None,
            "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None}


def _run_dict(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("id", "batch_id", "first_serial", "last_serial", "count", "initial_state", "kid",
                                "issued_at", "product_id", "stars", "hidden_code")}


@cli.group()
def keys() -> None:
    """Manage signing keys (kept encrypted in the instance folder's keys/; see keys/README.md)."""


@keys.command("generate")
@click.option("--alg", type=click.Choice(ALGS), default="EdDSA", show_default=True, help="Signature algorithm.")
@click.option("--json", "as_json", is_flag=True, help="Print the key as JSON.")
@click.pass_context
def keys_generate(ctx: click.Context, alg: str, as_json: bool) -> None:
    """Create a new active signing key (encrypted with KEY_PASSPHRASE)."""
    try:
        info = keystore(_app(ctx)).generate(alg)
    except KeyStoreError as exc:
        _fail(exc.detail)
    click.echo(json.dumps(_key_dict(info)) if as_json else f"Created {info.alg} key {info.kid_hex} (active)")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """List signing keys with their status and issuing window."""
    try:
        infos = keystore(_app(ctx)).list()
    except KeyStoreError as exc:
        _fail(exc.detail)
    _print_rows([_key_dict(i) for i in infos], as_json,
                lambda k: f"{k['kid']}  {k['alg']:<6} {k['status']:<8} {k['not_before']} .. {k['not_after'] or 'open'}")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(ALGS), default="EdDSA", show_default=True, help="Algorithm of the new key.")
@click.pass_context
def keys_rotate(ctx: click.Context, alg: str) -> None:
    """Create a new active key and retire the current one (its stamps stay valid)."""
    try:
        info = keystore(_app(ctx)).rotate(alg)
    except KeyStoreError as exc:
        _fail(exc.detail)
    click.echo(f"New active key {info.kid_hex}; previous keys retired")


@keys.command("retire")
@click.argument("kid")
@click.pass_context
def keys_retire(ctx: click.Context, kid: str) -> None:
    """Stop a key signing new stamps; stamps it already signed stay valid."""
    try:
        info = keystore(_app(ctx)).retire(parse_kid(kid))
    except KeyStoreError as exc:
        _fail(exc.detail)
    click.echo(f"Key {info.kid_hex} retired")


@keys.command("revoke")
@click.argument("kid")
@click.option("--reason", required=True, help="Why (kept in the key's metadata, not published).")
@click.pass_context
def keys_revoke(ctx: click.Context, kid: str, reason: str) -> None:
    """Revoke a key: every stamp it signed reads key-revoked from then on."""
    try:
        info = keystore(_app(ctx)).revoke(parse_kid(kid), reason)
    except KeyStoreError as exc:
        _fail(exc.detail)
    click.echo(f"Key {info.kid_hex} revoked")


@cli.command()
@click.argument("batch_id", type=int)
@click.option("--count", required=True, type=int, help=f"How many stamps (1-{issuing.MAX_RUN:,}).")
@click.option("--inactive", is_flag=True, help="Issue as not activated (chưa kích hoạt) until `ocop-stamp activate`.")
@click.option("--hidden-code", is_flag=True,
              help="Two-layer stamps (tem hai lớp): each stamp also gets an 8-digit hidden code (mã cào) to print "
                   "under scratch-off foil.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def issue(ctx: click.Context, batch_id: int, count: int, inactive: bool, hidden_code: bool, as_json: bool) -> None:
    """Allocate a run of serials for a batch; its QR texts come from `ocop-stamp codes RUN_ID`."""
    app = _app(ctx)
    with app.app_context():
        try:
            run = issuing.issue_run(get_storage(), keystore(app), batch_id, count, active=not inactive,
                                    issuer=app.config["ISSUER"], host=app.config["PUBLIC_HOST"],
                                    hidden_code=hidden_code, limits=quotas.limits_from(app.config))
        except RecordNotFound:
            _fail(f"no batch {batch_id}")
        except ValidationError as exc:
            _fail(_validation_text(exc))
        except KeyStoreError as exc:
            _fail(exc.detail)
        run = issuing.get_run(get_storage(), run["id"])
    if as_json:
        click.echo(json.dumps(_run_dict(run)))
    else:
        click.echo(f"Run {run['id']}: serials {run['first_serial']}-{run['last_serial']} ({run['count']} stamps, "
                   f"{run['initial_state']}{', with hidden codes' if run['hidden_code'] else ''}) for batch {batch_id}")


@cli.command()
@click.argument("producer_id", type=int)
@click.argument("stamps_per_day", required=False, type=click.IntRange(0, quotas.MAX_DAILY_QUOTA))
@click.option("--default", "use_default", is_flag=True, help="Clear the override: DAILY_STAMP_QUOTA applies again.")
@click.pass_context
def quota(ctx: click.Context, producer_id: int, stamps_per_day: int | None, use_default: bool) -> None:
    """Show a producer's daily stamp quota, or set it (an admin's override of DAILY_STAMP_QUOTA)."""
    app = _app(ctx)
    default = quotas.limits_from(app.config).daily_quota
    with app.app_context():
        storage = get_storage()
        if stamps_per_day is not None or use_default:
            if stamps_per_day is not None and use_default:
                _fail("give STAMPS_PER_DAY or --default, not both")
            try:
                quotas.set_quota(storage, producer_id, None if use_default else stamps_per_day)
            except ValidationError as exc:
                _fail(_validation_text(exc) if storage.get("producers", producer_id) else f"no producer {producer_id}")
        elif storage.get("producers", producer_id) is None:
            _fail(f"no producer {producer_id}")
        now = dt.datetime.now(dt.timezone.utc)
        click.echo(f"Producer {producer_id}: {quotas.producer_quota(storage, producer_id, default):,} stamps a day, "
                   f"{quotas.issued_today(storage, producer_id, now):,} issued in the last 24 hours")


@cli.command()
@click.option("--batch", "batch_id", type=int, help="Only this batch's runs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def runs(ctx: click.Context, batch_id: int | None, as_json: bool) -> None:
    """List issuing runs, newest first."""
    with _app(ctx).app_context():
        rows = issuing.list_runs(get_storage(), batch_id=batch_id)
    _print_rows([_run_dict(r) for r in rows], as_json,
                lambda r: f"{r['id']:>5}  batch {r['batch_id']:<5} serials {r['first_serial']}-{r['last_serial']}  "
                          f"{r['count']} stamps  {r['initial_state']}  key {r['kid']}"
                          f"{'  hidden codes' if r['hidden_code'] else ''}")


def _run_or_fail(run_id: int) -> dict[str, Any]:
    try:
        return issuing.get_run(get_storage(), run_id)
    except RecordNotFound:
        _fail(f"no run {run_id}")
        raise  # unreachable: _fail exits


@cli.command()
@click.argument("run_id", type=int)
@click.option("--from", "first", type=int, help="First serial (default: the run's first).")
@click.option("--to", "last", type=int, help="Last serial (default: the run's last).")
@click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True,
              help="text: one QR text per line. csv: a header serial,serial_text,url,hidden_code and one row per "
                   "stamp, UTF-8 (hidden_code, the mã cào, is empty for a run without hidden codes).")
@click.pass_context
def codes(ctx: click.Context, run_id: int, first: int | None, last: int | None, fmt: str) -> None:
    """Print a run's QR texts, one per line, or a CSV with the hidden codes (for other printing systems)."""
    app = _app(ctx)
    with app.app_context():
        run = _run_or_fail(run_id)
        host = app.config["PUBLIC_HOST"]
        try:
            if fmt == "csv":
                for line in code_list.csv_lines(run, keystore(app), host, first, last):
                    click.echo(line.encode("utf-8"), nl=False)  # bytes: UTF-8 whatever the terminal's locale
                return
            for _serial, text in issuing.codes(run, keystore(app), host, first, last):
                click.echo(text)
        except ValidationError as exc:
            _fail(_validation_text(exc))
        except KeyStoreError as exc:
            _fail(exc.detail)


def _state_command(ctx: click.Context, run_id: int, state: str, first: int | None, last: int | None,
                   note: str | None) -> None:
    with _app(ctx).app_context():
        storage = get_storage()
        run = _run_or_fail(run_id)
        try:
            change = issuing.set_state(storage, run, state, first, last, note=note)
        except ValidationError as exc:
            _fail(_validation_text(exc))
    click.echo(f"Run {run_id}: serials {change['first_serial']}-{change['last_serial']} are now {state}")


@cli.command()
@click.argument("run_id", type=int)
@click.option("--from", "first", type=int, help="First serial (default: the whole run).")
@click.option("--to", "last", type=int, help="Last serial.")
@click.pass_context
def activate(ctx: click.Context, run_id: int, first: int | None, last: int | None) -> None:
    """Activate stamps that have been applied to products (kích hoạt)."""
    _state_command(ctx, run_id, "active", first, last, None)


@cli.command()
@click.argument("run_id", type=int)
@click.option("--from", "first", type=int, help="First serial (default: the whole run).")
@click.option("--to", "last", type=int, help="Last serial.")
@click.option("--reason", help="Why (spoiled sheet, lost roll...).")
@click.pass_context
def void(ctx: click.Context, run_id: int, first: int | None, last: int | None, reason: str | None) -> None:
    """Void spoiled or lost stamps: they read as void on every scan."""
    _state_command(ctx, run_id, "void", first, last, reason)


@cli.command()
@click.argument("batch_id", type=int)
@click.option("--reason", required=True, help="Why the batch is recalled (shown to shoppers).")
@click.pass_context
def recall(ctx: click.Context, batch_id: int, reason: str) -> None:
    """Recall a batch (thu hồi lô): all its stamps read recalled from the next scan."""
    with _app(ctx).app_context():
        try:
            issuing.recall(get_storage(), batch_id, reason)
        except RecordNotFound:
            _fail(f"no batch {batch_id}")
        except ValidationError as exc:
            _fail(_validation_text(exc))
    click.echo(f"Batch {batch_id} recalled")


def _offline_keys(jwks: Path | None) -> dict:
    """Public keys from a JWKS file, or from the instance's key store (no database, no passphrase)."""
    if jwks is not None:
        try:
            return load_jwks(json.loads(jwks.read_text(encoding="utf-8")))
        except (ValueError, KeyStoreError) as exc:
            _fail(f"{jwks}: {exc}")
    from ..config import instance_path, load_config

    app = Flask("stamp_service", instance_path=str(instance_path()))
    load_config(app, None)
    try:
        return keystore(app).records()
    except KeyStoreError as exc:
        _fail(exc.detail)
        raise


@cli.command()
@click.argument("code", nargs=-1, required=True)
@click.option("--jwks", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Public keys as a JWKS file (e.g. saved from /.well-known/jwks.json); default: the instance's keys.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@click.option("--host", envvar="OCOP_STAMP_PUBLIC_HOST", help="Our verification host (default: "
              "$OCOP_STAMP_PUBLIC_HOST): a stamp printed with another host fails, even with a good signature.")
def verify(code: tuple[str, ...], jwks: Path | None, as_json: bool, host: str | None) -> None:
    """Check stamps offline (signature, key, issue time, printed host): one line per code, exit 1 if any fails.
    '-' reads stdin."""
    keys_by_kid = _offline_keys(jwks)
    texts = [line.strip() for c in code for line in (sys.stdin if c == "-" else [c]) if line.strip()]
    results, failed = [], 0
    for text in texts:
        try:
            stamp = verify_stamp(text, keys_by_kid)
        except StampError as exc:
            failed += 1
            results.append({"code": text, "ok": False, "verdict": exc.verdict, "reason": exc.detail})
            continue
        printed = parse_stamp_url(text)[0]
        foreign = foreign_host(printed, host)
        if foreign:
            failed += 1
            results.append({"code": text, "ok": False, "verdict": "host-not-ours", "host": foreign,
                            "reason": f"printed for {foreign}, not our host {host.lower()}: a look-alike address"})
            continue
        claims = stamp.claims.as_dict()
        commune = places.commune(stamp.claims.origin_commune)
        claims["origin"] = commune.display("vi") if commune else None
        results.append({"code": text, "ok": True, "verdict": "signature-valid", "kid": stamp.key.kid_hex,
                        "key_status": stamp.key.status, "host": printed, "claims": claims})
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False))
    else:
        for r in results:
            if r["ok"]:
                c = r["claims"]
                click.echo(f"OK   serial {c['serial']} product {c['product_id']} batch {c['batch_id']} {c['stars']}★ "
                           f"origin {c['origin'] or c['origin_commune_code']} made {c['production_date']}"
                           f"{' expires ' + c['expiry_date'] if c['expiry_date'] else ''} "
                           f"certificate until {c['certificate_valid_until']} issued {c['issued_at']} "
                           f"key {r['kid']} ({r['key_status']}) host {r['host'] or '-'}")
            else:
                click.echo(f"FAIL {r['verdict']}: {r['reason']}  [{r['code'][:40]}{'…' if len(r['code']) > 40 else ''}]")
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def templates(ctx: click.Context, as_json: bool) -> None:
    """List label templates (shipped A4 sheets and rolls, plus the instance's templates/ folder)."""
    from print_layouts import TemplateError
    from print_layouts.render import describe

    from ..printing import available_templates

    app = _app(ctx)
    try:
        found = available_templates(Path(app.instance_path))
    except TemplateError as exc:
        _fail(str(exc))
    sample = "HTTPS://" + app.config["PUBLIC_HOST"].upper() + "/S/" + "9" * 304  # a typical stamp's length
    link = f"https://{app.config['PUBLIC_HOST'].lower()}/01/{'0' * 14}/10/{'A' * 20}"  # the longest lot GS1 allows
    rows = []
    for t in found.values():
        described = describe(t, sample, link)
        rows.append({"name": t.name, "title": t.title, "kind": t.kind, "per_page": t.per_page,
                     "label_width_mm": t.label_width_mm, "label_height_mm": t.label_height_mm,
                     "hidden_box": described.pop("hidden_box"), "digital_link": described.pop("digital_link"),
                     **{f"qr_{k}": v for k, v in described.items()}})
    _print_rows(rows, as_json, lambda r: f"{r['name']:<14} {r['kind']:<5} {r['per_page']:>3}/page  "
                                         f"{r['label_width_mm']:g}x{r['label_height_mm']:g} mm  QR {r['qr_level']} "
                                         f"{r['qr_module_mm']} mm/module  "
                                         f"{'' if r['hidden_box'] else 'no '}hidden-code box  "
                                         f"{'' if r['digital_link'] else 'no '}Digital Link code  {r['title']}")


@cli.command("print")
@click.argument("run_id", type=int)
@click.option("--template", "template_name", required=True, help="Template name (see `ocop-stamp templates`).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write.")
@click.option("--offset-x", type=float, help="Move the print right (mm, negative: left). Default: the saved one.")
@click.option("--offset-y", type=float, help="Move the print down (mm, negative: up).")
@click.option("--scale-x", type=float, help="Horizontal scale correction (0.9-1.1).")
@click.option("--scale-y", type=float, help="Vertical scale correction (0.9-1.1).")
@click.option("--start", type=click.IntRange(1), default=1, show_default=True,
              help="First label position on the first sheet (for a part-used sheet).")
@click.option("--from", "first", type=int, help="First serial (default: the run's first).")
@click.option("--to", "last", type=int, help="Last serial.")
@click.option("--cut-lines", is_flag=True, help="Draw thin label outlines (for plain paper).")
@click.option("--test-page", is_flag=True, help="Write an alignment test page instead of stamps.")
@click.option("--hidden-only", is_flag=True,
              help="Two-layer runs: only the hidden codes (mã cào), each label with its serial and boxed code and no "
                   "QR, for scratch-label stock.")
@click.option("--qr-only", is_flag=True,
              help="Two-layer runs: the QR labels without the hidden-code box (for labels too small for one; print "
                   "the codes with --hidden-only).")
@click.option("--digital-link", is_flag=True,
              help="Also print the lot's GS1 Digital Link (https://PUBLIC_HOST/01/GTIN/10/LOT) as a second, smaller QR "
                   "code for retail scanners (products with a GTIN only).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Label language.")
@click.pass_context
def print_command(ctx: click.Context, run_id: int, template_name: str, output: Path, offset_x: float | None,
                  offset_y: float | None, scale_x: float | None, scale_y: float | None, start: int, first: int | None,
                  last: int | None, cut_lines: bool, test_page: bool, hidden_only: bool, qr_only: bool,
                  digital_link: bool, lang: str) -> None:
    """Write a print-ready PDF of a run's stamps for a label template (calibration is remembered per producer)."""
    from print_layouts import NoRoomForBox, NoRoomForLinkCode, TemplateError, render_pdf, render_test_page

    from .. import printing

    if hidden_only and qr_only:
        _fail("choose one of --hidden-only and --qr-only", 2)
    content = "hidden-only" if hidden_only else "qr-only" if qr_only else "full"
    app = _app(ctx)
    with app.app_context():
        storage = get_storage()
        run = _run_or_fail(run_id)
        try:
            template = printing.choose_template(printing.available_templates(Path(app.instance_path)), template_name)
            _saved_template, saved = printing.saved_settings(storage, run["producer_id"])
            calibration = printing.calibration_from({"offset_x_mm": offset_x, "offset_y_mm": offset_y,
                                                     "scale_x": scale_x, "scale_y": scale_y}, saved)
            if test_page:
                render_test_page(template, output, calibration=calibration, lang=lang)
                click.echo(f"Test page for {template.name} written to {output}")
                return
            printing.check_start(template, start)
            lo, hi = issuing.run_range(run, first, last)
            store, host = keystore(app), app.config["PUBLIC_HOST"]
            printing.check_layout(storage, store, run, host, template, hi, content, digital_link)
            labels = printing.labels(storage, store, run, host, lo, hi, content, digital_link=digital_link)
            with click.progressbar(length=hi - lo + 1, label=f"Run {run_id} -> {output.name}", file=sys.stderr) as bar:
                done = [0]

                def progress(count: int) -> None:
                    bar.update(count - done[0])
                    done[0] = count

                stats = render_pdf(labels, template, output, calibration=calibration, start=start,
                                   cut_lines=cut_lines, lang=lang, progress=progress, title=f"OCOP run {run_id}",
                                   hidden_only=content == "hidden-only")
            if content != "hidden-only":  # scratch labels are other stock: keep the stamp stock as the default
                printing.remember(storage, run["producer_id"], template.name, calibration)
        except ValidationError as exc:
            _fail(_validation_text(exc))
        except NoRoomForLinkCode as exc:
            _fail(str(exc))
        except NoRoomForBox as exc:
            _fail(f"{exc} (--qr-only for the QR labels, --hidden-only for the hidden codes on scratch-label stock)")
        except (TemplateError, KeyStoreError) as exc:
            _fail(exc.detail)
    click.echo(f"{stats.count} stamps on {stats.pages} pages ({stats.bytes:,} bytes) written to {output}")
