"""COSE_Sign1 (RFC 9052) signing and verification for OCOP stamps.

A stamp is a single-signer COSE_Sign1 message::

    18([protected: bstr .cbor {1: alg, 4: kid}, unprotected: {}, payload: bstr, signature: bstr])

Only two algorithms are supported: EdDSA with Ed25519 keys (COSE alg -8) and ES256 with
P-256 keys (COSE alg -7, signature is raw ``r || s``, 64 bytes, not DER).

Verification policy (why things are the way they are):

* ``verify_sign1`` reads untrusted bytes from a scanned QR code, so it only ever raises a
  :class:`CoseError` subclass (a stamps.errors.StampError, so its verdict is known); every decoder or
  crypto library exception is translated.
* Checks run in this order: structure (:class:`MalformedMessage`), key id
  (:class:`UnknownKey`), algorithm (:class:`UnsupportedAlgorithm`), algorithm against key
  type (:class:`KeyMismatch`), signature (:class:`BadSignature`).
* The algorithm is taken from the protected header, else from the unprotected one (the EU DCC
  vector CO20, marked valid, has it only there). An unprotected ``alg`` is not authenticated,
  but it cannot be abused here: each supported key type allows exactly one algorithm, so the
  key pins it and a mismatching ``alg`` fails as :class:`KeyMismatch`. Our own stamps always
  protect it.
* The key id is taken from the protected header when it is there, else from the unprotected
  header. A label present in both buckets is tolerated (real-world signers do this) and the
  protected value wins, so a wrong protected kid cannot be "rescued" by the unprotected one.
* The algorithm must match the key type: EdDSA only with Ed25519, ES256 only with P-256.
  Since each supported key type allows exactly one algorithm, the key pins the algorithm.
* Accepted envelopes: tag 18, tag 61 (CWT) wrapping tag 18, and the untagged array.
* Messages over :data:`MAX_MESSAGE_SIZE` bytes and nesting deeper than a few levels are
  refused before any real work is done.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

# The stamp errors these derive from: a COSE refusal is already the stamp verdict it stands for.
from .stamps.errors import CoseError, MalformedStamp, SignatureMismatch, UnknownKey

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "MAX_MESSAGE_SIZE",
    "BadSignature",
    "CoseError",
    "KeyMismatch",
    "MalformedMessage",
    "PrivateKey",
    "PublicKey",
    "Sign1",
    "UnknownKey",
    "UnsupportedAlgorithm",
    "decode_sign1",
    "sign1",
    "verify_sign1",
]

PublicKey = Union[ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey]
PrivateKey = Union[ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey]

# COSE algorithm identifiers (IANA "COSE Algorithms" registry).
ALG_EDDSA = -8
ALG_ES256 = -7
_ALG_BY_NAME = {"EdDSA": ALG_EDDSA, "ES256": ALG_ES256}
_NAME_BY_ALG = {value: name for name, value in _ALG_BY_NAME.items()}

# Header labels (RFC 9052 section 3.1).
_LABEL_ALG = 1
_LABEL_CRIT = 2
_LABEL_KID = 4

# CBOR tags: COSE_Sign1 (RFC 9052) and CWT (RFC 8392).
_TAG_SIGN1 = 18
_TAG_CWT = 61

# A stamp fits in a QR code (under 3 KB); anything far larger is hostile or a mistake.
MAX_MESSAGE_SIZE = 64 * 1024
# tag 61 > tag 18 > array > header map > value leaves plenty of room at 16; tags count too.
_MAX_DEPTH = 16
_SIGNATURE_SIZE = 64  # Ed25519 signatures and ES256 r||s are both 64 bytes
_P256_SCALAR_SIZE = 32


class MalformedMessage(CoseError, MalformedStamp):
    """The bytes are not a COSE_Sign1 message this module can process."""

    default_detail = "The stamp is damaged or is not a signed stamp."


class UnsupportedAlgorithm(CoseError, MalformedStamp):
    """The signature algorithm is missing, unprotected or not EdDSA/ES256."""

    default_detail = "The stamp uses a signature algorithm we do not support."


class BadSignature(CoseError, SignatureMismatch):
    """The signature does not verify with the key named by the message."""

    default_detail = "The stamp's signature is not valid."


class KeyMismatch(BadSignature):
    """The algorithm in the message cannot be used with the type of the named key."""

    default_detail = "The stamp's algorithm does not match its signing key."


@dataclass(frozen=True)
class Sign1:
    """A parsed COSE_Sign1 message whose signature has NOT been checked."""

    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes
    # Protected kid if present, else unprotected kid, else None.
    kid: bytes | None
    # From the protected header only; the COSE registry also allows text names.
    alg: int | str | None
    # The exact protected-header bytes: the signature covers these, not a re-encoding.
    protected_bytes: bytes


def sign1(
    payload: bytes,
    private_key: PrivateKey,
    kid: bytes,
    *,
    alg: str | None = None,
    kid_in_protected: bool = True,
    tag: bool = True,
) -> bytes:
    """Sign ``payload`` as a deterministic-CBOR COSE_Sign1 message and return its bytes."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError("payload must be bytes")
    if not isinstance(kid, (bytes, bytearray, memoryview)):
        raise TypeError("kid must be bytes")
    payload, kid = bytes(payload), bytes(kid)

    key_alg = _private_key_alg(private_key)
    if alg is None:
        if key_alg is None:
            raise UnsupportedAlgorithm(
                f"Cannot sign with a {type(private_key).__name__}; use Ed25519 or EC P-256."
            )
        alg_id = key_alg
    else:
        alg_id = _ALG_BY_NAME.get(alg) if isinstance(alg, str) else None
        if alg_id is None:
            raise UnsupportedAlgorithm(f"Unsupported algorithm {alg!r}; use 'EdDSA' or 'ES256'.")
        if key_alg != alg_id:
            raise KeyMismatch(f"{alg} cannot be used with a {type(private_key).__name__}.")

    protected: dict[int, Any] = {_LABEL_ALG: alg_id}
    unprotected: dict[int, Any] = {}
    (protected if kid_in_protected else unprotected)[_LABEL_KID] = kid
    # canonical=True sorts map keys, so the same inputs always give the same header bytes.
    protected_bytes = cbor2.dumps(protected, canonical=True)
    to_be_signed = _sig_structure(protected_bytes, payload)

    if alg_id == ALG_EDDSA:
        signature = private_key.sign(to_be_signed)
    else:
        der = private_key.sign(to_be_signed, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        # COSE wants fixed-width r || s (RFC 9053 section 2.1), not the DER that OpenSSL emits.
        signature = r.to_bytes(_P256_SCALAR_SIZE, "big") + s.to_bytes(_P256_SCALAR_SIZE, "big")

    body = [protected_bytes, unprotected, payload, signature]
    message = cbor2.dumps(cbor2.CBORTag(_TAG_SIGN1, body) if tag else body, canonical=True)
    if len(message) > MAX_MESSAGE_SIZE:
        # Never issue a stamp that our own verifier would refuse.
        raise ValueError(f"signed message is {len(message)} bytes, over {MAX_MESSAGE_SIZE}")
    return message


def decode_sign1(message: bytes) -> Sign1:
    """Parse a COSE_Sign1 message without verifying it; raise MalformedMessage if invalid."""
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise MalformedMessage("The stamp data must be bytes.")
    data = bytes(message)
    if len(data) > MAX_MESSAGE_SIZE:
        raise MalformedMessage(f"The stamp is too large ({len(data)} bytes).")

    items = _unwrap_envelope(_loads_exactly(data, "message"))
    if len(items) != 4:
        raise MalformedMessage("A COSE_Sign1 message must be an array of 4 elements.")
    protected_bytes, unprotected, payload, signature = items

    if not isinstance(protected_bytes, bytes):
        raise MalformedMessage("The protected header must be a byte string.")
    if not isinstance(unprotected, Mapping):
        raise MalformedMessage("The unprotected header must be a map.")
    if payload is None:
        raise MalformedMessage("Detached payloads are not supported.")
    if not isinstance(payload, bytes):
        raise MalformedMessage("The payload must be a byte string.")
    if not isinstance(signature, bytes):
        raise MalformedMessage("The signature must be a byte string.")

    protected = _decode_protected(protected_bytes)
    unprotected = dict(unprotected)

    # We understand no critical extensions, and RFC 9052 says a recipient MUST then reject.
    if any(_label(bucket, _LABEL_CRIT) is not _MISSING for bucket in (protected, unprotected)):
        raise MalformedMessage("Critical header parameters are not supported.")

    kid: bytes | None = None
    for bucket in (unprotected, protected):  # protected last, so it wins
        value = _label(bucket, _LABEL_KID)
        if value is _MISSING:
            continue
        if not isinstance(value, bytes):
            raise MalformedMessage("The key id (kid) must be a byte string.")
        kid = value

    alg = _label(protected, _LABEL_ALG)
    if alg is _MISSING:
        alg = _label(unprotected, _LABEL_ALG)
    if alg is _MISSING:
        alg = None
    # bool is an int subclass, but a CBOR true is not an algorithm id.
    elif isinstance(alg, bool) or not isinstance(alg, (int, str)):
        raise MalformedMessage("The algorithm (alg) must be an integer or text string.")

    return Sign1(
        protected=protected,
        unprotected=unprotected,
        payload=payload,
        signature=signature,
        kid=kid,
        alg=alg,
        protected_bytes=protected_bytes,
    )


def verify_sign1(message: bytes, keys: Mapping[bytes, PublicKey]) -> bytes:
    """Verify a COSE_Sign1 message against ``keys`` (kid -> public key) and return its payload."""
    if not isinstance(keys, Mapping):
        # A caller bug, not a bad stamp: do not disguise it as a CoseError.
        raise TypeError("keys must be a mapping of kid bytes to public keys")
    msg = decode_sign1(message)

    # The key first: "who signed this?" is the most useful answer for an unknown stamp, and
    # it keeps a wrong protected kid an UnknownKey whatever else is wrong (DCC vector CO22).
    if msg.kid is None:
        raise UnknownKey("The stamp does not name its signing key (no kid).")
    try:
        key = keys[msg.kid]
    except KeyError:
        # Cap the kid in the message: it is attacker-chosen and may be kilobytes long.
        raise UnknownKey(
            f"The stamp was signed with an unknown key (kid {msg.kid[:16].hex()})."
        ) from None

    alg = msg.alg
    if alg is None:
        raise UnsupportedAlgorithm("The stamp does not name its signature algorithm.")
    if alg not in _NAME_BY_ALG:
        raise UnsupportedAlgorithm(
            f"The stamp uses an unsupported signature algorithm ({alg!r:.40})."
        )

    if _public_key_alg(key) != alg:
        raise KeyMismatch(
            f"The stamp says {_NAME_BY_ALG[alg]}, "
            f"which its key ({type(key).__name__}) cannot verify."
        )

    signature = msg.signature
    if len(signature) != _SIGNATURE_SIZE:
        raise BadSignature(f"The signature has {len(signature)} bytes instead of 64.")
    to_be_signed = _sig_structure(msg.protected_bytes, msg.payload)
    try:
        if alg == ALG_EDDSA:
            key.verify(signature, to_be_signed)
        else:
            r = int.from_bytes(signature[:_P256_SCALAR_SIZE], "big")
            s = int.from_bytes(signature[_P256_SCALAR_SIZE:], "big")
            key.verify(encode_dss_signature(r, s), to_be_signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BadSignature() from None
    except (ValueError, TypeError) as exc:
        # Defensive: today cryptography reports even out-of-range r or s as InvalidSignature,
        # but a bare library exception must never escape this function.
        raise BadSignature() from exc
    return msg.payload


# --- internals ---------------------------------------------------------------------------

_MISSING: Any = object()


def _label(bucket: Mapping[Any, Any], label: int) -> Any:
    """Return the value of an integer header label, or _MISSING."""
    # Compare by exact type: in Python True == 1 and 4.0 == 4, but CBOR true and 4.0 are
    # not the labels 1 and 4, so a plain ``bucket.get(label)`` would misread them.
    for key, value in bucket.items():
        if type(key) is int and key == label:
            return value
    return _MISSING


def _loads_exactly(data: bytes, what: str) -> Any:
    """Decode exactly one CBOR item from ``data``, translating every failure."""
    stream = io.BytesIO(data)
    try:
        # Duplicate map keys are invalid CBOR for COSE (RFC 9052 section 3); the depth limit
        # stops nesting bombs before they reach Python's recursion limit.
        decoder = cbor2.CBORDecoder(stream, max_depth=_MAX_DEPTH, allow_duplicate_keys=False)
        value = decoder.decode()
    except Exception as exc:  # CBORDecodeError, ValueError, OverflowError, RecursionError, ...
        raise MalformedMessage(f"The stamp's {what} is not valid CBOR.") from exc
    # cbor2.loads silently ignores trailing bytes; a seekable stream tells us where it stopped.
    if stream.tell() != len(data):
        raise MalformedMessage(f"The stamp's {what} has unexpected bytes after its end.")
    return value


def _unwrap_envelope(value: Any) -> tuple[Any, ...]:
    """Strip the accepted tags (18, or 61 around 18) and return the COSE_Sign1 array items."""
    if isinstance(value, cbor2.CBORTag):
        if value.tag == _TAG_CWT:
            value = value.value
            if not (isinstance(value, cbor2.CBORTag) and value.tag == _TAG_SIGN1):
                raise MalformedMessage("A CWT (tag 61) stamp must contain a COSE_Sign1 (tag 18).")
        if value.tag != _TAG_SIGN1:
            raise MalformedMessage("The stamp is a CBOR tag that is not COSE_Sign1.")
        value = value.value
    # cbor2 >= 6 decodes the contents of a tag as an immutable tuple.
    if not isinstance(value, (list, tuple)):
        raise MalformedMessage("A COSE_Sign1 message must be a CBOR array.")
    return tuple(value)


def _decode_protected(protected_bytes: bytes) -> dict[Any, Any]:
    """Decode the bstr-wrapped protected header map; b'' means an empty header."""
    if protected_bytes == b"":
        return {}
    value = _loads_exactly(protected_bytes, "protected header")
    if not isinstance(value, Mapping):
        raise MalformedMessage("The protected header must be a CBOR map.")
    return dict(value)


def _sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    """Encode the RFC 9052 Sig_structure for COSE_Sign1 with empty external AAD."""
    return cbor2.dumps(["Signature1", protected_bytes, b"", payload])


def _private_key_alg(key: Any) -> int | None:
    """Return the one COSE algorithm a private key may sign with, or None."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ALG_EDDSA
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return ALG_ES256
    return None


def _public_key_alg(key: Any) -> int | None:
    """Return the one COSE algorithm a public key may verify, or None."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ALG_EDDSA
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return ALG_ES256
    return None
