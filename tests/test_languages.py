"""Which language a page is in, and that a page in one language has no words of the other."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing

# Interface words that only the other language's text would bring onto a page. Data (names of producers, products,
# places, decisions) stays in the language it was registered in and is not looked for.
ENGLISH = re.compile(r"\b(the|and|of|with|Sign in|Sign out|Stamps?|stamps|Producers?|Products?|Batch(es)?|"
                     r"Scanned|Genuine|Overview|Save|Edit|Serials?|Template|checked|Certificate|Valid|Page|times?|"
                     r"Open|Close|Shop|Visit|Other|Inspector|Print|Quantity|Status|Users?|Language|Stars?)\b")
VIETNAMESE = re.compile(r"(?<![\w])(của|và|hoặc|nhãn|Cuộn|Tỉnh|Xã|Thành phố|không|Đã|lần|Chủ thể|Sản phẩm|Lô sản xuất|Đăng nhập|Đăng xuất|"
                        r"Tổng quan|Chính hãng|Ngày|Số|tem|Tem|Lưu|Sửa|Kiểm tra|kiểm tra|Trạng thái|Hạn|hết hạn|"
                        r"Giấy chứng nhận|sao|Cửa hàng|chưa|Chưa|được|trong|quét|Quét)(?![\w])")
# Words the same in both (brand, formats, units, machine names) that the patterns above would otherwise flag.
SHARED = re.compile(r"OCOP|QR|CSV|PDF|SMS|UTC\+7|Tem OCOP")
# Data as the test world registered it (Vietnamese in any language), and CSV headers quoted as examples.
# Names, not words: stored data and the official host (which may well start "tem.").
DATA = ("tem.example.vn", "Cửa hàng đặc sản Hạ Long", "Tem photocopy chợ Hạ Long", "Tên chủ thể, Mã số thuế, Mã xã, Số sao")


def visible_text(page: str, names: tuple[str, ...] = DATA) -> str:
    """The words a reader sees: text outside tags, scripts and styles, plus labels read aloud (aria, alt, title),
    without the given names."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    said = " ".join(m[1] for m in re.finditer(r'\b(?:aria-label|alt|title|placeholder)="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", " ", page) + " " + said
    text = html_lib.unescape(text)
    for name in names:
        text = text.replace(name, " ")
    return SHARED.sub(" ", text)


def _stamp_path(app, world) -> str:
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        code = next(iter(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"])))[1]
    return "/" + code.split("/", 3)[3]


def _pages(app, world) -> dict[str, list[str]]:
    """Who sees which main pages."""
    return {
        None: ["/", "/login", _stamp_path(app, world), f"/check?serial={world.first_serial}"],
        "admin": ["/portal/", "/portal/producers", f"/portal/producers/{world.producer_a}", "/portal/products",
                  f"/portal/products/{world.product_a}", "/portal/batches", f"/portal/batches/{world.batch_a}",
                  f"/portal/runs/{world.run_a}", "/portal/users", "/portal/import", "/portal/batches/new"],
        "inspector": ["/inspect/", "/inspect/visits", f"/inspect/visits/{world.visit}", "/inspect/dashboard",
                      f"/inspect/stamps/{world.first_serial}", f"/inspect/batches/{world.batch_a}",
                      f"/inspect/producers/{world.producer_a}", "/inspect/cases", f"/inspect/cases/{world.case}"],
    }


@pytest.mark.parametrize("lang, other, pattern, own", [("vi", "English", ENGLISH, VIETNAMESE),
                                                      ("en", "Vietnamese", VIETNAMESE, ENGLISH)])
def test_main_pages_have_no_words_of_the_other_language(app, world, login, lang, other, pattern, own):
    found = {}
    for who, urls in _pages(app, world).items():
        session = login(who)
        for url in urls:
            response = session.get(url, query_string={"lang": lang}) if "?" not in url else session.get(f"{url}&lang={lang}")
            assert response.status_code == 200, (url, response.status_code)
            page = response.get_data(as_text=True)
            assert f'<html lang="{lang}"' in page, url
            assert own.search(visible_text(page)), url  # the tell-tales do find words: of the page's own language
            words = sorted(set(m[0] for m in pattern.finditer(visible_text(page))))
            if words:
                found[url] = words
    assert not found, f"{other} words on {lang} pages: {found}"


def test_explicit_choice_beats_the_browser_and_query_beats_cookie(client):
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    assert '<html lang="vi"' in client.get("/login").get_data(as_text=True)  # no choice, no header: Vietnamese
    assert '<html lang="en"' in client.get("/login", headers=english_browser).get_data(as_text=True)
    assert '<html lang="vi"' in client.get("/login?lang=vi", headers=english_browser).get_data(as_text=True)
    client.get("/lang/vi")  # the switch's cookie
    assert '<html lang="vi"' in client.get("/login", headers=english_browser).get_data(as_text=True)
    assert '<html lang="en"' in client.get("/login?lang=en").get_data(as_text=True)  # a link with ?lang= wins
    assert '<html lang="vi"' in client.get("/login?lang=fr", headers=english_browser).get_data(as_text=True)
    response = client.get("/login")
    assert "Accept-Language" in response.headers["Vary"] and "Cookie" in response.headers["Vary"]


def test_a_visits_reasons_read_in_the_pages_language(app, world, login):
    # A reason with values in it (the printed host) is kept in both languages when the check is recorded.
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        code = next(iter(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"])))[1]
    inspector = login("inspector")
    assert inspector.post("/inspect/check", {"code": code.replace("TEM.EXAMPLE.VN", "TEM-EXAMPLE.VN")}).status_code == 200
    visit = f"/inspect/visits/{world.visit}"
    english = visible_text(inspector.get(f"{visit}?lang=en").get_data(as_text=True), names=())
    assert "code points to tem-example.vn, not the official address tem.example.vn" in english
    assert "không phải địa chỉ chính thức" not in english
    vietnamese = visible_text(inspector.get(f"{visit}?lang=vi").get_data(as_text=True), names=())
    assert "không phải địa chỉ chính thức tem.example.vn" in vietnamese and "points to" not in vietnamese
    record = inspector.get(f"{visit}/record.csv?lang=en").data.decode("utf-8-sig")
    assert "The QR code points to tem-example.vn" in record and "không phải" not in record


def test_label_stock_names_read_in_the_pages_language(app, world, login):
    # The templates' titles are stored in Vietnamese; English pages describe the stock from its size.
    admin = login("admin")
    english = html_lib.unescape(admin.get(f"/portal/runs/{world.run_a}?lang=en").get_data(as_text=True))
    assert ">A4, 21 labels 70 × 42.3 mm (3 × 7)</option>" in english and ">Roll, 30 × 20 mm labels</option>" in english
    assert ">A4, 8 labels 99.1 × 67.7 mm (2 × 4)</option>" in english
    vietnamese = html_lib.unescape(admin.get(f"/portal/runs/{world.run_a}?lang=vi").get_data(as_text=True))
    assert ">A4, 21 nhãn 70 × 42,3 mm (3 × 7)</option>" in vietnamese and ">Cuộn, nhãn 30 × 20 mm</option>" in vietnamese


def test_the_switch_drops_a_lang_parameter_from_the_page_it_returns_to(client):
    response = client.get("/lang/vi", query_string={"next": "/check?serial=12&lang=en"})
    assert response.status_code == 302 and response.headers["Location"] == "/check?serial=12"
    assert client.get("/lang/en", query_string={"next": "/login?lang=vi"}).headers["Location"] == "/login"
    assert client.get("/lang/en", query_string={"next": "//evil.example/?lang=vi"}).headers["Location"] == "/portal/"
