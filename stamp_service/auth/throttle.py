"""Slowing password guessing: per account and per network, with delays that double, and an audit trail.

Every failed sign-in is a row in failed_logins (time, account hash and user id when the e-mail is known,
network hash, reason). The throttle reads those rows back: after `per_account` failures on one account
within the window, the next try must wait `base_seconds`, then twice that after each further failure, up to
`max_seconds`; likewise per network (its /24 or /48) after `per_network` failures, set higher because many
households share one address behind carrier-grade NAT. Accounts are hashed with a key so an unknown e-mail
is throttled the same way as a known one, and networks are hashed like the verification pages do
(verification/identity.py); no address or e-mail is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Mapping

from ..storage import Storage
from ..verification import thresholds
from ..verification.identity import network_hash, network_of
from . import clock


@dataclass(frozen=True)
class Limits:
    """How much password guessing is allowed (config LOGIN_LIMITS overrides any of these).

    5 failures per account in an hour, then 2 s, 4 s, 8 s ... up to 15 minutes between tries: a person who
    mistypes is never slowed, a script gets about 20 guesses an hour per account. 30 per network, as one
    office or one mobile operator's NAT may hold several staff. The password pool: 2 checks at once, 4 waiting.
    """

    window_minutes: int = 60
    per_account: int = 5
    per_network: int = 30
    base_seconds: int = 2
    max_seconds: int = 900
    hash_workers: int = 2
    hash_queue: int = 4

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> "Limits":
        """Limits from config LOGIN_LIMITS (unknown names refused, values must be positive integers)."""
        return thresholds.from_config(cls, values, "LOGIN_LIMITS")


@dataclass(frozen=True)
class Caller:
    """Who is trying to sign in, as hashes only."""

    account_hash: str
    net_hash: str | None


def caller(email: str, remote_addr: str | None, secret: str, moment: dt.datetime) -> Caller:
    """The hashed account (the e-mail as typed, any case) and network of a sign-in attempt."""
    key = hmac.new(secret.encode(), b"login-account", hashlib.sha256).digest()
    account = hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:24]
    return Caller(account, network_hash(network_of(remote_addr), secret, moment))


def _delay(failures: list[dict[str, Any]], allowed: int, rules: Limits, moment: dt.datetime) -> int:
    """Seconds still to wait given failures (newest first): 0 until `allowed` failures, then doubling."""
    if len(failures) < allowed:
        return 0
    wait = min(rules.base_seconds * 2 ** (len(failures) - allowed), rules.max_seconds)
    until = clock.parse(failures[0]["at"]) + dt.timedelta(seconds=wait)
    return max(0, int((until - moment).total_seconds() + 0.999))


def retry_after(storage: Storage, who: Caller, rules: Limits, moment: dt.datetime) -> int:
    """Seconds before this account and network may try again (0: now)."""
    since = clock.stamp(moment - dt.timedelta(minutes=rules.window_minutes))
    # Fetch one more than the cap needs: the delay stops growing once it reaches max_seconds.
    cap = rules.per_network + 20
    account = storage.find_since("failed_logins", "at", since, limit=cap, account_hash=who.account_hash)
    wait = _delay(account, rules.per_account, rules, moment)
    if who.net_hash is not None:
        network = storage.find_since("failed_logins", "at", since, limit=cap, net_hash=who.net_hash)
        wait = max(wait, _delay(network, rules.per_network, rules, moment))
    return wait


def record_failure(storage: Storage, who: Caller, reason: str, user_id: int | None, moment: dt.datetime) -> None:
    """Add a failed sign-in to the audit trail (which is also the throttle's memory)."""
    storage.insert("failed_logins", {"at": clock.stamp(moment), "user_id": user_id, "account_hash": who.account_hash,
                                     "net_hash": who.net_hash, "reason": reason})
