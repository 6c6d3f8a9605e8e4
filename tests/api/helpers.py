import uuid
from decimal import Decimal


def purchase_body(for_member, total="100.00", **overrides):
    total = Decimal(total)
    body = {
        "member": str(for_member.public_id),
        "receipt_id": f"R-{uuid.uuid4().hex[:10]}",
        "channel": "store",
        "occurred_at": "2026-11-01T10:00:00+08:00",
        "currency": "CNY",
        "total": str(total),
        "items": [
            {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": str(total / 4)},
            {"sku": "BEANS", "category": "beans", "quantity": 1, "unit_price": str(total / 2)},
        ],
    }
    body.update(overrides)
    return body


def post(api, path, body, key=None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key or uuid.uuid4().hex} if key is not False else {}
    return api.post(path, body, format="json", **headers, **extra)
