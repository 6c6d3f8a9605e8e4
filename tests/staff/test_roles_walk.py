"""Every back-office page, walked as each role: allowed (200) or forbidden (403, or the admin's
redirect away) exactly as the table says. Pages: each registered model's changelist (l), add (a),
change (c), delete (d) and history (h), and the custom admin views."""

import pytest
from django.contrib import admin
from django.urls import reverse

from campaigns.models import Campaign, StaffTask
from feedback.complaints import complaint_file
from feedback.models import FollowUp
from staff.roles import ADMINISTRATOR, ANALYST, MARKETING_MANAGER, SERVICE_DESK, STORE_MANAGER
from tests.staff.conftest import in_a_day

pytestmark = pytest.mark.django_db

# Pages of each model a role may open. Models not named are closed to the role (403 everywhere).
ADMINISTRATOR_PAGES = {}  # filled below from ALL_PAGES: an administrator may open every page
MARKETING_MANAGER_PAGES = {
    "campaigns.badge": "lacdh",
    "campaigns.campaign": "lacdh",
    "campaigns.campaigngrant": "lch",
    "campaigns.memberbadge": "lch",
    "analytics.customervaluefit": "lch",
    "analytics.membervalue": "lch",
    "feedback.gridpolicy": "lch",
    "members.category": "lacdh",
    "members.stagechange": "lch",
    "members.stagepolicy": "lch",
    "rewards.earningpolicy": "lch",
    "rewards.earningrule": "lacdh",
    "rewards.reward": "lacdh",
    "staff.approvalrequest": "lch",
    "tiers.tier": "lach",
    "tiers.tierchange": "lch",
}
STORE_MANAGER_PAGES = {
    "campaigns.stafftask": "lch",
    "feedback.complaint": "lch",
    "feedback.followup": "lach",
    "feedback.lostcustomerinterview": "lach",
    "members.member": "lch",
    "members.purchase": "lch",
    "members.return": "lch",
    "rewards.ledgerentry": "lch",
    "staff.approvalrequest": "lch",
}
SERVICE_DESK_PAGES = {
    "feedback.complaint": "lch",
    "feedback.followup": "lach",
    "members.member": "lch",
    "members.purchase": "lch",
    "rewards.ledgerentry": "lch",
    "rewards.voucher": "lch",
    "staff.approvalrequest": "lch",
}
ANALYST_PAGES = {
    "analytics.customervaluefit": "lch",
    "analytics.membervalue": "lch",
    "campaigns.campaign": "lch",
    "campaigns.campaigngrant": "lch",
    "feedback.complaint": "lch",
    "feedback.feedback": "lch",
    "feedback.surveyresponse": "lch",
    "members.member": "lch",
    "members.purchase": "lch",
    "members.return": "lch",
    "members.stagechange": "lch",
    "rewards.earningrule": "lch",
    "rewards.ledgerentry": "lch",
    "rewards.redemption": "lch",
    "rewards.reward": "lch",
    "tiers.tier": "lch",
    "tiers.tierchange": "lch",
}
# Custom admin views each role may open.
CUSTOM_VIEWS = {
    ADMINISTRATOR: {"adjust", "suspend", "pin", "dry_run", "complaint_metrics", "task_complete", "job_run"},
    MARKETING_MANAGER: {"dry_run"},
    STORE_MANAGER: {"adjust", "suspend", "pin", "complaint_metrics", "task_complete"},
    SERVICE_DESK: {"adjust", "suspend", "pin", "complaint_metrics"},
    ANALYST: {"dry_run", "complaint_metrics"},
}
ROLE_PAGES = {
    MARKETING_MANAGER: MARKETING_MANAGER_PAGES,
    STORE_MANAGER: STORE_MANAGER_PAGES,
    SERVICE_DESK: SERVICE_DESK_PAGES,
    ANALYST: ANALYST_PAGES,
}
# What each admin class allows at all (read-only lists, no add for service-written rows, ...).
ALL_PAGES = {
    "analytics.analyticstoken": "lch",
    "analytics.customervaluefit": "lch",
    "analytics.membervalue": "lch",
    "auth.group": "lacdh",
    "auth.user": "lacdh",
    "axes.accessattempt": "lcdh",
    "axes.accessfailurelog": "lcdh",
    "axes.accesslog": "lcdh",
    "campaigns.badge": "lacdh",
    "campaigns.campaign": "lacdh",
    "campaigns.campaigngrant": "lch",
    "campaigns.memberbadge": "lch",
    "campaigns.stafftask": "lacdh",
    "django_celery_beat.clockedschedule": "lacdh",
    "django_celery_beat.crontabschedule": "lacdh",
    "django_celery_beat.intervalschedule": "lacdh",
    "django_celery_beat.periodictask": "lacdh",
    "django_celery_beat.solarschedule": "lacdh",
    "events.event": "lch",  # read-only: what happened
    "feedback.complaint": "lch",
    "feedback.feedback": "lch",
    "feedback.followup": "lacdh",
    "feedback.gridpolicy": "lch",
    "feedback.lostcustomerinterview": "lacdh",
    "feedback.responsetarget": "lacdh",
    "feedback.survey": "lacdh",
    "feedback.surveyinvitation": "lch",
    "feedback.surveyresponse": "lch",
    "jobs.jobrun": "lch",
    "members.category": "lacdh",
    "members.member": "lch",
    "members.privacyrecord": "lch",
    "members.purchase": "lch",
    "members.return": "lch",
    "members.stagechange": "lch",
    "members.stagepolicy": "lch",
    "messaging.outboxmessage": "lch",
    "otp_totp.totpdevice": "lacdh",
    "rewards.earningpolicy": "lch",
    "rewards.earningrule": "lacdh",
    "rewards.ledgerentry": "lch",
    "rewards.pointslot": "lch",
    "rewards.redemption": "lch",
    "rewards.reward": "lacdh",
    "rewards.voucher": "lch",
    "staff.approvalrequest": "lch",
    "staff.auditevent": "l",
    "staff.staffstore": "lacdh",
    "stores.idempotencyrecord": "lcdh",
    "stores.store": "lacdh",
    "stores.storeapikey": "lch",
    "tiers.tier": "lacdh",
    "tiers.tierchange": "lch",
    "webhooks.delivery": "lch",  # the delivery log: replayed by an action, never edited
    "webhooks.endpoint": "lach",  # switched off, never deleted (its deliveries are the log)
}
ADMINISTRATOR_PAGES.update(ALL_PAGES)
ROLE_PAGES[ADMINISTRATOR] = ADMINISTRATOR_PAGES


# Models the fixture gives a row, so their change, delete and history pages are walked too.
ROWS_MADE = (
    "members.member",
    "members.purchase",
    "rewards.ledgerentry",
    "rewards.pointslot",
    "feedback.complaint",
    "feedback.followup",
    "campaigns.stafftask",
    "campaigns.campaign",
    "stores.store",
    "stores.storeapikey",
    "stores.idempotencyrecord",
    "auth.user",
    "auth.group",
    "staff.staffstore",
    "tiers.tier",
    "rewards.reward",
    "rewards.earningrule",
    "campaigns.badge",
    "feedback.lostcustomerinterview",
    # Written by the migrations of a fresh install.
    "members.stagepolicy",
    "rewards.earningpolicy",
    "feedback.responsetarget",
    "feedback.survey",
    # Seeded from the purchase lines by the migration, or made by the fixture.
    "members.category",
)


@pytest.fixture
def back_office_rows(home_store, home_member, make_staff):
    """At least one row of each registered model that has object pages, in the manager's store."""
    from campaigns.models import Badge
    from feedback.models import LostCustomerInterview
    from members.models import Category
    from rewards.models import EarningRule, Reward
    from stores.models import IdempotencyRecord
    from tests.factories import create_api_key, standard_tiers

    staff = make_staff(SERVICE_DESK, username="desk_owner")
    make_staff(STORE_MANAGER, username="manager_owner")
    standard_tiers()
    Reward.objects.create(name="Free tea", kind="free_product", cost_points=100)
    EarningRule.objects.create(name="Tea week", multiplier="2.00")
    Badge.objects.create(code="first-review", name="First review", kind="nth_review")
    Category.objects.create(code="tea", name="Tea")
    LostCustomerInterview.objects.create(
        member=home_member, staff_user=staff, happened_at=in_a_day(), reason="price", can_win_back="yes"
    )
    complaint_file(text="Cold coffee", category="service", severity="medium", member=home_member, store=home_store)
    FollowUp.objects.create(
        member=home_member, kind="call", staff_user=staff, happened_at=in_a_day(), outcome="reached"
    )
    StaffTask.objects.create(kind="call", member=home_member, title="Thank-you call", due_at=in_a_day())
    Campaign.objects.create(name="Spring bonus", kind="surprise", starts_at=in_a_day(), max_points=10)
    create_api_key(home_store)
    IdempotencyRecord.objects.create(store=home_store, key="k-1", fingerprint="f" * 64)
    return home_member


def _object_urls(model_admin, obj):
    info = (model_admin.model._meta.app_label, model_admin.model._meta.model_name)
    return {
        "c": reverse("admin:{}_{}_change".format(*info), args=[obj.pk]),
        "d": reverse("admin:{}_{}_delete".format(*info), args=[obj.pk]),
        "h": reverse("admin:{}_{}_history".format(*info), args=[obj.pk]),
    }


def _pages():
    """(model label, page letter, url) for every page the back office has, given its rows."""
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        info = (model._meta.app_label, model._meta.model_name)
        yield label, "l", reverse("admin:{}_{}_changelist".format(*info))
        yield label, "a", reverse("admin:{}_{}_add".format(*info))
        obj = model._default_manager.first() if not model._meta.proxy else None
        if obj is not None:
            for letter, url in _object_urls(model_admin, obj).items():
                yield label, letter, url


def _custom_views(member):
    task = StaffTask.objects.first()
    return {
        "adjust": reverse("admin:members_member_adjust") + f"?ids={member.pk}",
        "suspend": reverse("admin:members_member_suspend") + f"?ids={member.pk}",
        "pin": reverse("admin:members_member_pin_tier") + f"?ids={member.pk}",
        "dry_run": reverse("admin:campaigns_campaign_dry_run", args=[Campaign.objects.first().pk]),
        "complaint_metrics": reverse("admin:feedback_complaint_metrics"),
        "task_complete": reverse("admin:campaigns_stafftask_complete", args=[task.pk]),
        "job_run": reverse("admin:jobs_jobrun_run"),
    }


def _allowed(response) -> bool:
    # Forbidden is a 403, or the admin sending the user away (to the index) from a page it refuses.
    assert response.status_code in (200, 302, 403), response.status_code
    return response.status_code == 200


@pytest.mark.parametrize("role", [ADMINISTRATOR, MARKETING_MANAGER, STORE_MANAGER, SERVICE_DESK, ANALYST])
def test_role_opens_exactly_the_pages_of_its_table(client, make_staff, back_office_rows, role):
    user = make_staff(role, username=f"walker-{role}")
    client.force_login(user)
    table = ROLE_PAGES[role]
    walked, wrong = set(), []

    for label, letter, url in _pages():
        expected = letter in table.get(label, "") and letter in ALL_PAGES.get(label, "")
        walked.add((label, letter))
        if _allowed(client.get(url)) != expected:
            wrong.append(f"{label} {letter} {url}: expected {'allowed' if expected else 'forbidden'}")
    for name, url in _custom_views(back_office_rows).items():
        if _allowed(client.get(url)) != (name in CUSTOM_VIEWS[role]):
            wrong.append(f"custom view {name} {url}")

    assert wrong == []
    # The walk reached every list and add page, and the object pages of the rows the fixture made.
    named = {(label, letter) for label, letters in ALL_PAGES.items() for letter in letters if letter in "la"}
    named |= {(label, letter) for label in ROWS_MADE for letter in ALL_PAGES[label] if letter in "cdh"}
    assert named - walked == set()
