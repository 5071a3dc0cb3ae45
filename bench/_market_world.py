"""The world of the copy-market simulation (bench/copy_market.py): provinces, networks, households with their
phones and browsers, shops, and the plan of which pack is sold where and when, genuine and fake.

No Flask and nothing of the app's rules here: this module only describes the world. The runner drives the app
through its public URLs. Every parameter is in Params, with the reason for its value; copy_market's docstring
describes the model as a whole.

Times are seconds from the start of the simulation, which is 00:00 local time (UTC+7) on day 0.
"""

from __future__ import annotations

import csv
import ipaddress
import math
import random
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from importlib import resources
from typing import Any

from stamp_service.registry import places

HOUR = 3600.0
DAY = 24 * HOUR
WEEK = 7 * DAY


# =========================================================================== parameters


@dataclass(frozen=True)
class Params:
    """Everything the world is made of. Counts marked 'scaled' are multiplied by --scale; intensities per stamp
    (copies per serial, scans per buyer) never are, so a smaller world shows the same per-stamp behaviour."""

    days: int = 120  # a season: long enough for 8-week fake campaigns started up to day 80 to run out
    # ---- genuine supply
    run_sizes: tuple[int, int] = (2000, 5000)  # stamps per run (scaled); 4 runs, one per product
    hidden_runs: tuple[bool, ...] = (True, False, True, False)  # about half the runs are two-layer stamps
    print_days: tuple[float, ...] = (0.5, 6.0, 15.0, 30.0)  # runs printed one after another in the season
    unused_share: float = 0.08  # labels never applied: spare sheets, misprints (the "unused" sheet originals)
    carton: tuple[int, int] = (12, 30)  # consecutive serials in one carton, to one shop
    ship_span_days: float = 75.0  # a run's cartons are shipped over this many days after printing
    shelf_mean_days: float = 12.0  # a pack waits on the shelf this long on average (exponential); later: unsold
    home_share: float = 0.8  # cartons sold in the producer's province; the rest in 1-3 other provinces
    home_shops: int = 14  # shops stocking a product in the producer's province (scaled)
    away_shops: tuple[int, int] = (4, 8)  # ... in each other province (scaled)
    multi_pack: float = 0.15  # a purchase of 2-4 consecutive packs of one carton (scanned each with p 0.5)
    # ---- shoppers
    scan_share: float = 1 / 3  # about one buyer in three scans
    in_shop: float = 0.35  # a scanning buyer scans in the shop; otherwise at home 0.5-30 h later
    shop_wifi_use: float = 0.5  # in a shop with customer wifi, the phone is on it
    home_wifi: float = 0.85  # at home, the phone is on the home wifi (else mobile data)
    reload: float = 0.25  # reloads the page within minutes
    switch_language: float = 0.05  # GET /lang/en (or vi) and the page again
    share_province: float = 0.12  # shares their province through the page's link
    second_member: float = 0.3  # another phone of the household scans within a day
    rescan: float = 0.15  # the buyer scans again 2-20 days later
    gift: float = 0.10  # the pack is carried to another province and scanned there 1-14 days later
    gift_far: float = 0.5  # ... half of them more than 300 km away
    tourist: float = 0.08  # a buyer from another province (specialties bought on a trip), scans at home later
    repeat_household: float = 0.10  # the buyer is a household that bought (and scanned) before
    claim: float = 0.35  # a buyer of a two-layer pack scratches and checks the hidden code
    # ---- shop display packs
    display_weeks: tuple[int, int] = (2, 8)
    display_rate: tuple[float, float] = (0.1, 1.2)  # shoppers (households) scanning it per day
    # ---- producers
    test_scans: tuple[int, int] = (10, 40)  # consecutive serials test-scanned right after printing
    rechecks: tuple[int, int] = (1, 3)  # later re-check occasions per run, 1-5 serials each
    # ---- livestreams
    livestreams: int = 6  # (scaled)
    viewers: tuple[int, int] = (20, 80)
    viewer_returning: float = 0.4  # a viewer has scanned one of our stamps before (followers are buyers)
    viewer_no_cookies: float = 0.5  # ... but the browser has no cookie (private tab, in-app, another phone)
    # ---- counterfeiters
    single_ops: int = 20  # (scaled)
    single_copies: tuple[int, int] = (200, 3000)  # fake packs under one copied stamp (log-uniform)
    sheet_ops: int = 6  # (scaled)
    sheet_serials: tuple[int, int] = (20, 65)  # consecutive serials on a photocopied sheet
    sheet_copies: tuple[int, int] = (30, 200)  # photocopies of the sheet: fake packs per serial
    op_start_days: float = 80.0  # operations start at a random time within the first 80 days
    op_weeks: tuple[int, int] = (2, 8)  # an operation sells its fakes over 2-8 weeks
    op_provinces: tuple[int, int] = (1, 5)
    copied_code: float = 0.5  # the counterfeiter scratched a genuine pack and printed its hidden code on fakes
    # ---- networks
    isp_pool: int = 150  # /24s per residential ISP and province
    subscribers_per_24: int = 250  # (documentation: strangers share a /24; the pool is drawn at random)
    ip_move_per_week: float = 0.1  # a home's dynamic address moves to another /24 of the pool
    carrier_pool: int = 24  # /24s per mobile carrier and region (carrier-grade NAT)
    ipv6_homes: float = 0.15  # homes with IPv6 on the wifi (a stable /48)
    shop_wifi: float = 0.4  # shops with customer wifi (one address, shared by everyone in the shop)
    scale: float = 1.0

    def scaled(self, n: float) -> int:
        return max(1, round(n * self.scale))


# =========================================================================== geography

# Population in millions of the 34 provinces after the 2025 merger (rounded sums of the merged provinces; only
# used as weights: where shoppers, gift recipients and livestream viewers live).
POPULATION = {
    "01": 8.7, "04": 0.57, "08": 1.87, "11": 0.64, "12": 0.49, "14": 1.3, "15": 1.78, "19": 1.8, "20": 0.8,
    "22": 1.4, "24": 3.6, "25": 4.0, "31": 4.7, "33": 3.6, "37": 4.4, "38": 4.3, "40": 3.8, "42": 1.6, "44": 1.9,
    "46": 1.4, "48": 3.1, "51": 2.2, "52": 3.6, "56": 2.2, "66": 3.3, "68": 3.9, "75": 4.5, "79": 14.0,
    "80": 3.3, "82": 4.4, "86": 4.3, "91": 4.9, "92": 4.2, "96": 2.6,
}


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    lat: float
    lon: float
    weight: float
    region: str  # north / centre / south: the mobile carriers' gateways


def load_provinces() -> dict[str, Province]:
    """The registry's provinces with their seats (the app's package data) and population weights."""
    source = resources.files("stamp_service").joinpath("data", "province_centres.csv")
    with source.open("r", encoding="utf-8", newline="") as fh:
        seats = {row["province_code"]: (float(row["lat"]), float(row["lon"])) for row in csv.DictReader(fh)}
    out = {}
    for p in places.provinces():
        lat, lon = seats[p.code]
        region = "north" if lat >= 19.0 else "centre" if lat >= 11.5 else "south"
        out[p.code] = Province(p.code, p.name, lat, lon, POPULATION.get(p.code, 1.0), region)
    return out


def distance_km(a: Province, b: Province) -> float:
    """Great-circle distance between two provinces' seats."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2)
    return 2 * 6371 * math.asin(math.sqrt(h))


def weighted(rng: random.Random, items: list[Any], weights: list[float]) -> Any:
    return rng.choices(items, weights)[0]


class Geography:
    def __init__(self) -> None:
        self.provinces = load_provinces()
        self.codes = sorted(self.provinces)

    def random_province(self, rng: random.Random, *, exclude: str | None = None,
                        far: bool | None = None) -> Province:
        """A province by population; far=True: 300 km or more from `exclude`, far=False: less."""
        origin = self.provinces[exclude] if exclude else None
        pool = []
        for code in self.codes:
            p = self.provinces[code]
            if origin is not None:
                if code == origin.code:
                    continue
                if far is not None and (distance_km(origin, p) >= 300) != far:
                    continue
            pool.append(p)
        return weighted(rng, pool, [p.weight for p in pool])


# =========================================================================== networks

# Real-looking Vietnamese allocations (approximate: only the look matters, and that they do not overlap).
FIXED_ISPS = {  # residential broadband: name -> (market share, IPv4 blocks, IPv6 /32)
    "Viettel": (0.40, ("27.64.0.0/13", "171.224.0.0/13", "116.96.0.0/13"), "2402:800"),
    "VNPT": (0.35, ("113.160.0.0/13", "14.160.0.0/13", "123.16.0.0/13", "222.252.0.0/14"), "2001:ee0"),
    "FPT": (0.25, ("42.112.0.0/13", "118.68.0.0/14", "1.52.0.0/14", "183.80.0.0/14"), "2405:4800"),
}
CARRIERS = {  # mobile data behind carrier-grade NAT: name -> (market share, IPv4 blocks)
    "Viettel": (0.55, ("27.72.0.0/14",)),
    "Vinaphone": (0.25, ("113.184.0.0/15",)),
    "MobiFone": (0.20, ("117.0.0.0/14",)),
}
REGIONS = ("north", "centre", "south")


def _slash24s(blocks: tuple[str, ...]) -> list[str]:
    """Every /24 of the blocks as its first three octets ('113.160.7')."""
    out = []
    for block in blocks:
        net = ipaddress.ip_network(block)
        base = int(net.network_address) >> 8
        for i in range(net.num_addresses >> 8):
            a = base + i
            out.append(f"{a >> 16}.{(a >> 8) & 255}.{a & 255}")
    return out


class Networks:
    """Address pools: per province and ISP for homes, shops and producers; per region and carrier for phones."""

    def __init__(self, rng: random.Random, geo: Geography, params: Params) -> None:
        self.params = params
        self.home: dict[tuple[str, str], list[str]] = {}
        for isp, (_, blocks, _) in FIXED_ISPS.items():
            pool = _slash24s(blocks)
            rng.shuffle(pool)
            for i, code in enumerate(geo.codes):
                self.home[(isp, code)] = pool[i * params.isp_pool:(i + 1) * params.isp_pool]
        self.mobile: dict[tuple[str, str], list[str]] = {}
        for carrier, (_, blocks) in CARRIERS.items():
            pool = _slash24s(blocks)
            rng.shuffle(pool)
            for i, region in enumerate(REGIONS):
                self.mobile[(carrier, region)] = pool[i * params.carrier_pool:(i + 1) * params.carrier_pool]

    @staticmethod
    def pick_isp(rng: random.Random) -> str:
        return weighted(rng, list(FIXED_ISPS), [v[0] for v in FIXED_ISPS.values()])

    @staticmethod
    def pick_carrier(rng: random.Random) -> str:
        return weighted(rng, list(CARRIERS), [v[0] for v in CARRIERS.values()])

    def fixed_address(self, isp: str, province: str, rng: random.Random) -> str:
        """A subscriber's address: a random /24 of the ISP's pool in the province, a random host in it."""
        return f"{rng.choice(self.home[(isp, province)])}.{rng.randint(2, 254)}"

    def mobile_address(self, carrier: str, region: str, rng: random.Random) -> str:
        """Carrier-grade NAT: each mobile session gets any address of the carrier's regional pool."""
        return f"{rng.choice(self.mobile[(carrier, region)])}.{rng.randint(1, 254)}"

    @staticmethod
    def v6_prefix(isp: str, rng: random.Random) -> str:
        """A home's /48 (first three groups)."""
        return f"{FIXED_ISPS[isp][2]}:{rng.randrange(0x100, 0x10000):x}"

    @staticmethod
    def v6_address(prefix: str, rng: random.Random) -> str:
        """An address in the /48: privacy extensions change the rest often."""
        return prefix + "".join(f":{rng.randrange(0x10000):x}" for _ in range(5))


# =========================================================================== cookies


class CookieJar:
    """One browser's cookies for the service's host: what Set-Cookie says, sent back as a Cookie header."""

    def __init__(self) -> None:
        self.cookies: dict[str, tuple[str, float | None]] = {}  # name -> (value, expires at | None: session)

    def header(self, now: float) -> str | None:
        live = [(n, v) for n, (v, exp) in self.cookies.items() if exp is None or exp > now]
        return "; ".join(f"{n}={v}" for n, v in live) or None

    def store(self, set_cookies: list[str], now: float) -> None:
        for line in set_cookies:
            parts = [p.strip() for p in line.split(";")]
            name, _, value = parts[0].partition("=")
            expires: float | None = None
            max_age = None
            for attr in parts[1:]:
                key, _, val = attr.partition("=")
                key = key.lower()
                if key == "max-age":
                    max_age = int(val)
                elif key == "expires":
                    try:
                        expires = parsedate_to_datetime(val).timestamp() - CookieJar.clock_base
                    except (TypeError, ValueError):
                        pass
            if max_age is not None:  # Max-Age wins over Expires
                expires = now + max_age
            if expires is not None and expires <= now:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = (value, expires)

    clock_base = 0.0  # the Unix time of simulation time 0 (set by the runner, for Expires dates)

    def end_session(self) -> None:
        """The browser was closed: session cookies go, persistent ones stay."""
        self.cookies = {n: c for n, c in self.cookies.items() if c[1] is not None}

    def clear(self) -> None:
        self.cookies.clear()

    def value(self, name: str) -> str | None:
        c = self.cookies.get(name)
        return c[0] if c else None


# =========================================================================== phones, browsers, households

ANDROID_MODELS = (  # common phones in Vietnam (model code, build id); in-app browsers show them
    ("SM-A155F", "UP1A.231005.007"), ("SM-A256E", "UP1A.231005.007"), ("SM-A546E", "UP1A.231005.007"),
    ("SM-S928B", "UP1A.231005.007"), ("CPH2591", "UKQ1.230924.001"), ("CPH2579", "TP1A.220905.001"),
    ("23129RAA4G", "UKQ1.231003.002"), ("2312DRAABG", "UKQ1.231003.002"), ("V2250", "TP1A.220624.014"),
    ("RMX3834", "UP1A.231005.007"),
)
IOS_VERSIONS = ("16_7_10", "17_5_1", "17_6_1", "18_0_1", "18_1")


def _ios(v: str) -> str:
    return f"Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"


def user_agent(os_name: str, kind: str, rng: random.Random) -> tuple[str, str]:
    """(User-Agent, family for the report) of one browser on a phone."""
    chrome = rng.choice((127, 128, 129, 130, 131))
    if os_name == "iOS":
        v = rng.choice(IOS_VERSIONS)
        if kind == "main":
            return f"{_ios(v)} Version/{v.split('_')[0]}.{v.split('_')[1]} Mobile/15E148 Safari/604.1", "Safari/iOS"
        if kind == "zalo":
            return f"{_ios(v)} Mobile/15E148 Zalo iOS/24.{rng.randint(8, 11)}.1 ZaloTheme/light ZaloLanguage/vi", \
                "Zalo/iOS"
        fbav = rng.randint(470, 485)
        return (f"{_ios(v)} Mobile/15E148 [FBAN/FBIOS;FBAV/{fbav}.0.0.40.106;FBBV/{rng.randint(600, 680)}000000;"
                f"FBDV/iPhone{rng.choice(('13,2', '14,5', '14,7', '15,4', '16,2'))};FBMD/iPhone;FBSN/iOS;"
                f"FBSV/{v.replace('_', '.')};FBSS/3;FBID/phone;FBLC/vi_VN;FBOP/5]"), "Facebook/iOS"
    model, build = rng.choice(ANDROID_MODELS)
    android = rng.choice((12, 13, 14, 14, 15))
    webview = (f"Mozilla/5.0 (Linux; Android {android}; {model} Build/{build}; wv) AppleWebKit/537.36 "
               f"(KHTML, like Gecko) Version/4.0 Chrome/{chrome}.0.{rng.randint(6000, 6800)}.{rng.randint(40, 140)} "
               f"Mobile Safari/537.36")
    if kind == "main":
        reduced = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)"  # UA reduction
        if model.startswith("SM-") and rng.random() < 0.4:
            return f"{reduced} SamsungBrowser/{rng.choice((25, 26))}.0 Chrome/{chrome - 6}.0.0.0 Mobile Safari/537.36", \
                "Samsung/Android"
        return f"{reduced} Chrome/{chrome}.0.0.0 Mobile Safari/537.36", "Chrome/Android"
    if kind == "zalo":
        return f"{webview} Zalo android/{rng.randint(12100600, 12100700)} ZaloTheme/light ZaloLanguage/vi", \
            "Zalo/Android"
    return f"{webview} [FB_IAB/FB4A;FBAV/{rng.randint(470, 485)}.0.0.{rng.randint(10, 60)}.{rng.randint(60, 120)};]", \
        "Facebook/Android"


SCAN_HABITS = {"main": 0.55, "zalo": 0.38, "facebook": 0.07}  # phone camera / Zalo's QR scanner / Messenger


@dataclass(eq=False)
class Browser:
    id: int
    phone: "Phone"
    kind: str  # main | zalo | facebook
    ua: str
    family: str
    jar: CookieJar = field(default_factory=CookieJar)
    last_used: float = -1e18

    @property
    def volatile(self) -> bool:
        """In-app browsers of Zalo and Facebook lose their cookie jar (p 0.5 per use)."""
        return self.kind != "main"


@dataclass(eq=False)
class Phone:
    id: int
    household: "Household"
    os: str
    carrier: str
    habit: str
    browsers: dict[str, Browser] = field(default_factory=dict)

    def pick_browser(self, rng: random.Random) -> Browser:
        """How this person opens a QR code: their habit 80 % of the time, else any way."""
        kind = self.habit if rng.random() < 0.8 else weighted(rng, list(SCAN_HABITS), list(SCAN_HABITS.values()))
        return self.browsers[kind]


@dataclass(eq=False)
class Household:
    id: int
    province: str
    isp: str
    address: str  # the home wifi's current IPv4 address
    ipv6: str | None  # the home's /48, if the wifi has IPv6
    rng: random.Random
    phones: list[Phone] = field(default_factory=list)
    next_move: float = 0.0


class People:
    """Makes households, phones and browsers; ids are unique across the simulation."""

    def __init__(self, nets: Networks, params: Params, seed: int) -> None:
        self.nets, self.params, self.seed = nets, params, seed
        self.households: list[Household] = []
        self.phones: list[Phone] = []
        self.browsers: list[Browser] = []
        self.by_province: dict[str, list[Household]] = {}

    def household(self, province: str, rng: random.Random, *, phones: int | None = None) -> Household:
        """A new household: 1-4 phones, a home wifi in one /24 of its ISP (IPv6 for some)."""
        hid = len(self.households)
        own = random.Random(f"{self.seed}:household:{hid}")
        isp = self.nets.pick_isp(rng)
        hh = Household(hid, province, isp, self.nets.fixed_address(isp, province, rng),
                       self.nets.v6_prefix(isp, rng) if rng.random() < self.params.ipv6_homes else None, own)
        hh.next_move = self._next_move(own, 0.0)
        n = phones or weighted(rng, [1, 2, 3, 4], [0.25, 0.35, 0.25, 0.15])
        for _ in range(n):
            self._phone(hh, rng)
        self.households.append(hh)
        self.by_province.setdefault(province, []).append(hh)
        return hh

    def _phone(self, hh: Household, rng: random.Random) -> Phone:
        phone = Phone(len(self.phones), hh, "iOS" if rng.random() < 0.35 else "Android", self.nets.pick_carrier(rng),
                      weighted(rng, list(SCAN_HABITS), list(SCAN_HABITS.values())))
        for kind in SCAN_HABITS:
            ua, family = user_agent(phone.os, kind, rng)
            b = Browser(len(self.browsers), phone, kind, ua, family)
            phone.browsers[kind] = b
            self.browsers.append(b)
        hh.phones.append(phone)
        self.phones.append(phone)
        return phone

    def returning(self, province: str, rng: random.Random) -> Household | None:
        """A household of the province that has been here before, if any."""
        seen = self.by_province.get(province)
        return rng.choice(seen) if seen else None

    def _next_move(self, rng: random.Random, now: float) -> float:
        rate = -math.log(1 - self.params.ip_move_per_week) / WEEK
        return now + rng.expovariate(rate)

    def home_address(self, hh: Household, now: float, rng: random.Random) -> str:
        """The home wifi's address now: the dynamic IPv4 address moves now and then (another /24 of the same
        ISP's pool); with IPv6 the browser prefers the stable /48 (with a changing host part)."""
        while now >= hh.next_move:
            hh.address = self.nets.fixed_address(hh.isp, hh.province, hh.rng)
            hh.next_move = self._next_move(hh.rng, hh.next_move)
        if hh.ipv6:
            return self.nets.v6_address(hh.ipv6, rng)
        return hh.address


# =========================================================================== shops and the plan


@dataclass(eq=False)
class Outlet:
    """Where packs are sold: a shop, a market stall or an online seller (delivered to homes)."""

    id: int
    province: str
    kind: str  # shop | market | online
    wifi: str | None  # the customer wifi's address (everyone in the shop shares it)


@dataclass(frozen=True)
class RunInfo:
    """A run as the world sees it (filled in by the runner after issuing it through the registry)."""

    index: int
    id: int
    first: int
    last: int
    product: str
    province: str  # the producer's
    hidden: bool
    print_at: float
    away: tuple[str, ...]  # the 1-3 other provinces the product is sold in


@dataclass(eq=False)
class Pack:
    id: int
    serial: int
    run: RunInfo
    kind: str  # genuine | single copy | sheet copy
    op: int | None = None
    code: str | None = None  # a fake's printed hidden code (genuine ones are derived by the runner)


@dataclass(eq=False)
class Purchase:
    at: float
    outlet: Outlet
    packs: list[Pack]


@dataclass(eq=False)
class Display:
    outlet: Outlet
    pack: Pack
    start: float
    end: float
    rate: float  # scanning shoppers per day


@dataclass(eq=False)
class Livestream:
    at: float
    pack: Pack
    viewers: int


@dataclass(eq=False)
class ProducerCheck:
    run: RunInfo
    at: float
    serials: list[int]
    phones: int


@dataclass(eq=False)
class CopyOp:
    id: int
    kind: str  # single copy | sheet copy
    run: RunInfo
    serials: list[int]
    copies: int  # fake packs per serial
    start: float
    end: float
    provinces: list[str]
    copied_code: bool
    fakes: int = 0


@dataclass
class Plan:
    packs: list[Pack] = field(default_factory=list)
    genuine: dict[int, Pack] = field(default_factory=dict)  # serial -> the genuine pack carrying it
    purchases: list[Purchase] = field(default_factory=list)  # every sale (genuine and fake)
    displays: list[Display] = field(default_factory=list)
    livestreams: list[Livestream] = field(default_factory=list)
    checks: list[ProducerCheck] = field(default_factory=list)
    ops: list[CopyOp] = field(default_factory=list)
    outlets: list[Outlet] = field(default_factory=list)
    unsold: int = 0


def local_time(day: float, rng: random.Random, hours: tuple[tuple[int, float], ...]) -> float:
    """A time on the given day at an hour drawn from (hour, weight) pairs."""
    hour = weighted(rng, [h for h, _ in hours], [w for _, w in hours])
    return math.floor(day) * DAY + hour * HOUR + rng.random() * HOUR


SHOP_HOURS = ((7, 0.5), (8, 1), (9, 1.5), (10, 1.5), (11, 1.2), (12, 0.6), (13, 0.6), (14, 0.8), (15, 1),
              (16, 1.3), (17, 1.6), (18, 1.6), (19, 1.4), (20, 1), (21, 0.4))
EVENING = ((18, 0.7), (19, 1.2), (20, 1.5), (21, 1.2), (22, 0.6), (6, 0.3), (7, 0.3), (12, 0.4))


def next_at_home(t: float, rng: random.Random, *, min_delay: float = 0.5 * HOUR) -> float:
    """When a shopper back home gets round to a pack bought at t: the next home moment at least min_delay on."""
    day = (t + min_delay) / DAY
    while True:
        candidate = local_time(day, rng, EVENING)
        if candidate >= t + min_delay:
            return candidate
        day += 1


class Planner:
    """Draws the season: cartons to shops, purchases, shop displays, livestreams, producer checks and copying
    operations. Deterministic given its random generator; independent of what the app answers."""

    def __init__(self, rng: random.Random, params: Params, geo: Geography, nets: Networks) -> None:
        self.rng, self.p, self.geo, self.nets = rng, params, geo, nets
        self.plan = Plan()
        self.shops: dict[str, list[Outlet]] = {}  # every shop of a province

    # ---- outlets
    def outlet(self, province: str, kind: str) -> Outlet:
        wifi = None
        if kind != "online" and self.rng.random() < self.p.shop_wifi:
            wifi = self.nets.fixed_address(self.nets.pick_isp(self.rng), province, self.rng)
        o = Outlet(len(self.plan.outlets), province, kind, wifi)
        self.plan.outlets.append(o)
        return o

    def shops_for(self, province: str, n: int) -> list[Outlet]:
        """n specialty shops of the province (products share them: a shop stocks several OCOP products)."""
        pool = self.shops.setdefault(province, [])
        while len(pool) < round(n * 1.5):
            pool.append(self.outlet(province, "shop"))
        return self.rng.sample(pool, n)

    # ---- packs
    def pack(self, serial: int, run: RunInfo, kind: str, op: int | None = None) -> Pack:
        p = Pack(len(self.plan.packs), serial, run, kind, op)
        self.plan.packs.append(p)
        return p

    def purchases(self, outlet: Outlet, packs: list[Pack], first: float, last: float, *, mean_wait: float | None)\
            -> list[Purchase]:
        """Sell packs (in serial order, several consecutive ones now and then) between first and last; with
        mean_wait each purchase comes an exponential wait after `first` (a shelf), else uniformly."""
        groups, i = [], 0
        while i < len(packs):
            n = 1 if self.rng.random() >= self.p.multi_pack else self.rng.randint(2, 4)
            groups.append(packs[i:i + n])
            i += n
        if mean_wait:
            times = sorted(first + self.rng.expovariate(1 / mean_wait) for _ in groups)
        else:
            times = sorted(self.rng.uniform(first, last) for _ in groups)
        out = []
        for t, group in zip(times, groups):
            if t > min(last, self.p.days * DAY):
                self.plan.unsold += len(group)
                continue
            hours = SHOP_HOURS if outlet.kind != "online" else EVENING
            purchase = Purchase(local_time(t / DAY, self.rng, hours), outlet, group)
            out.append(purchase)
        self.plan.purchases.extend(out)
        return out

    # ---- genuine supply
    def genuine(self, runs: list[RunInfo]) -> None:
        p, rng = self.p, self.rng
        shops_of: dict[int, tuple[list[Outlet], list[Outlet]]] = {}
        for run in runs:
            home = self.shops_for(run.province, p.scaled(p.home_shops))
            away = [s for code in run.away for s in self.shops_for(code, p.scaled(rng.randint(*p.away_shops)))]
            shops_of[run.index] = (home, away)
            used = run.last - run.first + 1 - round((run.last - run.first + 1) * p.unused_share)
            serials = list(range(run.first, run.first + used))
            arrivals: dict[int, list[tuple[float, list[Pack]]]] = {}
            i = 0
            while i < len(serials):
                n = rng.randint(*p.carton)
                carton = [self.pack(s, run, "genuine") for s in serials[i:i + n]]
                for pk in carton:
                    self.plan.genuine[pk.serial] = pk
                i += n
                shop = rng.choice(home if rng.random() < p.home_share or not away else away)
                t = run.print_at + 1.5 * DAY + rng.random() * p.ship_span_days * DAY
                arrivals.setdefault(shop.id, []).append((t, carton))
            for shop_id, cartons in arrivals.items():
                shop = self.plan.outlets[shop_id]
                cartons.sort(key=lambda c: c[0])
                on_display = self.displays(shop, cartons)
                for t, carton in cartons:
                    rest = [pk for pk in carton if pk not in on_display]
                    self.purchases(shop, rest, t, p.days * DAY, mean_wait=p.shelf_mean_days * DAY)
        self.plan.checks = [c for run in runs for c in self.producer_checks(run)]

    def displays(self, shop: Outlet, cartons: list[tuple[float, list[Pack]]]) -> set[Pack]:
        """One pack of the product on display at a time, from the newest carton, for 2-8 weeks; then sold."""
        p, rng = self.p, self.rng
        chosen: set[Pack] = set()
        t = cartons[0][0]
        while t < p.days * DAY:
            stock = [c for at, c in cartons if at <= t]
            if not stock:
                break
            candidates = [pk for pk in stock[-1] if pk not in chosen]
            if not candidates:
                break
            pack = rng.choice(candidates)
            chosen.add(pack)
            end = t + rng.uniform(*p.display_weeks) * WEEK
            self.plan.displays.append(Display(shop, pack, t, end, rng.uniform(*p.display_rate)))
            self.purchases(shop, [pack], end, end + 3 * DAY, mean_wait=None)
            t = end
        return chosen

    def producer_checks(self, run: RunInfo) -> list[ProducerCheck]:
        """Test scans right after printing (consecutive serials) and a few re-checks later."""
        p, rng = self.p, self.rng
        out = [ProducerCheck(run, run.print_at, list(range(run.first, run.first + rng.randint(*p.test_scans))),
                             rng.choice((1, 2)))]
        for _ in range(rng.randint(*p.rechecks)):
            at = local_time(rng.uniform(run.print_at / DAY + 1, p.days), rng, SHOP_HOURS)
            serials = sorted(rng.sample(range(run.first, run.last + 1), rng.randint(1, 5)))
            out.append(ProducerCheck(run, at, serials, 1))
        return out

    def livestreams(self) -> None:
        """A few genuine packs held up on a sales livestream (the pack is sold later as usual)."""
        p, rng = self.p, self.rng
        streams = []
        for _ in range(p.scaled(p.livestreams)):
            at = local_time(rng.uniform(10, p.days - 10), rng, ((20, 1), (21, 1)))
            later = [pu.packs[0] for pu in self.plan.purchases if pu.packs[0].kind == "genuine"
                     and pu.at > at + DAY and pu.packs[0].run.print_at < at]
            if later:
                streams.append(Livestream(at, rng.choice(later), rng.randint(*p.viewers)))
        self.plan.livestreams = streams

    # ---- counterfeiters
    def copy_ops(self, runs: list[RunInfo]) -> None:
        p, rng = self.p, self.rng
        kinds = ["single copy"] * p.scaled(p.single_ops) + ["sheet copy"] * p.scaled(p.sheet_ops)
        for kind in kinds:
            start = rng.uniform(runs[0].print_at + 3 * DAY, p.op_start_days * DAY)
            printed = [r for r in runs if r.print_at + 3 * DAY < start]
            run = rng.choice(printed)
            if kind == "single copy":
                # a genuine pack seen on a shelf (its carton reached a shop before the copying began)
                on_shelves = sorted({pk.serial for pu in self.plan.purchases for pk in pu.packs
                                     if pk.run is run and pk.kind == "genuine" and pu.at < start + 2 * WEEK})
                serials = [rng.choice(on_shelves)]
                copies = round(math.exp(rng.uniform(math.log(p.single_copies[0]), math.log(p.single_copies[1]))))
            else:
                n = rng.randint(*p.sheet_serials)
                size = run.last - run.first + 1
                unused_from = run.first + size - round(size * p.unused_share)
                if rng.random() < 0.5 and run.last - unused_from + 1 >= n:  # a spare sheet never applied
                    lo = rng.randint(unused_from, run.last - n + 1)
                else:  # a sheet whose originals went onto genuine packs
                    lo = rng.randint(run.first, unused_from - n)
                serials = list(range(lo, lo + n))
                copies = rng.randint(*p.sheet_copies)
            end = start + rng.uniform(*p.op_weeks) * WEEK
            home = self.geo.random_province(rng).code
            provinces = [home]
            for _ in range(rng.randint(*p.op_provinces) - 1):
                code = self.geo.random_province(rng, exclude=home).code
                if code not in provinces:
                    provinces.append(code)
            op = CopyOp(len(self.plan.ops), kind, run, serials, copies, start, end, provinces,
                        rng.random() < p.copied_code)
            self.plan.ops.append(op)
            self.sell_fakes(op)

    def sell_fakes(self, op: CopyOp) -> None:
        """Fakes go to markets, small shops and online sellers in the operation's provinces. A photocopied sheet
        is cut and applied as a whole, so its consecutive serials reach one outlet together."""
        rng = self.rng
        outlets = [self.outlet(code, weighted(rng, ["market", "shop", "online"], [0.4, 0.35, 0.25]))
                   for code in op.provinces for _ in range(rng.randint(2, 6))]
        fakes: list[Pack] = []
        if op.kind == "single copy":
            # one stamp on many packs, spread over the outlets and sold through the campaign
            by_outlet: dict[int, list[Pack]] = {}
            for _ in range(op.copies):
                pk = self.pack(op.serials[0], op.run, op.kind, op.id)
                by_outlet.setdefault(rng.randrange(len(outlets)), []).append(pk)
                fakes.append(pk)
            for i, packs in sorted(by_outlet.items()):
                self.purchases(outlets[i], packs, op.start, op.end, mean_wait=None)
        else:
            for _ in range(op.copies):
                packs = [self.pack(s, op.run, op.kind, op.id) for s in op.serials]
                fakes.extend(packs)
                arrive = rng.uniform(op.start, op.end)
                self.purchases(rng.choice(outlets), packs, arrive, op.end + WEEK, mean_wait=6 * DAY)
        op.fakes = len(fakes)
        if not op.copied_code:
            for pk in fakes:
                pk.code = f"{rng.randrange(10**8):08d}"
