"""One error model: every error derives from errors.Error, says its message from the catalog in Vietnamese and
English without its technical detail, and is answered with its own status by the one HTTP mapper."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

import print_layouts
import stamp_service
import verify_web
from print_layouts import NoRoomForBox, NoRoomForLinkCode, load_templates
from stamp_service.auth.access import public
from stamp_service.errors import Error
from stamp_service.i18n import Message, catalogs
from stamp_service.registry.csv_import import ImportFailed, ImportReport
from stamp_service.registry.fields import Invalid, ValidationError
from stamp_service.registry.records import RecordNotFound
from stamp_service.storage.errors import Conflict, MissingValue, StorageUnavailable, UnknownReference
from stamp_service.trace.digital_link import BadLink
from stamp_service.verification.claims import Limited

# Technical detail as a module would write it: it must reach logs and the CLI, never a reader's message.
DETAIL = "ENGLISH-DETAIL kid=ab12 file=/srv/keys/x.json"
# Exceptions that are not domain errors, each for a reason.
NOT_DOMAIN = {
    "stamp_service.auth.csrf.CSRFError": "a werkzeug BadRequest, answered by the HTTPException handler",
    "stamp_service.storage.base._ProbeDone": "private control flow: ends a probe transaction, never leaves storage",
}
TEMPLATE = load_templates()["a4-65-38x21"]  # small labels: no room for a box nor a second code
# Errors whose constructor takes something other than a detail text.
SPECIAL: dict[type, Callable[[], Error]] = {
    Conflict: lambda: Conflict(DETAIL, ["email"]),
    UnknownReference: lambda: UnknownReference(DETAIL),
    MissingValue: lambda: MissingValue(DETAIL, "name"),
    StorageUnavailable: lambda: StorageUnavailable(DETAIL),
    RecordNotFound: lambda: RecordNotFound(DETAIL, 7),
    Invalid: lambda: Invalid("error.date"),
    ValidationError: lambda: ValidationError({"name": Message("error.required")}),
    ImportFailed: lambda: ImportFailed(ImportReport("producers")),
    BadLink: lambda: BadLink("error.dl_form", DETAIL),
    Limited: lambda: Limited(600),
    NoRoomForBox: lambda: NoRoomForBox(TEMPLATE),
    NoRoomForLinkCode: lambda: NoRoomForLinkCode(TEMPLATE),
}
VIETNAMESE = re.compile("[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I)


def _exception_classes() -> list[type[BaseException]]:
    """Every exception class the three packages declare (each module imported; registry/ has no __init__.py,
    so the modules are found as files, not by pkgutil)."""
    found: dict[str, type[BaseException]] = {}
    for package in (stamp_service, verify_web, print_layouts):
        root = Path(package.__path__[0])
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            if parts[-1] == "__main__":  # runs the CLI when imported
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            module = importlib.import_module(name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == name:
                    found[f"{name}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


CLASSES = _exception_classes()
DOMAIN = [cls for cls in CLASSES if f"{cls.__module__}.{cls.__qualname__}" not in NOT_DOMAIN]


def sample(cls: type[Error]) -> Error:
    """An instance of cls carrying DETAIL where its constructor takes a detail."""
    return SPECIAL[cls]() if cls in SPECIAL else cls(DETAIL)


def test_the_walk_finds_the_errors_of_every_package():
    names = {cls.__name__ for cls in DOMAIN}
    assert {"StampError", "CoseError", "KeyStoreError", "StorageError", "ClaimError", "TemplateError",
            "QRCapacityError", "BadLink", "SettingsError", "LoginBusy", "ImportFailed"} <= names
    assert len(DOMAIN) >= 45
    for name in NOT_DOMAIN:  # an allowance for a class that is gone would hide nothing: keep the list true
        assert any(f"{cls.__module__}.{cls.__qualname__}" == name for cls in CLASSES), name


@pytest.mark.parametrize("cls", DOMAIN, ids=lambda c: c.__qualname__)
def test_every_error_derives_from_the_base(cls):
    assert issubclass(cls, Error)


def test_names_do_not_shadow_the_libraries_ones():
    names = {cls.__name__ for cls in DOMAIN}
    assert not names & {"InvalidSignature", "NotFound", "InvalidTag", "BadRequest", "Forbidden"}
    assert len({cls for cls in DOMAIN if cls.__name__ == "UnknownKey"}) == 1


@pytest.mark.parametrize("cls", DOMAIN, ids=lambda c: c.__qualname__)
def test_each_error_renders_its_catalog_message_in_both_languages_without_the_detail(cls):
    exc = sample(cls)
    texts = {}
    for lang in ("vi", "en"):
        assert catalogs.text(exc.key, lang) is not None, f"{exc.key} missing from the {lang} catalog"
        texts[lang] = exc.message.render(lang)
        assert texts[lang] and texts[lang] != exc.key
        assert "ENGLISH-DETAIL" not in texts[lang] and "/srv/keys" not in texts[lang]
        assert "{" not in texts[lang], texts[lang]  # every placeholder filled
    assert texts["vi"] != texts["en"] and VIETNAMESE.search(texts["vi"]), texts
    if cls not in SPECIAL or cls in (Conflict, UnknownReference, MissingValue, StorageUnavailable, BadLink):
        assert DETAIL in exc.detail and DETAIL in str(exc)  # the detail is kept, for logs and the CLI


def test_malformed_is_not_did_not_verify():
    from stamp_service import cose
    from stamp_service.stamps import errors

    assert cose.UnknownKey is errors.UnknownKey
    assert issubclass(cose.MalformedMessage, errors.MalformedStamp)
    assert issubclass(cose.UnsupportedAlgorithm, errors.MalformedStamp)
    assert issubclass(cose.BadSignature, errors.SignatureMismatch)
    assert not issubclass(cose.BadSignature, errors.MalformedStamp)
    assert {cls().verdict for cls in (cose.MalformedMessage, cose.UnsupportedAlgorithm)} == {"malformed"}
    assert cose.KeyMismatch().verdict == cose.BadSignature().verdict == "invalid-signature"
    assert cose.UnknownKey().verdict == "unknown-key"
    assert cose.MalformedMessage().message.render("en") != cose.BadSignature().message.render("en")


@pytest.fixture
def raising_app(tmp_path, monkeypatch):
    """The service with one extra public route that raises the sample error it is named after."""
    from stamp_service import create_app

    monkeypatch.setenv("OCOP_STAMP_HOME", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "PUBLIC_HOST": "tem.example.vn"})
    by_name = {cls.__qualname__: cls for cls in DOMAIN}

    @public
    def raise_error(name: str) -> Any:
        raise sample(by_name[name])

    app.add_url_rule("/api/v1/test-raise/<name>", "test_raise_api", raise_error)
    app.add_url_rule("/test-raise/<name>", "test_raise_page", raise_error)
    return app


def test_the_mapper_answers_each_error_with_its_status_and_message(raising_app, caplog):
    client = raising_app.test_client()
    names = sorted({cls.__qualname__ for cls in DOMAIN})
    assert len(names) == len(DOMAIN)  # the route names each class without ambiguity
    for cls in DOMAIN:
        exc = sample(cls)
        for lang in ("vi", "en"):
            caplog.clear()
            answer = client.get(f"/api/v1/test-raise/{cls.__qualname__}", headers={"Accept-Language": lang})
            assert answer.status_code == cls.status, cls
            body = answer.get_json()
            assert body == {"error": exc.message.render(lang),
                            "fields": {k: m.render(lang) for k, m in exc.fields.items()}}, cls
            assert "ENGLISH-DETAIL" not in answer.get_data(as_text=True)
            if exc.retry_after:
                assert answer.headers["Retry-After"] == str(exc.retry_after)
            else:
                assert "Retry-After" not in answer.headers
            if cls.status >= 500 and DETAIL in exc.detail:
                assert DETAIL in caplog.text  # the operator's account went to the log
        page = client.get(f"/test-raise/{cls.__qualname__}", headers={"Accept-Language": "vi"})
        assert page.status_code == cls.status and page.mimetype == "text/html"
        html = page.get_data(as_text=True)
        assert "ENGLISH-DETAIL" not in html
    validation = client.get("/api/v1/test-raise/ValidationError", headers={"Accept-Language": "vi"}).get_json()
    assert validation == {"error": Message("error.invalid_input").render("vi"),
                          "fields": {"name": Message("error.required").render("vi")}}
    missing = client.get("/api/v1/test-raise/RecordNotFound").get_json()
    assert missing["error"] == Message("error.not_found").render("vi")


def test_declared_statuses():
    from stamp_service import keystore
    from stamp_service.auth.hashing import LoginBusy
    from stamp_service.stamps.errors import StampError
    from print_layouts import TemplateError

    assert (RecordNotFound.status, ValidationError.status, StampError.status, TemplateError.status) == (404, 400, 400,
                                                                                                      400)
    assert (keystore.KeyStoreError.status, StorageUnavailable.status, LoginBusy.status) == (503, 503, 503)
    assert Limited.status == 429 and Conflict.status == 500  # a conflict the registry did not map is our bug


def test_the_cli_shows_the_detail_in_english(runner, tmp_path):
    from stamp_service.cli import cli

    broken = tmp_path / "keys.json"
    jwk = {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "AAAA", "x": "short"}
    broken.write_text(json.dumps({"keys": [jwk]}))
    result = runner.invoke(cli, ["verify", "--jwks", str(broken), "HTTPS://TEM.EXAMPLE.VN/S/123"])
    assert result.exit_code == 1
    assert result.output == f"Error: {broken}: JWK OKP/Ed25519 does not hold a valid public key\n"
    result = runner.invoke(cli, ["verify", "--json", "HTTPS://TEM.EXAMPLE.VN/S/12"])
    [row] = json.loads(result.output)
    assert row["verdict"] == "malformed" and row["reason"] and not VIETNAMESE.search(row["reason"])


def test_a_refused_serial_is_explained_in_the_readers_language(api, world):
    call = api("inspector")
    for code in ("abc", "HTTPS://TEM.EXAMPLE.VN/S/42"):
        texts = {}
        for lang in ("vi", "en"):
            answer = call("GET", "/api/v1/stamps/history", query_string={"code": code},
                          headers={"Accept-Language": lang})
            assert answer.status_code == 400
            texts[lang] = answer.get_json()["fields"]["code"]
        # Before: "Số sê-ri không đúng: no stamp has this serial" (the StampError's English detail).
        assert texts["vi"].startswith("Số sê-ri không đúng: ") and texts["en"].startswith("Wrong serial: ")
        reason = texts["vi"].removeprefix("Số sê-ri không đúng: ")
        assert VIETNAMESE.search(reason) and reason not in texts["en"], texts


def test_a_message_inside_a_message_renders_in_the_same_language():
    from stamp_service.stamps.errors import MalformedStamp

    nested = Message("error.serial_typed", {"detail": MalformedStamp(DETAIL).message})
    assert nested.render("en") == "Wrong serial: " + Message("reason.malformed").render("en")
    assert nested.render("vi") == "Số sê-ri không đúng: " + Message("reason.malformed").render("vi")
