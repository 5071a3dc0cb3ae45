"""A whole run printed through the service path: `ocop-stamp print` as a subprocess, for 10,000 and 100,000 stamps.

Unlike bench_print.py (render_pdf on a pool of pre-signed texts), this goes the way a producer's run goes: a
throw-away instance (OCOP_STAMP_HOME in a temporary directory, real SQLite database, passphrase-encrypted key)
with one producer, product, 4-star recognition and batch made through stamp_service.registry; runs issued with
issuing.issue_run; then the command-line `ocop-stamp print RUN --template a4-65-38x21 -o out.pdf` in a fresh
process per run, which reads the run from the database, signs every stamp on the fly and streams the PDF.

Measured per subprocess: wall time, its own peak RSS (os.wait4's rusage of that very child, so the 10k and the
100k figure are independent) and its RSS sampled from /proc while it runs; getrusage(RUSAGE_CHILDREN).ru_maxrss
after each run is printed too (a running maximum over all children so far). Then the 100k PDF is checked: page
count, and every QR of its first and last page decoded (zxing-cpp on a pypdfium2 rendering) and verified.
Not a test: it asserts nothing except that the checks hold. Run from the repository root:

    python bench/print_run_memory.py                  # 10,000 and 100,000 stamps, about 1.5 min
    python bench/print_run_memory.py --sizes 10000 --json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PASSPHRASE = "bench print-run passphrase"  # not JSON, so OCOP_STAMP_KEY_PASSPHRASE stays a string
HOST = "tem.ocop.vn"
TEMPLATE = "a4-65-38x21"
DECODE_DPI = 300  # 0.371 mm modules: 4.4 px per module


def build_instance(home: Path, sizes: list[int]) -> list[dict]:
    """A fresh instance with one certified product's batch and a key; one run per size."""
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'PUBLIC_HOST = "{HOST}"\nISSUER = "VN-QN"\n')
    os.environ["OCOP_STAMP_HOME"] = str(home)
    from stamp_service import create_app
    from stamp_service.context import get_storage
    from _world import certified_batch  # bench/ is on sys.path when a benchmark runs as a script
    from stamp_service.signing_keys import keystore
    from stamp_service.stamps import issuing

    app = create_app({"KEY_PASSPHRASE": PASSPHRASE})
    with app.app_context():
        s = get_storage()
        batch = certified_batch(s, sum(sizes), lot="L2026-11")
        store = keystore(app)
        store.generate()
        runs = [issuing.issue_run(s, store, batch["id"], n, issuer=app.config["ISSUER"],
                                  host=app.config["PUBLIC_HOST"]) for n in sizes]
    return [dict(r) for r in runs]


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def print_run(home: Path, run_id: int, out: Path) -> dict:
    """`ocop-stamp print` in a subprocess: wall time, its peak RSS and RSS samples over the run."""
    env = {**os.environ, "OCOP_STAMP_HOME": str(home), "OCOP_STAMP_KEY_PASSPHRASE": PASSPHRASE}
    exe = shutil.which("ocop-stamp") or str(Path(sys.executable).with_name("ocop-stamp"))
    command = [exe, "print", str(run_id), "--template", TEMPLATE, "-o", str(out)]
    samples: list[tuple[float, int]] = []
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.25):
                kb = rss_kb(proc.pid)
                if kb:
                    samples.append((time.perf_counter() - started, kb))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        said = stdout.read().decode().strip()
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {said}")
    return {"command": " ".join(["ocop-stamp", *command[1:]]), "wall_s": wall, "peak_rss_kb": usage.ru_maxrss,
            "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            "cpu_s": usage.ru_utime + usage.ru_stime, "bytes": out.stat().st_size, "output": said.splitlines()[-1],
            "rss_samples_kb": samples}


def check_pdf(home: Path, pdf: Path, run: dict) -> dict:
    """Page count, and every QR of the first and last page decoded and verified against the instance's keys."""
    import pypdfium2
    import zxingcpp

    from stamp_service import create_app
    from stamp_service.signing_keys import keystore
    from stamp_service.stamps.signing import verify_stamp

    os.environ["OCOP_STAMP_HOME"] = str(home)
    app = create_app({"KEY_PASSPHRASE": PASSPHRASE})
    with app.app_context():
        keys = keystore(app).records()
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        pages = len(document)
        read = {}
        for index in (0, pages - 1):
            image = document[index].render(scale=DECODE_DPI / 72).to_pil().convert("L")
            texts = [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
            read[index] = sorted(verify_stamp(t, keys).claims.serial for t in texts)
    finally:
        document.close()
    count = run["last_serial"] - run["first_serial"] + 1
    per_page = 65
    expected_pages = -(-count // per_page)
    last_page_count = count - (expected_pages - 1) * per_page
    first_expected = list(range(run["first_serial"], run["first_serial"] + per_page))
    last_expected = list(range(run["last_serial"] - last_page_count + 1, run["last_serial"] + 1))
    return {"pages": pages, "expected_pages": expected_pages, "first_page_qr": len(read[0]),
            "first_page_ok": read[0] == first_expected, "last_page_qr": len(read[pages - 1]),
            "last_page_ok": read[pages - 1] == last_expected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocop-print-run-") as tmp:
        home = Path(tmp) / "instance"
        runs = build_instance(home, args.sizes)
        results = []
        for run, size in zip(runs, args.sizes):
            out = Path(tmp) / f"run-{run['id']}.pdf"
            result = {"stamps": size, "run": run["id"], **print_run(home, run["id"], out)}
            result["stamps_per_s"] = size / result["wall_s"]
            result["bytes_per_stamp"] = result["bytes"] / size
            if size == max(args.sizes):
                result["check"] = check_pdf(home, out, run)
            results.append(result)
            out.unlink()
    if args.json:
        print(json.dumps({"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                          "results": results}, indent=2))
        return
    for r in results:
        rss = [kb for _t, kb in r["rss_samples_kb"]]
        quarter = [rss[int(len(rss) * q)] / 1024 for q in (0.25, 0.5, 0.75)] if rss else []
        print(f"{r['stamps']:>7,} stamps  {r['wall_s']:6.1f} s  {r['stamps_per_s']:6,.0f} stamps/s  "
              f"{r['bytes_per_stamp']:6.1f} B/stamp  {r['bytes']:>11,} B  peak RSS {r['peak_rss_kb'] / 1024:5.1f} MB  "
              f"(RSS at 25/50/75 % of the run: {', '.join(f'{m:.1f}' for m in quarter)} MB; "
              f"children max so far {r['children_maxrss_kb'] / 1024:.1f} MB; CPU {r['cpu_s']:.1f} s)")
        print(f"         {r['output']}")
        if "check" in r:
            c = r["check"]
            print(f"         pages {c['pages']:,} (expected {c['expected_pages']:,}); first page {c['first_page_qr']} "
                  f"QR {'ok' if c['first_page_ok'] else 'WRONG'}; last page {c['last_page_qr']} QR "
                  f"{'ok' if c['last_page_ok'] else 'WRONG'}")


if __name__ == "__main__":
    main()
