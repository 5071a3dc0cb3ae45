"""Settings are checked at start-up: a wrong one stops the service with its name, booleans are strict."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import KEY_PASSPHRASE
from stamp_service import create_app
from stamp_service.server import serve
from stamp_service.settings_check import SettingsError


def _make(tmp_path, monkeypatch, **settings):
    monkeypatch.setenv("OCOP_STAMP_HOME", str(tmp_path / "instance"))
    return create_app({"PUBLIC_HOST": "tem.example.vn", "KEY_PASSPHRASE": KEY_PASSPHRASE, **settings})


@pytest.mark.parametrize("spelling", ["false", "False", "FALSE", "no", "off", "0", ""])
def test_development_false_in_config_toml_is_false(tmp_path, monkeypatch, spelling):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.toml").write_text(f'DEVELOPMENT = "{spelling}"\n')
    assert _make(tmp_path, monkeypatch).config["DEVELOPMENT"] is False


@pytest.mark.parametrize("spelling", ["true", "yes", "1", "on"])
def test_development_true_spellings(tmp_path, monkeypatch, spelling):
    monkeypatch.setenv("OCOP_STAMP_DEVELOPMENT", spelling)
    assert _make(tmp_path, monkeypatch).config["DEVELOPMENT"] is True


@pytest.mark.parametrize("name, value, words", [
    ("DEVELOPMENT", "maybe", "DEVELOPMENT must be true or false"),
    ("ISSUER", "vn office", "ISSUER"),
    ("PUBLIC_HOST", "https://tem.ocop.vn/", "PUBLIC_HOST"),
    ("PUBLIC_HOST", "tem.ocop.vn/S", "PUBLIC_HOST"),
    ("SECRET_KEY", "short", "SECRET_KEY must be at least 32"),
    ("MAX_PHOTO_PIXELS", 0, "MAX_PHOTO_PIXELS"),
    ("MAX_IMAGE_PIXELS", "16M", "MAX_IMAGE_PIXELS"),
    ("PROXY_COUNT", -1, "PROXY_COUNT"),
    ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE"),
    ("OFFICE_HOTLINE", "gọi 1900", "OFFICE_HOTLINE"),
    ("OFFICE_HOTLINE", "12", "OFFICE_HOTLINE"),
    ("OFFICE_HOTLINE", ["0203"], "OFFICE_HOTLINE"),
    ("OFFICE_NAME", "  ", "OFFICE_NAME"),
    ("OFFICE_NAME", "x" * 121, "OFFICE_NAME"),
    ("DECODE_CONCURRENCY", "2", "DECODE_CONCURRENCY must be a positive whole number"),
    ("DECODE_WAIT_SECONDS", 0, "DECODE_WAIT_SECONDS must be a number above 0"),
    ("READY_MIN_FREE_MB", -1, "READY_MIN_FREE_MB must be a whole number of at least 0"),
    ("SESSION_COOKIE_SAMESITE", "None", "SESSION_COOKIE_SAMESITE must be one of Lax, Strict"),
    ("SESSION_COOKIE_SECURE", "maybe", "SESSION_COOKIE_SECURE must be true or false"),
    ("COPY_RULES", {"households_48h": 0}, "COPY_RULES.households_48h must be a positive integer"),
    ("OVERPRINT_MARGIN", "10%", "OVERPRINT_MARGIN must be a number from 0 to 10"),
])
def test_a_wrong_setting_stops_start_up_with_its_name(tmp_path, monkeypatch, name, value, words):
    with pytest.raises(SettingsError) as caught:
        _make(tmp_path, monkeypatch, **{name: value})
    assert words in str(caught.value)


def test_office_hotline_as_written_or_from_the_environment(tmp_path, monkeypatch):
    app = _make(tmp_path, monkeypatch, OFFICE_HOTLINE=" 0203 3.835.000 ", OFFICE_NAME=" Văn phòng OCOP Quảng Ninh ")
    assert app.config["OFFICE_HOTLINE"] == "0203 3.835.000" and app.config["OFFICE_NAME"] == "Văn phòng OCOP Quảng Ninh"
    monkeypatch.setenv("OCOP_STAMP_OFFICE_HOTLINE", "19001234")  # read as a number (JSON), kept as a phone number
    assert _make(tmp_path, monkeypatch).config["OFFICE_HOTLINE"] == "19001234"
    assert _make(tmp_path, monkeypatch, OFFICE_HOTLINE="").config["OFFICE_HOTLINE"] == ""


def test_default_language_is_read(tmp_path, monkeypatch):
    app = _make(tmp_path, monkeypatch, DEFAULT_LANGUAGE="en")
    page = app.test_client().get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    vietnamese_first = _make(tmp_path, monkeypatch).test_client().get("/", headers={"Accept-Language": "fr"})
    assert '<html lang="vi">' in vietnamese_first.get_data(as_text=True)


def test_serving_for_real_without_a_key_passphrase_is_refused(tmp_path, monkeypatch):
    app = _make(tmp_path, monkeypatch, KEY_PASSPHRASE=None)
    with pytest.raises(SettingsError) as caught:
        serve(app, "127.0.0.1", 0)
    assert "KEY_PASSPHRASE" in str(caught.value)


def test_the_command_line_says_which_setting_is_wrong_without_a_traceback(tmp_path):
    env = {**os.environ, "OCOP_STAMP_HOME": str(tmp_path / "instance"), "OCOP_STAMP_ISSUER": "not valid"}
    done = subprocess.run([sys.executable, "-m", "stamp_service.cli", "batches"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "ISSUER" in done.stderr and "Traceback" not in done.stderr


def test_a_setting_checked_beside_its_domain_is_one_clear_line_too(tmp_path):
    env = {**os.environ, "OCOP_STAMP_HOME": str(tmp_path / "instance"), "OCOP_STAMP_CLAIM_LIMITS": '{"guesses": 5}'}
    done = subprocess.run([sys.executable, "-m", "stamp_service.cli", "batches"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: configuration: unknown CLAIM_LIMITS: ['guesses']")
