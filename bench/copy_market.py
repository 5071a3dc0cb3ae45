#!/usr/bin/env python3
"""Copy market: how well copy detection catches photocopied stamps, and how rarely it accuses genuine ones.

A benchmark, not a test: it asserts nothing. It drives the REAL app (stamp_service.create_app on a throw-away
instance: real SQLite from the migrations, a passphrase-encrypted key, real signed stamps from
issuing.issue_run / issuing.codes) through its PUBLIC URLs only, with simulated time, for a season of shoppers
and counterfeiters, and reads each verdict off the page (the banner's data-verdict). It knows nothing of the
rules: they can be rewritten and retuned (--copy-rules passes COPY_RULES) and the same world is replayed.
Deterministic given --seed: the world (who buys what where and when, every network address, every browser) is
drawn from generators seeded per actor, and no behaviour depends on the verdict shown, so two rule sets see
exactly the same shoppers; only honest shoppers' retries after a 429 depend on the app.

Run from the repository root (pip install -e '.[bench]'):
    python bench/copy_market.py [--seed 1] [--scale 1.0] [--quick] [--json] [--copy-rules JSON]
    python bench/copy_market.py --scenario framing [--quick]
    python bench/copy_market.py --trace 5     (also print the page loads of 5 copied serials, 5 genuine packs
                                               shown suspected-copy and 5 other genuine packs, to check by hand)
Default size: about 4 minutes for the market, 3 for framing, on a shared 2-core machine; --quick ~30 s each.
The throw-away instance lives in /dev/shm when there is one (--tmpdir): an fsync per recorded scan on a shared
disk is not what this measures and doubled the wall time.

MECHANICS
* Time: time-machine (time_machine.travel(..., tick=False)). Every event is in one priority queue ordered by
  (time, sequence); actors are generators that yield the seconds until their next step, and the clock is moved
  (traveller.move_to) before every request. Day 0 starts 2025-09-01 00:00 local time (UTC+7); 120 days.
* HTTP: app.test_client(use_cookies=False); each BROWSER has its own cookie jar (every Set-Cookie parsed, with
  Max-Age/Expires; a Cookie header sent), so browsers that lose cookies can be modelled. REMOTE_ADDR comes from
  environ_base; every browser has a realistic User-Agent (reduced Chrome/Android UA, Samsung Internet,
  Safari/iOS, Zalo and Facebook in-app on Android and iOS, with real phone model strings in the in-app ones)
  and Accept-Language vi-VN. Requests go to https://<host>/S/<digits>: the QR text's path in upper case, as a
  phone camera opens it. A 429 is honoured by honest shoppers: they wait Retry-After and retry once (counted per
  class; a refusal of a shopper's first look at a pack is reported separately); attackers ignore it.
* Verdict: data-verdict="..." of the page's banner; no banner counts as "http-<status>". Every page load is
  recorded: class, pack, serial, browser, phone, household, network kind, verdict, time.
* Claims: POST /api/v1/claim {"code", "hidden_code"} is probed once with an empty body; a 404 means the branch
  has no claim flow and claims are skipped (said in the output). With it, a buyer of a two-layer pack
  scratches and checks with p 0.35 (the giver of a gift does not: the recipient may); a fake's foil carries
  the code of the genuine pack the counterfeiter scratched (50 % of operations) or random digits.
* Province share: after a first look, p 0.12: GET the page's /scan-province link if the page offers one, then
  POST the form it returns (its hidden fields, csrf_token included, and the select set to the province where
  the shopper is, if offered).

WORLD (bench/_market_world.py, Params; "scaled" = multiplied by --scale, per-stamp intensities never are)
* Geography: the registry's 34 provinces, weighted by population (2025), with their seats' coordinates (the
  app's package data) for distances; regions north (lat >= 19), centre (>= 11.5), south.
* Homes: 3 ISPs (Viettel 40 %, VNPT 35 %, FPT 25 %, real-looking blocks), each with a pool of 150 /24s per
  province; a household's wifi has one address in a random /24 of its ISP's pool (so strangers share /24s, as
  ~250 subscribers do) and moves to another /24 of the pool with p 0.1 per week (dynamic addresses, a Poisson
  process). 15 % of homes have IPv6 on the wifi: a stable /48 per home (the rest of the address changes:
  privacy extensions), preferred by the browser.
* Mobile data: carrier-grade NAT. 3 carriers (Viettel 55 %, Vinaphone 25 %, MobiFone 20 %), each with 24 /24s
  per region; EVERY mobile session takes a random address of the pool of the region the phone is in, so one
  phone shows up from different /24s and thousands of strangers share each /24.
* Shops: 40 % have customer wifi (one address shared by everyone in the shop); a phone in such a shop uses it
  with p 0.5. Specialty shops stock several OCOP products; fakes sell in markets (no wifi), small shops and
  online (delivered to homes, scanned there).
* Households: 1-4 phones (25/35/25/15 %); iOS 35 %; each phone has a main browser (Safari; Chrome, or Samsung
  Internet on 40 % of Samsung phones) with persistent cookies, and Zalo and Facebook in-app browsers whose
  cookie jar is lost with p 0.5 per use; each phone has a habit for opening QR codes (camera 55 %, Zalo's
  scanner 38 %, Facebook/Messenger 7 %) kept 80 % of the time. Session cookies (the CSRF session) are dropped
  when a browser has been idle 6 hours.
* Genuine packs: 3 producers (Quảng Ninh, Đắk Lắk, Vĩnh Long), 4 products with valid certificates, one batch
  and one run each of 2,000-5,000 stamps (scaled), printed on days 0.5, 6, 15, 30; runs 1 and 3 have hidden
  codes. 8 % of a run's labels are never applied (spares: the "unused" originals of copied sheets). The rest
  go in cartons of 12-30 consecutive serials to shops over 75 days after printing: 80 % to 14 shops (scaled)
  of the producer's province, the rest to 4-8 shops in each of 1-3 other provinces. A pack waits on the shelf
  an exponential 12 days on average; what is not sold by day 120 is unsold. 15 % of purchases are 2-4
  consecutive packs of one carton (each further pack scanned with p 0.5).
* Shoppers (genuine and fake packs alike): about one buyer in three scans; 35 % in the shop (mobile, or shop
  wifi), otherwise at home 0.5-30 h later (home wifi 85 %, else mobile); 8 % are tourists from another
  province who scan at home 1-5 days later; 10 % are households that bought before. A look: the page, a
  reload within 1-10 minutes (p 0.25), a language switch (p 0.05: GET /lang/en, then the page again), a
  province share (p 0.12). A second household member scans within a day (p 0.3), the buyer again 2-20 days
  later (p 0.15), and 10 % of scanned packs are gifts, scanned 1-14 days later by the recipient's household in
  another province (half of them more than 300 km away).
* Shop display: each shop keeps one pack per product on display for 2-8 weeks, from its newest carton,
  scanned by 0.1-1.2 shoppers a day (a different household each, mostly mobile data, shop wifi if there is
  one), then sells it as a normal pack.
* Producers: staff test-scan 10-40 consecutive serials of each run within minutes of printing (one or two
  phones on the producer's wifi, 10-40 s apart), and re-check 1-5 random serials on 1-3 later days.
* Livestreams: 6 genuine packs (scaled) are held up on a sales livestream (20:00-22:00); 20-80 viewers all
  over the country scan the screen within ~10 minutes (exponential, mean 3) from their homes' networks (wifi
  70 %); 40 % of them have scanned one of our stamps before, and half of the browsers have no cookie anyway
  (private tab, in-app, another phone); then nothing; the pack is sold later as usual.
* Counterfeiters: 20 single-stamp copy operations and 6 photocopied sheets (scaled), starting at random in the
  first 80 days, each selling for 2-8 weeks in 1-5 provinces (markets 40 %, small shops 35 %, online 25 %).
  A single copy: a genuine stamp seen on a shop shelf (its pack lives on as usual) on 200-3,000 fakes
  (log-uniform). A sheet: 20-65 consecutive serials of a run (half the time a spare sheet never applied,
  otherwise labels that also went on genuine packs) photocopied 30-200 times; each copy of the sheet is cut
  and applied as a whole, so its consecutive serials reach one outlet together.
* Not modelled: inspectors (they use their own route), reports, browsers updating their User-Agent.

FIGURES (per class: normal buyer, gift recipient, display pack, livestream, producer test, single copy,
sheet copy: packs, page loads, verdict mix; and)
* copied serials flagged: % of copied serials (a single copy's serial; every serial of a sheet) for which
  at least one scan of a fake pack showed suspected-copy; devices before the flag: for flagged serials, the
  number of distinct phones (not browsers) that had scanned a fake pack of that serial before the first
  suspected-copy, median and p90;
* fake scans flagged: % of page loads of fake packs showing suspected-copy;
* genuine packs flagged: % of the genuine packs a class scanned that showed that class suspected-copy at
  least once, excluding the packs that carry a copied serial (the original of a single copy, the genuine
  packs of a copied sheet), which are reported on their own line; and % of genuine page loads;
* 429: honest requests refused, per class, and how many were a shopper's first look at a pack.

FRAMING (--scenario framing): attackers with 1, 2 and 3 IPv4 /24s (any address inside) and one with three IPv6
/48s, unlimited requests, try to get genuine stamps shown as suspected copies to their honest owners. Each
attacker has its own targets, several per technique, half untouched and half already scanned by their buyer's
household before the attack: cookie-less GETs of the QR URL, random well-formed cookie values, one real
cookie value (its own phone's) replayed, cookies farmed beforehand (visiting pages, scanning its own packs)
and replayed, typed serials (/check?serial=), anonymous API look-ups (/api/v1/verify?code=), ?tinh= far-apart
provinces and province shares of far-apart provinces on its own scans, wrong hidden codes (if claims exist),
scanning the neighbouring serials (+-10) of an untouched stamp, and all of these at once (leaving serial + 2
alone). The attack comes in 6 waves (3 with --quick) in shop hours on days 2-5, each lasting 10 minutes to
3 hours (log-uniform), every target getting its share of each wave (PER_WAVE) in random order; cookies are
farmed on day 0.5-1 (150 per attacker: GET /check with an empty jar, half of them then scanning one of the
attacker's own 3 packs), after its own phone scanned those packs. Honest shoppers (the buyer's household, a
second member with p 0.3, a gift recipient in another province with p 0.1) scan each target and an untouched
neighbour (serial + 2): the "scanned" targets on day 0.2-1.5 and again later, the rest for the first time;
half of those later looks fall during a wave or in the hour after it, half on a random day in shop hours
between the first wave and 3 days after the last. Targets are 100 serials apart. A stamp is FRAMED if any
honest scan of it shows suspected-copy. Reported per attacker and technique, with the attacker's 429s and the
rows added to scans per 1,000 attacker requests (max(id) of scans read after every request, read-only).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import heapq
import html as htmlmod
import json
import math
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import time_machine  # noqa: E402

from _market_world import (  # noqa: E402
    DAY, HOUR, SHOP_HOURS, WEEK, Browser, CookieJar, Display, Geography, Household, Livestream,
    Networks, Outlet, Pack, Params, People, Phone, Planner, ProducerCheck, Purchase, RunInfo, local_time,
    next_at_home,
)

PASSPHRASE = "benchmark passphrase, not a secret"
HOST = "tem.ocop.example.vn"
ORIGIN = f"https://{HOST}"
START = dt.datetime(2025, 8, 31, 17, 0, tzinfo=dt.timezone.utc)  # 2025-09-01 00:00 in Vietnam (UTC+7)
ACCEPT_LANGUAGE = "vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7"
GENUINE_CLASSES = ("normal buyer", "gift recipient", "display pack", "livestream", "producer test")
FAKE_CLASSES = ("single copy", "sheet copy")
ORIGINALS = "genuine original of a copied serial"
VERDICT = re.compile(r'data-verdict="([^"]+)"')
SHARE_LINK = re.compile(r'href="([^"]*scan-province\?[^"]*)"')
SESSION_IDLE = 6 * HOUR

# (producer, type, province, commune or None, product, group, stars)
CATALOGUE = (
    ("Hợp tác xã Trà hoa vàng Ba Chẽ", "cooperative", "22", "06978", "Trà hoa vàng Ba Chẽ", "drinks", 4),
    ("Công ty TNHH Cà phê Ea Tu", "enterprise", "66", None, "Cà phê rang xay Buôn Ma Thuột", "drinks", 4),
    ("Cơ sở Kẹo dừa Mỏ Cày", "household", "86", None, "Kẹo dừa sữa lá dứa", "food", 3),
    ("Hợp tác xã Trà hoa vàng Ba Chẽ", "cooperative", "22", "06978", "Mật ong hoa rừng Ba Chẽ", "food", 3),
)


# =========================================================================== the instance


@dataclass
class Instance:
    app: Any
    database: str
    runs: list[RunInfo]
    qr: dict[int, str]  # serial -> QR text
    secrets: dict[int, bytes]  # run id -> hidden-code secret
    producer_wifi: dict[str, str]  # province -> the producer's office address


def build_instance(home: str, params: Params, rng: random.Random, geo: Geography, nets: Networks,
                   traveller: Any, seed: int, copy_rules: dict[str, Any] | None) -> Instance:
    """A fresh instance: producers, products, recognitions, batches and runs made through the registry, a
    passphrase-encrypted key, QR texts from issuing.codes, hidden codes on about half the runs."""
    os.environ["OCOP_STAMP_HOME"] = home
    from stamp_service import create_app
    from stamp_service.context import get_storage
    from stamp_service.registry import batches, places, producers, products, recognitions
    from stamp_service.signing_keys import keystore
    from stamp_service.stamps import issuing
    from stamp_service.stamps.hidden import run_secret

    traveller.move_to(START - dt.timedelta(days=2))
    config = {"KEY_PASSPHRASE": PASSPHRASE, "PUBLIC_HOST": HOST, "SECRET_KEY": f"copy-market-{seed}"}
    if copy_rules:
        config["COPY_RULES"] = copy_rules
    app = create_app(config)
    runs, qr, secret_of, wifi = [], {}, {}, {}
    with app.app_context():
        s = get_storage()
        store = keystore(app)
        store.generate()
        made: dict[str, int] = {}
        today = dt.date.today()
        for i, (pname, ptype, province, commune, product, group, stars) in enumerate(CATALOGUE):
            commune = commune or places.communes(province)[rng.randrange(20)].code
            if pname not in made:
                made[pname] = producers.create(s, {"name": pname, "type": ptype, "commune_code": commune})["id"]
                wifi[province] = nets.fixed_address(nets.pick_isp(rng), province, rng)
            prod = products.create(s, {"producer_id": made[pname], "name": product, "product_group": group})
            recognitions.create(s, {"product_id": prod["id"], "stars": stars, "level": "province",
                                    "issuing_body": f"UBND tỉnh {places.province(province).name}",
                                    "decision_number": f"{100 + i}/QĐ-UBND",
                                    "decision_date": (today - dt.timedelta(days=rng.randint(60, 600))).isoformat()})
            count = params.scaled(rng.randint(*params.run_sizes))
            batch = batches.create(s, {"product_id": prod["id"], "lot": f"L{i + 1}-2509", "quantity": count,
                                       "production_date": today.isoformat(),
                                       "expiry_date": (today + dt.timedelta(days=540)).isoformat()})
            run = issuing.issue_run(s, store, batch["id"], count, issuer=app.config["ISSUER"], host=HOST)
            hidden = params.hidden_runs[i % len(params.hidden_runs)]
            if hidden:
                s.update("runs", run["id"], {"hidden_code": 1})
                secret_of[run["id"]] = run_secret(store, run)
            qr.update(issuing.codes(run, store, HOST))
            away = []
            while len(away) < rng.randint(1, 3):
                code = geo.random_province(rng, exclude=province).code
                if code not in away:
                    away.append(code)
            runs.append(RunInfo(i, run["id"], run["first_serial"], run["last_serial"], product, province, hidden,
                                params.print_days[i % len(params.print_days)] * DAY + rng.uniform(8, 10) * HOUR,
                                tuple(away)))
    return Instance(app, app.config["DATABASE"], runs, qr, secret_of, wifi)


def hidden_code_of(inst: Instance, pack: Pack) -> str | None:
    """What the pack's scratch-off foil shows: None when the run has no hidden codes."""
    if not pack.run.hidden:
        return None
    if pack.code is not None:
        return pack.code
    from stamp_service.stamps.hidden import hidden_code
    return hidden_code(inst.secrets[pack.run.id], pack.serial)


# =========================================================================== HTTP, as a browser does it


@dataclass
class Reply:
    status: int
    text: str
    headers: Any

    @property
    def verdict(self) -> str:
        m = VERDICT.search(self.text)
        return m.group(1) if m else f"http-{self.status}"

    def retry_after(self) -> float:
        value = self.headers.get("Retry-After", "60")
        try:
            return max(1.0, float(value))
        except ValueError:
            try:
                return max(1.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                return 60.0


class Web:
    """The app's test client, with the clock moved before each request and cookies kept per browser."""

    def __init__(self, app: Any, traveller: Any) -> None:
        self.client = app.test_client(use_cookies=False)
        self.traveller = traveller
        self.requests = 0
        self.rows: Counter[str] = Counter()  # rows added to scans, per actor (when counting)
        self.counter: sqlite3.Connection | None = None
        self.last_row = 0

    def count_rows(self, database: str) -> None:
        """From now on, read max(id) of scans after every request (read-only) and charge what it grew by to
        the request's actor."""
        self.counter = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        self.last_row = self.counter.execute("SELECT coalesce(max(id), 0) FROM scans").fetchone()[0]

    def send(self, now: float, method: str, path: str, *, address: str, ua: str, jar: CookieJar | None,
             data: dict[str, str] | None = None, json_body: Any = None, referer: str | None = None,
             actor: str = "honest") -> Reply:
        self.traveller.move_to(START + dt.timedelta(seconds=now))
        headers = {"User-Agent": ua, "Accept-Language": ACCEPT_LANGUAGE,
                   "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        cookie = jar.header(now) if jar is not None else None
        if cookie:
            headers["Cookie"] = cookie
        if referer:
            headers["Referer"] = referer
        kwargs: dict[str, Any] = {"headers": headers, "base_url": ORIGIN, "environ_base": {"REMOTE_ADDR": address}}
        if data is not None:
            kwargs["data"] = data
        if json_body is not None:
            kwargs["json"] = json_body
            headers["Accept"] = "application/json"
        response = self.client.open(path, method=method, **kwargs)
        self.requests += 1
        if self.counter is not None:
            row = self.counter.execute("SELECT coalesce(max(id), 0) FROM scans").fetchone()[0]
            self.rows[actor] += row - self.last_row
            self.last_row = row
        if jar is not None:
            jar.store(response.headers.getlist("Set-Cookie"), now)
        return Reply(response.status_code, response.get_data(as_text=True), response.headers)


def qr_path(text: str) -> str:
    """The path a phone camera opens from a QR text HTTPS://HOST/S/<digits>."""
    return "/" + text.split("/", 3)[3]


def parse_form(page: str) -> tuple[str | None, dict[str, str], dict[str, list[str]]]:
    """The first POST form of a page: its action, hidden fields and the options of its selects."""
    m = re.search(r'<form[^>]*method="post"[^>]*>(.*?)</form>', page, re.S | re.I)
    if not m:
        return None, {}, {}
    action = re.search(r'action="([^"]*)"', m.group(0))
    hidden = {htmlmod.unescape(n): htmlmod.unescape(v) for n, v in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1))}
    selects = {name: re.findall(r'<option value="([^"]+)"', body)
               for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', m.group(1), re.S)}
    return (htmlmod.unescape(action.group(1)) if action else None), hidden, selects


# =========================================================================== the simulation


@dataclass(slots=True)
class Load:
    """One page load of a stamp."""

    t: float
    cls: str
    pack: int
    kind: str  # genuine | single copy | sheet copy
    serial: int
    browser: int
    phone: int
    household: int
    family: str
    net: str  # home | home6 | mobile | shop-wifi | office
    address: str
    verdict: str
    status: int
    first: bool


@dataclass
class Where:
    """Where a person is for one look: the address of this session and the province."""

    address: str
    province: str
    net: str


class Sim:
    """The event queue, the people, and the honest shoppers' ways of looking at a stamp."""

    def __init__(self, inst: Instance, web: Web, params: Params, geo: Geography, nets: Networks, seed: int,
                 claims: bool) -> None:
        self.inst, self.web, self.p, self.geo, self.nets, self.seed = inst, web, params, geo, nets, seed
        self.people = People(nets, params, seed)
        self.claims_on = claims
        self.queue: list[tuple[float, int, Generator[float, None, None]]] = []
        self.seq = 0
        self.now = 0.0
        self.horizon = params.days * DAY
        self.loads: list[Load] = []
        self.claims: list[tuple[str, str, str]] = []  # (class, pack kind, result)
        self.refused: Counter[str] = Counter()
        self.refused_first: Counter[str] = Counter()
        self.gave_up: Counter[str] = Counter()
        self.shares: Counter[str] = Counter()
        self.staff: dict[str, Household] = {}

    # ---- scheduling
    def rng(self, *key: Any) -> random.Random:
        return random.Random(":".join(map(str, (self.seed, *key))))

    def at(self, t: float, script: Generator[float, None, None]) -> None:
        if t <= self.horizon:
            self.seq += 1
            heapq.heappush(self.queue, (t, self.seq, script))

    def run(self, progress: bool = False) -> None:
        last_day = -1
        while self.queue:
            t, _, script = heapq.heappop(self.queue)
            self.now = t
            if progress and int(t // DAY) // 10 != last_day:
                last_day = int(t // DAY) // 10
                print(f"  day {int(t // DAY):>3}: {self.web.requests:,} requests", file=sys.stderr)
            try:
                delay = next(script)
            except StopIteration:
                continue
            self.at(t + max(0.0, delay), script)

    # ---- networks
    def mobile(self, phone: Phone, province: str, rng: random.Random) -> Where:
        region = self.geo.provinces[province].region
        return Where(self.nets.mobile_address(phone.carrier, region, rng), province, "mobile")

    def at_home(self, phone: Phone, rng: random.Random, *, wifi: float | None = None) -> Where:
        hh = phone.household
        if rng.random() < (self.p.home_wifi if wifi is None else wifi):
            address = self.people.home_address(hh, self.now, rng)
            return Where(address, hh.province, "home6" if ":" in address else "home")
        return self.mobile(phone, hh.province, rng)

    def in_shop(self, phone: Phone, outlet: Outlet, rng: random.Random) -> Where:
        if outlet.wifi and rng.random() < self.p.shop_wifi_use:
            return Where(outlet.wifi, outlet.province, "shop-wifi")
        return self.mobile(phone, outlet.province, rng)

    # ---- one request of a browser
    def request(self, browser: Browser, where: Where, method: str, path: str, **kw: Any) -> Reply:
        if self.now - browser.last_used > SESSION_IDLE:
            browser.jar.end_session()
        browser.last_used = self.now
        return self.web.send(self.now, method, path, address=where.address, ua=browser.ua, jar=browser.jar, **kw)

    def page(self, cls: str, pack: Pack, browser: Browser, where: Where, *, first: bool) \
            -> Generator[float, None, Reply]:
        """Open the stamp's page; on a 429 wait Retry-After and try once more."""
        reply = self.request(browser, where, "GET", qr_path(self.inst.qr[pack.serial]))
        if reply.status == 429:
            self.refused[cls] += 1
            if first:
                self.refused_first[cls] += 1
            yield reply.retry_after()
            reply = self.request(browser, where, "GET", qr_path(self.inst.qr[pack.serial]))
            if reply.status == 429:
                self.refused[cls] += 1
                self.gave_up[cls] += 1
        self.record(cls, pack, browser, where, reply, first)
        return reply

    def record(self, cls: str, pack: Pack, browser: Browser, where: Where, reply: Reply, first: bool) -> None:
        phone = browser.phone
        self.loads.append(Load(self.now, cls, pack.id, pack.kind, pack.serial, browser.id, phone.id,
                               phone.household.id, browser.family, where.net, where.address, reply.verdict,
                               reply.status, first))

    # ---- an honest person looking at a stamp
    def look(self, cls: str, pack: Pack, phone: Phone, where: Where, rng: random.Random, *, share: bool = True,
             browser: Browser | None = None) -> Generator[float, None, Browser]:
        """Open the page with the phone's usual way of scanning; maybe reload, switch language, share the
        province. Returns the browser used."""
        browser = browser or phone.pick_browser(rng)
        if browser.volatile and rng.random() < 0.5:
            browser.jar.clear()
        reply = yield from self.page(cls, pack, browser, where, first=True)
        if rng.random() < self.p.reload:
            yield rng.uniform(60, 600)
            yield from self.page(cls, pack, browser, where, first=False)
        if rng.random() < self.p.switch_language:
            yield rng.uniform(10, 60)
            lang = "vi" if browser.jar.value("lang") == "en" else "en"
            url = ORIGIN + qr_path(self.inst.qr[pack.serial])
            back = self.request(browser, where, "GET", f"/lang/{lang}", referer=url)
            if back.status in (301, 302, 303) and back.headers.get("Location"):
                yield rng.uniform(1, 3)
                yield from self.page(cls, pack, browser, where, first=False)
        if share and rng.random() < self.p.share_province:
            yield rng.uniform(15, 60)
            yield from self.share(cls, reply, browser, where, where.province, rng)
        return browser

    def share(self, cls: str, reply: Reply, browser: Browser, where: Where, province: str, rng: random.Random) \
            -> Generator[float, None, bool]:
        """Follow the page's share link, if it offers one, and send its form with the province."""
        link = SHARE_LINK.search(reply.text)
        if not link:
            self.shares["no link"] += 1
            return False
        form_page = self.request(browser, where, "GET", htmlmod.unescape(link.group(1)))
        action, fields, selects = parse_form(form_page.text)
        choice = next((name for name, options in selects.items() if province in options), None)
        if form_page.status != 200 or action is None or choice is None:
            self.shares["no form"] += 1
            return False
        yield rng.uniform(5, 20)
        done = self.request(browser, where, "POST", action, data={**fields, choice: province})
        self.shares[f"{cls}: {done.status}"] += 1
        return done.status == 200

    def claim(self, cls: str, pack: Pack, browser: Browser, where: Where) -> None:
        """Scratch the foil and check the code (only when the pack has one and the app has the claim flow)."""
        code = hidden_code_of(self.inst, pack)
        if not self.claims_on or code is None:
            return
        reply = self.request(browser, where, "POST", "/api/v1/claim",
                             json_body={"code": self.inst.qr[pack.serial], "hidden_code": code})
        try:
            result = json.loads(reply.text).get("result") or json.loads(reply.text).get("status")
        except (ValueError, AttributeError):
            result = None
        self.claims.append((cls, pack.kind, f"{reply.status} {result or ''}".strip()))

    # ---- households
    def household(self, province: str, rng: random.Random) -> Household:
        if rng.random() < self.p.repeat_household:
            hh = self.people.returning(province, rng)
            if hh is not None:
                return hh
        return self.people.household(province, rng)


# =========================================================================== actors


def owner(sim: Sim, cls: str, packs: list[Pack], hh: Household, where: Where, rng: random.Random, *,
          gift_allowed: bool = True) -> Generator[float, None, None]:
    """A household that owns the packs: the first look (each pack), maybe a claim, then the other members, a
    later look, and a gift to another province."""
    phone = hh.phones[0]
    for n, pack in enumerate(packs):
        if n:
            yield rng.uniform(20, 90)
        gift = gift_allowed and rng.random() < sim.p.gift
        browser = yield from sim.look(cls, pack, phone, where, rng)
        if not gift and rng.random() < sim.p.claim:
            yield rng.uniform(30, 300)
            sim.claim(cls, pack, browser, where)
        if len(hh.phones) > 1 and rng.random() < sim.p.second_member:
            later = next_at_home(sim.now + rng.uniform(0, 18) * HOUR, rng, min_delay=0.2 * HOUR)
            sim.at(min(later, sim.now + DAY), member(sim, cls, pack, rng.choice(hh.phones[1:]),
                                                     sim.rng("member", pack.id, sim.seq)))
        if gift:
            sim.at(next_at_home(sim.now + rng.uniform(1, 14) * DAY, rng, min_delay=0),
                   gift_recipient(sim, cls, pack, hh.province, sim.rng("gift", pack.id, sim.seq)))
        elif rng.random() < sim.p.rescan:
            sim.at(next_at_home(sim.now + rng.uniform(2, 20) * DAY, rng, min_delay=0),
                   member(sim, cls, pack, phone, sim.rng("again", pack.id, sim.seq)))


def member(sim: Sim, cls: str, pack: Pack, phone: Phone, rng: random.Random) -> Generator[float, None, None]:
    """A household member (or the buyer again, days later) looks at the pack at home."""
    yield from sim.look(cls, pack, phone, sim.at_home(phone, rng), rng)


def gift_recipient(sim: Sim, cls: str, pack: Pack, giver: str, rng: random.Random) -> Generator[float, None, None]:
    """The pack travelled to another province (half the time more than 300 km away)."""
    province = sim.geo.random_province(rng, exclude=giver, far=rng.random() < sim.p.gift_far).code
    hh = sim.people.household(province, rng)
    recipient_cls = "gift recipient" if pack.kind == "genuine" else cls
    yield from owner(sim, recipient_cls, [pack], hh, sim.at_home(hh.phones[0], rng), rng, gift_allowed=False)


def buyer(sim: Sim, purchase: Purchase, cls: str, rng: random.Random) -> Generator[float, None, None]:
    """A scanning buyer: in the shop, or at home after the trip back (online orders: after delivery)."""
    p, outlet = sim.p, purchase.outlet
    tourist = outlet.kind != "online" and rng.random() < p.tourist
    home = sim.geo.random_province(rng, exclude=outlet.province).code if tourist else outlet.province
    hh = sim.household(home, rng)
    packs = purchase.packs[:1] + [pk for pk in purchase.packs[1:] if rng.random() < 0.5]
    if outlet.kind == "online":
        yield next_at_home(sim.now + rng.uniform(1, 4) * DAY, rng, min_delay=0) - sim.now
        where = sim.at_home(hh.phones[0], rng)
    elif rng.random() < p.in_shop:
        where = sim.in_shop(hh.phones[0], outlet, rng)
    else:
        yield next_at_home(sim.now + (rng.uniform(1, 5) * DAY if tourist else 0), rng) - sim.now
        where = sim.at_home(hh.phones[0], rng)
    yield from owner(sim, cls, packs, hh, where, rng)


def display_shopper(sim: Sim, d: Display, rng: random.Random) -> Generator[float, None, None]:
    """A shopper scans the pack on display (a household of its own; tourists too)."""
    province = d.outlet.province
    if rng.random() < sim.p.tourist:
        province = sim.geo.random_province(rng, exclude=province).code
    hh = sim.household(province, rng)
    phone = rng.choice(hh.phones)
    yield from sim.look("display pack", d.pack, phone, sim.in_shop(phone, d.outlet, rng), rng)


def display_times(d: Display, rng: random.Random) -> Iterator[float]:
    """Shopper arrivals at the display: a Poisson process of d.rate a day, in shop hours."""
    t = d.start
    while True:
        t += rng.expovariate(d.rate / DAY)
        if t >= d.end:
            return
        yield local_time(t / DAY, rng, SHOP_HOURS)


def viewer(sim: Sim, stream: Livestream, rng: random.Random) -> Generator[float, None, None]:
    """A livestream viewer scans the pack on the screen from home (half the browsers have no cookie)."""
    province = sim.geo.random_province(rng).code
    hh = (rng.random() < sim.p.viewer_returning and sim.people.returning(province, rng)) \
        or sim.people.household(province, rng)
    phone = rng.choice(hh.phones)
    browser = phone.pick_browser(rng)
    if rng.random() < sim.p.viewer_no_cookies:
        browser.jar.clear()
    yield from sim.look("livestream", stream.pack, phone, sim.at_home(phone, rng, wifi=0.7), rng, browser=browser)


def producer_check(sim: Sim, check: ProducerCheck, rng: random.Random) -> Generator[float, None, None]:
    """Staff scan label after label on the producer's wifi (main browser, persistent cookies)."""
    staff = sim.staff.get(check.run.province)
    if staff is None:
        staff = sim.staff[check.run.province] = sim.people.household(check.run.province, rng, phones=2)
    where = Where(sim.inst.producer_wifi[check.run.province], check.run.province, "office")
    for n, serial in enumerate(check.serials):
        if n:
            yield rng.uniform(10, 40)
        phone = staff.phones[n % check.phones]
        pack = sim.packs_by_serial.get(serial) or Pack(-1 - serial, serial, check.run, "genuine")
        yield from sim.page("producer test", pack, phone.browsers["main"], where, first=n == 0)


def schedule_market(sim: Sim, plan: Any) -> None:
    """Put every actor of the plan in the queue (buyers only if they scan: the rest make no request)."""
    for i, purchase in enumerate(plan.purchases):
        rng = sim.rng("purchase", i)
        if rng.random() < sim.p.scan_share:
            kind = purchase.packs[0].kind
            sim.at(purchase.at, buyer(sim, purchase, "normal buyer" if kind == "genuine" else kind, rng))
    for i, d in enumerate(plan.displays):
        rng = sim.rng("display", i)
        for j, t in enumerate(display_times(d, rng)):
            sim.at(t, display_shopper(sim, d, sim.rng("display", i, j)))
    for i, stream in enumerate(plan.livestreams):
        rng = sim.rng("stream", i)
        for j in range(stream.viewers):
            sim.at(stream.at + min(600.0, rng.expovariate(1 / 180)), viewer(sim, stream, sim.rng("stream", i, j)))
    for i, check in enumerate(plan.checks):
        sim.at(check.at, producer_check(sim, check, sim.rng("check", i)))


def probe_claims(web: Web) -> tuple[bool, str]:
    """Whether the claim flow exists: an empty POST /api/v1/claim (404: no such route in this branch)."""
    reply = web.send(-DAY, "POST", "/api/v1/claim", address="192.0.2.1", ua="copy-market probe", jar=None,
                     json_body={})
    if reply.status == 404:
        return False, "POST /api/v1/claim answered 404: no claim flow in this branch, claims skipped"
    return True, f"POST /api/v1/claim exists (probe answered {reply.status}): buyers claim"


# =========================================================================== market figures


def pct(part: float, whole: float) -> float | None:
    return None if not whole else 100.0 * part / whole


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def verdict_mix(loads: list[Load]) -> dict[str, int]:
    return dict(Counter(load.verdict for load in loads).most_common())


def copied_serial_figures(loads: list[Load], serials: list[int]) -> dict[str, Any]:
    """For each copied serial: was a fake pack of it ever shown suspected-copy, and how many phones had scanned
    a fake of it before that first time (the buyers fooled before detection)."""
    by_serial: dict[int, list[Load]] = defaultdict(list)
    for load in loads:
        by_serial[load.serial].append(load)
    flagged, scanned, before, never, days_to_flag = 0, 0, [], [], []
    for serial in serials:
        seen = by_serial.get(serial, [])
        if not seen:
            continue
        scanned += 1
        first = next((i for i, load in enumerate(seen) if load.verdict == "suspected-copy"), None)
        if first is None:
            never.append(len({load.phone for load in seen}))
            continue
        flagged += 1
        before.append(len({load.phone for load in seen[:first]}))
        days_to_flag.append((seen[first].t - seen[0].t) / DAY)
    return {"serials": len(serials), "scanned": scanned, "flagged": flagged,
            "flagged_pct_of_all": pct(flagged, len(serials)), "flagged_pct_of_scanned": pct(flagged, scanned),
            "devices_before_flag_median": quantile(before, 0.5), "devices_before_flag_p90": quantile(before, 0.9),
            "days_first_scan_to_flag_median": quantile(days_to_flag, 0.5),
            "unflagged_devices_median": quantile(never, 0.5), "unflagged_devices_max": max(never, default=None)}


def market_figures(sim: Sim, plan: Any) -> dict[str, Any]:
    loads = sim.loads
    copied = sorted({s for op in plan.ops for s in op.serials})
    originals = {plan.genuine[s].id for s in copied if s in plan.genuine}
    classes: dict[str, list[Load]] = defaultdict(list)
    for load in loads:
        classes[ORIGINALS if load.kind == "genuine" and load.pack in originals else load.cls].append(load)
    per_class = {}
    for cls in (*GENUINE_CLASSES, *FAKE_CLASSES, ORIGINALS):
        mine = classes.get(cls, [])
        packs = {load.pack for load in mine}
        flagged = {load.pack for load in mine if load.verdict == "suspected-copy"}
        per_class[cls] = {"packs": len(packs), "loads": len(mine), "verdicts": verdict_mix(mine),
                          "packs_flagged": len(flagged), "packs_flagged_pct": pct(len(flagged), len(packs)),
                          "loads_flagged_pct": pct(sum(l.verdict == "suspected-copy" for l in mine), len(mine)),
                          "refused_429": sim.refused[cls], "refused_429_first_look": sim.refused_first[cls],
                          "gave_up_after_429": sim.gave_up[cls]}
    genuine = [load for cls in GENUINE_CLASSES for load in classes.get(cls, [])]
    gpacks = {load.pack for load in genuine}
    gflagged = {load.pack for load in genuine if load.verdict == "suspected-copy"}
    fakes = [load for cls in FAKE_CLASSES for load in classes.get(cls, [])]
    fake_loads = [load for load in loads if load.kind != "genuine"]
    single = [s for op in plan.ops if op.kind == "single copy" for s in op.serials]
    sheet = [s for op in plan.ops if op.kind == "sheet copy" for s in op.serials]
    honest_classes = (*GENUINE_CLASSES, *FAKE_CLASSES)
    return {
        "classes": per_class,
        "copied_serials": {"all": copied_serial_figures(fake_loads, single + sheet),
                           "single copy": copied_serial_figures(fake_loads, single),
                           "sheet copy": copied_serial_figures(fake_loads, sheet)},
        "fake_loads_flagged_pct": pct(sum(l.verdict == "suspected-copy" for l in fakes), len(fakes)),
        "genuine_packs": len(gpacks), "genuine_packs_flagged": len(gflagged),
        "genuine_packs_flagged_pct": pct(len(gflagged), len(gpacks)),
        "genuine_loads": len(genuine),
        "genuine_loads_flagged_pct": pct(sum(l.verdict == "suspected-copy" for l in genuine), len(genuine)),
        "refused_429": sum(sim.refused[c] for c in honest_classes),
        "refused_429_first_look": sum(sim.refused_first[c] for c in honest_classes),
        "claims": {f"{cls} | {result}": n for (cls, _, result), n in sorted(Counter(sim.claims).items())},
        "shares": dict(sorted(sim.shares.items())),
    }


def world_sizes(sim: Sim, plan: Any, inst: Instance) -> dict[str, Any]:
    sold = Counter(pk.kind for pu in plan.purchases for pk in pu.packs)
    made = Counter(pk.kind for pk in plan.packs)
    return {
        "runs": [{"serials": f"{r.first}-{r.last}", "stamps": r.last - r.first + 1, "product": r.product,
                  "province": r.province, "hidden_codes": r.hidden, "printed_day": round(r.print_at / DAY, 1),
                  "also_sold_in": list(r.away)} for r in inst.runs],
        "packs_made": dict(made), "packs_sold": dict(sold), "genuine_unsold_or_unused":
            sum(r.last - r.first + 1 for r in inst.runs) - sold["genuine"],
        "purchases": len(plan.purchases), "shop_displays": len(plan.displays), "livestreams": len(plan.livestreams),
        "producer_checks": len(plan.checks),
        "copy_ops": [{"kind": op.kind, "serials": len(op.serials), "copies_per_serial": op.copies,
                      "fakes": op.fakes, "start_day": round(op.start / DAY, 1),
                      "weeks": round((op.end - op.start) / WEEK, 1), "provinces": op.provinces,
                      "hidden_code_copied": op.copied_code if op.run.hidden else None} for op in plan.ops],
        "outlets": len(plan.outlets), "households": len(sim.people.households), "phones": len(sim.people.phones),
        "browsers": len(sim.people.browsers), "requests": sim.web.requests, "page_loads": len(sim.loads),
    }


# =========================================================================== timelines (for checking by hand)


def clock(t: float) -> str:
    """Simulation time as day and local time of day."""
    return f"d{int(t // DAY):03d} {int(t % DAY // HOUR):02d}:{int(t % HOUR // 60):02d}"


def timelines(sim: Sim, plan: Any, n: int, seed: int) -> str:
    """Every page load of a few copied serials and genuine packs, in order: who, from where, what it showed."""
    rng = random.Random(f"{seed}:trace")
    by_serial: dict[int, list[Load]] = defaultdict(list)
    for load in sim.loads:
        by_serial[load.serial].append(load)
    copied = [s for op in plan.ops for s in op.serials if by_serial.get(s)]
    genuine_serials = sorted({l.serial for l in sim.loads if l.kind == "genuine"} - set(copied))
    flagged = sorted({l.serial for l in sim.loads if l.kind == "genuine" and l.verdict == "suspected-copy"}
                     - set(copied))
    pick = (rng.sample(copied, min(n, len(copied))) + rng.sample(flagged, min(n, len(flagged)))
            + rng.sample(genuine_serials, min(n, len(genuine_serials))))
    lines = []
    for serial in dict.fromkeys(pick):
        seen = by_serial[serial]
        lines.append(f"serial {serial}: {len(seen)} page loads, {len({l.phone for l in seen})} phones, "
                     f"{len({l.household for l in seen})} households")
        for l in seen[:60]:
            lines.append(f"  {clock(l.t)}  {l.cls:<14} pack {l.pack:>6} hh {l.household:>6} phone {l.phone:>6} "
                         f"{l.family:<16} {l.net:<9} {l.address:<40} {l.verdict}{'' if l.first else ' (again)'}")
        if len(seen) > 60:
            lines.append(f"  ... {len(seen) - 60} more")
    return "\n".join(lines)


# =========================================================================== the market scenario


def git_commit() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def set_up(root: str, params: Params, seed: int, traveller: Any, copy_rules: dict[str, Any] | None) \
        -> tuple[Geography, Networks, Instance, Web, bool, str]:
    geo = Geography()
    nets = Networks(random.Random(f"{seed}:networks"), geo, params)
    inst = build_instance(os.path.join(root, "instance"), params, random.Random(f"{seed}:registry"), geo, nets,
                          traveller, seed, copy_rules)
    CookieJar.clock_base = START.timestamp()
    web = Web(inst.app, traveller)
    claims, note = probe_claims(web)
    return geo, nets, inst, web, claims, note


def scans_rows(database: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM scans").fetchone()[0]


def run_market(args: argparse.Namespace, params: Params) -> dict[str, Any]:
    wall = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ocop-copy-market-", dir=args.tmpdir) as root, \
            time_machine.travel(START, tick=False) as traveller:
        geo, nets, inst, web, claims, note = set_up(root, params, args.seed, traveller, args.copy_rules)
        planner = Planner(random.Random(f"{args.seed}:world"), params, geo, nets)
        planner.genuine(inst.runs)
        planner.livestreams()
        planner.copy_ops(inst.runs)
        plan = planner.plan
        sim = Sim(inst, web, params, geo, nets, args.seed, claims)
        sim.packs_by_serial = plan.genuine
        schedule_market(sim, plan)
        sim.run(progress=not args.json)
        result = {"scenario": "market", "seed": args.seed, "scale": params.scale, "days": params.days,
                  "commit": git_commit(), "copy_rules": args.copy_rules or {}, "claims": note,
                  "sizes": world_sizes(sim, plan, inst), "figures": market_figures(sim, plan),
                  "scans_rows": scans_rows(inst.database)}
        if args.trace:
            result["timelines"] = timelines(sim, plan, args.trace, args.seed)
    result["wall_s"] = time.monotonic() - wall
    return result


def fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def market_report(res: dict[str, Any]) -> str:
    s, f = res["sizes"], res["figures"]
    out = [f"Copy market: seed {res['seed']}, scale {res['scale']}, {res['days']} days, app commit {res['commit']}, "
           f"wall time {res['wall_s']:.0f} s",
           f"copy rules: {json.dumps(res['copy_rules']) if res['copy_rules'] else 'the defaults'}; {res['claims']}",
           f"world: {len(s['runs'])} runs ({', '.join(str(r['stamps']) for r in s['runs'])} stamps; hidden codes on "
           f"{sum(r['hidden_codes'] for r in s['runs'])}), packs sold: " +
           ", ".join(f"{k} {v:,}" for k, v in s["packs_sold"].items()) +
           f"; genuine labels unsold or unused {s['genuine_unsold_or_unused']:,}",
           f"       {len(s['copy_ops'])} copy operations ({sum(op['kind'] == 'single copy' for op in s['copy_ops'])} "
           f"single, {sum(op['kind'] == 'sheet copy' for op in s['copy_ops'])} sheets), {s['shop_displays']} shop "
           f"displays, {s['livestreams']} livestreams, {s['producer_checks']} producer checks, {s['outlets']} outlets",
           f"       {s['households']:,} households, {s['phones']:,} phones, {s['browsers']:,} browsers; "
           f"{s['requests']:,} requests, {s['page_loads']:,} page loads; scans rows {res['scans_rows']:,}", ""]
    verdicts = ["genuine", "warning", "suspected-copy"]
    for c in f["classes"].values():
        verdicts += [v for v in c["verdicts"] if v not in verdicts]
    out.append(f"{'class':<36} {'packs':>7} {'loads':>7} " + " ".join(f"{v[:14]:>14}" for v in verdicts)
               + f" {'packs flagged':>14} {'429':>5}")
    for cls, c in f["classes"].items():
        mix = " ".join(f"{fmt(pct(c['verdicts'].get(v, 0), c['loads']), '.1f', '%'):>14}" for v in verdicts)
        out.append(f"{cls:<36} {c['packs']:>7,} {c['loads']:>7,} {mix} "
                   f"{fmt(c['packs_flagged_pct'], '.1f', '%'):>14} {c['refused_429']:>5}")
    out.append("")
    out.append("Target figures")
    for kind in ("all", "single copy", "sheet copy"):
        c = f["copied_serials"][kind]
        out.append(f"  copied serials flagged ({kind}): {fmt(c['flagged_pct_of_all'], '.1f', '%')} of "
                   f"{c['serials']:,} ({fmt(c['flagged_pct_of_scanned'], '.1f', '%')} of the {c['scanned']:,} "
                   f"scanned); phones that scanned a fake before the first suspected-copy: median "
                   f"{fmt(c['devices_before_flag_median'], '.0f')}, p90 {fmt(c['devices_before_flag_p90'], '.0f')}")
        out.append(f"      first fake scan to flag: median {fmt(c['days_first_scan_to_flag_median'], '.1f')} days; "
                   f"never-flagged serials were scanned by a median {fmt(c['unflagged_devices_median'], '.0f')} "
                   f"phones (max {fmt(c['unflagged_devices_max'], '.0f')})")
    out.append(f"  fake-pack page loads shown suspected-copy: {fmt(f['fake_loads_flagged_pct'], '.1f', '%')}")
    out.append(f"  scanned genuine packs ever shown suspected-copy: {fmt(f['genuine_packs_flagged_pct'], '.2f', '%')}"
               f" ({f['genuine_packs_flagged']:,} of {f['genuine_packs']:,}; originals of copied serials excluded)")
    out.append("      per class: " + ", ".join(f"{cls} {fmt(f['classes'][cls]['packs_flagged_pct'], '.2f', '%')}"
                                         for cls in GENUINE_CLASSES))
    out.append(f"  genuine page loads shown suspected-copy: {fmt(f['genuine_loads_flagged_pct'], '.2f', '%')} of "
               f"{f['genuine_loads']:,}")
    out.append(f"  honest requests refused with 429: {f['refused_429']} ({f['refused_429_first_look']} on a "
               "shopper's first look at a pack" + (": REFUSED FIRST LOOKS" if f['refused_429_first_look'] else "")
               + ")")
    if f["claims"]:
        out.append("  claims: " + ", ".join(f"{k}: {v}" for k, v in f["claims"].items()))
    out.append("  province shares: " + (", ".join(f"{k}: {v}" for k, v in f["shares"].items()) or "none"))
    out.append("")
    out.append("Definitions: a copied serial is flagged when any page load of a fake pack carrying it showed "
               "suspected-copy; 'phones before' counts distinct phones (not browsers) that loaded a fake of it "
               "earlier; a genuine class's pack is flagged when that class was shown suspected-copy on it; the "
               "genuine packs carrying a copied serial are the 'original' line, not the genuine figures.")
    if res.get("timelines"):
        out += ["", "Timelines (day and local time, class, pack, household, phone, browser, network, address, "
                    "verdict)", res["timelines"]]
    return "\n".join(out)


# =========================================================================== the framing scenario

TECHNIQUES = ("cookieless", "random cookie", "copied cookie", "farmed cookies", "typed serial", "api",
              "provinces", "hidden codes", "neighbours", "everything")
ATTACKERS = (("1 x IPv4 /24", 1, False), ("2 x IPv4 /24", 2, False), ("3 x IPv4 /24", 3, False),
             ("3 x IPv6 /48", 3, True))
# requests per target and wave, by technique ("neighbours": every serial within 10 of the target but the target
# itself, once from each of the attacker's networks; "everything": all of them on one target)
PER_WAVE = {"cookieless": 40, "random cookie": 20, "copied cookie": 20, "farmed cookies": 20, "typed serial": 20,
            "api": 20, "provinces": 12, "hidden codes": 10}
FAR_PAIRS = (("01", "79"), ("22", "96"), ("20", "91"), ("04", "92"))  # Hà Nội-HCM, Quảng Ninh-Cà Mau, ...
SLOT = 100  # serials between two targets: far more than any neighbourhood a rule could sensibly look at


@dataclass(eq=False)
class Target:
    serial: int
    attacker: str
    technique: str
    role: str  # untouched | scanned (by its buyer's household before the attack) | neighbour (serial + 2)
    pack: Pack


@dataclass(eq=False)
class Attacker:
    name: str
    networks: list[str]
    v6: bool
    rng: random.Random
    uas: list[str]
    own: list[int] = field(default_factory=list)  # serials of the genuine packs it bought
    own_jar: CookieJar = field(default_factory=CookieJar)  # its own phone's real browser
    farmed: list[CookieJar] = field(default_factory=list)
    cookie: tuple[str, int] | None = None  # the device cookie's name and length, as observed
    requests: int = 0
    refused: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    turn: int = 0

    def address(self) -> str:
        net = self.rng.choice(self.networks)
        return Networks.v6_address(net, self.rng) if self.v6 else f"{net}.{self.rng.randint(1, 254)}"


class Framing:
    """Attackers and their targets, on a Sim whose honest shoppers scan the targets afterwards."""

    def __init__(self, sim: Sim, fp: dict[str, Any]) -> None:
        self.sim, self.fp = sim, fp
        self.rng = sim.rng("framing")
        self.targets: list[Target] = []
        self.attackers: list[Attacker] = []
        self.waves: list[float] = []
        self.pack_ids = iter(range(1_000_000, 2_000_000))

    # ---- set-up
    def pack(self, serial: int) -> Pack:
        run = next(r for r in self.sim.inst.runs if r.first <= serial <= r.last)
        return Pack(next(self.pack_ids), serial, run, "genuine")

    def choose(self) -> None:
        """Targets (serials SLOT apart, hidden-code runs for the hidden-code technique) and attackers."""
        rng, sim = self.rng, self.sim
        slots: dict[bool, list[int]] = {True: [], False: []}
        for run in sim.inst.runs:
            slots[run.hidden] += list(range(run.first + SLOT // 2, run.last - SLOT // 2, SLOT))
        for pool in slots.values():
            rng.shuffle(pool)
        techniques = [t for t in TECHNIQUES if t != "hidden codes" or sim.claims_on]
        for name, n, v6 in ATTACKERS:
            province = sim.geo.random_province(rng).code
            isp = sim.nets.pick_isp(rng)
            if v6:
                networks = [sim.nets.v6_prefix(isp, rng) for _ in range(n)]
            else:
                networks = rng.sample(sim.nets.home[(isp, province)], n)
            uas = [user_agent_any(rng) for _ in range(24)]
            atk = Attacker(name, networks, v6, random.Random(f"{sim.seed}:attacker:{name}"), uas)
            atk.own = [slots[False].pop() for _ in range(3)]
            self.attackers.append(atk)
            for technique in techniques:
                for i in range(self.fp["targets"]):
                    serial = slots[technique == "hidden codes" or (i % 2 == 0 and bool(slots[True]))].pop()
                    role = "untouched" if i % 2 == 0 or technique == "neighbours" else "scanned"
                    self.targets.append(Target(serial, name, technique, role, self.pack(serial)))
                    if technique != "neighbours":
                        self.targets.append(Target(serial + 2, name, technique, "neighbour", self.pack(serial + 2)))

    # ---- the attacker's requests
    def send(self, atk: Attacker, method: str, path: str, jar: CookieJar | None, **kw: Any) -> Reply:
        reply = self.sim.web.send(self.sim.now, method, path, address=kw.pop("address", None) or atk.address(),
                                  ua=atk.rng.choice(atk.uas), jar=jar, actor="attacker", **kw)
        atk.requests += 1
        if reply.status == 429:
            atk.refused += 1
        verdict = reply.verdict
        if verdict.startswith("http-") and reply.text.startswith("{"):
            try:
                verdict = json.loads(reply.text).get("verdict") or verdict
            except ValueError:
                pass
        atk.verdicts[verdict] += 1
        if atk.cookie is None and jar is not None and jar.cookies:
            name, (value, _) = next(iter(jar.cookies.items()))
            atk.cookie = (name, len(value))
        return reply

    def random_cookie_jar(self, atk: Attacker) -> CookieJar:
        """A jar with a random value of the device cookie's observed name and form."""
        jar = CookieJar()
        if atk.cookie:
            name, length = atk.cookie
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            jar.cookies[name] = ("".join(atk.rng.choice(alphabet) for _ in range(length)), None)
        return jar

    def copied_jar(self, atk: Attacker) -> CookieJar:
        jar = CookieJar()
        jar.cookies = dict(atk.own_jar.cookies)
        return jar

    def step(self, atk: Attacker, target: Target, technique: str) -> Generator[float, None, None]:
        """One attempt of a technique on a target (a few requests for a province share)."""
        sim, qr = self.sim, self.sim.inst.qr[target.serial]
        path = qr_path(qr)
        if technique == "cookieless":
            self.send(atk, "GET", path, None)
        elif technique == "random cookie":
            self.send(atk, "GET", path, self.random_cookie_jar(atk))
        elif technique == "copied cookie":
            self.send(atk, "GET", path, self.copied_jar(atk))
        elif technique == "farmed cookies":
            atk.turn += 1
            self.send(atk, "GET", path, atk.farmed[atk.turn % len(atk.farmed)])
        elif technique == "typed serial":
            from stamp_service.stamps.serials import format_serial  # the text printed under the QR code
            atk.turn += 1
            jar = atk.farmed[atk.turn % len(atk.farmed)] if atk.turn % 2 else None
            self.send(atk, "GET", "/check?" + urlencode({"serial": format_serial(target.serial)}), jar)
        elif technique == "api":
            self.send(atk, "GET", "/api/v1/verify?" + urlencode({"code": qr}), None)
        elif technique == "provinces":
            atk.turn += 1
            pair = FAR_PAIRS[atk.turn // 2 % len(FAR_PAIRS)]
            province = pair[atk.turn % 2]
            jar, address = CookieJar(), atk.address()
            if atk.turn % 3:
                self.send(atk, "GET", f"{path}?tinh={province}", jar, address=address)
            else:
                page = self.send(atk, "GET", path, jar, address=address)
                link = SHARE_LINK.search(page.text)
                if link:
                    yield atk.rng.uniform(2, 8)
                    form = self.send(atk, "GET", htmlmod.unescape(link.group(1)), jar, address=address)
                    action, fields, selects = parse_form(form.text)
                    choice = next((n for n, options in selects.items() if province in options), None)
                    if action and choice:
                        yield atk.rng.uniform(2, 8)
                        self.send(atk, "POST", action, jar, address=address, data={**fields, choice: province})
        elif technique == "hidden codes":
            self.send(atk, "POST", "/api/v1/claim", CookieJar(),
                      json_body={"code": qr, "hidden_code": f"{atk.rng.randrange(10**8):08d}"})

    def neighbour_steps(self, atk: Attacker, target: Target, skip: set[int]) -> list[tuple[Target, str]]:
        """Every serial within 10 of the target (but those in skip) once from each network."""
        out = []
        for serial in range(target.serial - 10, target.serial + 11):
            if serial in skip:
                continue
            for _ in atk.networks:
                out.append((Target(serial, atk.name, "neighbour scan", "attack", self.pack(serial)), "cookieless"))
        return out

    def wave(self, atk: Attacker, minutes: float) -> Generator[float, None, None]:
        """Every target of the attacker, every technique, in one burst of `minutes`, in random order."""
        steps: list[tuple[Target, str]] = []
        k = self.fp["intensity"]
        for target in self.targets:
            if target.attacker != atk.name or target.role == "neighbour":
                continue
            if target.technique == "neighbours":
                steps += self.neighbour_steps(atk, target, {target.serial})
            elif target.technique == "everything":
                steps += [(target, t) for t, n in PER_WAVE.items()
                          if t != "hidden codes" or self.sim.claims_on for _ in range(max(1, round(n * k)))]
                steps += self.neighbour_steps(atk, target, {target.serial, target.serial + 2})
            else:
                steps += [(target, target.technique)] * max(1, round(PER_WAVE[target.technique] * k))
        atk.rng.shuffle(steps)
        gap = minutes * 60 / max(1, len(steps))
        for target, technique in steps:
            yield from self.step(atk, target, technique)
            yield atk.rng.uniform(0, 2 * gap)

    def prepare(self, atk: Attacker) -> Generator[float, None, None]:
        """Before the attack: its own phone scans the packs it bought (a real cookie with a history), and it
        farms cookies by visiting pages with fresh jars (half of them also scan one of its own packs)."""
        for serial in atk.own:
            self.send(atk, "GET", qr_path(self.sim.inst.qr[serial]), atk.own_jar)
            yield atk.rng.uniform(600, 7200)
        for _ in range(self.fp["farmed"]):
            jar = CookieJar()
            self.send(atk, "GET", "/check", jar)
            if atk.rng.random() < 0.5:
                yield atk.rng.uniform(5, 60)
                self.send(atk, "GET", qr_path(self.sim.inst.qr[atk.rng.choice(atk.own)]), jar)
            atk.farmed.append(jar)
            yield atk.rng.uniform(30, 300)

    # ---- the honest side
    def honest(self, target: Target, before: bool) -> Generator[float, None, None]:
        """The buyer's household: a look before the attack (scanned targets), or after; another member (p 0.3);
        a gift recipient in another province 1-3 days later (p 0.1)."""
        sim, rng = self.sim, self.sim.rng("honest", target.serial)
        hh = sim.people.household(target.pack.run.province, rng)
        if before:
            yield from sim.look("honest buyer", target.pack, hh.phones[0], sim.at_home(hh.phones[0], rng), rng)
            if target.role != "scanned":
                return
            yield self.after_time(rng) - sim.now
        where = (sim.at_home(hh.phones[0], rng) if rng.random() < 0.65
                 else sim.mobile(hh.phones[0], hh.province, rng))
        yield from sim.look("honest buyer", target.pack, hh.phones[0], where, rng)
        if len(hh.phones) > 1 and rng.random() < 0.3:
            sim.at(sim.now + rng.uniform(0.2, 12) * HOUR,
                   member(sim, "honest buyer", target.pack, hh.phones[1], sim.rng("honest member", target.serial)))
        if rng.random() < 0.1:
            sim.at(sim.now + rng.uniform(1, 3) * DAY,
                   gift_recipient(sim, "honest gift", target.pack, hh.province, sim.rng("honest gift", target.serial)))

    def after_time(self, rng: random.Random) -> float:
        """When an honest look during or after the attack happens: half during a wave or within the hour after
        it, half on a random day from the first wave to 3 days after the last, in shop hours."""
        if rng.random() < 0.5:
            start, minutes = rng.choice(self.waves)
            return start + rng.uniform(0, minutes * 60 + HOUR)
        first, last = self.waves[0][0], self.waves[-1][0] + 3 * DAY
        while True:
            t = local_time(rng.uniform(first, last) / DAY, rng, SHOP_HOURS)
            if first <= t <= last:
                return t

    def schedule(self) -> None:
        sim, rng = self.sim, self.rng
        lo, hi = self.fp["wave_minutes"]
        self.waves = sorted((local_time(rng.uniform(2, 5), rng, SHOP_HOURS),
                             math.exp(rng.uniform(math.log(lo), math.log(hi)))) for _ in range(self.fp["waves"]))
        for atk in self.attackers:
            sim.at(0.5 * DAY + rng.uniform(0, 6) * HOUR, self.prepare(atk))
            for t, minutes in self.waves:
                sim.at(t + rng.uniform(0, 120), self.wave(atk, minutes))
        for target in self.targets:
            if target.role == "scanned":
                sim.at(rng.uniform(0.2, 1.5) * DAY, self.honest(target, True))
            else:
                sim.at(self.after_time(self.sim.rng("after", target.serial)), self.honest(target, False))
        sim.horizon = self.waves[-1][0] + 7 * DAY


def user_agent_any(rng: random.Random) -> str:
    from _market_world import user_agent
    return user_agent(rng.choice(("iOS", "Android")), rng.choice(("main", "zalo", "facebook")), rng)[0]


def framing_figures(fr: Framing) -> dict[str, Any]:
    sim = fr.sim
    honest_verdicts: dict[int, list[str]] = defaultdict(list)
    for load in sim.loads:
        honest_verdicts[load.serial].append(load.verdict)
    attacked_before = {load.serial for load in sim.loads if load.cls == "honest buyer" and load.t < fr.waves[0][0]}
    per_attacker: dict[str, Any] = {}
    matrix: dict[str, dict[str, str]] = defaultdict(dict)
    rows_per_request = 1000 * sim.web.rows["attacker"] / max(1, sum(a.requests for a in fr.attackers))
    for atk in fr.attackers:
        mine = [t for t in fr.targets if t.attacker == atk.name]
        stats = {}
        for role in ("untouched", "scanned", "neighbour"):
            group = [t for t in mine if t.role == role]
            framed = [t for t in group if "suspected-copy" in honest_verdicts.get(t.serial, [])]
            unseen = [t for t in group if not honest_verdicts.get(t.serial)]
            stats[role] = {"targets": len(group), "framed": len(framed), "never_scanned_by_honest": len(unseen)}
        for technique in TECHNIQUES:
            group = [t for t in mine if t.technique == technique]
            if not group:
                matrix[technique][atk.name] = "n/a"
                continue
            main = [t for t in group if t.role != "neighbour"]
            side = [t for t in group if t.role == "neighbour"]
            framed = sum("suspected-copy" in honest_verdicts.get(t.serial, []) for t in main)
            side_framed = sum("suspected-copy" in honest_verdicts.get(t.serial, []) for t in side)
            matrix[technique][atk.name] = f"{framed}/{len(main)}" + (f" +{side_framed}/{len(side)}" if side else "")
        per_attacker[atk.name] = {**stats, "requests": atk.requests, "refused_429": atk.refused,
                                  "attacker_saw": dict(atk.verdicts.most_common())}
    return {"attackers": per_attacker, "techniques": dict(matrix),
            "honest_loads": len(sim.loads), "honest_verdicts": verdict_mix(sim.loads),
            "honest_refused_429": sum(sim.refused.values()), "honest_refused_first_look": sum(sim.refused_first.values()),
            "attacker_requests": sum(a.requests for a in fr.attackers),
            "scans_rows_added_by_attackers": sim.web.rows["attacker"],
            "scans_rows_per_1000_attacker_requests": rows_per_request,
            "scans_rows_added_by_honest": sim.web.rows["honest"], "scanned_before_attack": len(attacked_before),
            "waves": [f"day {w / DAY:.2f}, {m:.0f} min" for w, m in fr.waves]}


def table_rows(database: str) -> dict[str, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
                for n in ("scans", "claim_attempts", "claims", "suspicions", "reports") if n in names}


def run_framing(args: argparse.Namespace, params: Params) -> dict[str, Any]:
    wall = time.monotonic()
    fp = {"targets": 2 if args.quick else 4, "waves": 3 if args.quick else 6, "intensity": 1.0,
          "farmed": 60 if args.quick else 150, "wave_minutes": (10, 180)}
    needed = len(ATTACKERS) * (len(TECHNIQUES) * fp["targets"] + 3) * SLOT
    size = needed // len(Params().print_days) + 4 * SLOT
    params = dataclasses.replace(params, run_sizes=(size, size), scale=1.0,
                                 print_days=(-1.0, -1.0, -1.0, -1.0))
    with tempfile.TemporaryDirectory(prefix="ocop-copy-framing-", dir=args.tmpdir) as root, \
            time_machine.travel(START, tick=False) as traveller:
        geo, nets, inst, web, claims, note = set_up(root, params, args.seed, traveller, args.copy_rules)
        sim = Sim(inst, web, params, geo, nets, args.seed, claims)
        fr = Framing(sim, fp)
        fr.choose()
        fr.schedule()
        web.count_rows(inst.database)
        sim.run(progress=not args.json)
        res = {"scenario": "framing", "seed": args.seed, "commit": git_commit(), "copy_rules": args.copy_rules or {},
               "claims": note, "settings": {**fp, "attackers": [a[0] for a in ATTACKERS],
                                            "techniques": list(TECHNIQUES), "per_wave": PER_WAVE},
               "figures": framing_figures(fr), "tables": table_rows(inst.database),
               "runs": [r.last - r.first + 1 for r in inst.runs], "requests": web.requests}
    res["wall_s"] = time.monotonic() - wall
    return res


def framing_report(res: dict[str, Any]) -> str:
    f, st = res["figures"], res["settings"]
    out = [f"Framing: seed {res['seed']}, app commit {res['commit']}, wall time {res['wall_s']:.0f} s",
           f"copy rules: {json.dumps(res['copy_rules']) if res['copy_rules'] else 'the defaults'}; {res['claims']}",
           f"{len(st['attackers'])} attackers, {st['targets']} targets per technique (half untouched, half scanned "
           f"by their household before the attack) + an untouched neighbour (serial + 2) each; {st['waves']} waves "
           f"({'; '.join(f['waves'])}); {st['farmed']} farmed cookies each; runs of "
           f"{', '.join(str(n) for n in res['runs'])} stamps; {res['requests']:,} requests in all", ""]
    out.append(f"{'attacker':<14} {'requests':>9} {'429':>6} {'untouched framed':>17} {'scanned framed':>15} "
               f"{'neighbours framed':>18}  what the attacker saw")
    for name, a in f["attackers"].items():
        out.append(f"{name:<14} {a['requests']:>9,} {a['refused_429']:>6,} "
                   f"{a['untouched']['framed']:>8}/{a['untouched']['targets']:<8} "
                   f"{a['scanned']['framed']:>7}/{a['scanned']['targets']:<7} "
                   f"{a['neighbour']['framed']:>9}/{a['neighbour']['targets']:<8}  "
                   + ", ".join(f"{v} {n}" for v, n in list(a["attacker_saw"].items())[:5]))
    out.append("")
    names = list(f["attackers"])
    out.append(f"{'technique (framed targets +framed neighbours)':<46}" + "".join(f"{n:>16}" for n in names))
    for technique, cells in f["techniques"].items():
        out.append(f"{technique:<46}" + "".join(f"{cells.get(n, '-'):>16}" for n in names))
    out.append("")
    out.append(f"honest page loads: {f['honest_loads']:,} ({', '.join(f'{v} {n}' for v, n in f['honest_verdicts'].items())}); "
               f"honest requests refused with 429: {f['honest_refused_429']} ({f['honest_refused_first_look']} first looks)")
    out.append(f"database: {f['scans_rows_added_by_attackers']:,} scans rows from {f['attacker_requests']:,} attacker "
               f"requests = {f['scans_rows_per_1000_attacker_requests']:.0f} rows per 1,000 attacker requests; "
               f"tables at the end: " + ", ".join(f"{k} {v:,}" for k, v in res["tables"].items()))
    out.append("A stamp is framed when any honest page load of it (its buyer's household, a gift recipient) showed "
               "suspected-copy.")
    return "\n".join(out)


# =========================================================================== main


def default_tmpdir() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("market", "framing"), default="market")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=None,
                        help="world size: runs, shops, operations, livestreams (default 1.0; --quick 0.15)")
    parser.add_argument("--quick", action="store_true", help="a small world (about 30 s)")
    parser.add_argument("--days", type=int, default=120, help="length of the season (market)")
    parser.add_argument("--copy-rules", type=json.loads, default=None,
                        help="COPY_RULES for the app, as JSON (default: the app's own defaults)")
    parser.add_argument("--trace", type=int, default=0, metavar="N",
                        help="also print the timelines of N copied serials, N flagged and N other genuine packs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--tmpdir", default=default_tmpdir(),
                        help="where the throw-away instance lives (default /dev/shm when there is one: a disk's "
                             "fsync per scan is not what this measures, and it doubles the wall time)")
    args = parser.parse_args(argv)
    if args.scale is None:
        args.scale = 0.15 if args.quick else 1.0
    if args.scale <= 0 or args.days < 30:
        parser.error("--scale must be positive and --days at least 30")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = dataclasses.replace(Params(), scale=args.scale, days=args.days)
    if args.scenario == "market":
        res = run_market(args, params)
        text = market_report(res)
    else:
        res = run_framing(args, params)
        text = framing_report(res)
    print(json.dumps(res, indent=2, default=str) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
