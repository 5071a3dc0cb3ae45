"""Property tests: whatever a scanner or a forger feeds the stamp verifier, it ends in a verified stamp or a
StampError (a verdict), never any other exception; and no mutation of a genuine stamp verifies as a stamp
that says something else.

Keys and genuine stamps come from the test vectors (tests/vectors/stamps/vectors.json); one extra
throw-away key signs arbitrary claim maps, to reach the claims parser behind a good signature.

A few hundred examples per property keep the file under a few seconds; for a longer hunt run e.g.
``STAMP_FUZZ_EXAMPLES=20000 pytest tests/test_stamp_fuzz.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stamp_service import cose
from stamp_service.keystore import KeyInfo, PublicKeyRecord, kid_for_public_key, load_jwks
from stamp_service.stamps.claims import StampClaims
from stamp_service.stamps.codec import bytes_to_digits, parse_stamp_url, stamp_url
from stamp_service.stamps.errors import StampError
from stamp_service.stamps.signing import VerifiedStamp, verify_stamp

VECTORS = json.loads((Path(__file__).parent / "vectors" / "stamps" / "vectors.json").read_text(encoding="utf-8"))
HOST: str = VECTORS["host"]
KEYS = load_jwks(VECTORS["jwks"])
# The genuine stamps as printed (upper-case full URL), with what they say.
GENUINE = [(c["code"], c["claims"]) for c in VECTORS["cases"]
           if c["expect"] == "valid" and c["code"].startswith("HTTPS://")]
KIDS = sorted(KEYS)

FUZZ = settings(max_examples=int(os.environ.get("STAMP_FUZZ_EXAMPLES", "250")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def outcome(text: Any, keys: Any = KEYS) -> VerifiedStamp | StampError:
    """verify_stamp's result or its StampError; any other exception fails the test. Also runs the parser."""
    try:
        parse_stamp_url(text)
    except StampError as exc:
        assert exc.verdict == "malformed"
    try:
        result = verify_stamp(text, keys)
    except StampError as exc:
        assert exc.verdict in {"malformed", "unknown-key", "key-revoked", "invalid-signature"}
        assert isinstance(exc.detail, str) and exc.detail
        return exc
    assert isinstance(result, VerifiedStamp)
    return result


def assert_same_or_refused(text: str, claims: dict[str, Any]) -> None:
    result = outcome(text)
    if isinstance(result, VerifiedStamp):
        assert result.claims.as_dict() == claims, f"a mutated stamp verified with other claims: {text!r}"


# --- anything at all --------------------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=500))
def test_arbitrary_text(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=50), st.lists(st.text(max_size=5), max_size=3)))
def test_not_even_text(value: Any) -> None:
    assert isinstance(outcome(value), StampError)


@FUZZ
@given(st.text(alphabet="0123456789", max_size=450), st.sampled_from(["", "/", "/S/", "S/", f"HTTPS://{HOST}/S/"]))
def test_arbitrary_digits(digits: str, head: str) -> None:
    outcome(head + digits)


HEADS = st.sampled_from(["", "https://", "HTTPS://", "http://", "hTtPs://", "ftp://", "https:/", "//", "https://x@"])
PATHS = st.sampled_from(["/S/", "/s/", "S/", "/P/", "//S/", "/S", "/S/S/", "/ſ/", "/S/0", "/S/-", "/S/ "])
HOSTS = st.one_of(st.just(HOST), st.text(max_size=40),
                  st.from_regex(r"[A-Za-z0-9.:-]{1,40}", fullmatch=True))
TAILS = st.sampled_from(["", "/", "?x=1", "#", " ", "\n", "/extra", "\x00"])


@FUZZ
@given(HEADS, HOSTS, PATHS, st.one_of(st.text(alphabet="0123456789", max_size=420),
                                      st.sampled_from([g[0].rsplit("/", 1)[1] for g in GENUINE])), TAILS)
def test_url_shapes(head: str, host: str, path: str, digits: str, tail: str) -> None:
    outcome(head + host + path + digits + tail)


# --- mutations of genuine stamps ------------------------------------------------------------------------------


@st.composite
def mutated_stamps(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    code, claims = draw(st.sampled_from(GENUINE))
    head, digits = code.rsplit("/", 1)
    head += "/"
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "swap", "case"]))
        if op == "case":
            head = "".join(ch.lower() if draw(st.booleans()) else ch.upper() for ch in head)
            continue
        if not digits:
            break
        i = draw(st.integers(0, len(digits) - 1))
        d = draw(st.sampled_from("0123456789"))
        if op == "flip":
            digits = digits[:i] + d + digits[i + 1:]
        elif op == "insert":
            digits = digits[:i] + d + digits[i:]
        elif op == "delete":
            digits = digits[:i] + digits[i + 1:]
        elif op == "truncate":
            digits = digits[:i] if draw(st.booleans()) else digits[i:]
        elif op == "swap" and i + 1 < len(digits):
            digits = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
    return head + digits, claims


@FUZZ
@given(mutated_stamps())
def test_mutated_digits_never_verify_as_other_claims(mutated: tuple[str, dict[str, Any]]) -> None:
    assert_same_or_refused(*mutated)


@FUZZ
@given(st.sampled_from(GENUINE), st.data())
def test_case_and_white_space_never_change_the_verdict(genuine: tuple[str, dict[str, Any]],
                                                        data: st.DataObject) -> None:
    code, claims = genuine
    head, digits = code.rsplit("/", 1)
    head = "".join(ch.lower() if data.draw(st.booleans()) else ch for ch in head + "/")
    space = data.draw(st.sampled_from(["", " ", "\t", "\n", "\r\n", "  "]))
    result = outcome(space + head + digits + data.draw(st.sampled_from(["", "/"])) + space)
    assert isinstance(result, VerifiedStamp) and result.claims.as_dict() == claims


# --- bytes wrapped as valid-looking stamp URLs ---------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_as_digits(data: bytes) -> None:
    result = outcome(f"HTTPS://{HOST}/S/{bytes_to_digits(data)}")
    assert isinstance(result, StampError)


@st.composite
def mutated_messages(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    code, claims = draw(st.sampled_from(GENUINE))
    message = bytearray(parse_stamp_url(code)[1])
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["xor", "set", "insert", "delete", "truncate"]))
        if not message:
            break
        i = draw(st.integers(0, len(message) - 1))
        b = draw(st.integers(0, 255))
        if op == "xor":
            message[i] ^= draw(st.integers(1, 255))
        elif op == "set":
            message[i] = b
        elif op == "insert":
            message.insert(i, b)
        elif op == "delete":
            del message[i]
        else:
            del message[i:]
    return bytes(message), claims


@FUZZ
@given(mutated_messages())
def test_mutated_cose_bytes(mutated: tuple[bytes, dict[str, Any]]) -> None:
    message, claims = mutated
    assert_same_or_refused(stamp_url(message, HOST), claims)


CBOR_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=True), st.text(max_size=12),
    st.binary(max_size=12), st.sampled_from(KIDS),
)
CBOR_VALUES = st.recursive(CBOR_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.integers(-10, 10), st.text(max_size=3)), inner,
                                                 max_size=4)), max_leaves=12)


@FUZZ
@given(CBOR_VALUES, CBOR_VALUES, CBOR_VALUES, CBOR_VALUES, st.sampled_from([18, 61, 98, None]))
def test_cose_shaped_cbor(protected: Any, unprotected: Any, payload: Any, signature: Any, tag: int | None) -> None:
    """Four-element arrays of arbitrary CBOR, the protected header sometimes a real one naming our keys."""
    if isinstance(protected, dict):
        protected = cbor2.dumps(protected)
    body = [protected, unprotected, payload, signature]
    message = cbor2.dumps(body if tag is None else cbor2.CBORTag(tag, body))
    assert isinstance(outcome(stamp_url(message, HOST)), StampError)


# --- arbitrary claims behind a good signature -----------------------------------------------------------------

SIGNER = ed25519.Ed25519PrivateKey.generate()
SIGNER_KID = kid_for_public_key(SIGNER.public_key())
SIGNER_KEYS = {SIGNER_KID: PublicKeyRecord(
    KeyInfo(kid=SIGNER_KID, alg="EdDSA", status="active",
            not_before=dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.timezone.utc), not_after=None,
            created_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)),
    SIGNER.public_key())}
GOOD_CLAIMS = {1: "VN", 6: 1772439300, -1: 1, -2: 42, -3: 1207, -4: 100001, -5: 4, -6: 6978, -7: 20504, -8: 20869,
               -9: 21000}
# Values at the edges of CBOR's integer sizes, of Python's datetime and date ranges, and of our claim limits,
# plus the right numbers in the wrong CBOR types.
EDGE_VALUES = [
    None, True, False, 0, 1, 2, 3, 4, 5, 6, 23, 24, 255, 256, 65535, 65536, 99999, 100000, 2932896, 2**31,
    2**32 - 1, 2**32, 253402300799, 253402300800, 2**40, 2**63, 2**64 - 1, -1, -(2**63), -(2**64), 2**70,
    1.0, 3.0, 4.0, 1772439300.0, float("nan"), float("inf"), "", "VN", "ABCDEFGHI", "vn", "06978", "\u0000",
    b"", b"\x01", [], [1], {}, {1: 1}, cbor2.CBORTag(1, 1772439300), cbor2.CBORTag(100, 20504),
    cbor2.CBORSimpleValue(99), cbor2.undefined,
]
CLAIM_VALUES = st.one_of(CBOR_LEAVES, st.integers(-1, 2**41), st.sampled_from(EDGE_VALUES),
                         st.lists(st.integers(), max_size=2), st.dictionaries(st.integers(), st.integers(), max_size=2))


def check_signed_claims(claims: dict[Any, Any]) -> VerifiedStamp | StampError:
    """Sign a claims map with a trusted key and verify it: a verified stamp that re-encodes to itself, or
    malformed."""
    message = cose.sign1(cbor2.dumps(claims, canonical=True), SIGNER, SIGNER_KID)
    result = outcome(stamp_url(message, HOST), SIGNER_KEYS)
    if isinstance(result, VerifiedStamp):
        # Whatever was accepted is a well-formed stamp that re-encodes to the same claims.
        assert StampClaims.from_cbor(result.claims.to_cbor()) == result.claims
        json.dumps(result.claims.as_dict())
        for name in ("product_id", "batch_id", "serial", "stars", "version"):
            assert type(getattr(result.claims, name)) is int, name
    else:
        assert result.verdict == "malformed"
    return result


def test_good_claims_verify() -> None:
    assert isinstance(check_signed_claims(GOOD_CLAIMS), VerifiedStamp)


def test_signed_edge_values_in_every_claim() -> None:
    """Every claim (and some unknown keys) set to every edge value, one at a time; also each claim left out."""
    for key in [*GOOD_CLAIMS, 2, 4, -10, -24, 0]:
        for value in EDGE_VALUES:
            check_signed_claims({**GOOD_CLAIMS, key: value})
    for key in GOOD_CLAIMS:
        result = check_signed_claims({k: v for k, v in GOOD_CLAIMS.items() if k != key})
        assert isinstance(result, VerifiedStamp) == (key == -8), key  # only the expiry date is optional


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(sorted(GOOD_CLAIMS)), st.integers(-12, 8)), CLAIM_VALUES, max_size=3),
       st.sets(st.sampled_from(sorted(GOOD_CLAIMS)), max_size=2))
def test_signed_arbitrary_claims(changes: dict[int, Any], dropped: set[int]) -> None:
    """Claims reach the parser only behind a good signature: a key holder's mistakes must not crash it."""
    check_signed_claims({k: v for k, v in {**GOOD_CLAIMS, **changes}.items() if k not in dropped})


@FUZZ
@given(CBOR_VALUES)
def test_signed_payload_that_is_not_a_map(payload: Any) -> None:
    message = cose.sign1(cbor2.dumps(payload), SIGNER, SIGNER_KID)
    result = outcome(stamp_url(message, HOST), SIGNER_KEYS)
    assert isinstance(result, StampError) or isinstance(payload, dict)


def test_claims_with_duplicate_keys_wrong_types_or_other_encodings_are_malformed() -> None:
    """Behind a good signature, a claims map must still be our one encoding: the decoder would keep the last of
    two equal keys, read True or 1.0 as the version 1, and accept indefinite lengths."""
    good = cbor2.dumps(GOOD_CLAIMS, canonical=True)
    assert isinstance(outcome(stamp_url(cose.sign1(good, SIGNER, SIGNER_KID), HOST), SIGNER_KEYS), VerifiedStamp)
    count = len(GOOD_CLAIMS)
    body = good[1:]
    stars = cbor2.dumps({-5: 5})[1:]  # one more entry: a second "stars" key
    variants = {
        "duplicate key": bytes([0xA0 + count + 1]) + body + stars,
        "indefinite map": b"\xbf" + body + b"\xff",
        "version True": cbor2.dumps({**GOOD_CLAIMS, -1: True}, canonical=True),
        "version 1.0": cbor2.dumps({**GOOD_CLAIMS, -1: 1.0}, canonical=True),
        "too long": cbor2.dumps({**GOOD_CLAIMS, 1: "V" * 200}, canonical=True),
    }
    for name, payload in variants.items():
        result = outcome(stamp_url(cose.sign1(payload, SIGNER, SIGNER_KID), HOST), SIGNER_KEYS)
        assert isinstance(result, StampError) and result.verdict == "malformed", name
