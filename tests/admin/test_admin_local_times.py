"""Every moment the admin prints is in the business time zone (Asia/Shanghai), not UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from feedback.complaints import complaint_file
from feedback.models import FollowUp
from jobs.models import JobRun
from rewards.models import LedgerEntry, PointsLot
from tests.factories import buy, standard_tiers
from tiers.models import TierChange

pytestmark = pytest.mark.django_db

# 18:30 UTC on 1 November is 02:30 on 2 November in Shanghai: hour and day both differ.
AT = datetime(2026, 11, 1, 18, 30, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _member_page(client, member):
    return client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()


def test_member_page_prints_purchases_in_local_time(admin_client_logged, member, store):
    buy(member, store, "100.00", occurred_at=AT)

    page = _member_page(admin_client_logged, member)

    assert "2026-11-02 02:30" in page
    assert "2026-11-01 18:30" not in page


def test_member_page_prints_ledger_entries_in_local_time(admin_client_logged, member, store):
    buy(member, store, "100.00", occurred_at=AT)
    created = LedgerEntry.objects.get(member=member).created_at

    page = _member_page(admin_client_logged, member)

    assert created.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in page
    assert created.astimezone(UTC).strftime("%Y-%m-%d %H:%M") not in page


def test_member_timeline_prints_changes_in_local_time(admin_client_logged, member, store):
    standard_tiers()
    buy(member, store, "100.00")
    TierChange.objects.filter(member=member).update(created_at=AT)

    page = _member_page(admin_client_logged, member)

    assert "2026-11-02 02:30" in page
    assert "2026-11-01 18:30" not in page


def test_complaint_page_prints_the_members_history_on_local_days(admin_client_logged, member, store):
    buy(member, store, "100.00", occurred_at=AT)
    complaint = complaint_file(text="Cold coffee", category="product", severity="low", member=member, store=store)

    page = admin_client_logged.get(reverse("admin:feedback_complaint_change", args=[complaint.pk])).content.decode()

    assert f"2026-11-02 {store}" in page
    assert f"2026-11-01 {store}" not in page


def test_job_run_names_its_moment_in_local_time():
    run = JobRun(name="expire_points", as_of=AT, status="done")

    assert str(run) == "expire_points as of 2026-11-02 02:30 (done)"


def test_points_lot_names_its_expiry_day_in_local_time():
    lot = PointsLot(points=10, remaining=4, expires_at=AT)

    assert str(lot) == "4/10 until 2026-11-02"


def test_follow_up_names_its_day_in_local_time():
    follow_up = FollowUp(kind="call", member_id=7, happened_at=AT)

    assert str(follow_up) == "Call with 7 on 2026-11-02"
