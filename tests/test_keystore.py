"""Tests of the file-based signing key store (stamp_service.keystore)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from stamp_service import keystore as ks
from stamp_service.keystore import (
    KID_LENGTH,
    DamagedKeyFile,
    InvalidJwks,
    InvalidKeyInfo,
    KeyInfo,
    KeyNotFound,
    KeyNotUsable,
    KeyStore,
    KeyStoreError,
    NoActiveKey,
    NoPassphrase,
    UnencryptedKeyRefused,
    WeakPassphrase,
    WrongPassphrase,
    b64url_decode,
    b64url_encode,
    check_issued_within,
    jwk_thumbprint,
    kid_for_public_key,
    load_jwks,
    parse_kid,
)

PASSPHRASE = "correct horse battery staple 7f3a"
CHEAP = 2**10  # the least scrypt cost a key file may claim: these tests make many keys
ALGS = ["EdDSA", "ES256"]
POSIX = os.name == "posix"

UTC = timezone.utc


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def day(n: int) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys", PASSPHRASE, scrypt_n=CHEAP)


def sign_and_verify(private_key, public_key, data: bytes = b"stamp payload") -> None:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        public_key.verify(private_key.sign(data), data)
    else:
        public_key.verify(private_key.sign(data, ec.ECDSA(hashes.SHA256())), data, ec.ECDSA(hashes.SHA256()))


# ---------------------------------------------------------------- generate/list/get


@pytest.mark.parametrize("alg", ALGS)
def test_generate_list_get(store: KeyStore, alg: str) -> None:
    info = store.generate(alg)
    assert info.alg == alg
    assert info.status == "active"
    assert len(info.kid) == KID_LENGTH
    assert info.kid_hex == info.kid.hex()
    assert b64url_decode(info.kid_b64) == info.kid
    assert info.not_after is None and info.revoked_at is None
    assert info.not_before.tzinfo is not None and info.not_before.utcoffset() == timedelta(0)
    assert abs(info.created_at - now()) < timedelta(minutes=1)
    assert (store.path / f"{info.kid_hex}.key").is_file()
    assert (store.path / f"{info.kid_hex}.json").is_file()

    assert store.get(info.kid) == info
    assert store.list() == [info]
    assert store.active() == info

    got, private_key = store.signing_key()
    assert got == info
    assert kid_for_public_key(private_key.public_key()) == info.kid
    sign_and_verify(private_key, store.public_keys()[info.kid])


def test_list_is_sorted_by_not_before_and_empty_store(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "missing", PASSPHRASE, scrypt_n=CHEAP)
    assert store.list() == []
    assert store.jwks() == {"keys": []}
    assert not store.path.exists()  # reading never creates the directory

    t = now()
    c = store.generate("EdDSA", not_before=t + day(2))
    a = store.generate("ES256", not_before=t - day(5))
    b = store.generate("EdDSA", not_before=t - day(1))
    assert [i.kid for i in store.list()] == [a.kid, b.kid, c.kid]
    # Several active keys in their window: the newest one signs.
    assert store.active() == b


def test_get_unknown_kid(store: KeyStore) -> None:
    store.generate()
    with pytest.raises(KeyNotFound):
        store.get(b"\x00" * KID_LENGTH)
    with pytest.raises(KeyNotFound):
        store.get(b"short")


def test_generate_rejects_unknown_alg(store: KeyStore) -> None:
    with pytest.raises(InvalidKeyInfo):
        store.generate("RS256")
    assert store.list() == []


def test_parse_kid(store: KeyStore) -> None:
    info = store.generate()
    assert parse_kid(info.kid_hex) == info.kid
    assert parse_kid(info.kid_b64) == info.kid
    with pytest.raises(KeyNotFound):
        parse_kid("not-a-kid")


# ------------------------------------------------------------------- files on disk


@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
@pytest.mark.parametrize("alg", ALGS)
def test_file_modes(tmp_path: Path, alg: str) -> None:
    store = KeyStore(tmp_path / "instance" / "keys", PASSPHRASE, scrypt_n=CHEAP)
    old = os.umask(0)  # the modes must not depend on a careful umask
    try:
        info = store.generate(alg)
        store.retire(info.kid)  # rewrites the metadata file
    finally:
        os.umask(old)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    for suffix in (".key", ".json"):
        assert stat.S_IMODE((store.path / f"{info.kid_hex}{suffix}").stat().st_mode) == 0o600
    # No temp file is left behind.
    assert sorted(p.name for p in store.path.iterdir()) == sorted([f"{info.kid_hex}.key", f"{info.kid_hex}.json"])


@pytest.mark.parametrize("alg", ALGS)
def test_key_file_is_encrypted(tmp_path: Path, alg: str) -> None:
    """AES-256-GCM under scrypt with 128 MiB per guess by default (PKCS#8's PBKDF2 with 2,048 rounds allowed 600
    guesses a second here); the file says how, so we can decrypt it ourselves with the passphrase alone."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    store = KeyStore(tmp_path / "keys", PASSPHRASE)  # the production cost
    info = store.generate(alg)
    sealed = json.loads((store.path / f"{info.kid_hex}.key").read_bytes())
    assert sealed["kdf"]["name"] == "scrypt" and sealed["kdf"]["n"] >= 2**17 and sealed["kdf"]["r"] == 8
    assert sealed["cipher"] == "AES-256-GCM" and sealed["kid"] == info.kid_hex
    key = Scrypt(salt=b64url_decode(sealed["kdf"]["salt"]), length=32, n=sealed["kdf"]["n"], r=8, p=1).derive(
        PASSPHRASE.encode())
    der = AESGCM(key).decrypt(b64url_decode(sealed["nonce"]), b64url_decode(sealed["ciphertext"]),
                              f"ocop-stamp-private-key/1|{info.kid_hex}".encode())
    private = serialization.load_der_private_key(der, password=None)
    assert kid_for_public_key(private.public_key()) == info.kid  # type: ignore[arg-type]


def test_older_pbkdf2_key_files_are_read_and_re_sealed(store: KeyStore) -> None:
    info = store.generate()
    _, private = store.signing_key(info.kid)
    legacy = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    (store.path / f"{info.kid_hex}.key").write_bytes(legacy)
    os.chmod(store.path / f"{info.kid_hex}.key", 0o600)
    reader = KeyStore(store.path, PASSPHRASE, scrypt_n=CHEAP)
    assert reader.signing_key(info.kid)[1].public_key() == private.public_key()
    assert json.loads((store.path / f"{info.kid_hex}.key").read_bytes())["kdf"]["name"] == "scrypt"


def test_weak_passphrases_are_refused_for_new_keys(tmp_path: Path) -> None:
    with pytest.raises(WeakPassphrase) as excinfo:
        KeyStore(tmp_path / "keys", "short pw").generate()
    assert "12" in excinfo.value.detail and "short pw" not in excinfo.value.detail
    assert not (tmp_path / "keys").exists() or not list((tmp_path / "keys").iterdir())


def test_a_key_file_others_can_read_is_warned_about(store: KeyStore, caplog: pytest.LogCaptureFixture) -> None:
    info = store.generate()
    os.chmod(store.path / f"{info.kid_hex}.key", 0o644)
    with caplog.at_level("WARNING"):
        KeyStore(store.path, PASSPHRASE, scrypt_n=CHEAP).signing_key(info.kid)
    assert "can be read by other users" in caplog.text and PASSPHRASE not in caplog.text


def test_metadata_file_holds_only_public_material(store: KeyStore) -> None:
    info = store.generate("ES256")
    meta = json.loads((store.path / f"{info.kid_hex}.json").read_text())
    assert set(meta["public_jwk"]) == {"kty", "crv", "x", "y"}
    assert meta["kid"] == info.kid_hex and meta["status"] == "active"
    for name in (f"{info.kid_hex}.json", f"{info.kid_hex}.key"):
        assert PASSPHRASE.encode() not in (store.path / name).read_bytes()


def test_failed_write_leaves_old_file_and_no_temp(store: KeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    info = store.generate()
    meta_path = store.path / f"{info.kid_hex}.json"
    before = meta_path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ks.os, "replace", crash)
    with pytest.raises(OSError):
        store.retire(info.kid)
    monkeypatch.undo()
    assert meta_path.read_bytes() == before
    assert store.get(info.kid).status == "active"
    assert not [p for p in store.path.iterdir() if p.name.endswith(".tmp")]


def test_tampered_metadata_is_refused(store: KeyStore) -> None:
    a = store.generate()
    b = store.generate()
    meta_a = store.path / f"{a.kid_hex}.json"
    meta_b = json.loads((store.path / f"{b.kid_hex}.json").read_text())
    # Put b's public key under a's kid: the recomputed thumbprint no longer matches.
    meta = json.loads(meta_a.read_text())
    meta["public_jwk"] = meta_b["public_jwk"]
    meta_a.write_text(json.dumps(meta))
    with pytest.raises(DamagedKeyFile):
        store.get(a.kid)
    meta_a.write_text("{ not json")
    with pytest.raises(DamagedKeyFile):
        store.list()


def test_swapped_private_key_file_is_refused(store: KeyStore) -> None:
    a = store.generate()
    b = store.generate()
    (store.path / f"{a.kid_hex}.key").write_bytes((store.path / f"{b.kid_hex}.key").read_bytes())
    with pytest.raises(DamagedKeyFile):
        store.signing_key(a.kid)


# -------------------------------------------------------------------- passphrases


def test_wrong_passphrase(store: KeyStore) -> None:
    info = store.generate()
    wrong = "WRONG-passphrase-91c2"
    other = KeyStore(store.path, wrong)
    with pytest.raises(WrongPassphrase) as excinfo:
        other.signing_key(info.kid)
    err = excinfo.value
    assert "KEY_PASSPHRASE" in err.detail
    assert err.__suppress_context__ and err.__cause__ is None  # no cryptography traceback
    for text in (str(err), repr(err), err.detail, err.message.render("en"), err.message.render("vi")):
        assert wrong not in text and PASSPHRASE not in text


def test_no_passphrase(store: KeyStore) -> None:
    info = store.generate()
    bare = KeyStore(store.path, None)
    with pytest.raises(NoPassphrase) as excinfo:
        bare.generate()
    assert "KEY_PASSPHRASE" in excinfo.value.detail
    assert "OCOP_STAMP_KEY_PASSPHRASE" in excinfo.value.detail
    with pytest.raises(NoPassphrase):
        bare.signing_key()
    with pytest.raises(NoPassphrase):
        bare.rotate()
    assert bare.get(info.kid).status == "active"  # a failed rotate retired nothing
    # Public operations need no passphrase: verifiers run without one.
    assert bare.list() == [info]
    assert info.kid in bare.public_keys()
    assert bare.jwks()["keys"][0]["kid"] == info.kid_b64
    # An empty passphrase counts as none.
    with pytest.raises(NoPassphrase):
        KeyStore(store.path, "").signing_key()


def test_unencrypted_keys_only_in_development(tmp_path: Path) -> None:
    dev = KeyStore(tmp_path / "keys", None, allow_unencrypted=True)
    info = dev.generate()
    pem = (dev.path / f"{info.kid_hex}.key").read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert dev.signing_key()[0] == info

    with pytest.raises(UnencryptedKeyRefused) as excinfo:
        KeyStore(dev.path, PASSPHRASE, scrypt_n=CHEAP).signing_key(info.kid)
    assert PASSPHRASE not in str(excinfo.value)
    with pytest.raises(NoPassphrase):
        KeyStore(dev.path, None).signing_key(info.kid)


def test_development_store_with_passphrase_encrypts(tmp_path: Path) -> None:
    dev = KeyStore(tmp_path / "keys", PASSPHRASE, allow_unencrypted=True, scrypt_n=CHEAP)
    info = dev.generate()
    assert json.loads((dev.path / f"{info.kid_hex}.key").read_bytes())["cipher"] == "AES-256-GCM"
    with pytest.raises(NoPassphrase):
        KeyStore(dev.path, None, allow_unencrypted=True).signing_key(info.kid)


def test_passphrase_str_bytes_and_unicode_normalisation(tmp_path: Path) -> None:
    nfc = unicodedata.normalize("NFC", "mật khẩu Sở Công Thương")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    store = KeyStore(tmp_path / "keys", nfc, scrypt_n=CHEAP)
    info = store.generate()
    assert KeyStore(store.path, nfd).signing_key(info.kid)[0] == info
    assert KeyStore(store.path, nfc.encode("utf-8")).signing_key(info.kid)[0] == info


def test_passphrase_never_shown(store: KeyStore) -> None:
    for text in (repr(store), str(store), repr(vars(store)), f"{store!r}"):
        assert PASSPHRASE not in text
    assert repr(store) == f"KeyStore(path={str(store.path)!r})"
    info = store.generate()
    errors: list[KeyStoreError] = []
    for action in (
        lambda: store.signing_key(b"\x01" * KID_LENGTH),
        lambda: store.revoke(info.kid, ""),
        lambda: KeyStore(store.path, PASSPHRASE + "x").signing_key(info.kid),
    ):
        with pytest.raises(KeyStoreError) as excinfo:
            action()
        errors.append(excinfo.value)
    store.retire(info.kid)
    with pytest.raises(KeyStoreError) as excinfo:
        store.signing_key(info.kid)
    errors.append(excinfo.value)
    for err in errors:
        for text in (str(err), repr(err), err.detail, err.message.render("en"), repr(err.args)):
            assert PASSPHRASE not in text


# --------------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("alg", ALGS)
def test_rotate(store: KeyStore, alg: str) -> None:
    old = store.generate("EdDSA", not_before=now() - day(30))
    new = store.rotate(alg)
    assert new.alg == alg and new.status == "active"

    old_now = store.get(old.kid)
    assert old_now.status == "retired"
    assert old_now.not_after == new.not_before
    assert store.active() == new

    info, private_key = store.signing_key()
    assert info == new
    sign_and_verify(private_key, store.public_keys()[new.kid])
    with pytest.raises(KeyNotUsable):
        store.signing_key(old.kid)
    # Stamps the old key signed before the rotation still verify.
    check_issued_within(old_now, now() - day(1))
    assert old.kid in store.public_keys()


def test_rotate_in_the_same_second_keeps_a_valid_window(store: KeyStore) -> None:
    old = store.generate()
    new = store.rotate()
    retired = store.get(old.kid)
    assert retired.status == "retired"
    assert retired.not_after is None or retired.not_after > retired.not_before
    assert store.active() == new


def test_retire(store: KeyStore) -> None:
    info = store.generate(not_before=now() - day(3))
    retired = store.retire(info.kid)
    assert retired.status == "retired"
    assert retired.not_after is not None and abs(retired.not_after - now()) < timedelta(minutes=1)
    assert store.get(info.kid) == retired
    assert store.retire(info.kid) == retired  # retiring twice changes nothing
    with pytest.raises(NoActiveKey):
        store.active()
    with pytest.raises(KeyNotUsable):
        store.signing_key(info.kid)


def test_revoke(store: KeyStore) -> None:
    info = store.generate(not_before=now() - day(3))
    revoked = store.revoke(info.kid, "laptop with the key was stolen")
    assert revoked.status == "revoked"
    assert revoked.revocation_reason == "laptop with the key was stolen"
    assert revoked.revoked_at is not None and abs(revoked.revoked_at - now()) < timedelta(minutes=1)
    assert store.get(info.kid) == revoked
    with pytest.raises(KeyNotUsable):
        store.signing_key(info.kid)
    with pytest.raises(KeyNotUsable):
        check_issued_within(revoked, now() - day(1))
    with pytest.raises(KeyStoreError):
        store.revoke(info.kid, "again")
    with pytest.raises(KeyStoreError):
        store.retire(info.kid)


def test_revoke_needs_a_reason_and_can_follow_retire(store: KeyStore) -> None:
    info = store.generate(not_before=now() - day(3))
    with pytest.raises(KeyStoreError):
        store.revoke(info.kid, "   ")
    store.retire(info.kid)
    assert store.revoke(info.kid, "compromised").status == "revoked"


def test_signing_key_refuses_keys_outside_their_window(store: KeyStore) -> None:
    t = now()
    future = store.generate(not_before=t + day(1))
    expired = store.generate(not_before=t - day(10), not_after=t - day(1))
    for kid in (future.kid, expired.kid):
        with pytest.raises(KeyNotUsable):
            store.signing_key(kid)
    with pytest.raises(NoActiveKey):
        store.active()
    with pytest.raises(NoActiveKey):
        store.signing_key()
    current = store.generate(not_before=t - day(1), not_after=t + day(1))
    assert store.signing_key()[0] == current


# ---------------------------------------------------------------------- KeyInfo


def make_info(**overrides) -> KeyInfo:
    t = datetime(2025, 1, 1, tzinfo=UTC)
    fields = dict(
        kid=b"\x01" * KID_LENGTH, alg="EdDSA", status="active", not_before=t, not_after=t + day(365), created_at=t
    )
    fields.update(overrides)
    return KeyInfo(**fields)


@pytest.mark.parametrize(
    "overrides",
    [
        {"status": "expired"},
        {"alg": "RS256"},
        {"kid": b"\x01" * (KID_LENGTH - 1)},
        {"not_after": datetime(2025, 1, 1, tzinfo=UTC)},
        {"not_after": datetime(2024, 1, 1, tzinfo=UTC)},
        {"not_before": datetime(2025, 1, 1)},
        {"status": "revoked"},
        {"revoked_at": datetime(2025, 2, 1, tzinfo=UTC)},
        {"revocation_reason": "x"},
    ],
)
def test_keyinfo_validation(overrides: dict) -> None:
    with pytest.raises(InvalidKeyInfo):
        make_info(**overrides)
    with pytest.raises(ValueError):  # also a ValueError for ordinary callers
        make_info(**overrides)


def test_keyinfo_normalises_to_utc_whole_seconds() -> None:
    hanoi = timezone(timedelta(hours=7))
    info = make_info(not_before=datetime(2025, 1, 1, 7, 0, 0, 900_000, tzinfo=hanoi))
    assert info.not_before == datetime(2025, 1, 1, tzinfo=UTC)
    assert info.not_before.tzinfo == UTC


# ------------------------------------------------------------ check_issued_within


def test_check_issued_within() -> None:
    info = make_info()
    nb, na = info.not_before, info.not_after
    assert na is not None
    check_issued_within(info, nb + day(10))
    check_issued_within(info, nb)  # both ends inclusive
    check_issued_within(info, na)
    check_issued_within(info, nb.replace(microsecond=500_000))  # stamps carry whole seconds
    with pytest.raises(KeyNotUsable):
        check_issued_within(info, nb - timedelta(seconds=1))
    with pytest.raises(KeyNotUsable):
        check_issued_within(info, na + timedelta(seconds=1))
    open_ended = make_info(not_after=None)
    check_issued_within(open_ended, nb + day(3650))
    revoked = make_info(status="revoked", revoked_at=nb + day(30), revocation_reason="leak")
    with pytest.raises(KeyNotUsable):
        check_issued_within(revoked, nb + day(10))  # even before the revocation
    with pytest.raises(ValueError):
        check_issued_within(info, datetime(2025, 3, 1))  # naive


# ----------------------------------------------------------------- thumbprint / kid


def test_rfc8037_ed25519_thumbprint() -> None:
    # RFC 8037 Appendix A.3: the published thumbprint of the Appendix A.2 public key.
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    expected = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x}
    assert b64url_encode(jwk_thumbprint(jwk)) == expected
    # Members outside the required set do not change the thumbprint.
    assert b64url_encode(jwk_thumbprint({**jwk, "kid": "anything", "alg": "EdDSA"})) == expected
    # The same key as a key object: the kid is the first KID_LENGTH bytes of that thumbprint.
    public_key = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(x))
    assert kid_for_public_key(public_key) == b64url_decode(expected)[:KID_LENGTH]
    # RFC 8037 Appendix A.1's private key d gives this same public key.
    d = b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    private_key = ed25519.Ed25519PrivateKey.from_private_bytes(d)
    assert kid_for_public_key(private_key.public_key()) == b64url_decode(expected)[:KID_LENGTH]


def test_ec_thumbprint_uses_rfc7638_member_order() -> None:
    public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    numbers = public_key.public_numbers()
    x = b64url_encode(numbers.x.to_bytes(32, "big"))
    y = b64url_encode(numbers.y.to_bytes(32, "big"))
    # Written out by hand from RFC 7638 section 3.2, independent of the module.
    canonical = '{"crv":"P-256","kty":"EC","x":"' + x + '","y":"' + y + '"}'
    assert kid_for_public_key(public_key) == hashlib.sha256(canonical.encode()).digest()[:KID_LENGTH]


# ----------------------------------------------------------------------- JWKS


def populated_store(tmp_path: Path) -> tuple[KeyStore, dict[str, KeyInfo]]:
    store = KeyStore(tmp_path / "keys", PASSPHRASE, scrypt_n=CHEAP)
    t = now()
    retired = store.generate("EdDSA", not_before=t - day(60))
    store.rotate("ES256")
    revoked = store.generate("EdDSA", not_before=t - day(90), not_after=t - day(61))
    store.revoke(revoked.kid, "key file copied to a USB stick")
    current = store.rotate("EdDSA")
    return store, {"retired": retired, "revoked": revoked, "current": current}


def test_jwks_members_and_no_private_material(tmp_path: Path) -> None:
    store, keys = populated_store(tmp_path)
    jwks = store.jwks()
    json.dumps(jwks)  # serialisable as-is
    assert len(jwks["keys"]) == 4
    by_kid = {jwk["kid"]: jwk for jwk in jwks["keys"]}
    for jwk in jwks["keys"]:
        assert "d" not in jwk
        assert not ks._PRIVATE_MEMBERS & set(jwk)
        assert jwk["use"] == "sig"
        assert jwk["kty"] in ("OKP", "EC") and jwk["alg"] in ("EdDSA", "ES256")
        assert ("y" in jwk) == (jwk["kty"] == "EC")
        assert isinstance(jwk["nbf"], int)
        assert "revocation_reason" not in jwk
    current = by_kid[keys["current"].kid_b64]
    assert current["status"] == "active" and "exp" not in current and "revoked_at" not in current
    revoked = by_kid[keys["revoked"].kid_b64]
    assert revoked["status"] == "revoked" and isinstance(revoked["revoked_at"], int)
    retired = by_kid[keys["retired"].kid_b64]
    assert retired["status"] == "retired" and retired["exp"] > retired["nbf"]
    assert PASSPHRASE not in json.dumps(jwks)


def test_jwks_round_trips_through_load_jwks(tmp_path: Path) -> None:
    store, _ = populated_store(tmp_path)
    records = load_jwks(json.loads(json.dumps(store.jwks())))
    public_keys = store.public_keys()
    assert set(records) == set(public_keys)
    for info in store.list():
        record = records[info.kid]
        assert record.kid == info.kid
        assert record.info.status == info.status
        assert record.info.alg == info.alg
        assert record.info.not_before == info.not_before
        assert record.info.not_after == info.not_after
        assert record.info.revoked_at == info.revoked_at
        assert ks.public_jwk(record.public_key) == ks.public_jwk(public_keys[info.kid])
    # A stamp signed by the store verifies with the key loaded from the JWKS.
    info, private_key = store.signing_key()
    sign_and_verify(private_key, records[info.kid].public_key)


def one_jwk(tmp_path: Path, alg: str = "EdDSA") -> dict:
    store = KeyStore(tmp_path / f"keys-{alg}", PASSPHRASE, scrypt_n=CHEAP)
    store.generate(alg)
    return store.jwks()["keys"][0]


@pytest.mark.parametrize("alg", ALGS)
def test_load_jwks_refuses_kid_of_a_different_key(tmp_path: Path, alg: str) -> None:
    victim = one_jwk(tmp_path / "a", alg)
    attacker = one_jwk(tmp_path / "b", alg)
    forged = {**attacker, "kid": victim["kid"], "status": "active"}
    with pytest.raises(InvalidJwks, match="does not match"):
        load_jwks({"keys": [forged]})


def test_load_jwks_refuses_private_members(tmp_path: Path) -> None:
    jwk = one_jwk(tmp_path)
    with pytest.raises(InvalidJwks, match="private"):
        load_jwks({"keys": [{**jwk, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]})


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "RSA"},
        {"kty": "oct"},
        {"crv": "X25519"},
        {"crv": "Ed448"},
        {"alg": "ES256"},
        {"alg": None},
        {"use": "enc"},
        {"x": "not base64!"},
        {"x": "AAAA"},
        {"kid": None},
        {"status": "unknown"},
        {"nbf": "yesterday"},
        {"nbf": True},
        {"exp": 0},
    ],
)
def test_load_jwks_refuses_malformed_keys(tmp_path: Path, change: dict) -> None:
    jwk = {**one_jwk(tmp_path), **change}
    with pytest.raises(InvalidJwks):
        load_jwks({"keys": [jwk]})


def test_load_jwks_refuses_bad_point_duplicates_and_shape(tmp_path: Path) -> None:
    jwk = one_jwk(tmp_path, "ES256")
    y = bytearray(b64url_decode(jwk["y"]))
    y[-1] ^= 1
    with pytest.raises(InvalidJwks):
        load_jwks({"keys": [{**jwk, "y": b64url_encode(bytes(y))}]})  # not on the curve
    with pytest.raises(InvalidJwks, match="twice"):
        load_jwks({"keys": [jwk, dict(jwk)]})
    for data in ({}, {"keys": {}}, {"keys": ["x"]}, []):
        with pytest.raises(InvalidJwks):
            load_jwks(data)  # type: ignore[arg-type]
