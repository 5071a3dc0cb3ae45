"""Realistic production stages for each demo product, recorded for every demo batch relative to its date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..registry.records import Row
from ..storage import Storage
from ..vn_time import VIETNAM
from . import events

# product name -> [(stage, days from the production date, hour, description, extra fields)]
RECIPES: dict[str, list[tuple[str, int, int, str, dict[str, Any]]]] = {
    "Trà hoa vàng Ba Chẽ": [
        ("harvest", -3, 6, "Hái hoa trà vàng dưới tán rừng", {"site": "Rừng trà hoa vàng thôn Khe Lọng"}),
        ("processing", -3, 14, "Làm héo hoa 6 giờ trong phòng thoáng",
         {"site": "Xưởng chế biến HTX", "inputs": [{"material": "Hoa trà vàng tươi", "supplier": "Tổ thu hái thôn Khe Lọng",
                                                    "quantity": "120 kg"}]}),
        ("processing", -2, 8, "Vò nhẹ, tạo hình bông", {"site": "Xưởng chế biến HTX"}),
        ("processing", -1, 7, "Sấy lạnh 48 giờ ở 40 °C", {"site": "Xưởng chế biến HTX"}),
        ("packing", 0, 9, "Đóng hộp 50 g, dán tem OCOP", {"site": "Xưởng chế biến HTX"}),
        ("shipping", 2, 10, "Giao cửa hàng đặc sản Hạ Long",
         {"ship_to": {"distributor": "Cửa hàng đặc sản Hạ Long", "commune_code": "06688", "quantity": "200 hộp"}}),
    ],
    "Rượu ba kích Ba Chẽ": [
        ("harvest", -200, 7, "Đào củ ba kích tím trồng 3 năm", {"site": "Vườn ba kích thôn Làng Mới"}),
        ("receiving", -199, 9, "Nhận rượu nếp nương",
         {"inputs": [{"material": "Rượu nếp nương 40 độ", "supplier": "Hộ ông Nịnh Văn Sáng", "lot": "RN-0412",
                      "quantity": "300 lít"}]}),
        ("processing", -198, 8, "Ngâm ba kích trong chum sành 6 tháng",
         {"inputs": [{"material": "Củ ba kích tím", "quantity": "60 kg"}, {"material": "Rượu nếp nương 40 độ",
                                                                          "lot": "RN-0412", "quantity": "300 lít"}]}),
        ("quality_test", -3, 9, "Kiểm nghiệm methanol và aldehyde: đạt", {}),
        ("packing", 0, 8, "Chiết chai 500 ml, dán nhãn và tem", {}),
    ],
    "Chả mực giã tay Hạ Long": [
        ("receiving", 0, 5, "Nhận mực ống tươi từ tàu cá",
         {"site": "Cảng cá Hạ Long", "inputs": [{"material": "Mực ống tươi", "supplier": "Tàu cá QN-90123-TS",
                                                 "supplier_id": "QN-90123-TS", "lot": "CH-1105", "quantity": "80 kg"}]}),
        ("processing", 0, 8, "Làm sạch, giã tay với thì là", {"site": "Xưởng chả mực Hồng Hải"}),
        ("packing", 0, 13, "Hút chân không túi 500 g", {"site": "Xưởng chả mực Hồng Hải"}),
        ("storage", 0, 15, "Cấp đông nhanh, bảo quản −18 °C", {"site": "Kho lạnh Hồng Hải"}),
        ("shipping", 1, 6, "Xe lạnh giao siêu thị",
         {"ship_to": {"distributor": "Siêu thị Hạ Long", "commune_code": "06688", "quantity": "120 túi"}}),
    ],
    "Mật hoa dừa Châu Thành": [
        ("harvest", -1, 6, "Lấy nhựa hoa dừa buổi sáng", {"site": "Vườn dừa ấp Đa Hòa"}),
        ("processing", -1, 10, "Cô đặc nhựa ở nhiệt độ thấp",
         {"inputs": [{"material": "Nhựa hoa dừa", "supplier": "Tổ hợp tác ấp Đa Hòa", "quantity": "400 lít"}]}),
        ("quality_test", 0, 8, "Đo độ Brix và độ ẩm: đạt", {}),
        ("packing", 0, 14, "Đóng chai thủy tinh 250 ml", {}),
    ],
    "Khăn thổ cẩm Mai Châu": [
        ("receiving", -20, 8, "Nhận sợi bông nhuộm chàm",
         {"inputs": [{"material": "Sợi bông nhuộm chàm", "supplier": "Hộ bà Hà Thị Lan", "quantity": "15 kg"}]}),
        ("processing", -19, 7, "Dệt tay trên khung cửi", {"site": "Nhà dệt bản Lác"}),
        ("packing", 0, 9, "Gấp, đóng túi giấy", {}),
    ],
    "Bình gốm men lam Bát Tràng": [
        ("receiving", -10, 8, "Nhận đất sét trắng",
         {"inputs": [{"material": "Đất sét trắng", "supplier": "Công ty Khoáng sản Trúc Thôn", "lot": "TT-26-09",
                      "quantity": "500 kg"}]}),
        ("processing", -9, 7, "Tạo hình trên bàn xoay, phơi mộc", {"site": "Xưởng gốm Minh Đức"}),
        ("processing", -3, 6, "Vẽ men lam, nung 1.200 °C", {"site": "Lò nung Minh Đức"}),
        ("quality_test", -1, 9, "Kiểm tra vết rạn, rò men", {}),
        ("packing", 0, 10, "Bọc xốp, đóng hộp gỗ", {}),
    ],
    "Cà phê Robusta rang xay Buôn Ma Thuột": [
        ("harvest", -40, 6, "Hái chọn quả chín", {"site": "Vườn cà phê Ea Tu"}),
        ("processing", -39, 8, "Phơi trên giàn 20 ngày", {"site": "Sân phơi Tân Lợi"}),
        ("processing", -2, 7, "Rang mộc, không tẩm",
         {"inputs": [{"material": "Cà phê nhân Robusta", "supplier": "Hợp tác xã Ea Tu", "supplier_id": "6001700123",
                      "lot": "EA-26-03", "quantity": "500 kg"}]}),
        ("packing", 0, 9, "Xay và đóng gói 500 g, van một chiều", {}),
        ("shipping", 3, 8, "Giao nhà phân phối",
         {"ship_to": {"distributor": "Nhà phân phối Đặc sản Tây Nguyên", "commune_code": "24133", "quantity": "300 gói"}}),
    ],
    "Bánh phồng tôm Sa Đéc": [
        ("receiving", 0, 5, "Nhận tôm đất tươi",
         {"inputs": [{"material": "Tôm đất tươi", "supplier": "Chợ Sa Đéc", "quantity": "40 kg"}]}),
        ("processing", 0, 8, "Trộn bột, tráng, phơi nắng", {}),
        ("packing", 1, 9, "Đóng túi 200 g", {}),
    ],
}


def record_for(storage: Storage, batch: Row, product_name: str, *, producer_id: int, user_id: int | None,
               commune_code: str, now: dt.datetime | None = None) -> int:
    """Record the product's recipe for one batch (stages that would lie in the future are left out); return how many."""
    made = dt.date.fromisoformat(batch["production_date"])
    now = now or dt.datetime.now(dt.timezone.utc)
    done = 0
    for stage, days, hour, text, extra in RECIPES.get(product_name, []):
        at = dt.datetime.combine(made + dt.timedelta(days=days), dt.time(hour), VIETNAM)
        if at > now:
            continue
        events.record(storage, batch["id"], {"stage": stage, "at": at.isoformat(), "commune_code": commune_code,
                                             "description": text, **extra},
                      producer_id=producer_id, user_id=user_id, source="demo", now=now)
        done += 1
    return done
