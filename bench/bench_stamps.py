#!/usr/bin/env python3
"""Stamp signing benchmark: stamps signed and encoded per second against raw Ed25519 signatures per second.

A benchmark, not a test: it asserts nothing about speed. The machine is shared and noisy, so absolute figures
mean little; what it reports is same-run ratios. Each round measures every item over N operations cut into
slices that alternate between the items (rotating which goes first), so a burst of background load lands on all
items alike; each round's ratio comes from measurements interleaved within ~0.1 s of each other, and the table
shows the median (and range) over rounds.

Measured, all in one process against a throw-away instance (temporary directory, real SQLite database built by
the migrations, a passphrase-encrypted Ed25519 key in a real KeyStore):

* raw sign      cryptography's Ed25519PrivateKey.sign over the exact bytes a stamp signs (the COSE
                Sig_structure of a real stamp; checked: it reproduces that stamp's signature), N times.
* stamps        issuing.codes(run, store, host) over N serials of a run that issuing.issue_run allocated:
                StampClaims -> CBOR claims -> COSE_Sign1 (protected header, Sig_structure, Ed25519, envelope)
                -> decimal digits -> "HTTPS://HOST/S/<digits>". Includes codes()'s one signing_key() call
                (key file read and decrypted once per call, amortised over N).
* raw verify    Ed25519PublicKey.verify of one stamp's signature over its Sig_structure, N times.
* verify        signing.verify_stamp(text, store.records()) over the N stamp texts just produced.
* issue         issuing.issue_run of 10 stamps and of 1,000,000 stamps (a serial range and one row per run,
                no row per stamp), --issue-reps calls of each per round, median time per call.

Run from the repository root:  python bench/bench_stamps.py [--n 5000] [--rounds 9] [--json] [--profile]
(about 20 s with the defaults on a shared 2-core machine; --profile adds about 5 s)
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import itertools
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import cbor2

from stamp_service import cose
from stamp_service.keystore import KeyStore
from stamp_service.stamps import claims as claims_mod
from stamp_service.stamps import codec, issuing, signing
from stamp_service.stamps.qr import qr_version
from stamp_service.stamps.quotas import Limits
from stamp_service.storage import SQLiteStorage as Storage

from _world import certified_batch  # bench/ is on sys.path when a benchmark runs as a script

HOST = "tem.ocop.example.vn"
ISSUER = "VN"
PASSPHRASE = "benchmark passphrase, not a secret"
BIG_RUN = 1_000_000
SMALL_RUN = 10


# --------------------------------------------------------------------------- the instance


class Instance:
    """A throw-away instance: database with one certified product's batch, a key store with one active key."""

    def __init__(self, root: str, host: str) -> None:
        self.host = host
        self.storage = Storage(os.path.join(root, "bench.db"), migrate=True)
        self.store = KeyStore(os.path.join(root, "keys"), PASSPHRASE)
        self.store.generate("EdDSA")
        self.batch = certified_batch(self.storage, 10_000_000)

    def issue(self, count: int) -> dict[str, Any]:
        # Many 1,000,000-stamp runs on one batch: a margin of 10x keeps the batch cap (still checked) out of the way.
        return issuing.issue_run(self.storage, self.store, self.batch["id"], count, issuer=ISSUER, host=self.host,
                                 limits=Limits(overprint_margin=10.0))

    def close(self) -> None:
        self.storage.close()


def sig_structure(message: bytes) -> tuple[bytes, bytes]:
    """(to-be-signed bytes, signature) of a COSE_Sign1 message: RFC 9052 Sig_structure with empty external AAD."""
    parsed = cose.decode_sign1(message)
    return cbor2.dumps(["Signature1", parsed.protected_bytes, b"", parsed.payload]), parsed.signature


# --------------------------------------------------------------------------- measuring


def ratio_summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_bench(n: int, rounds: int, slices: int, issue_reps: int, host: str, quiet: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ocop-bench-") as root:
        inst = Instance(root, host)
        try:
            return _run(inst, n, rounds, slices, issue_reps, quiet)
        finally:
            inst.close()


def _run(inst: Instance, n: int, rounds: int, slices: int, issue_reps: int, quiet: bool) -> dict[str, Any]:
    store, host = inst.store, inst.host
    # A million first, so the measured serials are > 65535: 4-byte CBOR integers, as in a real registry's
    # life (serial 1 would encode in one byte and flatter the stamp).
    inst.issue(BIG_RUN)
    run = inst.issue(n)
    first, last = run["first_serial"], run["last_serial"]
    key, private_key = store.signing_key()
    public_key = private_key.public_key()
    records = store.records()

    texts = [text for _, text in issuing.codes(run, store, host)]
    message = codec.parse_stamp_url(texts[-1])[1]
    tbs, signature = sig_structure(message)
    if private_key.sign(tbs) != signature:  # Ed25519 is deterministic: same bytes, same signature
        raise SystemExit("baseline bytes are not what the stamp signed")
    if signing.verify_stamp(texts[0], records).claims.serial != first:
        raise SystemExit("verify_stamp does not read back the first stamp")

    stamp_info = {
        "claims_cbor_bytes": len(cose.decode_sign1(message).payload), "cose_bytes": len(message),
        "sig_structure_bytes": len(tbs), "digits": len(codec.bytes_to_digits(message)), "url_chars": len(texts[-1]),
        "qr_version_M": qr_version(texts[-1]), "serials": [first, last],
    }

    # Each round runs every item over N operations, cut into `slices` slices that alternate between the items
    # (rotating which goes first), so background load lands on all items alike; a round's rate per item is
    # N / (sum of its slices' wall time). The stamps item pulls its slices from ONE codes() generator per
    # round, so codes()'s per-call key load is amortised over N as in a real print job.
    bounds = [(n * i // slices, n * (i + 1) // slices) for i in range(slices)]
    names = ["raw_sign", "stamps", "raw_verify", "verify"]
    sign, verify_raw, verify_stamp = private_key.sign, public_key.verify, signing.verify_stamp

    def one_round(r: int) -> dict[str, float]:
        generator = issuing.codes(run, store, host, first, last)
        elapsed = dict.fromkeys(names, 0.0)
        for i, (lo, hi) in enumerate(bounds):
            k = hi - lo
            shift = (r + i) % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()  # garbage from the previous slice is not billed to this one
                t0 = time.perf_counter()
                if name == "raw_sign":
                    for _ in range(k):
                        sign(tbs)
                elif name == "stamps":
                    for _ in itertools.islice(generator, k):
                        pass
                elif name == "raw_verify":
                    for _ in range(k):
                        verify_raw(signature, tbs)
                else:
                    for text in texts[lo:hi]:
                        verify_stamp(text, records)
                elapsed[name] += time.perf_counter() - t0
        if next(generator, None) is not None:
            raise SystemExit("the stamps item did not consume exactly N stamps")
        row = {name: n / elapsed[name] for name in names}  # per second
        if issue_reps:
            times: dict[int, list[float]] = {SMALL_RUN: [], BIG_RUN: []}
            for j in range(issue_reps):
                for count in ((SMALL_RUN, BIG_RUN) if (r + j) % 2 == 0 else (BIG_RUN, SMALL_RUN)):
                    gc.collect()
                    t0 = time.perf_counter()
                    inst.issue(count)
                    times[count].append(time.perf_counter() - t0)
            row["issue_10"] = statistics.median(times[SMALL_RUN])  # seconds per call
            row["issue_1m"] = statistics.median(times[BIG_RUN])
        return row

    one_round(0)  # warm-up: caches, allocator, CPU frequency; not reported
    results: list[dict[str, float]] = []
    for r in range(rounds):
        row = one_round(r)
        results.append(row)
        if not quiet:
            print(f"  round {r + 1}/{rounds}: " + "  ".join(_fmt_round(k, v) for k, v in row.items()),
                  file=sys.stderr, flush=True)

    keys = list(results[0])
    summary = {name: ratio_summary([row[name] for row in results]) for name in keys}
    ratios = {
        "stamps_per_raw_sign": ratio_summary([row["stamps"] / row["raw_sign"] for row in results]),
        "verify_per_raw_verify": ratio_summary([row["verify"] / row["raw_verify"] for row in results]),
    }
    if issue_reps:
        ratios["issue_1m_per_issue_10"] = ratio_summary([row["issue_1m"] / row["issue_10"] for row in results])
    return {"stamp": stamp_info, "rounds": results, "summary": summary, "ratios": ratios}


def _fmt_round(name: str, value: float) -> str:
    return f"{name}={value * 1e3:.2f}ms" if name.startswith("issue") else f"{name}={value:,.0f}/s"


# --------------------------------------------------------------------------- where the time goes


def _key(fn: Any) -> tuple[str, int, str]:
    code = fn.__code__
    return code.co_filename, code.co_firstlineno, code.co_name


def profile_breakdown(n: int, host: str) -> dict[str, Any]:
    """Per-stamp cost of each step of codes(): cProfile attribution, and the same steps timed alone."""
    n = max(n, 2000)  # enough stamps that codes()'s one key load per call stays negligible
    with tempfile.TemporaryDirectory(prefix="ocop-bench-") as root:
        inst = Instance(root, host)
        try:
            inst.issue(BIG_RUN)
            run = inst.issue(n)
            store = inst.store
            list(issuing.codes(run, store, host))  # warm

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in issuing.codes(run, store, host):
                pass
            profiler.disable()
            stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

            def cum(fn: Any) -> float:
                return stats[_key(fn)][3]

            sign_tt = sum(v[2] for k, v in stats.items() if "Ed25519PrivateKey" in k[2] and "sign" in k[2])
            total = cum(issuing.codes)
            sign_stamp = cum(signing.sign_stamp)
            to_cbor = cum(claims_mod.StampClaims.to_cbor)
            sign1 = cum(cose.sign1)
            digits = cum(codec.bytes_to_digits)
            url = cum(codec.stamp_url)
            profiled = {
                "Ed25519 sign (OpenSSL)": sign_tt,
                "claims -> CBOR (to_cbor, canonical map)": to_cbor,
                "COSE structure (headers, Sig_structure, envelope, checks)": sign1 - sign_tt,
                "bigint -> decimal digits": digits,
                "URL string": url - digits,
                "sign_stamp glue": sign_stamp - to_cbor - sign1 - url,
                "codes() loop: rebuild + validate StampClaims, key load": total - sign_stamp,
            }
            profiled_us = {k: v / n * 1e6 for k, v in profiled.items()}
            profiled_total_us = total / n * 1e6

            # The same steps without the profiler (which inflates Python-level calls), on one real stamp.
            key, private_key = store.signing_key()
            template = issuing.run_claims(run, run["last_serial"])
            payload = template.to_cbor()
            message = cose.sign1(payload, private_key, key.kid, alg=key.alg)
            tbs, _ = sig_structure(message)
            serial = run["last_serial"]
            if cbor2.dumps(_claims_map(template)) != payload:
                raise SystemExit("_claims_map does not reproduce to_cbor(): fix the benchmark")
            kid, alg, protected = key.kid, key.alg, {1: cose.ALG_EDDSA, 4: key.kid}
            steps: dict[str, Callable[[], Any]] = {
                "sign": lambda: private_key.sign(tbs),
                "sign1": lambda: cose.sign1(payload, private_key, kid, alg=alg, tag=True),
                "to_cbor": template.to_cbor,
                "digits": lambda: codec.bytes_to_digits(message),
                "url": lambda: codec.stamp_url(message, host),
                "claims": lambda: claims_mod.StampClaims(**{**template.__dict__, "serial": serial}),
                "dumps_canonical": lambda: cbor2.dumps(_claims_map(template), canonical=True),
                "dumps_presorted": lambda: cbor2.dumps(_claims_map(template)),
                "protected": lambda: cbor2.dumps(protected, canonical=True),
            }
            # Each step alone, `repeat` times in alternation; the minimum is the least disturbed estimate.
            reps, repeat = n // 4, 7
            best: dict[str, float] = {}
            for _ in range(repeat):
                for name, fn in [*steps.items(), ("codes", None)]:
                    gc.collect()
                    t0 = time.perf_counter()
                    if fn is None:  # the whole run, so the key load is amortised as in the main measurement
                        count = sum(1 for _ in issuing.codes(run, store, host))
                    else:
                        count = reps
                        for _ in range(reps):
                            fn()
                    us = (time.perf_counter() - t0) / count * 1e6
                    best[name] = min(best.get(name, us), us)
            alone = {
                "Ed25519 sign (OpenSSL)": best["sign"],
                "claims -> CBOR (to_cbor, canonical map)": best["to_cbor"],
                "COSE structure (headers, Sig_structure, envelope, checks)": best["sign1"] - best["sign"],
                "bigint -> decimal digits": best["digits"],
                "URL string": best["url"] - best["digits"],
                "sign_stamp glue": None,
                "codes() loop: rebuild + validate StampClaims, key load": best["claims"],
                "  to_cbor's map built, then cbor2.dumps(canonical=True)": best["dumps_canonical"],
                "  same map built in canonical key order, dumps(canonical=False)": best["dumps_presorted"],
                "  protected header: cbor2.dumps({1: alg, 4: kid}, canonical=True)": best["protected"],
            }
            loop_us = best["codes"]
            return {"n": n, "profiled_us": profiled_us, "profiled_total_us": profiled_total_us,
                    "alone_us": alone, "unprofiled_total_us": loop_us}
        finally:
            inst.close()


def _claims_map(c: claims_mod.StampClaims) -> dict[int, Any]:
    """The claims map in RFC 7049 canonical key order (1, 6, -1 ... -9), as to_cbor would encode it."""
    m = claims_mod
    return {m.ISS: c.issuer, m.IAT: int(c.issued_at.timestamp()), m.VERSION: c.version, m.PRODUCT: c.product_id,
            m.BATCH: c.batch_id, m.SERIAL: c.serial, m.STARS: c.stars, m.ORIGIN: int(c.origin_commune),
            m.PRODUCED: (c.production_date - m.EPOCH).days,
            m.EXPIRES: (c.expiry_date - m.EPOCH).days,  # type: ignore[operator]
            m.CERT_UNTIL: (c.certificate_valid_until - m.EPOCH).days}


# --------------------------------------------------------------------------- output


def environment() -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "machine": platform.machine(), "cpus": usable,
        "cryptography": version("cryptography"), "cbor2": version("cbor2"), "qrcode": version("qrcode"),
    }


def print_table(report: dict[str, Any]) -> None:
    env, params, res = report["environment"], report["params"], report["results"]
    s, st = res["summary"], res["stamp"]
    print(f"ocop-stamp stamp signing benchmark, {env['date']}")
    print(f"Python {env['python']} ({env['machine']}, {env['cpus']} CPUs), cryptography {env['cryptography']}, "
          f"cbor2 {env['cbor2']}")
    print(f"N={params['n']:,} per item, {params['rounds']} interleaved rounds; median of rounds (min - max)")
    print(f"stamp: {st['claims_cbor_bytes']} B claims, {st['cose_bytes']} B COSE_Sign1, {st['sig_structure_bytes']} B "
          f"signed, {st['digits']} digits, {st['url_chars']}-char URL, QR version {st['qr_version_M']} (M)")
    print()
    labels = {
        "raw_sign": "raw Ed25519 sign (Sig_structure bytes)",
        "stamps": "stamps: codes() claims->CBOR->COSE->URL",
        "raw_verify": "raw Ed25519 verify",
        "verify": "verify_stamp(URL) -> claims",
    }
    print(f"{'item':<42}{'per second':>12}{'us each':>10}   {'min - max per second':>22}")
    for name, label in labels.items():
        m = s[name]
        print(f"{label:<42}{m['median']:>12,.0f}{1e6 / m['median']:>10.1f}   "
              f"{m['min']:>10,.0f} - {m['max']:<10,.0f}")
    for name, label in (("issue_10", f"issue_run({SMALL_RUN:,} stamps)"),
                        ("issue_1m", f"issue_run({BIG_RUN:,} stamps)")):
        if name in s:
            m = s[name]
            print(f"{label:<42}{1 / m['median']:>12,.1f}{m['median'] * 1e3:>8.2f}ms   "
                  f"{m['min'] * 1e3:>8.2f}ms - {m['max'] * 1e3:.2f}ms")
    print()
    r = res["ratios"]
    lines = [("stamps/s / raw signatures/s", r["stamps_per_raw_sign"]),
             ("verify_stamp/s / raw verifications/s", r["verify_per_raw_verify"])]
    if "issue_1m_per_issue_10" in r:
        lines.append(("issue_run time, 1,000,000 / 10 stamps", r["issue_1m_per_issue_10"]))
    for label, v in lines:
        print(f"{label:<42}{v['median']:>8.3f}   (rounds: {v['min']:.3f} - {v['max']:.3f})")
    over = 1e6 / s["stamps"]["median"] - 1e6 / s["raw_sign"]["median"]
    print(f"overhead per stamp beyond the signature: {over:.1f} us")
    if "profile" in report:
        p = report["profile"]
        print()
        print(f"where a stamp's time goes (us per stamp; N={p['n']:,})")
        print(f"{'step':<74}{'cProfile':>9}{'alone':>8}")
        for k, v in p["alone_us"].items():
            prof = p["profiled_us"].get(k)
            print(f"{k:<74}{'' if prof is None else f'{prof:.2f}':>9}{'' if v is None else f'{v:.2f}':>8}")
        print(f"{'total (codes() per stamp)':<74}{p['profiled_total_us']:>9.2f}{p['unprofiled_total_us']:>8.2f}")
        print("cProfile inflates Python-level calls; 'alone' times each step by itself without the profiler\n"
              "(best of 7 interleaved repeats; the indented lines are parts of or alternatives to the steps above).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="signatures / stamps / verifications per item and round")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds; the median is reported")
    parser.add_argument("--slices", type=int, default=10,
                        help="slices per round that alternate between the items (finer interleaving)")
    parser.add_argument("--issue-reps", type=int, default=3,
                        help="issue_run calls per size and round (0: skip the issuing measurement)")
    parser.add_argument("--host", default=HOST, help="host printed in the stamps (its length changes the URL)")
    parser.add_argument("--profile", action="store_true", help="also break a stamp's cost down by step")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON instead of the table")
    args = parser.parse_args(argv)
    if args.n < 1 or args.rounds < 1 or args.slices < 1 or args.issue_reps < 0:
        parser.error("--n, --rounds and --slices must be at least 1, --issue-reps at least 0")

    started = time.perf_counter()
    report: dict[str, Any] = {
        "environment": environment(),
        "params": {"n": args.n, "rounds": args.rounds, "slices": args.slices, "issue_reps": args.issue_reps,
                   "host": args.host},
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
    }
    report["results"] = run_bench(args.n, args.rounds, min(args.slices, args.n), args.issue_reps, args.host,
                                  quiet=args.json)
    if args.profile:
        report["profile"] = profile_breakdown(args.n, args.host)
    report["elapsed_s"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
        print(f"\n(took {report['elapsed_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
