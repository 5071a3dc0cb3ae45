"""The registry every benchmark needs: one producer, one product with a valid 4-star recognition, one batch."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stamp_service.registry import batches, producers, products, recognitions
from stamp_service.storage import Storage


def certified_batch(storage: Storage, quantity: int, *, lot: str = "BENCH-1",
                    product_name: str = "Trà hoa vàng Ba Chẽ") -> dict[str, Any]:
    """A batch whose product may carry the OCOP mark, with an expiry date (every claim present: the longest
    stamp form), made through the registry like real data."""
    today = dt.date.today()
    producer = producers.create(storage, {"name": "Hợp tác xã Trà hoa vàng Ba Chẽ", "type": "cooperative",
                                          "commune_code": "06978"})
    product = products.create(storage, {"producer_id": producer["id"], "name": product_name,
                                        "product_group": "drinks"})
    recognitions.create(storage, {"product_id": product["id"], "stars": 4, "level": "province",
                                  "issuing_body": "UBND tỉnh Quảng Ninh", "decision_number": "1/QĐ-UBND",
                                  "decision_date": (today - dt.timedelta(days=100)).isoformat()})
    return batches.create(storage, {"product_id": product["id"], "lot": lot, "quantity": quantity,
                                    "production_date": today.isoformat(),
                                    "expiry_date": (today + dt.timedelta(days=365)).isoformat()})
