"""Generate tests/vectors/stamps/vectors.json: the stamp-format test vectors (see docs/stamp-format.md).

Run it by hand from the repository root after a deliberate change to the stamp format, then commit the
output together with that change:

    python tests/vectors/stamps/generate.py          # rewrites tests/vectors/stamps/vectors.json
    python tests/vectors/stamps/generate.py --check  # exit 1 if the committed file differs from a fresh run

The tests (tests/test_stamp_vectors.py) only READ vectors.json; they never run this script, so the vectors
stay a fixed reference that a change to our code cannot silently move.

Every stamp is made with our own code (stamp_service.stamps.signing.sign_stamp, stamp_service.cose.sign1)
and with FIXED keys, so the output is byte-identical from run to run:

* Ed25519 signatures are deterministic by definition (RFC 8032).
* ES256 signatures are normally randomised. Here the P-256 key is wrapped so that our unchanged
  cose.sign1 gets a deterministic RFC 6979 nonce (cryptography's ``deterministic_signing``, OpenSSL 3.2+).
  On an older OpenSSL the script falls back to random nonces and says so: the ES256 cases then differ on
  every run (all still valid); commit such a file once and do not regenerate it for nothing.

!!! THE KEYS BELOW ARE TEST-ONLY KEYS. Their private halves are published right here. Never load them
!!! into a key store, never sign a real stamp with them, never put their kids in a production JWKS.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import cbor2
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from stamp_service import cose
from stamp_service.keystore import KeyInfo, kid_for_public_key, public_jwk
from stamp_service.stamps.claims import StampClaims
from stamp_service.stamps.codec import bytes_to_digits, parse_stamp_url, stamp_url
from stamp_service.stamps.signing import sign_stamp

OUT = Path(__file__).with_name("vectors.json")
HOST = "OCOP.EXAMPLE"  # .example is reserved (RFC 2606): no real verification site lives there
UTC = dt.timezone.utc
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# --- TEST-ONLY key material (32-byte Ed25519 seeds, one P-256 private scalar) ----------------------------
# Readable ASCII on purpose, so that anyone who finds one of these in a key file knows what it is.
SEED_ED_ACTIVE = b"ocop-stamp TEST-ONLY key: ed #1."
SEED_ED_RETIRED = b"ocop-stamp TEST-ONLY key: ed #2."
SEED_ED_REVOKED = b"ocop-stamp TEST-ONLY key: ed #3."
SEED_ED_UNPUBLISHED = b"ocop-stamp TEST-ONLY key: ed #4."  # never in the JWKS: "someone else's key"
SCALAR_P256_ACTIVE = int.from_bytes(b"ocop-stamp TEST-ONLY key: p256 1", "big")
assert all(len(s) == 32 for s in (SEED_ED_ACTIVE, SEED_ED_RETIRED, SEED_ED_REVOKED, SEED_ED_UNPUBLISHED))
assert 0 < SCALAR_P256_ACTIVE < P256_ORDER


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class DeterministicP256(ec.EllipticCurvePrivateKey):
    """A P-256 private key whose ECDSA signatures use RFC 6979 nonces; everything else is delegated.

    cose.sign1 calls ``key.sign(data, ec.ECDSA(SHA256))``; this swaps in ``deterministic_signing=True``
    so the same message gives the same signature on every run. Test-vector generation only.
    """

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._key.curve

    @property
    def key_size(self) -> int:
        return self._key.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        return self._key.private_numbers()

    def private_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        return self._key.private_bytes(*args, **kwargs)

    def exchange(self, *args: Any, **kwargs: Any) -> bytes:
        return self._key.exchange(*args, **kwargs)

    def sign(self, data: bytes, signature_algorithm: Any) -> bytes:
        return self._key.sign(data, ec.ECDSA(signature_algorithm.algorithm, deterministic_signing=True))

    def __copy__(self) -> "DeterministicP256":
        return self

    def __deepcopy__(self, memo: dict) -> "DeterministicP256":
        return self


def p256_key() -> tuple[ec.EllipticCurvePrivateKey, bool]:
    """The test P-256 key, made deterministic if this OpenSSL can (returns the key and whether it is)."""
    key = ec.derive_private_key(SCALAR_P256_ACTIVE, ec.SECP256R1())
    try:
        key.sign(b"probe", ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    except UnsupportedAlgorithm:
        return key, False
    return DeterministicP256(key), True


# --- keys and the published JWKS ---------------------------------------------------------------------------


class TestKey:
    """One test key: the private key, its KeyInfo (status and issuing window) and its JWK."""

    def __init__(self, private_key: Any, alg: str, status: str, not_before: dt.datetime,
                 not_after: dt.datetime | None = None, revoked_at: dt.datetime | None = None) -> None:
        self.private_key = private_key
        self.info = KeyInfo(kid=kid_for_public_key(private_key.public_key()), alg=alg, status=status,
                            not_before=not_before, not_after=not_after, created_at=not_before,
                            revoked_at=revoked_at)

    @property
    def kid(self) -> bytes:
        return self.info.kid

    def jwk(self) -> dict[str, Any]:
        """The key as KeyStore.jwks() publishes it (public members only)."""
        info = self.info
        jwk: dict[str, Any] = dict(public_jwk(self.private_key.public_key()))
        jwk.update(kid=info.kid_b64, alg=info.alg, use="sig", status=info.status,
                   nbf=int(info.not_before.timestamp()))
        if info.not_after is not None:
            jwk["exp"] = int(info.not_after.timestamp())
        if info.revoked_at is not None:
            jwk["revoked_at"] = int(info.revoked_at.timestamp())
        return jwk


ES_PRIVATE, ES_DETERMINISTIC = p256_key()
ED_ACTIVE = TestKey(ed25519.Ed25519PrivateKey.from_private_bytes(SEED_ED_ACTIVE), "EdDSA", "active",
                    utc(2026, 1, 1))
ES_ACTIVE = TestKey(ES_PRIVATE, "ES256", "active", utc(2026, 1, 1))
# Rotated out at the start of 2026: its window is closed, the stamps it signed before stay valid.
ED_RETIRED = TestKey(ed25519.Ed25519PrivateKey.from_private_bytes(SEED_ED_RETIRED), "EdDSA", "retired",
                     utc(2025, 1, 1), not_after=utc(2026, 1, 1))
# Compromised: revoked on 2026-04-01; every stamp it ever signed is refused.
ED_REVOKED = TestKey(ed25519.Ed25519PrivateKey.from_private_bytes(SEED_ED_REVOKED), "EdDSA", "revoked",
                     utc(2025, 7, 1), not_after=utc(2026, 1, 1), revoked_at=utc(2026, 4, 1))
# Not published: signs the "unknown kid" and "wrong key" cases. Its KeyInfo is only for sign_stamp.
ED_UNPUBLISHED = TestKey(ed25519.Ed25519PrivateKey.from_private_bytes(SEED_ED_UNPUBLISHED), "EdDSA", "active",
                         utc(2026, 1, 1))
PUBLISHED = (ED_ACTIVE, ES_ACTIVE, ED_RETIRED, ED_REVOKED)


def jwks() -> dict[str, Any]:
    """Ordered like KeyStore.jwks(): by start of the issuing window, then kid."""
    return {"keys": [k.jwk() for k in sorted(PUBLISHED, key=lambda k: (k.info.not_before, k.kid))]}


# --- claims -------------------------------------------------------------------------------------------------


def claims(**changes: Any) -> StampClaims:
    """A realistic stamp: 4-star tea from Ba Chẽ (Quảng Ninh), issued 2026-03-02 08:15 UTC."""
    base: dict[str, Any] = dict(
        issuer="VN", issued_at=utc(2026, 3, 2, 8, 15), product_id=42, batch_id=1207, serial=100_001, stars=4,
        origin_commune="06978", production_date=dt.date(2026, 2, 20), expiry_date=dt.date(2027, 2, 20),
        certificate_valid_until=dt.date(2028, 6, 30),
    )
    base.update(changes)
    return StampClaims(**base)


def sign(c: StampClaims, key: TestKey, kid_key: TestKey | None = None) -> str:
    """The QR text of these claims signed by ``key`` (under the kid of ``kid_key`` if given)."""
    info = key.info if kid_key is None else dataclasses.replace(key.info, kid=kid_key.kid)
    return sign_stamp(c, key.private_key, info, HOST)


def message_of(code: str) -> bytes:
    return parse_stamp_url(code)[1]


def rebuild(code: str, *, payload: bytes | None = None, signature: bytes | None = None) -> str:
    """The same stamp with its payload or signature replaced (the other parts kept byte for byte)."""
    tag = cbor2.loads(message_of(code))
    protected, unprotected, old_payload, old_signature = tag.value
    body = [protected, dict(unprotected), old_payload if payload is None else payload,
            old_signature if signature is None else signature]
    return stamp_url(cbor2.dumps(cbor2.CBORTag(18, body), canonical=True), HOST)


def raw_message(protected: dict[int, Any], payload: bytes, signature: bytes) -> bytes:
    """A COSE_Sign1 built by hand (for algorithms and headers our signer refuses to produce)."""
    body = [cbor2.dumps(protected, canonical=True), {}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(18, body), canonical=True)


def flip_serial_byte(code: str) -> str:
    """Change the last byte of the serial inside the signed payload (100001 -> 100000): a forged serial."""
    payload = cbor2.loads(message_of(code)).value[2]
    serial = (100_001).to_bytes(4, "big")
    at = payload.index(b"\x23\x1a" + serial)  # key -4 (0x23), uint32 (0x1a), value
    forged = bytearray(payload)
    forged[at + 5] ^= 0x01
    return rebuild(code, payload=bytes(forged))


def flip_signature_bit(code: str) -> str:
    signature = bytearray(cbor2.loads(message_of(code)).value[3])
    signature[10] ^= 0x80
    return rebuild(code, signature=bytes(signature))


def other_s(code: str) -> str:
    """The ES256 stamp with s replaced by n - s: the second valid ECDSA signature of the same message."""
    signature = cbor2.loads(message_of(code)).value[3]
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    return rebuild(code, signature=r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big"))


# --- the cases ----------------------------------------------------------------------------------------------


def case(name: str, description: str, code: str, expect: str, c: StampClaims | None = None,
         key: TestKey | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "description": description, "code": code, "expect": expect}
    if expect == "valid":
        assert c is not None and key is not None
        entry["claims"] = c.as_dict()
        entry["kid"] = key.info.kid_b64
    return entry


def cases() -> list[dict[str, Any]]:
    base = claims()
    ed = sign(base, ED_ACTIVE)
    digits = ed.rsplit("/", 1)[1]
    es_claims = claims(product_id=7, batch_id=311, serial=4_000_123, stars=5, origin_commune="06688",
                       production_date=dt.date(2026, 3, 10), expiry_date=dt.date(2026, 9, 10),
                       certificate_valid_until=dt.date(2027, 12, 31), issued_at=utc(2026, 3, 12, 1, 2, 3))
    es = sign(es_claims, ES_ACTIVE)
    no_expiry = claims(expiry_date=None, serial=7, product_id=5, batch_id=9, stars=3)
    retired_ok = claims(issued_at=utc(2025, 11, 20, 9, 30), production_date=dt.date(2025, 11, 15),
                        expiry_date=dt.date(2026, 11, 15), serial=55)
    retired_late = claims(issued_at=utc(2026, 1, 1, 0, 0, 1))
    before_window = claims(issued_at=utc(2025, 12, 31, 23, 59, 59))
    revoked = claims(issued_at=utc(2025, 10, 1, 12, 0), serial=90)
    payload = base.to_cbor()
    version_2 = {**cbor2.loads(payload), -1: 2}

    return [
        case("valid-ed25519", "A stamp as we print it: upper-case URL, EdDSA (Ed25519), active key.",
             ed, "valid", base, ED_ACTIVE),
        case("valid-es256", "Signed with the active ES256 (P-256) key; the signature is raw r||s (64 bytes).",
             es, "valid", es_claims, ES_ACTIVE),
        case("valid-no-expiry", "A product without an expiry date: claim -8 is absent (expiry_date null).",
             sign(no_expiry, ED_ACTIVE), "valid", no_expiry, ED_ACTIVE),
        case("valid-lowercase-url", "valid-ed25519 in lower case: scheme, host and path are case-insensitive.",
             ed.lower(), "valid", base, ED_ACTIVE),
        case("valid-path-only", "Just the path, lower case (typed or pasted): scheme and host are optional.",
             f"/s/{digits}", "valid", base, ED_ACTIVE),
        case("valid-path-no-slash", "The path without its leading slash.", f"S/{digits}", "valid", base,
             ED_ACTIVE),
        case("valid-http-trailing-slash", "http:// instead of https://, a trailing slash and surrounding "
             "white space (trimmed) are tolerated.", f"  http://{HOST.lower()}/S/{digits}/ \n", "valid", base,
             ED_ACTIVE),
        case("valid-retired-key-in-window", "Signed by the retired key while it was active (iat 2025-11-20, "
             "window 2025-01-01..2026-01-01): stamps of a retired key stay valid.",
             sign(retired_ok, ED_RETIRED), "valid", retired_ok, ED_RETIRED),
        case("valid-es256-other-s", "valid-es256 with s replaced by n-s. ECDSA accepts both, so this is the same "
             "stamp with a different code text: identify stamps by their claims, never by the code text.",
             other_s(es), "valid", es_claims, ES_ACTIVE),
        case("retired-key-after-window", "Signed by the retired key with iat 2026-01-01T00:00:01Z, one second after "
             "its window closed: a stolen retired key cannot make new stamps.",
             sign(retired_late, ED_RETIRED), "unknown-key"),
        case("active-key-before-window", "Signed by the active Ed25519 key with iat one second before its "
             "window opens (nbf 2026-01-01).", sign(before_window, ED_ACTIVE), "unknown-key"),
        case("revoked-key", "Signed by the revoked key inside its old window: a revoked key refuses every stamp.",
             sign(revoked, ED_REVOKED), "key-revoked"),
        case("tampered-claims", "valid-ed25519 with the serial changed inside the signed payload "
             "(100001 -> 100000); claims still parse, the signature does not match.",
             flip_serial_byte(ed), "invalid-signature"),
        case("tampered-signature", "valid-ed25519 with one bit of the signature flipped.",
             flip_signature_bit(ed), "invalid-signature"),
        case("tampered-signature-es256", "valid-es256 with one bit of r flipped.",
             flip_signature_bit(es), "invalid-signature"),
        case("wrong-key", "Carries the kid of the active Ed25519 key but was signed by another Ed25519 key.",
             sign(base, ED_UNPUBLISHED, kid_key=ED_ACTIVE), "invalid-signature"),
        case("alg-key-mismatch", "Signed ES256 with the P-256 key but names the kid of the Ed25519 key: the "
             "key pins the algorithm.",
             stamp_url(cose.sign1(payload, ES_ACTIVE.private_key, ED_ACTIVE.kid, alg="ES256"), HOST),
             "invalid-signature"),
        case("unknown-kid", "Correctly signed by a key that is not in the key set.",
             sign(base, ED_UNPUBLISHED), "unknown-key"),
        case("no-kid", "Signed by the active key, but the protected header has no kid.",
             stamp_url(raw_message({1: -8}, payload, ED_ACTIVE.private_key.sign(
                 cbor2.dumps(["Signature1", cbor2.dumps({1: -8}), b"", payload]))), HOST), "unknown-key"),
        case("unsupported-alg-rs256", "alg RS256 (-257, RSA) with the kid of a published key. Refused on the "
             "algorithm before any signature check, so the 64 signature bytes are mere filler.",
             stamp_url(raw_message({1: -257, 4: ED_ACTIVE.kid}, payload, bytes(range(64))), HOST), "malformed"),
        case("signed-claims-version-2", "Validly signed by the active key, but the claims say format version 2.",
             stamp_url(cose.sign1(cbor2.dumps(version_2, canonical=True), ED_ACTIVE.private_key, ED_ACTIVE.kid),
                       HOST), "malformed"),
        case("truncated", "valid-ed25519 with its last 10 digits cut off.", ed[:-10], "malformed"),
        case("digits-no-marker", "Digits whose number does not start with the 0x01 marker byte.",
             f"HTTPS://{HOST}/S/12345678901234567890", "malformed"),
        case("digits-leading-zero", "valid-ed25519's digits behind a leading zero (never produced).",
             f"HTTPS://{HOST}/S/0{digits}", "malformed"),
        case("digits-too-long", "403 digits: over the 400-digit limit (a version-8 QR holds far fewer).",
             f"HTTPS://{HOST}/S/{bytes_to_digits(bytes(167))}", "malformed"),
        case("digits-not-cose", "Well-formed digits whose bytes are CBOR text, not a COSE_Sign1.",
             f"HTTPS://{HOST}/S/{bytes_to_digits(cbor2.dumps('OCOP'))}", "malformed"),
        case("not-our-path", "Our digits under another path (/P/ instead of /S/).",
             f"HTTPS://{HOST}/P/{digits}", "malformed"),
        case("other-url", "Some other web address.", "https://example.com/products?id=42", "malformed"),
        case("not-a-url", "Plain text, not an address.", "Sản phẩm OCOP 4 sao", "malformed"),
        case("empty", "An empty scan.", "", "malformed"),
    ]


def generate() -> str:
    doc = {
        "description": "Test vectors for OCOP stamps (docs/stamp-format.md), made by tests/vectors/stamps/"
                       "generate.py with TEST-ONLY keys whose private halves are public: never trust them "
                       "outside tests. 'expect' is 'valid' or the verdict a verifier must return.",
        "host": HOST,
        "jwks": jwks(),
        "cases": cases(),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    args = parser.parse_args()
    if not ES_DETERMINISTIC:
        print("warning: this OpenSSL has no deterministic ECDSA; the ES256 cases will differ on every run",
              file=sys.stderr)
    text = generate()
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT}: {'up to date' if same else 'DIFFERS from a fresh run'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(json.loads(text)['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
