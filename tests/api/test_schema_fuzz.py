"""The API against its own OpenAPI schema, driven by schemathesis with all its checks: no server
errors, answers that match the schema, schema-valid requests accepted and invalid ones refused."""

import itertools
import uuid
from decimal import Decimal

import pytest
import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Requests go through the whole WSGI stack in this process, with the database in autocommit
# (transaction=True) as a server has it: Django keeps or closes connections between requests.
# The schema is read here, at import (schemathesis's lazy loader does not work with pytest 9), so
# with the docs made public for the read: with DEBUG off they are staff-only (API_DOCS_PUBLIC).
with override_settings(API_DOCS_PUBLIC=True):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# Bounded and derandomised: the same requests every run, so a failure here is always reproducible
# and never depends on luck. Raise max_examples locally to search wider.
schema.config.generation.update(max_examples=10, deterministic=True)

_phones = itertools.count(1)


def _make_coherent(case, member) -> None:
    """Rules a JSON schema cannot state, made to hold in schema-valid (positive) cases: one of two
    lookup parameters, nps or a comment, an amount or items, a basket total that matches its
    lines, a purchase time near now, a valid and new phone number, a birthday in the past, no
    referral code (there is none to give), a fresh Idempotency-Key per request. Purchases are for
    a real member, so they are recorded. Everything else is generated."""
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    path, body, query = case.operation.path, case.body, case.query
    if path == "/api/v1/members/lookup/" and not (query or {}).get("card_number") and not (query or {}).get("phone"):
        case.query = {**(query or {}), "card_number": "0"}
    if path == "/api/v1/feedback/" and not isinstance(body, dict):
        case.body = body = {}  # the body is optional in the schema, as none of its fields is required
    if not isinstance(body, dict):
        return
    if path == "/api/v1/members/":
        body["phone"] = f"+86 139{next(_phones):08d}"
        body.pop("referral_code", None)
        if body.get("birthday") and not "1900-01-01" <= body["birthday"] <= str(timezone.localdate()):
            body["birthday"] = "2000-02-29"
    elif path in ("/api/v1/purchases/", "/api/v1/quotes/"):
        _make_basket_coherent(body)
        if path == "/api/v1/purchases/":
            body["member"] = member.card_number
    elif path == "/api/v1/purchases/{purchase_id}/returns/" and ("amount" in body) == ("items" in body):
        body.pop("items", None)
        body["amount"] = body.get("amount", "1.00")
    elif path == "/api/v1/feedback/" and body.get("nps") is None and not (body.get("comment") or "").strip():
        body["nps"] = 7


def _make_basket_coherent(body: dict) -> None:
    body["occurred_at"] = timezone.now().isoformat()
    lines_total = sum(Decimal(i["unit_price"]) * i["quantity"] for i in body["items"]).quantize(Decimal("0.01"))
    if Decimal("0.01") <= lines_total <= settings.MAX_PURCHASE_TOTAL:
        body["total"] = str(lines_total)
    else:
        body["items"] = [{**body["items"][0], "quantity": 1, "unit_price": body["total"]}]


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
# The store's key and the member are meant to outlive every generated request.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_keeps_its_schema(case, api_key, member):
    _, raw_key = api_key
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _make_coherent(case, member)
    # The store's key fills the Authorization header the case carries; a case that leaves it out
    # on purpose (to see a 401) is sent without.
    headers = {"Authorization": f"Api-Key {raw_key}"} if "Authorization" in (case.headers or {}) else {}
    case.call_and_validate(headers=headers)
