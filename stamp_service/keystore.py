"""File-based store of the stamp signing keys.

Each key lives in the store directory as two files named after its kid:

* ``<kid_hex>.key``  - the private key, PKCS#8 PEM, encrypted with the passphrase;
* ``<kid_hex>.json`` - the public JWK and the key's metadata (status, issuing window).

The kid is the first 4 bytes of the RFC 7638 JWK thumbprint of the public key, so
anyone holding the public key can recompute it and a published kid cannot be
re-pointed at a different key.

No Flask and no database here: the web app and the CLI wrap this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Union

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .errors import Error

log = logging.getLogger(__name__)

PublicKey = Union[ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey]
PrivateKey = Union[ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey]

ALGS = ("EdDSA", "ES256")
STATUSES = ("active", "retired", "revoked")
KID_LENGTH = 4  # bytes: every byte counts in a stamp that must fit a version-8 QR; the signature still binds the key

# alg -> (kty, crv) of its JWK; the only key types we sign or accept.
_ALG_KEY_TYPE = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}
# RFC 7638 section 3.2: the members that go into the thumbprint, per kty.
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}
# Private members of every JWK type (RFC 7518 section 6); none may ever be published.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

_PASSPHRASE_HINT = (
    "set the key passphrase in the configuration (KEY_PASSPHRASE) "
    "or the environment (OCOP_STAMP_KEY_PASSPHRASE)"
)
_FORMAT = "ocop-stamp-key/1"
_PRIVATE_FORMAT = "ocop-stamp-private-key/1"
# scrypt with 128 MiB per guess: about 3 guesses a second per core, where PKCS#8's PBKDF2 with 2,048 rounds allowed
# over 600. The parameters are written into each file, so a stronger setting later still reads older files.
SCRYPT_N = 2**17
SCRYPT_N_MIN = 2**10  # the least a key file may claim (tests write keys this cheap; see signing_keys.keystore)
MIN_PASSPHRASE = 12  # characters
# Decrypted private keys per (key file, its stat): decrypting costs a scrypt on purpose, signing must not.
_PRIVATE_CACHE: dict[tuple[str, int, int, int], Any] = {}
# Secrets derived from private keys, per (store path, kid, purpose): decrypting a key file is slow on purpose.
_DERIVED: dict[tuple[str, bytes, str], bytes] = {}


# --------------------------------------------------------------------------- errors


class KeyStoreError(Error):
    """Base error of the key store: a configuration problem on our side. ``.detail`` (key ids, file names) is for
    the operator and the log; a caller on the web learns only that signing is unavailable."""

    status = 503
    key = "error.signing_unavailable"


class NoPassphrase(KeyStoreError):
    """A private key was needed but no passphrase is configured (the operator, not a producer, must fix it)."""

    key = "error.signing_no_passphrase"


class WrongPassphrase(KeyStoreError):
    """The passphrase does not decrypt the key file."""


class WeakPassphrase(KeyStoreError):
    """The passphrase is too weak to encrypt a new key with."""


class UnencryptedKeyRefused(KeyStoreError):
    """An unencrypted private key file was found outside development mode."""


class KeyNotFound(KeyStoreError):
    """No key with that kid in the store."""


class NoActiveKey(KeyNotFound):
    """No active key whose issuing window contains now."""


class KeyNotUsable(KeyStoreError):
    """The key is retired, revoked or outside its issuing window."""


class DamagedKeyFile(KeyStoreError):
    """A key or metadata file is unreadable or does not match its kid."""


class InvalidJwks(KeyStoreError):
    """A JWK Set is malformed or unsafe to trust."""


class InvalidKeyInfo(KeyStoreError, ValueError):
    """KeyInfo fields are inconsistent."""


# ------------------------------------------------------------------------- helpers


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; raises ValueError on anything else."""
    if not isinstance(text, str) or "=" in text:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    # Re-encoding must give the same text: this rejects stray characters and
    # non-zero padding bits, so each key has exactly one accepted spelling.
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


def parse_kid(text: str) -> bytes:
    """Parse a kid typed by an operator: 8 hex digits or unpadded base64url."""
    text = text.strip()
    try:
        kid = bytes.fromhex(text) if len(text) == 2 * KID_LENGTH else b64url_decode(text)
    except ValueError:
        kid = b""
    if len(kid) != KID_LENGTH:
        raise KeyNotFound(f"{text!r} is not a key id (8 hex digits or 6 base64url characters)")
    return kid


def _now() -> datetime:
    # Whole seconds: stamps (CWT iat) and the JWKS carry unix seconds, so a key
    # window with sub-second edges would reject a stamp signed in its first second.
    return datetime.now(timezone.utc).replace(microsecond=0)


def _utc_seconds(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidKeyInfo(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidKeyInfo(f"{name} must be timezone-aware")
    return value.astimezone(timezone.utc).replace(microsecond=0)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_iso(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("timestamp must be a string")
    return datetime.fromisoformat(value)


def _from_unix(value: Any, name: str) -> datetime:
    # bool is an int subclass; true/false is never a timestamp.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidJwks(f"JWK member {name!r} must be an integer (unix seconds)")
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InvalidJwks(f"JWK member {name!r} is out of range") from None


# -------------------------------------------------------------------------- model


@dataclass(frozen=True, kw_only=True)
class KeyInfo:
    """Public description of one signing key; datetimes are UTC, whole seconds."""

    kid: bytes
    alg: str
    status: str
    # The window in which stamps may be ISSUED with this key (inclusive at both ends).
    not_before: datetime
    not_after: datetime | None
    created_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kid, bytes) or len(self.kid) != KID_LENGTH:
            raise InvalidKeyInfo(f"kid must be {KID_LENGTH} bytes")
        if self.alg not in ALGS:
            raise InvalidKeyInfo(f"alg must be one of {', '.join(ALGS)}, not {self.alg!r}")
        if self.status not in STATUSES:
            raise InvalidKeyInfo(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        for name in ("not_before", "not_after", "created_at", "revoked_at"):
            value = getattr(self, name)
            if value is not None or name in ("not_before", "created_at"):
                object.__setattr__(self, name, _utc_seconds(value, name))
        if self.not_after is not None and self.not_after <= self.not_before:
            raise InvalidKeyInfo("not_after must be later than not_before")
        if self.revocation_reason is not None and not isinstance(self.revocation_reason, str):
            raise InvalidKeyInfo("revocation_reason must be a string")
        if self.status == "revoked":
            if self.revoked_at is None:
                raise InvalidKeyInfo("a revoked key needs revoked_at")
        elif self.revoked_at is not None or self.revocation_reason is not None:
            raise InvalidKeyInfo("only a revoked key has revoked_at or a revocation reason")

    @property
    def kid_hex(self) -> str:
        """The kid as lowercase hex (the file name stem)."""
        return self.kid.hex()

    @property
    def kid_b64(self) -> str:
        """The kid as unpadded base64url (the JWK "kid")."""
        return b64url_encode(self.kid)

    def window_contains(self, when: datetime) -> bool:
        """Whether ``when`` lies inside the issuing window (ignores status)."""
        when = _utc_seconds(when, "time")
        return self.not_before <= when and (self.not_after is None or when <= self.not_after)


@dataclass(frozen=True)
class PublicKeyRecord:
    """A key's public description together with its public key object."""

    info: KeyInfo
    public_key: PublicKey

    @property
    def kid(self) -> bytes:
        """The key id."""
        return self.info.kid


def check_issued_within(info: KeyInfo, issued_at: datetime) -> None:
    """Raise KeyNotUsable unless a stamp issued at ``issued_at`` may carry this key."""
    if info.status == "revoked":
        # We cannot tell when a key was compromised, so every stamp it signed is suspect.
        raise KeyNotUsable(f"key {info.kid_hex} was revoked; its stamps are not valid")
    if not info.window_contains(issued_at):
        raise KeyNotUsable(f"the stamp was issued outside the validity window of key {info.kid_hex}")


# ------------------------------------------------------------------------ JWK / kid


def public_jwk(public_key: PublicKey) -> dict[str, str]:
    """The public JWK members (kty, crv, x[, y]) of a supported public key."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        numbers = public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
    raise KeyStoreError("unsupported key type (only Ed25519 and P-256 are used)")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> bytes:
    """RFC 7638 SHA-256 thumbprint of an OKP or EC JWK (all 32 bytes)."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty"))  # type: ignore[arg-type]
    if members is None:
        raise InvalidJwks(f"unsupported JWK kty {jwk.get('kty')!r}")
    if not all(isinstance(jwk.get(m), str) for m in members):
        raise InvalidJwks("JWK is missing a required member")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def kid_for_public_key(public_key: PublicKey) -> bytes:
    """The kid of a public key: the first KID_LENGTH bytes of its JWK thumbprint."""
    return jwk_thumbprint(public_jwk(public_key))[:KID_LENGTH]


def _public_key_from_jwk(jwk: Mapping[str, Any], alg: str) -> PublicKey:
    """Build the public key a JWK describes, checking it matches ``alg``; raises InvalidJwks."""
    leaked = _PRIVATE_MEMBERS & set(jwk)
    if leaked:
        raise InvalidJwks(f"JWK contains private key members ({', '.join(sorted(leaked))}); refusing it")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if (kty, crv) not in _ALG_KEY_TYPE.values():
        raise InvalidJwks(f"unsupported key type kty={kty!r} crv={crv!r}")
    if _ALG_KEY_TYPE.get(alg) != (kty, crv):
        raise InvalidJwks(f"alg {alg!r} does not match key type {kty}/{crv}")
    try:
        x = b64url_decode(jwk.get("x"))  # type: ignore[arg-type]
        if kty == "OKP":
            if len(x) != 32:
                raise ValueError("wrong length")
            return ed25519.Ed25519PublicKey.from_public_bytes(x)
        y = b64url_decode(jwk.get("y"))  # type: ignore[arg-type]
        if len(x) != 32 or len(y) != 32:
            raise ValueError("wrong length")
        # public_key() checks the point is on the curve.
        numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1())
        return numbers.public_key()
    except ValueError:
        raise InvalidJwks(f"JWK {kty}/{crv} does not hold a valid public key") from None


def load_jwks(data: Mapping[str, Any]) -> dict[bytes, PublicKeyRecord]:
    """Parse and validate a JWK Set published by ``KeyStore.jwks()``, for offline verifiers."""
    keys = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(keys, list):
        raise InvalidJwks('a JWK Set must be an object with a "keys" list')
    records: dict[bytes, PublicKeyRecord] = {}
    for jwk in keys:
        if not isinstance(jwk, Mapping):
            raise InvalidJwks("every entry of a JWK Set must be an object")
        alg = jwk.get("alg")
        public_key = _public_key_from_jwk(jwk, alg)
        if jwk.get("use", "sig") != "sig":
            raise InvalidJwks("a stamp key must have use 'sig'")
        try:
            kid = b64url_decode(jwk.get("kid"))  # type: ignore[arg-type]
        except ValueError:
            raise InvalidJwks("JWK kid is missing or not base64url") from None
        # The kid is recomputed from the key itself, so a JWK cannot borrow the kid
        # (and with it the trust, status and window) of another key.
        if kid != kid_for_public_key(public_key):
            raise InvalidJwks(f"JWK kid {jwk.get('kid')} does not match its own key")
        if kid in records:
            raise InvalidJwks(f"JWK kid {jwk.get('kid')} appears twice")
        not_before = _from_unix(jwk.get("nbf"), "nbf")
        not_after = _from_unix(jwk["exp"], "exp") if "exp" in jwk else None
        revoked_at = _from_unix(jwk["revoked_at"], "revoked_at") if "revoked_at" in jwk else None
        try:
            info = KeyInfo(
                kid=kid,
                alg=alg,
                status=jwk.get("status"),  # type: ignore[arg-type]
                not_before=not_before,
                not_after=not_after,
                # The creation time is not published; nbf is the closest public fact.
                created_at=not_before,
                revoked_at=revoked_at,
            )
        except InvalidKeyInfo as exc:
            raise InvalidJwks(f"JWK {jwk.get('kid')}: {exc.detail}") from None
        records[kid] = PublicKeyRecord(info, public_key)
    return records


# --------------------------------------------------------------------------- files


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # 0o600 from the first moment, and O_EXCL so a planted file or symlink is never reused.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open directories.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Secret:
    """Holds the passphrase so that no repr, vars() dump or debugger shows it."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<hidden>"


def _normalise_passphrase(passphrase: bytes | str | None) -> bytes | None:
    if passphrase is None or len(passphrase) == 0:
        return None
    if isinstance(passphrase, str):
        # NFC: the same Vietnamese passphrase typed on macOS (NFD) and Windows (NFC)
        # must give the same bytes, or the key would not decrypt on the other machine.
        return unicodedata.normalize("NFC", passphrase).encode("utf-8")
    if isinstance(passphrase, bytes):
        return passphrase
    raise TypeError("passphrase must be bytes, str or None")


# --------------------------------------------------------------------------- store


# Public key records per key directory, with the file stamps they were read from (see KeyStore._records).
_RECORDS_CACHE: dict[str, tuple[tuple[Any, ...], list[PublicKeyRecord]]] = {}


class KeyStore:
    """The signing keys kept in one directory."""

    def __init__(
        self,
        path: Path | str,
        passphrase: bytes | str | None,
        *,
        allow_unencrypted: bool = False,
        scrypt_n: int = SCRYPT_N,
    ) -> None:
        self.path = Path(path)
        secret = _normalise_passphrase(passphrase)
        self._passphrase = None if secret is None else _Secret(secret)
        self.allow_unencrypted = allow_unencrypted
        if scrypt_n < SCRYPT_N_MIN or scrypt_n & (scrypt_n - 1):
            raise KeyStoreError(f"scrypt_n must be a power of two of at least {SCRYPT_N_MIN}")
        self.scrypt_n = scrypt_n

    def __repr__(self) -> str:
        return f"KeyStore(path={str(self.path)!r})"

    __str__ = __repr__

    # -- reading ---------------------------------------------------------------

    def list(self) -> list[KeyInfo]:
        """All keys, oldest issuing window first."""
        return [record.info for record in self._records()]

    def get(self, kid: bytes) -> KeyInfo:
        """The key with this kid; KeyNotFound if there is none."""
        return self._read_record(kid).info

    def active(self) -> KeyInfo:
        """The active key whose issuing window contains now (the newest if several)."""
        now = _now()
        usable = [i for i in self.list() if i.status == "active" and i.window_contains(now)]
        if not usable:
            raise NoActiveKey("there is no active signing key; create one with `ocop-stamp keys generate`")
        # Several can exist after a crash in the middle of rotate(); the newest wins.
        return usable[-1]

    def signing_key(self, kid: bytes | None = None) -> tuple[KeyInfo, PrivateKey]:
        """The key to sign with now (the active one by default) and its private key."""
        info = self.active() if kid is None else self.get(kid)
        if info.status != "active":
            raise KeyNotUsable(f"key {info.kid_hex} is {info.status} and may not sign stamps")
        if not info.window_contains(_now()):
            raise KeyNotUsable(f"key {info.kid_hex} is outside its issuing window and may not sign stamps")
        return info, self._load_private_key(info)

    def reissuing_key(self, kid: bytes) -> tuple[KeyInfo, PrivateKey]:
        """A key that may derive again the stamps of runs it already issued: active or retired, never revoked.

        A retired key signs nothing new (issue_run asks signing_key), but the unprinted part of an older run must
        stay printable after a rotation; its stamps carry their run's issue time, inside the key's window."""
        info = self.get(kid)
        if info.status == "revoked":
            raise KeyNotUsable(f"key {info.kid_hex} is revoked; its stamps are not valid")
        return info, self._load_private_key(info)

    def derived_secret(self, kid: bytes, purpose: str) -> bytes:
        """A 32-byte secret for one purpose (e.g. hidden codes), derived from a key's private key with HKDF.

        It inherits the private key's protection (encrypted at rest, held by the office) and is cached for the
        life of the process, so the key file is decrypted once, not on every request. Any status may derive:
        a retired key's stamps keep their hidden codes."""
        cache_key = (str(self.path.resolve()), kid, purpose)
        secret = _DERIVED.get(cache_key)
        if secret is None:
            info = self.get(kid)
            private_key = self._load_private_key(info)
            if isinstance(private_key, ed25519.Ed25519PrivateKey):
                material = private_key.private_bytes_raw()
            else:
                material = private_key.private_numbers().private_value.to_bytes(32, "big")
            secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ocop-stamp derived secret v1",
                          info=purpose.encode() + b"|" + kid).derive(material)
            _DERIVED[cache_key] = secret
        return secret

    def records(self) -> dict[bytes, PublicKeyRecord]:
        """Every key's public record (metadata and public key) by kid: what a verifier needs."""
        return {record.kid: record for record in self._records()}

    def public_keys(self) -> dict[bytes, PublicKey]:
        """Every key's public key by kid, whatever its status (check it with check_issued_within)."""
        return {record.kid: record.public_key for record in self._records()}

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set (RFC 7517) of all keys, with status and issuing window."""
        keys = []
        for record in self._records():
            info = record.info
            jwk: dict[str, Any] = dict(public_jwk(record.public_key))
            jwk.update(kid=info.kid_b64, alg=info.alg, use="sig", status=info.status)
            jwk["nbf"] = int(info.not_before.timestamp())
            if info.not_after is not None:
                jwk["exp"] = int(info.not_after.timestamp())
            if info.revoked_at is not None:
                # The reason stays internal: it may name people or incidents.
                jwk["revoked_at"] = int(info.revoked_at.timestamp())
            keys.append(jwk)
        return {"keys": keys}

    # -- changing --------------------------------------------------------------

    def generate(
        self,
        alg: str = "EdDSA",
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> KeyInfo:
        """Create a new active key, encrypted with the passphrase."""
        self._check_can_encrypt()  # before any work: no (or a weak) passphrase, no key
        if alg not in ALGS:
            raise InvalidKeyInfo(f"alg must be one of {', '.join(ALGS)}, not {alg!r}")
        private_key: PrivateKey = (
            ed25519.Ed25519PrivateKey.generate() if alg == "EdDSA" else ec.generate_private_key(ec.SECP256R1())
        )
        now = _now()
        info = KeyInfo(
            kid=kid_for_public_key(private_key.public_key()),
            alg=alg,
            status="active",
            not_before=now if not_before is None else not_before,
            not_after=not_after,
            created_at=now,
        )
        self._ensure_dir()
        key_path, meta_path = self._paths(info.kid)
        if key_path.exists() or meta_path.exists():
            # 32-bit kids rarely collide among a handful of keys; never overwrite a key if one does.
            raise KeyStoreError(f"key {info.kid_hex} already exists; generate again")
        pem = self._seal(private_key, info.kid)
        # Key first: a crash in between leaves an orphan .key that list() ignores,
        # never metadata pointing at a missing key.
        _write_atomic(key_path, pem)
        self._write_meta(info, private_key.public_key())
        log.info("generated %s signing key %s", alg, info.kid_hex)
        return info

    def rotate(self, alg: str = "EdDSA") -> KeyInfo:
        """Generate a new active key and retire the previously active ones."""
        new = self.generate(alg)  # first, so a failure here retires nothing
        for info in self.list():
            if info.status == "active" and info.kid != new.kid:
                self._retire(info, new.not_before)
        log.info("rotated to signing key %s", new.kid_hex)
        return new

    def retire(self, kid: bytes) -> KeyInfo:
        """Stop a key from signing; stamps it already signed stay valid."""
        info = self.get(kid)
        if info.status == "revoked":
            raise KeyStoreError(f"key {info.kid_hex} is revoked; a revoked key cannot be retired")
        if info.status == "retired":
            return info
        return self._retire(info, _now())

    def revoke(self, kid: bytes, reason: str) -> KeyInfo:
        """Revoke a key: every stamp it signed must be rejected from now on."""
        if not isinstance(reason, str) or not reason.strip():
            raise KeyStoreError("a reason is required to revoke a key")
        info = self.get(kid)
        if info.status == "revoked":
            raise KeyStoreError(f"key {info.kid_hex} is already revoked")
        revoked = replace(info, status="revoked", revoked_at=_now(), revocation_reason=reason.strip())
        self._write_meta(revoked, self._read_record(kid).public_key)
        log.warning("revoked signing key %s", info.kid_hex)
        return revoked

    # -- internals -------------------------------------------------------------

    def _retire(self, info: KeyInfo, now: datetime) -> KeyInfo:
        not_after = info.not_after
        # Close the window at now; a key whose window has not opened yet keeps it, since "now" would end it
        # before it starts. A key retired in the very second it started ends one second later (windows are
        # whole seconds, inclusive): a retired key always has an end.
        if not_after is None or not_after > now:
            not_after = max(now, info.not_before + timedelta(seconds=1))
        retired = replace(info, status="retired", not_after=not_after)
        self._write_meta(retired, self._read_record(info.kid).public_key)
        log.info("retired signing key %s", info.kid_hex)
        return retired

    def _records(self) -> list[PublicKeyRecord]:
        if not self.path.is_dir():
            return []
        metas = []
        for entry in os.scandir(self.path):
            stem, _, ext = entry.name.partition(".")
            # Skips temp files (".x.json.*.tmp" never match) and anything not ours.
            if ext == "json" and len(stem) == 2 * KID_LENGTH and all(c in "0123456789abcdef" for c in stem):
                st = entry.stat()
                metas.append((stem, st.st_mtime_ns, st.st_size, st.st_ino))
        # Every scan asks for the keys; re-read them only when a metadata file changed (a revocation rewrites
        # its file atomically, so a new inode and mtime show at once).
        stamp = (str(self.path.resolve()), tuple(sorted(metas)))
        cached = _RECORDS_CACHE.get(stamp[0])
        if cached is not None and cached[0] == stamp[1]:
            return cached[1]
        records = sorted((self._read_record(bytes.fromhex(m[0])) for m in metas), key=lambda r: (r.info.not_before, r.kid))
        _RECORDS_CACHE[stamp[0]] = (stamp[1], records)
        return records

    def _paths(self, kid: bytes) -> tuple[Path, Path]:
        if not isinstance(kid, bytes) or len(kid) != KID_LENGTH:
            raise KeyNotFound(f"a key id is {KID_LENGTH} bytes")
        return self.path / f"{kid.hex()}.key", self.path / f"{kid.hex()}.json"

    def _ensure_dir(self) -> None:
        if self.path.is_dir():
            return
        if self.path.exists():
            raise KeyStoreError(f"key store path {self.path} exists and is not a directory")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(self.path, 0o700)
        # mkdir's mode is filtered by the umask; set it exactly (it can only narrow, never widen).
        os.chmod(self.path, 0o700)

    def _check_can_encrypt(self) -> None:
        if self._passphrase is None:
            if self.allow_unencrypted:
                return
            raise NoPassphrase(f"no key passphrase is configured; {_PASSPHRASE_HINT}")
        if len(self._passphrase.value.decode("utf-8", "replace")) < MIN_PASSPHRASE:
            raise WeakPassphrase(f"the key passphrase is too short: use at least {MIN_PASSPHRASE} characters "
                                 f"(a few random words are easy to type and hard to guess)")

    def _seal(self, private_key: PrivateKey, kid: bytes) -> bytes:
        """The private key file: PKCS#8 encrypted with AES-256-GCM under a scrypt key (or plain PEM in
        development without a passphrase)."""
        if self._passphrase is None:
            return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        salt, nonce = os.urandom(16), os.urandom(12)
        key = Scrypt(salt=salt, length=32, n=self.scrypt_n, r=8, p=1).derive(self._passphrase.value)
        sealed = {
            "format": _PRIVATE_FORMAT, "kid": kid.hex(),
            "kdf": {"name": "scrypt", "n": self.scrypt_n, "r": 8, "p": 1, "salt": b64url_encode(salt)},
            "cipher": "AES-256-GCM", "nonce": b64url_encode(nonce),
            "ciphertext": b64url_encode(AESGCM(key).encrypt(nonce, der, f"{_PRIVATE_FORMAT}|{kid.hex()}".encode())),
        }
        return (json.dumps(sealed, indent=2, sort_keys=True) + "\n").encode("ascii")

    def _unseal(self, data: bytes, info: KeyInfo, name: str) -> PrivateKey:
        """Decrypt a key file in our format."""
        try:
            sealed = json.loads(data)
            kdf = sealed["kdf"]
            if sealed["format"] != _PRIVATE_FORMAT or kdf["name"] != "scrypt" or sealed["cipher"] != "AES-256-GCM":
                raise ValueError("unknown format")
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            if n < SCRYPT_N_MIN or n > 2**22 or not 1 <= r <= 32 or not 1 <= p <= 16:
                raise ValueError("scrypt parameters out of range")
            salt, nonce = b64url_decode(kdf["salt"]), b64url_decode(sealed["nonce"])
            ciphertext = b64url_decode(sealed["ciphertext"])
        except (KeyError, TypeError, ValueError, KeyStoreError):
            raise DamagedKeyFile(f"private key file {name} is unreadable") from None
        if sealed.get("kid") != info.kid_hex:  # before decrypting: a swapped file is not a wrong passphrase
            raise DamagedKeyFile(f"private key file {name} does not belong to key {info.kid_hex}")
        if self._passphrase is None:
            raise NoPassphrase(f"key {info.kid_hex} is encrypted; {_PASSPHRASE_HINT}")
        key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(self._passphrase.value)
        try:
            der = AESGCM(key).decrypt(nonce, ciphertext, f"{_PRIVATE_FORMAT}|{info.kid_hex}".encode())
        except InvalidTag:
            raise WrongPassphrase(
                f"could not decrypt key {info.kid_hex}: the passphrase (KEY_PASSPHRASE / "
                f"OCOP_STAMP_KEY_PASSPHRASE) is wrong or the key file is damaged"
            ) from None
        try:
            return serialization.load_der_private_key(der, password=None)  # type: ignore[return-value]
        except (ValueError, UnsupportedAlgorithm):
            raise DamagedKeyFile(f"private key file {name} is unreadable") from None

    def _write_meta(self, info: KeyInfo, public_key: PublicKey) -> None:
        meta = {
            "format": _FORMAT,
            "kid": info.kid_hex,
            "alg": info.alg,
            "status": info.status,
            "not_before": _iso(info.not_before),
            "not_after": _iso(info.not_after),
            "created_at": _iso(info.created_at),
            "revoked_at": _iso(info.revoked_at),
            "revocation_reason": info.revocation_reason,
            "public_jwk": public_jwk(public_key),
        }
        text = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        _write_atomic(self._paths(info.kid)[1], text.encode("utf-8"))

    def _read_record(self, kid: bytes) -> PublicKeyRecord:
        _, meta_path = self._paths(kid)
        try:
            meta = json.loads(meta_path.read_bytes())
        except FileNotFoundError:
            raise KeyNotFound(f"no key {kid.hex()} in {self.path}") from None
        except (OSError, ValueError):
            raise DamagedKeyFile(f"metadata file {meta_path.name} is unreadable") from None
        try:
            if meta.get("format") != _FORMAT or meta.get("kid") != kid.hex():
                raise ValueError("wrong format or kid")
            public_key = _public_key_from_jwk(meta["public_jwk"], meta["alg"])
            # Recomputed, so an edited public key cannot hide under an existing kid.
            if kid_for_public_key(public_key) != kid:
                raise ValueError("public key does not match kid")
            info = KeyInfo(
                kid=kid,
                alg=meta["alg"],
                status=meta["status"],
                not_before=_from_iso(meta["not_before"]),  # type: ignore[arg-type]
                not_after=_from_iso(meta.get("not_after")),
                created_at=_from_iso(meta["created_at"]),  # type: ignore[arg-type]
                revoked_at=_from_iso(meta.get("revoked_at")),
                revocation_reason=meta.get("revocation_reason"),
            )
        except (KeyStoreError, KeyError, TypeError, ValueError, AttributeError):
            raise DamagedKeyFile(f"metadata file {meta_path.name} is damaged or does not match its key") from None
        return PublicKeyRecord(info, public_key)

    def _load_private_key(self, info: KeyInfo) -> PrivateKey:
        if self._passphrase is None and not self.allow_unencrypted:
            raise NoPassphrase(f"no key passphrase is configured; {_PASSPHRASE_HINT}")
        key_path, _ = self._paths(info.kid)
        try:
            st = key_path.stat()
            data = key_path.read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(f"private key file {key_path.name} is missing") from None
        if st.st_mode & 0o077:
            log.warning("private key file %s can be read by other users (mode %o): chmod 600 it",
                        key_path.name, st.st_mode & 0o777)
        cache_key = (str(key_path.resolve()), st.st_mtime_ns, st.st_size, st.st_ino)
        cached = _PRIVATE_CACHE.get(cache_key)
        if cached is not None and cached[0] == self._passphrase_digest():
            return cached[1]
        if data.lstrip().startswith(b"{"):
            private_key = self._unseal(data, info, key_path.name)
        else:
            private_key = self._load_pem(data, info, key_path.name)
        self._check_belongs(private_key, info, key_path.name)
        _PRIVATE_CACHE[cache_key] = (self._passphrase_digest(), private_key)
        return private_key

    def _passphrase_digest(self) -> bytes:
        # The cache must not hand a key to a store opened with another passphrase.
        value = self._passphrase.value if self._passphrase else b""
        return hashlib.sha256(b"ocop-stamp cache|" + value).digest()

    def _load_pem(self, pem: bytes, info: KeyInfo, name: str) -> PrivateKey:
        """A PEM key file: unencrypted (development only) or PKCS#8 with PBKDF2 from older versions, which is
        re-sealed in our stronger format on first use."""
        # Asking cryptography with no password is the reliable way to learn
        # whether the file is encrypted, whatever PEM flavour it is.
        try:
            private_key = serialization.load_pem_private_key(pem, password=None)
            encrypted = False
        except TypeError:
            encrypted = True
        except (ValueError, UnsupportedAlgorithm):
            raise DamagedKeyFile(f"private key file {name} is unreadable") from None
        if not encrypted and not self.allow_unencrypted:
            raise UnencryptedKeyRefused(
                f"private key file {name} is not encrypted; re-create the key with a "
                f"passphrase, or allow unencrypted keys only in development"
            )
        if encrypted:
            if self._passphrase is None:
                raise NoPassphrase(f"key {info.kid_hex} is encrypted; {_PASSPHRASE_HINT}")
            try:
                private_key = serialization.load_pem_private_key(pem, password=self._passphrase.value)
            except (TypeError, ValueError, UnsupportedAlgorithm):
                # from None: the cryptography traceback adds nothing for an operator.
                raise WrongPassphrase(
                    f"could not decrypt key {info.kid_hex}: the passphrase (KEY_PASSPHRASE / "
                    f"OCOP_STAMP_KEY_PASSPHRASE) is wrong or the key file is damaged"
                ) from None
            self._check_belongs(private_key, info, name)  # type: ignore[arg-type]
            _write_atomic(self._paths(info.kid)[0], self._seal(private_key, info.kid))  # type: ignore[arg-type]
            log.info("re-sealed private key %s with scrypt (was PKCS#8 PBKDF2)", info.kid_hex)
        return private_key  # type: ignore[return-value]

    def _check_belongs(self, private_key: Any, info: KeyInfo, name: str) -> None:
        if not isinstance(private_key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
            raise DamagedKeyFile(f"private key file {name} holds an unsupported key type")
        try:
            matches = kid_for_public_key(private_key.public_key()) == info.kid
        except KeyStoreError:
            matches = False
        if not matches:
            raise DamagedKeyFile(f"private key file {name} does not belong to key {info.kid_hex}")
