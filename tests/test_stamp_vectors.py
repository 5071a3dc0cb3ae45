"""The stamp-format test vectors (tests/vectors/stamps/vectors.json, spec: docs/stamp-format.md).

The vectors are a fixed reference made once by tests/vectors/stamps/generate.py; these tests only read them.
Each case is checked three ways: our verifier (verify_stamp), our command line (`ocop-stamp verify --jwks`),
and, for the signature, pycose, a COSE implementation that shares no code with ours.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from click.testing import CliRunner
from pycose.algorithms import EdDSA as PyEdDSA
from pycose.algorithms import Es256 as PyEs256
from pycose.headers import KID as PyKID
from pycose.headers import Algorithm as PyAlgorithm
from pycose.keys import EC2Key, OKPKey
from pycose.keys.curves import P256, Ed25519
from pycose.messages import Sign1Message

from test_cose import pycose_decode  # the one workaround for pycose 1.1.0 on cbor2 >= 6

from stamp_service.cli import cli
from stamp_service.keystore import KID_LENGTH, jwk_thumbprint, load_jwks
from stamp_service.stamps.claims import StampClaims
from stamp_service.stamps.codec import parse_stamp_url, stamp_url
from stamp_service.stamps.errors import KeyRevoked, MalformedStamp, SignatureMismatch, StampError, UnknownKey
from stamp_service.stamps.qr import MAX_VERSION, qr_version
from stamp_service.stamps.signing import verify_stamp

VECTORS_FILE = Path(__file__).parent / "vectors" / "stamps" / "vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = VECTORS["cases"]
VALID = [c for c in CASES if c["expect"] == "valid"]
INVALID = [c for c in CASES if c["expect"] != "valid"]
KEYS = load_jwks(VECTORS["jwks"])
JWK_BY_KID = {k["kid"]: k for k in VECTORS["jwks"]["keys"]}
ERROR_CLASS = {"malformed": MalformedStamp, "unknown-key": UnknownKey, "key-revoked": KeyRevoked,
               "invalid-signature": SignatureMismatch}

# What the brief for the vectors asks to be covered; a regenerated file must keep these names.
REQUIRED = {
    "valid-ed25519": "valid", "valid-es256": "valid", "valid-lowercase-url": "valid", "valid-path-only": "valid",
    "valid-retired-key-in-window": "valid", "retired-key-after-window": "unknown-key",
    "revoked-key": "key-revoked", "tampered-claims": "invalid-signature",
    "tampered-signature": "invalid-signature", "truncated": "malformed", "digits-no-marker": "malformed",
    "wrong-key": "invalid-signature", "unknown-kid": "unknown-key", "not-our-path": "malformed",
    "not-a-url": "malformed", "unsupported-alg-rs256": "malformed",
}


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the file itself -------------------------------------------------------------------------------------------


def test_vector_file_is_complete() -> None:
    names = ids(CASES)
    assert len(names) == len(set(names)), "case names must be unique"
    assert {n: c["expect"] for c in CASES for n in [c["name"]] if n in REQUIRED} == REQUIRED
    assert {c["expect"] for c in CASES} == {"valid", *ERROR_CLASS}
    for c in CASES:
        assert set(c) >= {"name", "description", "code", "expect"} and c["description"]
        assert ("claims" in c) == (c["expect"] == "valid")


def test_jwks_publishes_the_four_test_keys() -> None:
    keys = VECTORS["jwks"]["keys"]
    summary = sorted((k["alg"], k["status"], "exp" in k) for k in keys)
    assert summary == [("ES256", "active", False), ("EdDSA", "active", False), ("EdDSA", "retired", True),
                       ("EdDSA", "revoked", True)]
    for jwk in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(jwk), "public members only"
        # kid = base64url of the first 4 bytes of the RFC 7638 thumbprint, recomputed here independently.
        assert b64url_decode(jwk["kid"]) == jwk_thumbprint(jwk)[:KID_LENGTH]
    assert len(KEYS) == 4


def test_retired_window_is_closed_and_revoked_key_has_revoked_at() -> None:
    by_status = {k["status"]: k for k in VECTORS["jwks"]["keys"] if k["status"] != "active"}
    assert by_status["retired"]["nbf"] < by_status["retired"]["exp"]
    assert "revoked_at" in by_status["revoked"]


# --- our verifier ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", VALID, ids=ids(VALID))
def test_valid_vector(case: dict[str, Any]) -> None:
    stamp = verify_stamp(case["code"], KEYS)
    assert stamp.claims.as_dict() == case["claims"]
    assert stamp.key.kid_b64 == case["kid"]


@pytest.mark.parametrize("case", INVALID, ids=ids(INVALID))
def test_refused_vector(case: dict[str, Any]) -> None:
    with pytest.raises(StampError) as caught:
        verify_stamp(case["code"], KEYS)
    assert caught.value.verdict == case["expect"]
    # the stamp error of the verdict, or the COSE layer's own subclass of it (no translation between them)
    assert isinstance(caught.value, ERROR_CLASS[case["expect"]])
    assert isinstance(caught.value.detail, str) and caught.value.detail


def test_verdicts_depend_on_the_key_set() -> None:
    """The same codes with keys missing: nothing verifies without its key, and a stamp never gets better."""
    only_retired = {kid: r for kid, r in KEYS.items() if r.info.status == "retired"}
    for case in VALID:
        with pytest.raises(StampError) as caught:
            verify_stamp(case["code"], {})
        assert caught.value.verdict == "unknown-key"
        if case["kid"] not in {r.info.kid_b64 for r in only_retired.values()}:
            with pytest.raises(UnknownKey):
                verify_stamp(case["code"], only_retired)


def test_valid_vectors_are_one_stamp_per_claims() -> None:
    """The case variants (lower case, path only, ...) decode to the same COSE bytes as the printed stamp."""
    printed = {c["name"]: parse_stamp_url(c["code"])[1] for c in VALID}
    variants = ("valid-lowercase-url", "valid-path-only", "valid-path-no-slash", "valid-http-trailing-slash")
    for name in variants:
        if name in printed:
            assert printed[name] == printed["valid-ed25519"], name


# --- the command line ------------------------------------------------------------------------------------------


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(VECTORS["jwks"]), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", VALID, ids=ids(VALID))
def test_cli_verifies_valid_vector(case: dict[str, Any], jwks_file: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", "--jwks", str(jwks_file), case["code"]])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("OK ")
    claims = case["claims"]
    assert f"serial {claims['serial']} product {claims['product_id']} batch {claims['batch_id']}" in lines[0]
    assert f"issued {claims['issued_at']}" in lines[0]
    assert f"key {b64url_decode(case['kid']).hex()}" in lines[0]


def test_cli_fails_every_refused_vector(jwks_file: Path) -> None:
    codes = [c["code"] for c in INVALID if c["code"].strip()]  # the CLI skips blank input
    result = CliRunner().invoke(cli, ["verify", "--jwks", str(jwks_file), "--", *codes])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    expected = [c["expect"] for c in INVALID if c["code"].strip()]
    assert [re.match(r"FAIL ([a-z-]+):", line).group(1) for line in lines] == expected  # type: ignore[union-attr]


def test_cli_json_mixed_run(jwks_file: Path) -> None:
    chosen = [VALID[0], INVALID[0], VALID[1]]
    result = CliRunner().invoke(cli, ["verify", "--jwks", str(jwks_file), "--json", "--",
                                      *[c["code"] for c in chosen]])
    assert result.exit_code == 1  # one refused code fails the run
    out = json.loads(result.output)
    assert [r["ok"] for r in out] == [True, False, True]
    assert out[1]["verdict"] == INVALID[0]["expect"]
    for r, c in zip(out, chosen):
        if r["ok"]:
            assert {k: r["claims"][k] for k in c["claims"]} == c["claims"]


# --- pycose: an independent COSE implementation ----------------------------------------------------------------


def pycose_key(jwk: dict[str, Any]) -> Any:
    if jwk["kty"] == "OKP":
        return OKPKey(crv=Ed25519, x=b64url_decode(jwk["x"]))
    return EC2Key(crv=P256, x=b64url_decode(jwk["x"]), y=b64url_decode(jwk["y"]))


@pytest.mark.parametrize("case", VALID, ids=ids(VALID))
def test_pycose_verifies_valid_vector(case: dict[str, Any]) -> None:
    _, message = parse_stamp_url(case["code"])
    decoded = pycose_decode(message)
    assert isinstance(decoded, Sign1Message)
    jwk = JWK_BY_KID[case["kid"]]
    assert decoded.get_attr(PyKID) == b64url_decode(case["kid"])
    assert decoded.get_attr(PyAlgorithm) is (PyEdDSA if jwk["alg"] == "EdDSA" else PyEs256)
    assert decoded.uhdr == {}
    decoded.key = pycose_key(jwk)
    assert decoded.verify_signature() is True
    assert StampClaims.from_cbor(decoded.payload).as_dict() == case["claims"]


@pytest.mark.parametrize("name", ["tampered-claims", "tampered-signature", "tampered-signature-es256", "wrong-key"])
def test_pycose_refuses_bad_signature_vector(name: str) -> None:
    case = next(c for c in CASES if c["name"] == name)
    decoded = pycose_decode(parse_stamp_url(case["code"])[1])
    kid = base64.urlsafe_b64encode(decoded.get_attr(PyKID)).decode().rstrip("=")
    decoded.key = pycose_key(JWK_BY_KID[kid])
    assert decoded.verify_signature() is False


# --- QR size ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", VALID, ids=ids(VALID))
def test_valid_vector_fits_the_qr_budget(case: dict[str, Any]) -> None:
    """Every valid stamp, printed the way the issuer prints it, needs QR version <= 8 at level M."""
    host, message = parse_stamp_url(case["code"])
    printed = stamp_url(message, host or VECTORS["host"])
    if re.fullmatch(r"HTTPS://[A-Z0-9.:-]+/S/[0-9]+", case["code"]):
        assert printed == case["code"]
    assert qr_version(printed, "M") <= MAX_VERSION
