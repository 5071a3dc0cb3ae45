"""Print rendering benchmark: stamps per second into a finished PDF, bytes per stamp, peak memory.

Compares print_layouts.render_pdf with a naive renderer measured in the same run: the qrcode package's default
encoder (QRCode().add_data(text), default optimisation, all 8 masks scored) and one reportlab canvas.rect per
dark module, same template, module size, texts and fonts. Every measurement runs in a fresh subprocess so its
peak RSS (getrusage ru_maxrss) is its own; rounds alternate naive and ours so background load hits both alike.
Not a test: it asserts nothing. Run from the repository root:

    python bench/bench_print.py                       # 65-up A4 sheet, ratio rounds + 10k/100k memory runs
    python bench/bench_print.py --template a4-24-70x37 --sizes 10000 --json
    python bench/bench_print.py --template a4-24-70x37 --hidden-code   # two-layer stamps: each has a hidden-code box
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POOL = 1000  # distinct signed stamp texts, cycled (the renderer caches nothing per QR text)


def _pool(directory: str, hidden: bool = False):
    from print_layouts import LabelStamp
    from stamp_service.keystore import KeyStore
    from stamp_service.stamps.claims import StampClaims
    from stamp_service.stamps.hidden import format_code, hidden_code
    from stamp_service.stamps.serials import format_serial
    from stamp_service.stamps.signing import sign_stamp

    store = KeyStore(directory, "bench passphrase")
    store.generate()
    info, key = store.signing_key()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    texts = []
    for i in range(POOL):
        serial = 1_000_000 + i * 7919  # 7-digit serials above 65,535: the common case (see bench_stamps)
        claims = StampClaims(issuer="VN-QN", issued_at=now, product_id=12, batch_id=345, serial=serial, stars=4,
                             origin_commune="06978", production_date=dt.date(2026, 11, 1),
                             expiry_date=dt.date(2027, 11, 1), certificate_valid_until=dt.date(2028, 6, 30))
        texts.append(sign_stamp(claims, key, info, "tem.ocop.vn"))

    secret = store.derived_secret(info.kid, "hidden-code")

    def stamps(n: int):
        for i in range(n):
            serial = 1_000_000 + i
            # derived per stamp, as printing.labels does: the HMAC is part of the measured cost
            code = format_code(hidden_code(secret, serial)) if hidden else None
            yield LabelStamp(qr_text=texts[i % POOL], serial_text=format_serial(serial),
                             product_name="Trà hoa vàng Ba Chẽ",
                             producer_name="Hợp tác xã Trà hoa vàng Ba Chẽ",
                             stars=4, lot="L2026-11", production_date=dt.date(2026, 11, 1),
                             expiry_date=dt.date(2027, 11, 1), host="tem.ocop.vn", hidden_code=code)

    return stamps


def naive_render(stamps, template, path: Path) -> int:
    """The naive way: qrcode's default encoder, one canvas.rect per dark module, reportlab canvas."""
    import qrcode
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    from print_layouts.layout import place_qr, qr_sizes
    from print_layouts.pdf import PT_PER_MM, font_path
    from stamp_service.stamps.qr import LEVELS

    for style in ("Regular", "Semibold", "Bold"):
        if f"SSP-{style}" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(f"SSP-{style}", str(font_path(style))))
    page_w, page_h = template.page_width_mm * PT_PER_MM, template.page_height_mm * PT_PER_MM
    c = canvas.Canvas(str(path), pagesize=(page_w, page_h), pageCompression=1)
    c.setViewerPreference("PrintScaling", "None")
    slot = count = 0
    place = None
    for stamp in stamps:
        if place is None:
            place = place_qr(template, qr_sizes(stamp.qr_text))
        code = qrcode.QRCode(error_correction=LEVELS[place.level], border=4)
        code.add_data(stamp.qr_text)
        code.make(fit=True)
        lx, ly = template.cell_origin_mm(slot)
        x0 = lx * PT_PER_MM + place.x
        top = page_h - ly * PT_PER_MM + place.y
        m = place.module
        for r, row in enumerate(code.modules):
            for col, dark in enumerate(row):
                if dark:
                    c.rect(x0 + col * m, top - (r + 1) * m, m, m, stroke=0, fill=1)
        tx = x0 + (code.modules_count + 4) * m
        ty = page_h - ly * PT_PER_MM - 4.5 * PT_PER_MM
        for style, size, text in (("Bold", 7, stamp.product_name), ("Regular", 5.5, stamp.producer_name),
                                  ("Semibold", 5.5, f"{stamp.stars} sao OCOP"), ("Regular", 5, f"Lô: {stamp.lot}"),
                                  ("Semibold", 7, stamp.serial_text), ("Regular", 5, f"Kiểm tra: {stamp.host}")):
            c.setFont(f"SSP-{style}", size)
            c.drawString(tx, ty, text)
            ty -= size * 1.2
        if stamp.hidden_code:  # the same box, its code and the call to action, drawn the naive way
            c.rect(tx, ty - 22, 75, 22, stroke=1, fill=0)
            c.setFont("SSP-Bold", 11)
            c.drawString(tx + 12, ty - 15, stamp.hidden_code)
            c.setFont("SSP-Regular", 5)
            c.drawString(tx, ty - 29, "Cào lớp bạc, nhập mã để xác thực")
        count += 1
        slot += 1
        if slot == template.per_page:
            c.showPage()
            slot = 0
    if slot:
        c.showPage()
    c.save()
    return count


def child(kind: str, n: int, template_name: str, hidden: bool = False) -> dict:
    """One measurement in this (fresh) process."""
    from print_layouts import load_templates, render_pdf

    template = load_templates()[template_name]
    with tempfile.TemporaryDirectory() as tmp:
        stamps = _pool(os.path.join(tmp, "keys"), hidden)
        out = Path(tmp) / "out.pdf"
        # warm up: fonts parsed, tables built, code paths taken
        (naive_render if kind == "naive" else lambda s, t, p: render_pdf(s, t, p))(stamps(3), template, out)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        if kind == "naive":
            naive_render(stamps(n), template, out)
        else:
            render_pdf(stamps(n), template, out)
        seconds = time.perf_counter() - started
        size = out.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": kind, "n": n, "template": template_name, "hidden_code": hidden, "seconds": seconds,
            "stamps_per_s": n / seconds,
            "bytes": size, "bytes_per_stamp": size / n, "peak_rss_mb": peak / 1024,
            "rss_growth_mb": (peak - base_rss) / 1024}


def _run(kind: str, n: int, template: str, hidden: bool = False) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(n), template, str(int(hidden))], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default="a4-65-38x21")
    parser.add_argument("--rounds", type=int, default=3, help="alternating naive/ours rounds for the speed ratio")
    parser.add_argument("--naive-n", type=int, default=300, help="stamps per naive round")
    parser.add_argument("--ours-n", type=int, default=3000, help="stamps per ours round")
    parser.add_argument("--sizes", default="10000,100000", help="long runs of ours for memory (comma-separated)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hidden-code", action="store_true",
                        help="two-layer stamps: every label has a hidden-code box (needs a template with room)")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "N", "TEMPLATE", "HIDDEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.child[2], args.child[3] == "1")))
        return
    rounds = []
    for i in range(args.rounds):
        pair = [("naive", args.naive_n), ("ours", args.ours_n)]
        if i % 2:
            pair.reverse()
        got = {kind: _run(kind, n, args.template, args.hidden_code) for kind, n in pair}
        got["ratio"] = got["ours"]["stamps_per_s"] / got["naive"]["stamps_per_s"]
        rounds.append(got)
    long_runs = [_run("ours", int(n), args.template, args.hidden_code) for n in args.sizes.split(",") if n]
    result = {"template": args.template, "hidden_code": args.hidden_code, "rounds": rounds, "long_runs": long_runs,
              "ratio_median": statistics.median(r["ratio"] for r in rounds),
              "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "python": sys.version.split()[0]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"template {args.template}{' with hidden codes' if args.hidden_code else ''}; {result['when']}; "
          f"Python {result['python']}")
    print(f"{'run':<22}{'stamps/s':>10}{'µs/stamp':>10}{'bytes/stamp':>13}{'peak RSS MB':>13}{'growth MB':>11}")
    def row(label: str, m: dict) -> str:
        return (f"{label:<22}{m['stamps_per_s']:>10,.0f}{1e6 / m['stamps_per_s']:>10,.0f}"
                f"{m['bytes_per_stamp']:>13,.0f}{m['peak_rss_mb']:>13,.1f}{m['rss_growth_mb']:>11,.1f}")

    for i, r in enumerate(rounds, 1):
        for kind in ("naive", "ours"):
            print(row(f"round {i} {kind} n={r[kind]['n']:,}", r[kind]))
        print(f"{'':<22}speed ratio ours/naive: {r['ratio']:.1f}x")
    for m in long_runs:
        print(row(f"ours n={m['n']:,}", m))
    print(f"median speed ratio: {result['ratio_median']:.1f}x (target >= 10x); "
          f"bytes/stamp target <= 1,500; memory flat from 10,000 to 100,000")


if __name__ == "__main__":
    main()
