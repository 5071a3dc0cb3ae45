"""The QR version issuing checks is the version the printed symbol has, for any host."""

from __future__ import annotations

import pytest

from print_layouts import qrmatrix
from stamp_service.context import get_storage
from stamp_service.registry.fields import ValidationError
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.qr import MAX_VERSION, make_qr, qr_version

HOSTS = ("TEM_OCOP.VN", "tem.ocop.vn", "127.0.0.1:8000", "localhost:8000", "tem-ocop.quangninh.gov.vn",
         "truy-xuat-nguon-goc.ocop.quangninh.gov.vn", "tem_ocop.vn")


@pytest.mark.parametrize("host", HOSTS)
def test_the_issuers_version_is_the_printed_version(app, world, host):
    with app.app_context():
        storage, store = get_storage(), keystore(app)
        try:
            run = issuing.issue_run(storage, store, world.batch_a, 3, issuer="VN", host=host)
        except ValidationError as exc:  # refused as too large: then the printed symbol must be too large too
            assert "QR" in exc.message.render("en")
            run = None
        texts = [text for _, text in issuing.codes(issuing.get_run(storage, world.run_a), store, host)]
        if run is not None:
            texts += [text for _, text in issuing.codes(issuing.get_run(storage, run["id"]), store, host)]
    for text in texts:
        for level in "MQH":
            printed = qrmatrix.encode(text, level)  # what print_layouts.render draws
            assert qr_version(text, level) == printed.version, (host, level)
            assert make_qr(text, level).version == printed.version
        if run is not None:
            assert qrmatrix.encode(text, "M").version <= MAX_VERSION


def test_an_underscore_host_prints_at_the_size_it_was_issued_for(app, world):
    # Before: the issuer said version 8 for TEM_OCOP.VN while the label printed a version 13 symbol.
    with app.app_context():
        storage, store = get_storage(), keystore(app)
        run = issuing.issue_run(storage, store, world.batch_a, 2, issuer="VN", host="TEM_OCOP.VN")
        text = next(t for _, t in issuing.codes(issuing.get_run(storage, run["id"]), store, "TEM_OCOP.VN"))
    assert qrmatrix.segment(text)[0] == ("byte", "HTTPS://TEM_OCOP.VN/S/")
    assert qrmatrix.encode(text, "M").version == qr_version(text) <= MAX_VERSION
