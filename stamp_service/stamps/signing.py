"""Signing a stamp and verifying one: verification returns the verified stamp or raises a StampError."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .. import cose
from ..keystore import KeyInfo, KeyNotUsable, PublicKeyRecord, check_issued_within
from .claims import StampClaims
from .codec import looks_like_qr_text, parse_stamp_url, stamp_url
from .serials import parse_serial, parse_serial_or_number
from .errors import KeyRevoked, UnknownKey


@dataclass(frozen=True)
class VerifiedStamp:
    """A stamp whose signature checked out with a key of ours that was valid when it was issued."""

    claims: StampClaims
    key: KeyInfo
    host: str | None


def sign_stamp(claims: StampClaims, private_key: cose.PrivateKey, key: KeyInfo, host: str) -> str:
    """The QR text for these claims, signed with the given key."""
    message = cose.sign1(claims.to_cbor(), private_key, key.kid, alg=key.alg, tag=True)
    return stamp_url(message, host)


def serial_of_code(code: str, keys: Mapping[bytes, PublicKeyRecord], *, bare_number_ok: bool = False) -> int:
    """The serial a code names: a QR text whose signature verifies, or a typed serial (staff may also type the
    bare number); raises StampError."""
    code = (code or "").strip()
    if looks_like_qr_text(code):
        return verify_stamp(code, keys).claims.serial
    return parse_serial_or_number(code) if bare_number_ok else parse_serial(code)


def verify_stamp(text: str, keys: Mapping[bytes, PublicKeyRecord]) -> VerifiedStamp:
    """Check a scanned QR text against our public keys; raises MalformedStamp, UnknownKey, KeyRevoked or
    SignatureMismatch."""
    host, message = parse_stamp_url(text)
    # cose's errors are stamp errors (MalformedMessage is a MalformedStamp, BadSignature a SignatureMismatch...).
    parsed = cose.decode_sign1(message)
    record = keys.get(parsed.kid) if parsed.kid is not None else None
    if record is None:
        raise UnknownKey()
    payload = cose.verify_sign1(message, {record.kid: record.public_key})
    claims = StampClaims.from_cbor(payload)
    if record.info.status == "revoked":
        raise KeyRevoked()
    try:
        check_issued_within(record.info, claims.issued_at)
    except KeyNotUsable:
        raise UnknownKey("the stamp claims an issue time outside its signing key's validity") from None
    return VerifiedStamp(claims=claims, key=record.info, host=host)
