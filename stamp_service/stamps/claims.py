"""The stamp's claims: a CBOR map with small integer keys (CWT iss/iat plus our private claims)."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

import cbor2

from .errors import MalformedStamp

FORMAT_VERSION = 1
EPOCH = dt.date(1970, 1, 1)

# CWT (RFC 8392) registered keys, then private claims in -1..-24 (each key is one CBOR byte).
ISS, IAT = 1, 6
VERSION, PRODUCT, BATCH, SERIAL, STARS, ORIGIN, PRODUCED, EXPIRES, CERT_UNTIL = -1, -2, -3, -4, -5, -6, -7, -8, -9
MAX_CLAIMS_BYTES = 128  # our claims take about 45 bytes
MAX_ID = 2**32 - 1  # ids and serials fit CBOR's 4-byte integers: the QR budget has no room for more
ISSUER_RE = re.compile(r"^[A-Z0-9-]{1,8}$")


def _days(day: dt.date) -> int:
    return (day - EPOCH).days


def _date(days: Any, name: str) -> dt.date:
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days < 100_000:
        raise MalformedStamp(f"claim {name} is not a date")
    return EPOCH + dt.timedelta(days=days)


# What StampClaims.as_dict gives, for the OpenAPI document.
JSON_SCHEMA: dict[str, Any] = {
    "type": "object", "description": "What the stamp itself says (signed into the QR text)",
    "required": ["version", "issuer", "issued_at", "product_id", "batch_id", "serial", "stars", "origin_commune_code",
                 "production_date", "expiry_date", "certificate_valid_until"],
    "properties": {
        "version": {"type": "integer"}, "issuer": {"type": "string"},
        "issued_at": {"type": "string", "format": "date-time"},
        "product_id": {"type": "integer"}, "batch_id": {"type": "integer"}, "serial": {"type": "integer"},
        "stars": {"type": "integer"}, "origin_commune_code": {"type": "string"},
        "production_date": {"type": "string", "format": "date"},
        "expiry_date": {"type": ["string", "null"], "format": "date"},
        "certificate_valid_until": {"type": "string", "format": "date"}}}


@dataclass(frozen=True)
class StampClaims:
    """What one stamp says; checked when built, so a StampClaims is always well-formed."""

    issuer: str
    issued_at: dt.datetime
    product_id: int
    batch_id: int
    serial: int
    stars: int
    origin_commune: str
    production_date: dt.date
    expiry_date: dt.date | None
    certificate_valid_until: dt.date
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        problems = []
        if not (isinstance(self.issuer, str) and ISSUER_RE.match(self.issuer)):
            problems.append("issuer")
        if not (isinstance(self.issued_at, dt.datetime) and self.issued_at.tzinfo is not None):
            problems.append("issued_at")
        for name in ("product_id", "batch_id", "serial"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID):
                problems.append(name)
        if not isinstance(self.stars, int) or self.stars not in (3, 4, 5):
            problems.append("stars")
        if not (isinstance(self.origin_commune, str) and len(self.origin_commune) == 5 and self.origin_commune.isdigit()):
            problems.append("origin_commune")
        if self.version != FORMAT_VERSION:
            problems.append("version")
        if problems:
            raise MalformedStamp(f"invalid claims: {', '.join(problems)}")

    def to_cbor(self) -> bytes:
        """The claims as deterministic CBOR (the COSE payload)."""
        claims: dict[int, Any] = {
            ISS: self.issuer,
            IAT: int(self.issued_at.timestamp()),
            VERSION: self.version,
            PRODUCT: self.product_id,
            BATCH: self.batch_id,
            SERIAL: self.serial,
            STARS: self.stars,
            ORIGIN: int(self.origin_commune),
            PRODUCED: _days(self.production_date),
            CERT_UNTIL: _days(self.certificate_valid_until),
        }
        if self.expiry_date is not None:
            claims[EXPIRES] = _days(self.expiry_date)
        return cbor2.dumps(claims, canonical=True)

    @classmethod
    def from_cbor(cls, payload: bytes) -> "StampClaims":
        """Parse a COSE payload; raises MalformedStamp for anything that is not our claims map."""
        if len(payload) > MAX_CLAIMS_BYTES:  # also bounds how deeply a hostile payload can nest
            raise MalformedStamp("claims are too long")
        try:
            stream = io.BytesIO(payload)
            claims = cbor2.CBORDecoder(stream).decode()
            if stream.tell() != len(payload):
                raise MalformedStamp("trailing bytes after the claims")
            # Our claims are deterministic CBOR: one encoding only, so a duplicate key (the decoder keeps the
            # last), an indefinite length, a float 1.0 for the integer 1 or a padded integer cannot slip through.
            canonical = cbor2.dumps(claims, canonical=True)
        except MalformedStamp:
            raise
        except Exception:  # cbor2 raises many types on hostile input; all mean "not our claims"
            raise MalformedStamp("claims are not CBOR") from None
        if canonical != payload:
            raise MalformedStamp("claims are not in deterministic CBOR (duplicate keys or a non-shortest form)")
        if not isinstance(claims, dict) or not all(isinstance(k, int) and not isinstance(k, bool) for k in claims):
            raise MalformedStamp("claims are not a map with integer keys")
        version = claims.get(VERSION)
        if type(version) is not int or version != FORMAT_VERSION:  # noqa: E721 - True and 1.0 are not 1
            raise MalformedStamp(f"unsupported stamp format version {version!r}")
        known = {ISS, IAT, VERSION, PRODUCT, BATCH, SERIAL, STARS, ORIGIN, PRODUCED, EXPIRES, CERT_UNTIL}
        if set(claims) - known:
            raise MalformedStamp("unknown claims")
        iat = claims.get(IAT)
        origin = claims.get(ORIGIN)
        if not isinstance(iat, int) or isinstance(iat, bool) or not 0 < iat < 2**32:
            raise MalformedStamp("claim iat is not a time")
        if not isinstance(origin, int) or isinstance(origin, bool) or not 0 <= origin <= 99999:
            raise MalformedStamp("claim origin is not a commune code")
        return cls(
            issuer=claims.get(ISS),  # type: ignore[arg-type]
            issued_at=dt.datetime.fromtimestamp(iat, dt.timezone.utc),
            product_id=claims.get(PRODUCT),  # type: ignore[arg-type]
            batch_id=claims.get(BATCH),  # type: ignore[arg-type]
            serial=claims.get(SERIAL),  # type: ignore[arg-type]
            stars=claims.get(STARS),  # type: ignore[arg-type]
            origin_commune=f"{origin:05d}",
            production_date=_date(claims.get(PRODUCED), "production date"),
            expiry_date=_date(claims[EXPIRES], "expiry date") if EXPIRES in claims else None,
            certificate_valid_until=_date(claims.get(CERT_UNTIL), "certificate validity"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The claims as JSON-friendly values."""
        return {
            "version": self.version, "issuer": self.issuer,
            "issued_at": self.issued_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "product_id": self.product_id, "batch_id": self.batch_id, "serial": self.serial, "stars": self.stars,
            "origin_commune_code": self.origin_commune, "production_date": self.production_date.isoformat(),
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "certificate_valid_until": self.certificate_valid_until.isoformat(),
        }
