"""Every back-office list and edit page renders for a superuser with data present (a walk over
admin.site._registry), so a broken column, filter, tab or inline shows up here, not in front of staff."""

from datetime import timedelta
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, SolarSchedule
from django_otp.plugins.otp_totp.models import TOTPDevice

from analytics.models import CustomerValueFit, MemberValue
from analytics.tokens import analytics_token_create
from demo.data import build_demo
from events.models import Event
from feedback.models import Survey, SurveyInvitation, SurveyResponse
from members.models import Member, PrivacyRecord
from staff.models import StaffStore
from staff.services import approval_request
from stores.models import IdempotencyRecord, Store
from tests.factories import create_api_key
from tiers.models import Tier
from webhooks.models import Delivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


def _what_the_demo_lacks():
    """Rows the demo does not make (keys, plumbing, model fits), made here so every page has one."""
    now, store, member = timezone.now(), Store.objects.first(), Member.objects.first()
    create_api_key(store)
    IdempotencyRecord.objects.create(store=store, key="k-1", fingerprint="f" * 64, response_status=201)
    survey = Survey.objects.first()
    SurveyInvitation.objects.create(survey=survey, member=member, expires_at=now + timedelta(days=7))
    SurveyResponse.objects.create(survey=survey, member=member)
    fit = CustomerValueFit.objects.create(
        as_of=now, r=0.2, alpha=4.0, a=0.8, b=2.4, log_likelihood=-1.0, customers=10, converged=True, seconds=0.1
    )
    MemberValue.objects.create(
        member=member, as_of=now, fit=fit, frequency=2, recency_days=30, age_days=90,
        historic_12m=Decimal("100.00"), historic_lifetime=Decimal("100.00"), expected_purchases_12m=1.5,
        p_alive=0.8, expected_spend=Decimal("50.00"), predicted_12m=Decimal("75.00"),
    )  # fmt: skip
    Group.objects.create(name="service desk")
    axes = dict(user_agent="test", http_accept="*/*", path_info="/admin/login/", username="someone")
    AccessAttempt.objects.create(**axes, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**axes)
    AccessFailureLog.objects.create(**axes)
    ClockedSchedule.objects.create(clocked_time=now)
    SolarSchedule.objects.create(event="sunrise", latitude=Decimal("31.23"), longitude=Decimal("121.47"))
    # The staff app's rows: a store assignment, an approval request, a token, a second factor, a
    # privacy record, and an audited change.
    staff_user = get_user_model().objects.create_user("desk", password="x" * 12, is_staff=True)
    StaffStore.objects.create(user=staff_user, store=store)
    approval_request(kind="points_adjust", summary="+500 points", payload={}, requested_by=staff_user, store=store)
    analytics_token_create(user=staff_user, label="BI")
    TOTPDevice.objects.create(user=staff_user, name="phone")
    PrivacyRecord.objects.create(member=member, action="export", channel="staff", staff_user=staff_user, created_at=now)
    tier = Tier.objects.first()
    tier.name = f"{tier.name} (renamed)"
    tier.save()
    endpoint, _secret = endpoint_create(url="https://crm.example.com/hooks", event_types=[])
    event = Event.objects.order_by("pk").first()
    Delivery.objects.create(
        endpoint=endpoint, event=event, member_id=event.member_id, next_attempt_at=now, created_at=now
    )


# The audit trail (a query over every event table, staff/audit.py) is one list; its rows have no page.
LIST_ONLY = {"staff.AuditEvent"}


def test_every_list_and_edit_page_renders_with_data(admin_client_logged):
    build_demo(seed=5, members=60, months=8)
    _what_the_demo_lacks()
    broken, empty = [], []

    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages = [reverse("admin:{}_{}_changelist".format(*info))]
        if model._meta.label in LIST_ONLY:
            broken += [(url, status) for url in pages if (status := admin_client_logged.get(url).status_code) != 200]
            continue
        obj = model._default_manager.order_by("-pk").first()
        if obj is None:
            empty.append(model._meta.label)
        else:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        broken += [(url, status) for url in pages if (status := admin_client_logged.get(url).status_code) != 200]

    assert (broken, empty) == ([], [])
