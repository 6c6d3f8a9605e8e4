"""A serializer instance shared per thread validates and renders exactly as a fresh one does."""

import threading

import pytest
from rest_framework.exceptions import ValidationError

from core.api.serializing import represented, validated_input
from members.api.serializers import PurchaseInput, QuoteOutput


def _body(**overrides):
    body = {
        "member": "8000000000000001",
        "receipt_id": "R-1",
        "channel": "store",
        "occurred_at": "2026-11-01T10:00:00+08:00",
        "currency": "CNY",
        "total": "10.00",
        "items": [{"sku": "LATTE", "quantity": 1, "unit_price": "10.00"}],
    }
    return {**body, **overrides}


def _fresh(data):
    serializer = PurchaseInput(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def test_valid_input_gives_what_a_fresh_serializer_gives():
    assert validated_input(PurchaseInput, _body()) == _fresh(_body())


@pytest.mark.parametrize(
    "overrides",
    [{"total": "abc"}, {"items": []}, {"items": [{"sku": "A", "quantity": 0, "unit_price": "1"}]}, {"channel": "x"}],
)
def test_invalid_input_raises_the_errors_a_fresh_serializer_raises(overrides):
    with pytest.raises(ValidationError) as shared:
        validated_input(PurchaseInput, _body(**overrides))
    with pytest.raises(ValidationError) as fresh:
        _fresh(_body(**overrides))

    assert shared.value.detail == fresh.value.detail


def test_an_error_leaves_nothing_behind_for_the_next_call():
    with pytest.raises(ValidationError):
        validated_input(PurchaseInput, _body(items=[{"sku": "A", "quantity": 0, "unit_price": "1"}]))

    assert validated_input(PurchaseInput, _body(receipt_id="R-2"))["receipt_id"] == "R-2"


def test_threads_rendering_at_once_each_get_their_own_values():
    results = []

    def render(points):
        results.append(represented(QuoteOutput, {"points": points, "note": ""}))

    threads = [threading.Thread(target=render, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r["points"] for r in results) == list(range(8))
