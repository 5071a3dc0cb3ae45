"""Registry rules from the domain: identifiers, GTIN check digits, places, recognition validity."""

from __future__ import annotations

import datetime as dt

import pytest

from stamp_service.registry import places, recognitions
from stamp_service.registry.fields import Invalid, parse_date
from stamp_service.registry.identifiers import check_gtin, check_identifier


def test_places_are_the_2025_units():
    assert len(places.provinces()) == 34
    assert len(places.communes()) == 3321
    ba_che = places.commune("06978")
    assert ba_che.display() == "Xã Ba Chẽ, Tỉnh Quảng Ninh"
    assert ba_che.display("en") == "Ba Che, Quang Ninh"
    assert places.commune("99999") is None
    with pytest.raises(Invalid):
        places.check_commune_code("12345")


@pytest.mark.parametrize("gtin", ["8938505974194", "4006381333931", "96385074", "036000291452", "10614141000415"])
def test_valid_gtins(gtin):
    assert check_gtin(gtin) == gtin


@pytest.mark.parametrize("gtin", ["8938505974191", "4006381333932", "1234", "89385059741x4"])
def test_invalid_gtins(gtin):
    with pytest.raises(Invalid):
        check_gtin(gtin)


def test_identifiers():
    assert check_identifier("tax_code", "0101 234 565") == "0101234565"
    assert check_identifier("tax_code", "0101234565-001") == "0101234565-001"
    assert check_identifier("personal_id", "001083012345") == "001083012345"
    for id_type, value in (("tax_code", "12345"), ("personal_id", "0010830123"), ("other", "x" * 60)):
        with pytest.raises(Invalid):
            check_identifier(id_type, value)


def test_dates_in_both_notations():
    assert parse_date("2026-11-23") == dt.date(2026, 11, 23)
    assert parse_date("23/11/2026") == dt.date(2026, 11, 23)
    for bad in ("2026-02-30", "31/02/2026", "yesterday", "11/23/2026"):
        with pytest.raises(Invalid):
            parse_date(bad)


def test_36_months_clamps_to_month_end():
    assert recognitions.add_months(dt.date(2023, 8, 31), 36) == dt.date(2026, 8, 31)
    assert recognitions.add_months(dt.date(2024, 2, 29), 36) == dt.date(2027, 2, 28)


def test_standing():
    rec = {"valid_from": "2025-01-01", "valid_until": "2028-01-01", "status": "valid"}
    assert recognitions.standing(rec, dt.date(2026, 1, 1)).status == "valid"
    soon = recognitions.standing(rec, dt.date(2027, 12, 10))
    assert soon.status == "valid" and soon.expiring and soon.days_left == 22
    assert recognitions.standing(rec, dt.date(2028, 1, 2)).status == "expired"
    assert recognitions.standing({**rec, "status": "revoked"}, dt.date(2026, 1, 1)).status == "revoked"
    assert not recognitions.standing({**rec, "status": "revoked"}, dt.date(2026, 1, 1)).certified
