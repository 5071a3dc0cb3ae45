"""Demo data that looks like the real programme: producers, products, recognitions and batches across provinces.

Dates are relative to today, so the demo always has one certificate expired and one expiring within 30 days.
Passwords are generated at set-up (never stored in the repository) and kept in the instance folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any

from .auth import users
from .keystore import KeyStore
from .registry import batches, producers, products, recognitions
from .registry.fields import ValidationError
from .stamps import issuing
from .registry.recognitions import add_months
from .storage import Storage
from .trace import demo_stages

LOGINS_FILE = "demo-logins.json"

# (producer, [(product, recognition spec, batches)]); recognition "age" is months since the decision.
PRODUCERS: list[dict[str, Any]] = [
    {
        "producer": {"name": "Hợp tác xã Trà hoa vàng Ba Chẽ", "type": "cooperative", "id_type": "tax_code",
                     "id_value": "5701998233", "address": "Thôn Khe Lọng Ngoài, thị trấn Ba Chẽ, huyện Ba Chẽ, tỉnh Quảng Ninh",
                     "commune_code": "06978", "phone": "0203 3888 123"},
        "login": "trahoavang@demo.ocop.vn",
        "products": [
            ({"name": "Trà hoa vàng Ba Chẽ", "product_group": "drinks", "gtin": "8938505974194",
              "description": "Trà từ hoa trà vàng (kim hoa trà) thu hái dưới tán rừng Ba Chẽ, sấy lạnh."},
             {"stars": 4, "level": "province", "issuing_body": "UBND tỉnh Quảng Ninh", "decision_number": "3127/QĐ-UBND",
              "age": 8}),
            ({"name": "Rượu ba kích Ba Chẽ", "product_group": "drinks"},
             {"stars": 3, "level": "province", "issuing_body": "UBND tỉnh Quảng Ninh", "decision_number": "2218/QĐ-UBND",
              "age": 20}),
        ],
    },
    {
        "producer": {"name": "Công ty TNHH Chả mực Hạ Long Xanh", "type": "enterprise", "id_type": "tax_code",
                     "id_value": "5702014482", "address": "Phường Hồng Hải, thành phố Hạ Long, tỉnh Quảng Ninh",
                     "commune_code": "06688"},
        "login": "chamuc@demo.ocop.vn",
        "products": [
            ({"name": "Chả mực giã tay Hạ Long", "product_group": "food", "gtin": "8936120580011",
              "description": "Chả mực giã tay từ mực tươi vùng biển Hạ Long; bảo quản đông lạnh."},
             # expiring within 30 days: decided 36 months less 18 days ago
             {"stars": 4, "level": "province", "issuing_body": "UBND tỉnh Quảng Ninh", "decision_number": "4011/QĐ-UBND",
              "age": 36, "days_back": -18}),
        ],
    },
    {
        "producer": {"name": "Hợp tác xã Mật hoa dừa Châu Thành", "type": "cooperative", "id_type": "tax_code",
                     "id_value": "2100645502", "address": "Ấp Đa Hòa, xã Hòa Minh, huyện Châu Thành, tỉnh Trà Vinh",
                     "commune_code": "29374"},
        "login": "mathoadua@demo.ocop.vn",
        "products": [
            ({"name": "Mật hoa dừa Châu Thành", "product_group": "food",
              "description": "Mật cô đặc từ nhựa hoa dừa, không đường tinh luyện."},
             {"stars": 5, "level": "national", "issuing_body": "Bộ Nông nghiệp và Môi trường",
              "decision_number": "512/QĐ-BNN-KTHT", "age": 14}),
        ],
    },
    {
        "producer": {"name": "Tổ hợp tác Dệt thổ cẩm Mai Châu", "type": "cooperative_group",
                     "address": "Bản Lác, xã Chiềng Châu, huyện Mai Châu, tỉnh Hòa Bình", "commune_code": "05200"},
        "login": "thocam@demo.ocop.vn",
        "products": [
            # expired: a 2023 district-level 3-star certificate, 36 months gone
            ({"name": "Khăn thổ cẩm Mai Châu", "product_group": "handicraft"},
             {"stars": 3, "level": "district", "issuing_body": "UBND huyện Mai Châu", "decision_number": "1456/QĐ-UBND",
              "age": 40}),
        ],
    },
    {
        "producer": {"name": "Hộ kinh doanh Gốm Minh Đức Bát Tràng", "type": "household", "id_type": "personal_id",
                     "id_value": "001083012345", "address": "Thôn 3, xã Bát Tràng, huyện Gia Lâm, Hà Nội",
                     "commune_code": "00577"},
        "login": "gombattrang@demo.ocop.vn",
        "products": [
            ({"name": "Bình gốm men lam Bát Tràng", "product_group": "handicraft"},
             {"stars": 4, "level": "province", "issuing_body": "UBND thành phố Hà Nội", "decision_number": "6120/QĐ-UBND",
              "age": 11}),
        ],
    },
    {
        "producer": {"name": "Công ty Cổ phần Cà phê Buôn Ma Thuột Xanh", "type": "enterprise", "id_type": "tax_code",
                     "id_value": "6001733917", "address": "Phường Tân Lợi, thành phố Buôn Ma Thuột, tỉnh Đắk Lắk",
                     "commune_code": "24133"},
        "login": "caphe@demo.ocop.vn",
        "products": [
            ({"name": "Cà phê Robusta rang xay Buôn Ma Thuột", "product_group": "food", "gtin": "8935049500346"},
             {"stars": 4, "level": "province", "issuing_body": "UBND tỉnh Đắk Lắk", "decision_number": "2305/QĐ-UBND",
              "age": 6}),
        ],
    },
    {
        "producer": {"name": "Cơ sở Bánh phồng tôm Sa Đéc", "type": "household",
                     "address": "Phường 2, thành phố Sa Đéc, tỉnh Đồng Tháp", "commune_code": "29905"},
        "login": "banhphong@demo.ocop.vn",
        "products": [
            ({"name": "Bánh phồng tôm Sa Đéc", "product_group": "food"},
             {"stars": 3, "level": "province", "issuing_body": "UBND tỉnh Đồng Tháp", "decision_number": "887/QĐ-UBND",
              "age": 15, "revoked": "Không duy trì chất lượng theo hồ sơ đánh giá (đợt rà soát 2026)."}),
        ],
    },
]

SHARED_LOGINS = [("admin@demo.ocop.vn", "admin", "Văn phòng OCOP tỉnh"),
                 ("kiemtra@demo.ocop.vn", "inspector", "Kiểm tra viên thị trường")]


def _password() -> str:
    return secrets.token_urlsafe(9)


def issue_demo_runs(storage: Storage, store: KeyStore, *, issuer: str, host: str) -> list[int]:
    """A run of 24 stamps for every batch whose product may carry the OCOP mark (the others are refused)."""
    issued = []
    for batch in batches.list_all(storage):
        try:
            issued.append(issuing.issue_run(storage, store, batch["id"], 24, issuer=issuer, host=host)["id"])
        except ValidationError:
            continue  # expired or revoked certificate: exactly what the demo shows is refused
    return issued


def load(storage: Storage, instance: Path, today: dt.date | None = None) -> dict[str, str]:
    """Fill an empty database with the demo; return {email: password} (also saved in the instance folder)."""
    today = today or dt.date.today()
    logins: dict[str, str] = {}
    with storage.transaction():
        for email, role, name in SHARED_LOGINS:
            logins[email] = _password()
            users.create(storage, {"email": email, "role": role, "name": name, "password": logins[email]})
        for n, spec in enumerate(PRODUCERS):
            producer = producers.create(storage, spec["producer"])
            logins[spec["login"]] = _password()
            owner = users.create(storage, {"email": spec["login"], "role": "producer", "producer_id": producer["id"],
                                   "name": spec["producer"]["name"], "password": logins[spec["login"]]})
            for m, (product_spec, rec) in enumerate(spec["products"]):
                product = products.create(storage, {**product_spec, "producer_id": producer["id"]})
                decided = add_months(today, -rec["age"]) - dt.timedelta(days=rec.get("days_back", 0))
                recognition = recognitions.create(storage, {
                    "product_id": product["id"], "stars": rec["stars"], "level": rec["level"],
                    "issuing_body": rec["issuing_body"], "decision_number": rec["decision_number"],
                    "decision_date": decided.isoformat()})
                if rec.get("revoked"):
                    recognitions.revoke(storage, recognition["id"], {"reason": rec["revoked"]})
                perishable = product_spec["product_group"] != "handicraft"
                for k in range(2):
                    made = today - dt.timedelta(days=9 + 23 * k + 5 * m + n)
                    batch = batches.create(storage, {
                        "product_id": product["id"], "lot": f"{made:%y%m%d}-{n + 1}{m + 1}{k + 1}",
                        "production_date": made.isoformat(),
                        "expiry_date": (made + dt.timedelta(days=365)).isoformat() if perishable else None,
                        "quantity": 1200 + 300 * k + 100 * n,
                    })
                    demo_stages.record_for(storage, batch, product["name"], producer_id=producer["id"],
                                           user_id=owner["id"], commune_code=producer["commune_code"])
    save_logins(instance, logins)
    return logins


def save_logins(instance: Path, logins: dict[str, str]) -> None:
    """Keep the demo logins beside the database (mode 0600) so `ocop-stamp demo` can show them again."""
    path = instance / LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(logins, fh, ensure_ascii=False, indent=1)


def saved_logins(instance: Path) -> dict[str, str]:
    """The demo logins made at set-up, or {} if this instance has no demo."""
    try:
        return json.loads((instance / LOGINS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def write_demo_passphrase(instance: Path) -> str:
    """Give a demo instance a random key passphrase in its config.toml (mode 0600); production sets it otherwise."""
    from .config import CONFIG_FILE

    passphrase = secrets.token_urlsafe(24)
    path = instance / CONFIG_FILE
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(existing + "# Demo only: in production give the passphrase through OCOP_STAMP_KEY_PASSPHRASE.\n"
                 f'KEY_PASSPHRASE = "{passphrase}"\n')
    return passphrase
