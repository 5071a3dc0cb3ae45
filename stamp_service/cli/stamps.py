"""Stamp commands: signing keys, issuing runs, printing codes, range states, recalls and offline verification."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app

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
from . import _fatal, _print_rows, _settings_only, _validation_text, cli


def _key_dict(info: KeyInfo) -> dict[str, Any]:
    return {"kid": info.kid_hex, "alg": info.alg, "status": info.status,
            "not_before": info.not_before.isoformat(), "not_after": info.not_after.isoformat() if info.not_after else None,
            "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None}


def _run_dict(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("id", "batch_id", "first_serial", "last_serial", "count", "initial_state", "kid",
                                "issued_at", "product_id", "stars", "hidden_code")}


@cli.group()
def keys() -> None:
    """Manage signing keys (kept encrypted in the instance folder's keys/; see keys/README.md).

    Private keys need KEY_PASSPHRASE (environment OCOP_STAMP_KEY_PASSPHRASE); an unencrypted key is refused
    unless DEVELOPMENT is on. A key's status is active, retired (signs no more stamps; those it signed stay
    valid) or revoked (every stamp it signed reads key-revoked)."""


@keys.command("generate")
@click.option("--alg", type=click.Choice(ALGS), default="EdDSA", show_default=True, help="Signature algorithm.")
@click.option("--json", "as_json", is_flag=True, help="Print the key as JSON.")
def keys_generate(alg: str, as_json: bool) -> None:
    """Create a new active signing key (encrypted with KEY_PASSPHRASE)."""
    try:
        info = keystore().generate(alg)
    except KeyStoreError as exc:
        _fatal(exc.detail)
    click.echo(json.dumps(_key_dict(info)) if as_json else f"Created {info.alg} key {info.kid_hex} (active)")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def keys_list(as_json: bool) -> None:
    """List signing keys with their status and issuing window."""
    try:
        infos = keystore().list()
    except KeyStoreError as exc:
        _fatal(exc.detail)
    _print_rows([_key_dict(i) for i in infos], as_json,
                lambda k: f"{k['kid']}  {k['alg']:<6} {k['status']:<8} {k['not_before']} .. {k['not_after'] or 'open'}")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(ALGS), default="EdDSA", show_default=True, help="Algorithm of the new key.")
def keys_rotate(alg: str) -> None:
    """Create a new active key and retire the current one (its stamps stay valid)."""
    try:
        info = keystore().rotate(alg)
    except KeyStoreError as exc:
        _fatal(exc.detail)
    click.echo(f"New active key {info.kid_hex}; previous keys retired")


@keys.command("retire")
@click.argument("kid")
def keys_retire(kid: str) -> None:
    """Stop a key signing new stamps; stamps it already signed stay valid."""
    try:
        info = keystore().retire(parse_kid(kid))
    except KeyStoreError as exc:
        _fatal(exc.detail)
    click.echo(f"Key {info.kid_hex} retired")


@keys.command("revoke")
@click.argument("kid")
@click.option("--reason", required=True, help="Why (kept in the key's metadata, not published).")
def keys_revoke(kid: str, reason: str) -> None:
    """Revoke a key: every stamp it signed reads key-revoked from then on."""
    try:
        info = keystore().revoke(parse_kid(kid), reason)
    except KeyStoreError as exc:
        _fatal(exc.detail)
    click.echo(f"Key {info.kid_hex} revoked")


@cli.command()
@click.argument("batch_id", type=int)
@click.option("--count", required=True, type=int, help=f"How many stamps (1-{issuing.MAX_RUN:,}).")
@click.option("--inactive", is_flag=True, help="Issue as not activated (chưa kích hoạt) until `ocop-stamp activate`.")
@click.option("--hidden-code", is_flag=True,
              help="Two-layer stamps (tem hai lớp): each stamp also gets an 8-digit hidden code (mã cào) to print "
                   "under scratch-off foil.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
def issue(batch_id: int, count: int, inactive: bool, hidden_code: bool, as_json: bool) -> None:
    """Allocate a run of serials for a batch; its QR texts come from `ocop-stamp codes RUN_ID`.

    Prints the run (--json: id, batch_id, first_serial, last_serial, count, initial_state, kid, issued_at,
    hidden_code, ...). Concurrent runs never overlap and a crash leaves no half-issued run. Refused for a
    recalled batch and for a product whose current recognition is expired, revoked or missing, and when the
    batch's runs would hold more than its quantity plus OVERPRINT_MARGIN (10% by default). The command line,
    like an admin, is not held to a producer's daily quota. --inactive issues stamps that read "chưa kích hoạt"
    until activated.

    --hidden-code issues two-layer stamps (tem hai lớp): besides its QR, each stamp has an 8-digit hidden code
    (mã cào) that is printed under scratch-off foil and checked once by the buyer, which a photocopied label
    cannot carry. The codes are derived from the serial with a secret derived from the run's signing key:
    nothing is stored per stamp, a code is never part of the QR text, and it is never logged. "hidden_code" in
    the JSON is true for such a run, false otherwise."""
    try:
        run = issuing.issue_run(get_storage(), keystore(), batch_id, count, active=not inactive,
                                issuer=current_app.config["ISSUER"], host=current_app.config["PUBLIC_HOST"],
                                hidden_code=hidden_code, limits=quotas.limits_from(current_app.config))
    except RecordNotFound:
        _fatal(f"no batch {batch_id}")
    except ValidationError as exc:
        _fatal(_validation_text(exc))
    except KeyStoreError as exc:
        _fatal(exc.detail)
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
def quota(producer_id: int, stamps_per_day: int | None, use_default: bool) -> None:
    """Show a producer's daily stamp quota, or set it (an admin's override of DAILY_STAMP_QUOTA).

    Shows how many stamps the producer may issue in 24 hours (through the portal or the API with its own
    account) and how many it issued in the last 24 hours. With a number, sets that producer's quota (0 stops
    its issuing); --default clears the override so that DAILY_STAMP_QUOTA applies again. Runs an admin issues
    for the producer's batches count towards the producer's day but are never refused by it."""
    default = quotas.limits_from(current_app.config).daily_quota
    storage = get_storage()
    if stamps_per_day is not None or use_default:
        if stamps_per_day is not None and use_default:
            _fatal("give STAMPS_PER_DAY or --default, not both")
        try:
            quotas.set_quota(storage, producer_id, None if use_default else stamps_per_day)
        except ValidationError as exc:
            _fatal(_validation_text(exc) if storage.get("producers", producer_id) else f"no producer {producer_id}")
    elif storage.get("producers", producer_id) is None:
        _fatal(f"no producer {producer_id}")
    now = dt.datetime.now(dt.timezone.utc)
    click.echo(f"Producer {producer_id}: {quotas.producer_quota(storage, producer_id, default):,} stamps a day, "
               f"{quotas.issued_today(storage, producer_id, now):,} issued in the last 24 hours")


@cli.command()
@click.option("--batch", "batch_id", type=int, help="Only this batch's runs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def runs(batch_id: int | None, as_json: bool) -> None:
    """List issuing runs, newest first."""
    rows = issuing.list_runs(get_storage(), batch_id=batch_id)
    _print_rows([_run_dict(r) for r in rows], as_json,
                lambda r: f"{r['id']:>5}  batch {r['batch_id']:<5} serials {r['first_serial']}-{r['last_serial']}  "
                          f"{r['count']} stamps  {r['initial_state']}  key {r['kid']}"
                          f"{'  hidden codes' if r['hidden_code'] else ''}")


def _run(run_id: int) -> dict[str, Any]:
    """The run, or a refusal naming it."""
    try:
        return issuing.get_run(get_storage(), run_id)
    except RecordNotFound:
        _fatal(f"no run {run_id}")


@cli.command()
@click.argument("run_id", type=int)
@click.option("--from", "first", type=int, help="First serial (default: the run's first).")
@click.option("--to", "last", type=int, help="Last serial (default: the run's last).")
@click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True,
              help="text: one QR text per line. csv: a header serial,serial_text,url,hidden_code and one row per "
                   "stamp, UTF-8 (hidden_code, the mã cào, is empty for a run without hidden codes).")
def codes(run_id: int, first: int | None, last: int | None, fmt: str) -> None:
    """Print a run's QR texts, one per line, or a CSV with the hidden codes (for other printing systems).

    --format csv prints UTF-8 CSV with the header serial,serial_text,url,hidden_code and one row per stamp: the
    serial number, the serial as printed on the label (with its check digit, e.g. 1 234 567-1), the QR text and
    the 8-digit hidden code (empty for a run without hidden codes; keep it as text: it may start with 0). A file
    with hidden codes is a secret: send it only to a printer you trust."""
    run = _run(run_id)
    host = current_app.config["PUBLIC_HOST"]
    try:
        if fmt == "csv":
            for line in code_list.csv_lines(run, keystore(), host, first, last):
                click.echo(line.encode("utf-8"), nl=False)  # bytes: UTF-8 whatever the terminal's locale
            return
        for _serial, text in issuing.codes(run, keystore(), host, first, last):
            click.echo(text)
    except ValidationError as exc:
        _fatal(_validation_text(exc))
    except KeyStoreError as exc:
        _fatal(exc.detail)


def _state_command(run_id: int, state: str, first: int | None, last: int | None,
                   note: str | None) -> None:
    storage = get_storage()
    run = _run(run_id)
    try:
        change = issuing.set_state(storage, run, state, first, last, note=note)
    except ValidationError as exc:
        _fatal(_validation_text(exc))
    click.echo(f"Run {run_id}: serials {change['first_serial']}-{change['last_serial']} are now {state}")


@cli.command()
@click.argument("run_id", type=int)
@click.option("--from", "first", type=int, help="First serial (default: the whole run).")
@click.option("--to", "last", type=int, help="Last serial.")
def activate(run_id: int, first: int | None, last: int | None) -> None:
    """Activate stamps that have been applied to products (kích hoạt): a range, by default the whole run."""
    _state_command(run_id, "active", first, last, None)


@cli.command()
@click.argument("run_id", type=int)
@click.option("--from", "first", type=int, help="First serial (default: the whole run).")
@click.option("--to", "last", type=int, help="Last serial.")
@click.option("--reason", help="Why (spoiled sheet, lost roll...).")
def void(run_id: int, first: int | None, last: int | None, reason: str | None) -> None:
    """Void spoiled or lost stamps: they read as void on every scan."""
    _state_command(run_id, "void", first, last, reason)


@cli.command()
@click.argument("batch_id", type=int)
@click.option("--reason", required=True, help="Why the batch is recalled (shown to shoppers).")
def recall(batch_id: int, reason: str) -> None:
    """Recall a batch (thu hồi lô): all its stamps read recalled from the next scan."""
    try:
        issuing.recall(get_storage(), batch_id, reason)
    except RecordNotFound:
        _fatal(f"no batch {batch_id}")
    except ValidationError as exc:
        _fatal(_validation_text(exc))
    click.echo(f"Batch {batch_id} recalled")


def _offline_keys(jwks: Path | None) -> dict:
    """Public keys from a JWKS file, or from the instance's key store (no database, no passphrase)."""
    if jwks is not None:
        try:
            return load_jwks(json.loads(jwks.read_text(encoding="utf-8")))
        except (ValueError, KeyStoreError) as exc:
            _fatal(f"{jwks}: {exc}")
    try:
        return keystore(_settings_only(), offline=True).records()
    except KeyStoreError as exc:
        _fatal(exc.detail)


@cli.command(with_appcontext=False)  # offline: no database, no passphrase
@click.argument("code", nargs=-1, required=True)
@click.option("--jwks", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Public keys as a JWKS file (e.g. saved from /.well-known/jwks.json); default: the instance's keys.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@click.option("--host", envvar="OCOP_STAMP_PUBLIC_HOST", help="Our verification host (default: "
              "$OCOP_STAMP_PUBLIC_HOST): a stamp printed with another host fails, even with a good signature.")
def verify(code: tuple[str, ...], jwks: Path | None, as_json: bool, host: str | None) -> None:
    """Check stamps offline (signature, key, issue time, printed host): one line per code, exit 1 if any fails.

    No database is needed: the signature, the key (unknown, revoked) and that the stamp was issued inside its
    key's validity window are checked against a JWKS file (for example saved from /.well-known/jwks.json) or the
    instance's public keys, and so is the host printed in the QR code: with --host a stamp printed for another
    host fails as host-not-ours even with a good signature (the signature covers the claims, not the address in
    front of them, so a genuine payload behind a look-alike domain would send shoppers elsewhere). Prints one
    line per code, OK with what the stamp says and its host, or FAIL verdict: reason. '-' reads codes from
    standard input, one per line: `ocop-stamp codes 7 | ocop-stamp verify -`."""
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
def templates(as_json: bool) -> None:
    """List label templates (shipped A4 sheets and rolls, plus the instance's templates/ folder).

    The shipped A4 sheets have 65, 40, 24, 21 and 8 labels, the roll labels are 50x30, 40x30 and 30x20 mm; any
    JSON template in the instance folder's templates/ is listed too. For each: name, kind (sheet or roll),
    labels per page, label size, the QR code's error-correction level and module size on that label, whether
    the label has room for a hidden-code box beside the QR (hidden_box in the JSON), and whether it has room for
    the GS1 Digital Link code of `print --digital-link` without a hidden-code box (digital_link, measured with
    the longest lot GS1 allows).

    Most office printers cannot print the outer 3-5 mm of a sheet, so on sheet templates nothing (QR or text) is
    drawn within 4 mm of the paper's edge: where the outer labels reach the edge (as on a4-24-70x37 and
    a4-21-70x42), every label of the sheet keeps that much blank along that side, so all labels stay alike. A
    template for a printer that prints to the edge (label printers on rolls: the shipped roll templates) says
    "borderless": true. Every label carries the call to action "Quét để xác thực" ("Scan to verify" with
    --lang en) beside the QR.

    A producer's own logo and its OCOP mark (the star-level mark of Quyết định 90/QĐ-OCOP) are uploaded on its
    page in the portal ("Hình in trên nhãn tem"; the producer itself or the office; images are re-encoded as
    JPEG without metadata, transparency flattened onto white) and printed in one row under the label's text,
    wherever the text column has room (not on the smallest stocks). The mark of N stars is printed only while
    the product's current recognition is valid and grants exactly N stars, the same number the run's labels
    print; a revoked, expired or re-rated product's labels carry no mark. Both the portal's print and
    `ocop-stamp print` read them from instance/media/producers/."""
    from print_layouts import TemplateError
    from print_layouts.render import describe

    from ..printing import available_templates

    try:
        found = available_templates(Path(current_app.instance_path))
    except TemplateError as exc:
        _fatal(str(exc))
    host = current_app.config["PUBLIC_HOST"]
    sample = "HTTPS://" + host.upper() + "/S/" + "9" * 304  # a typical stamp's length
    link = f"https://{host.lower()}/01/{'0' * 14}/10/{'A' * 20}"  # the longest lot GS1 allows
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
def print_command(run_id: int, template_name: str, output: Path, offset_x: float | None,
                  offset_y: float | None, scale_x: float | None, scale_y: float | None, start: int, first: int | None,
                  last: int | None, cut_lines: bool, test_page: bool, hidden_only: bool, qr_only: bool,
                  digital_link: bool, lang: str) -> None:
    """Write a print-ready PDF of a run's stamps for a label template (calibration is remembered per producer).

    A progress bar shows on standard error. --test-page writes an alignment page with label outlines and rulers
    instead of stamps; on a sheet it also shows the printer's 4 mm unprintable margin as a grey band, with the
    rulers hanging from its inner edge. The template and calibration used are remembered for the producer and
    used as defaults next time. Print at 100 % scale: the PDF asks print dialogs not to shrink it.

    For a run issued with --hidden-code (two-layer stamps) each label also gets a hidden-code box: a bordered
    rectangle, at least 20 × 7 mm and at the same place on every label of a template (the bottom of the text
    column), with the 8-digit code printed in it as 1234 5678 and "Cào lớp bạc, nhập mã để xác thực" under it.
    Cover the box with a scratch-off foil sticker. The box takes room from the label's text, never from the QR:
    a label where the QR would have to shrink below 0.35 mm modules is refused (of the shipped templates
    a4-65-38x21, roll-40x30 and roll-30x20; see `ocop-stamp templates`). On such stock print the two layers
    separately: --qr-only prints the QR labels without the box; --hidden-only prints the hidden codes alone, for
    scratch-label stock: each label has the serial as printed on the QR label, the boxed code, the call to
    action and the verification host, and no QR. Any template works. That print does not replace the
    remembered template (scratch labels are usually other stock). Refused for a run without hidden codes.

    --digital-link adds the lot's GS1 Digital Link as a second, smaller QR code on each label, for retail and
    supply-chain scanners: https://PUBLIC_HOST/01/{gtin14}/10/{lot}, served by this service (see
    docs/traceability.md). It names the lot, not the stamp, so it is the same on every label of the run and
    proves nothing about authenticity: the stamp's own QR does that. It goes at the bottom right of the text
    column (above a hidden-code box), with modules of 0.25-0.33 mm and its own 4-module quiet zone, never
    overlapping the stamp's QR, its quiet zone, the text or the hidden-code box, and its ink at least 4 mm from
    a sheet's edge. It takes room from the text, never from the stamp's QR. Refused, before anything is
    written, with a clear message: for a product without a GTIN (add it on the product's page); on stock too
    small for it, where the code would need modules under 0.25 mm or leave less than 12 mm of text above it (so
    the call to action, product name, stars, serial and host stay: of the shipped templates a4-65-38x21 and
    roll-30x20 never take it; with a hidden-code box only a4-8-99x67 does); and with --hidden-only (those labels
    have no QR). The portal's print form has the same option: the checkbox "In thêm mã GS1 Digital Link" on the
    run page, its refusals shown beside it."""
    from print_layouts import NoRoomForBox, NoRoomForLinkCode, TemplateError, render_pdf, render_test_page

    from .. import printing

    if hidden_only and qr_only:
        raise click.UsageError("choose one of --hidden-only and --qr-only")
    content = "hidden-only" if hidden_only else "qr-only" if qr_only else "full"
    storage = get_storage()
    run = _run(run_id)
    try:
        found = printing.available_templates(Path(current_app.instance_path))
        template = printing.choose_template(found, template_name)
        _saved_template, saved = printing.saved_settings(storage, run["producer_id"])
        calibration = printing.calibration_from({"offset_x_mm": offset_x, "offset_y_mm": offset_y,
                                                 "scale_x": scale_x, "scale_y": scale_y}, saved)
        if test_page:
            render_test_page(template, output, calibration=calibration, lang=lang)
            click.echo(f"Test page for {template.name} written to {output}")
            return
        printing.check_start(template, start)
        lo, hi = issuing.run_range(run, first, last)
        store, host = keystore(), current_app.config["PUBLIC_HOST"]
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
        _fatal(_validation_text(exc))
    except NoRoomForLinkCode as exc:
        _fatal(str(exc))
    except NoRoomForBox as exc:
        _fatal(f"{exc} (--qr-only for the QR labels, --hidden-only for the hidden codes on scratch-label stock)")
    except (TemplateError, KeyStoreError) as exc:
        _fatal(getattr(exc, "message", str(exc)))
    click.echo(f"{stats.count} stamps on {stats.pages} pages ({stats.bytes:,} bytes) written to {output}")
