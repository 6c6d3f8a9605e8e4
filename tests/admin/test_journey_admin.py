from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import JobRun
from loyalty.celery import app
from members.models import Member, StagePolicy
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _policy_form(**overrides):
    data = {
        "window_days": 365,
        "repeat_min_purchases": 2,
        "core_min_purchases": 6,
        "core_min_categories": 3,
        "core_min_channels": 2,
        "advocate_min_nps": 9,
        "lapse_min_days": 180,
        "lapse_gap_multiplier": "3.0",
    }
    return {**data, **overrides}


def test_stage_policy_preview_shows_counts_and_saves_nothing(admin_client_logged, store):
    for _ in range(3):
        member = MemberFactory()
        buy(member, store, "10.00")
        buy(member, store, "10.00")
    url = reverse("admin:members_stagepolicy_change", args=[1])

    response = admin_client_logged.post(url, {**_policy_form(repeat_min_purchases=3), "_preview": "1"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<td>Repeat buyer</td><td>3</td><td>0</td>" in page
    assert "<td>First-time buyer</td><td>0</td><td>3</td>" in page
    assert StagePolicy.objects.get().repeat_min_purchases == 2


def test_stage_policy_preview_of_an_invalid_edit_is_a_form_error(admin_client_logged):
    url = reverse("admin:members_stagepolicy_change", args=[1])

    response = admin_client_logged.post(url, {**_policy_form(window_days=5), "_preview": "1"})

    assert "not valid" in response.content.decode()


def test_saving_the_stage_policy_says_the_next_runs_are_full(admin_client_logged):
    url = reverse("admin:members_stagepolicy_change", args=[1])

    response = admin_client_logged.post(url, _policy_form(repeat_min_purchases=3), follow=True)

    assert "will examine every member" in response.content.decode()
    assert StagePolicy.objects.get().repeat_min_purchases == 3


def test_member_page_shows_the_journey_timeline(admin_client_logged, member, store):
    buy(member, store, "10.00")
    buy(member, store, "10.00")

    page = admin_client_logged.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()

    assert "Stage: First-time buyer → Repeat buyer" in page
    assert "repeat: 2 purchases in 365 days" in page


def test_admin_pins_a_tier_with_a_reason(admin_client_logged, member, tiers):
    url = reverse("admin:members_member_pin_tier") + f"?ids={member.pk}"
    until = (timezone.now() + timedelta(days=90)).strftime("%Y-%m-%d %H:%M:%S")

    admin_client_logged.post(url, {"tier": tiers["gold"].pk, "until": until, "reason": "Store opening guest"})

    member = Member.objects.get(pk=member.pk)
    assert (member.tier.code, member.tier_pin_reason) == ("gold", "Store opening guest")


def test_admin_starts_a_job(admin_client_logged, member, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged.post(reverse("admin:jobs_jobrun_run"), {"name": "detect_lapse"})

    assert response.status_code == 302
    run = JobRun.objects.get()
    assert (run.name, run.status) == ("detect_lapse", "done")
    assert run.triggered_by.startswith("admin: ")


def test_nightly_schedules_exist_and_are_editable(admin_client_logged):
    from django_celery_beat.models import PeriodicTask

    names = set(PeriodicTask.objects.values_list("task", flat=True))

    assert {"jobs.start", "stores.purge_idempotency_records"} <= names
    assert admin_client_logged.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 200
