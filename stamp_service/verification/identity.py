"""Who scanned, made anonymous and costly to fake: signed device cookies, households and network hashes.

Copy detection counts *households*, not requests: a household is a device plus the fresh browsers it plausibly
owns on its own network that day (a phone's in-app browser that lost its cookie, a second family phone on the
home wifi). The server signs every device cookie it mints, and the cookie carries the household it was minted
in, so:

* a forged or chosen cookie value fails the signature and is a new, untrusted visitor;
* cookie-less requests from one network on one day all land in the same household;
* cookies farmed in bulk from one network on one day are still one household, however many there are.

A network is the /24 (IPv4) or /48 (IPv6) prefix, never stored: only a keyed hash whose key changes each
calendar month (UTC), so networks can be compared within a month and the "at least N networks" floor of the
copy rules can be counted within one month at a time (an attacker cannot double their networks by scanning
across a month boundary).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer

from ..i18n import formats
from ..vn_time import VIETNAM

_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_HOUSEHOLD = re.compile(r"^[a-z]:[0-9a-f]{16}$")


def network_of(ip: str | None) -> str | None:
    """The client's network prefix (/24 for IPv4, /48 for IPv6), or None for a missing or invalid address."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:a.b.c.d is an IPv4 client behind a dual stack
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def epoch_of(moment: dt.datetime) -> str:
    """The month (UTC) whose key hashes networks seen at this moment: '2026-12'."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m")


def network_hash(network: str | None, secret: str, moment: dt.datetime) -> str | None:
    """A keyed hash of a network prefix, comparable within one calendar month; no address is kept."""
    if network is None:
        return None
    key = hmac.new(secret.encode(), f"scan-net:{epoch_of(moment)}".encode(), hashlib.sha256).digest()
    return hmac.new(key, network.encode(), hashlib.sha256).hexdigest()[:20]


def vietnam_day(moment: dt.datetime) -> str:
    """The calendar day in Vietnam, which is what "one network on one day" means to a shopper."""
    return moment.astimezone(VIETNAM).date().isoformat()


def vietnam_time(stored: str) -> str:
    """A stored UTC time as a shopper reads it, in Vietnam time: '14:32 03/12/2026' (formats.clock)."""
    return formats.clock(stored)


def network_household(network: str | None, secret: str, moment: dt.datetime) -> str:
    """The household of fresh visitors from one network on one (Vietnam) day: 'n:<16 hex>'."""
    text = f"household:{network or '-'}:{vietnam_day(moment)}"
    return "n:" + hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()[:16]


def client_household(client_id: int, secret: str) -> str:
    """The household of an API client that authenticates with its own token: 't:<16 hex>'."""
    return "t:" + hmac.new(secret.encode(), f"api-client:{client_id}".encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Device:
    """A browser as the server knows it: a random id and the household it was first seen in."""

    id: str
    household: str
    fresh: bool  # minted for this request: nothing vouches for this visitor yet


class DeviceCookies:
    """Mints and reads the signed device cookie: '<id>.<household>.<signature>'."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, salt="ocop-stamp device cookie")

    def read(self, value: str | None) -> Device | None:
        """The device a cookie names, or None if it is missing, malformed or not signed by us."""
        if not value or len(value) > 200:
            return None
        try:
            payload = self._signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None
        device_id, _, household = payload.partition(".")
        if not _ID.match(device_id) or not _HOUSEHOLD.match(household):
            return None
        return Device(device_id, household, fresh=False)

    def mint(self, household: str) -> Device:
        """A new device in a household (fresh: it has no history yet)."""
        return Device(secrets.token_urlsafe(16), household, fresh=True)

    def value(self, device: Device) -> str:
        """The cookie value for a device (signed, so the client cannot choose it)."""
        return self._signer.sign(f"{device.id}.{device.household}").decode("ascii")
