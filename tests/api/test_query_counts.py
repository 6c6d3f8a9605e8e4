"""The POS write path stays a small constant number of queries, whatever the member's history."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.helpers import post, purchase_body
from tests.factories import buy

pytestmark = pytest.mark.django_db

# Round trips: the savepoint standing in for the transaction, the idempotency claim, the member
# lock, the purchase, the ledger entry (carrying the lines), the stage figures when the purchase
# may move the stage (carrying the lot and habits), the unit of work's flush with the stored
# answer (carrying the history rows and the one member UPDATE), the release.
PURCHASE_QUERY_BUDGET = 8


def test_purchase_request_uses_a_constant_number_of_queries(api, member):
    post(api, "/api/v1/purchases/", purchase_body(member))  # warms the key's last-used stamp and rule cache
    for _ in range(5):
        buy(member, api.store, "50.00")

    with CaptureQueriesContext(connection) as queries:
        response = post(api, "/api/v1/purchases/", purchase_body(member))

    assert response.status_code == 201
    assert len(queries) <= PURCHASE_QUERY_BUDGET, "\n".join(q["sql"][:120] for q in queries)


def test_redemption_request_uses_a_constant_number_of_queries(api, member, django_assert_max_num_queries):
    for _ in range(5):
        buy(member, api.store, "50.00")
    post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 1, "receipt_id": "warm"})

    with django_assert_max_num_queries(16):
        response = post(api, "/api/v1/redemptions/", {"member": member.card_number, "points": 7, "receipt_id": "S"})

    assert response.status_code == 201
