"""The back office's analytics pages, their CSV exports and the analytics API."""

import csv
import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from analytics.models import AnalyticsToken
from analytics.reports import AREAS
from analytics.tokens import analytics_token_create, analytics_token_revoke
from core.errors import DomainError
from tests.clock import shanghai
from tests.factories import MemberFactory, StoreFactory, buy, create_api_key

pytestmark = pytest.mark.django_db

OCTOBER = {"period": "month", "day": "2026-10-15"}


@pytest.fixture
def october():
    """Two buyers in October 2026 (500 and 100) and one in September (200)."""
    store = StoreFactory(name="Jing'an")
    first, second = MemberFactory(), MemberFactory()
    buy(first, store, "200.00", occurred_at=shanghai(2026, 9, 10, 12))
    buy(first, store, "500.00", occurred_at=shanghai(2026, 10, 2, 12))
    buy(second, store, "100.00", occurred_at=shanghai(2026, 10, 3, 12))
    return store


@pytest.mark.parametrize("area", list(AREAS))
def test_every_area_page_renders_for_staff(admin_client_logged, october, area):
    response = admin_client_logged.get(f"/admin/analytics/dashboard/{area}/", OCTOBER)

    assert response.status_code == 200
    assert b"analytics-charts" in response.content
    assert b"chartjs-4.4.9/chart.umd.js" in response.content


def test_the_overview_shows_headline_figures_against_the_previous_period(admin_client_logged, october):
    response = admin_client_logged.get("/admin/analytics/dashboard/", OCTOBER)

    headline = {
        row[0]: row
        for row in next(t for t in response.context["tables"] if t["table"].name == "headline")["table"].rows
    }
    assert headline["revenue"][2:] == [Decimal("600.00"), Decimal("200.00"), 2.0]
    assert headline["buyers"][2:] == [2, 1, 1.0]
    assert headline["retention_rate"][2] == 1.0


def test_the_dashboard_needs_a_staff_session(client, october):
    response = client.get("/admin/analytics/dashboard/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_bad_period_is_a_form_error_not_a_500(admin_client_logged):
    response = admin_client_logged.get("/admin/analytics/dashboard/sales/", {"period": "range", "start": "2026-10-01"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": ["A from/to period needs both dates."]}
    assert response.context["tables"] == []


def test_an_unknown_area_is_not_found(admin_client_logged):
    assert admin_client_logged.get("/admin/analytics/dashboard/nonsense/").status_code == 404


def test_every_table_exports_to_csv(admin_client_logged, october):
    response = admin_client_logged.get("/admin/analytics/dashboard/sales/", {**OCTOBER, "export": "revenue_by_day"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Day", "Revenue", "Purchases"]
    assert rows[2] == ["2026-10-02", "500.00", "1"]
    assert len(rows) == 1 + 31


def test_an_unknown_export_is_not_found(admin_client_logged, october):
    response = admin_client_logged.get("/admin/analytics/dashboard/sales/", {**OCTOBER, "export": "nope"})

    assert response.status_code == 404


def test_the_api_answers_an_area_to_a_staff_session(client, staff_user, october):
    client.force_login(staff_user)

    response = client.get("/api/v1/analytics/sales/", {**OCTOBER, "store": october.pk})

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"kind": "month", "first": "2026-10-01", "last": "2026-10-31"}
    assert body["previous_period"] == {"kind": "month", "first": "2026-09-01", "last": "2026-09-30"}
    assert body["tables"]["revenue_by_day"]["rows"][1] == {"day": "2026-10-02", "revenue": "500.00", "purchases": 1}


def test_the_api_takes_a_staff_token(staff_user, october):
    _token, raw = analytics_token_create(user=staff_user, label="BI")
    client = APIClient()

    response = client.get("/api/v1/analytics/customers/", OCTOBER, HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert response.json()["tables"]["retention"]["rows"] == [
        {"previous_buyers": 1, "retained": 1, "retention_rate": 1.0, "churn_rate": 0.0}
    ]


def test_a_revoked_token_is_refused(staff_user):
    token, raw = analytics_token_create(user=staff_user, label="BI")
    analytics_token_revoke(token=token)

    response = APIClient().get("/api/v1/analytics/sales/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_store_key_is_refused(store):
    _key, raw = create_api_key(store)

    response = APIClient().get("/api/v1/analytics/sales/", HTTP_AUTHORIZATION=f"Api-Key {raw}")

    assert response.status_code == 403


def test_bad_filters_are_a_400_with_field_errors(client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/v1/analytics/sales/", {"period": "fortnight"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["period"]


def test_tokens_are_for_active_staff_only(django_user_model):
    customer = django_user_model.objects.create_user(username="not-staff", password="x" * 16)

    with pytest.raises(DomainError):
        analytics_token_create(user=customer, label="BI")
    assert AnalyticsToken.objects.count() == 0


def test_only_the_digest_of_a_token_is_kept(staff_user):
    token, raw = analytics_token_create(user=staff_user, label="BI")

    assert raw not in token.digest
    assert len(token.digest) == 64


@pytest.mark.parametrize(("language", "words"), [("zh-hans", ("数据分析", "概览")), ("zh-hant", ("數據分析", "概覽"))])
def test_the_dashboard_speaks_chinese(admin_client_logged, settings, language, words):
    admin_client_logged.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = admin_client_logged.get("/admin/analytics/dashboard/")

    assert all(word in str(response.context["title"]) for word in words)
