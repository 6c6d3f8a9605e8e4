"""Budgets, holdout, chunked runs, measurement, dry runs, messages and staff tasks."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.measurement import campaign_results
from campaigns.models import Campaign, CampaignGrant, StaffTask
from campaigns.services import campaign_dry_run, campaign_launch, campaign_runs_due
from members.models import Member
from messaging.models import OutboxMessage
from messaging.unsubscribe import unsubscribe_url
from tests.campaigns.conftest import run_campaign
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db


def birthday_people(count, *, as_of=None, **fields):
    """Members whose birthday month is that of `as_of` (default now), in Shanghai."""
    month = timezone.localtime(as_of or timezone.now()).month
    return [MemberFactory(birthday=date(1985, month, 2), **fields) for _ in range(count)]


def test_holdout_members_are_recorded_but_get_nothing(make_campaign):
    members = birthday_people(40)
    campaign = make_campaign("birthday", holdout_percent=25)

    run_campaign(campaign)

    held = set(CampaignGrant.objects.filter(holdout=True).values_list("member", flat=True))
    assert len(held) == 10
    for member in members:
        assert Member.objects.get(pk=member.pk).points_balance == (0 if member.pk in held else 100)
    assert not OutboxMessage.objects.filter(member__in=held).exists()


@pytest.mark.parametrize("chunk_size", [1000, 7])
def test_holdout_is_the_configured_share_of_an_unlimited_audience_across_chunks(make_campaign, settings, chunk_size):
    settings.JOB_CHUNK_SIZE = chunk_size
    birthday_people(57)
    campaign = make_campaign("birthday", holdout_percent=10)

    run_campaign(campaign)

    # 10% of 57 is 5.7: six held out, the rest treated.
    assert CampaignGrant.objects.filter(holdout=True).count() == 6
    assert CampaignGrant.objects.filter(holdout=False).count() == 51


def test_holdout_is_the_configured_share_of_the_members_a_budget_lets_in(make_campaign, settings):
    """The member budget treats 18 of 100: the holdout is 10% of the 20 drawn, not of all 100."""
    settings.JOB_CHUNK_SIZE = 9
    birthday_people(100)
    campaign = make_campaign("birthday", holdout_percent=10, max_members=18)

    run_campaign(campaign)

    assert CampaignGrant.objects.filter(holdout=False).count() == 18
    assert CampaignGrant.objects.filter(holdout=True).count() == 2


def test_holdout_is_the_configured_share_of_the_members_a_points_budget_lets_in(make_campaign):
    birthday_people(50)
    campaign = make_campaign("birthday", holdout_percent=20, points=100, max_points=1200)

    run_campaign(campaign)

    # 12 treated fit the points; 15 drawn, 20% of them (3) held out.
    assert CampaignGrant.objects.filter(holdout=False).count() == 12
    assert CampaignGrant.objects.filter(holdout=True).count() == 3


def test_dry_run_holds_out_whom_the_run_holds_out(make_campaign):
    birthday_people(30)
    campaign = make_campaign("birthday", holdout_percent=10, max_members=9)

    dry = campaign_dry_run(campaign=campaign)
    run_campaign(campaign)

    assert (dry.treated, dry.holdout) == (9, 1)
    assert CampaignGrant.objects.filter(holdout=True).count() == 1
    assert set(m.pk for m in dry.sample) == set(
        CampaignGrant.objects.filter(holdout=False).values_list("member", flat=True)
    )


def test_member_budget_caps_grants_across_chunks_and_reruns(make_campaign, settings):
    settings.JOB_CHUNK_SIZE = 3
    birthday_people(20)
    campaign = make_campaign("birthday", max_members=7)

    run_campaign(campaign)
    run_campaign(campaign, as_of=timezone.now() + timedelta(hours=1))

    assert CampaignGrant.objects.filter(holdout=False).count() == 7
    assert Campaign.objects.get(pk=campaign.pk).granted_members == 7


def test_points_budget_caps_grants(make_campaign):
    birthday_people(10)
    campaign = make_campaign("birthday", points=100, max_points=350)

    run_campaign(campaign)

    campaign.refresh_from_db()
    assert (campaign.granted_members, campaign.granted_points) == (3, 300)


@pytest.mark.usefixtures("frozen_dates")
def test_a_rerun_grants_nothing_more(make_campaign):
    birthday_people(5)
    campaign = make_campaign("birthday")
    first = run_campaign(campaign)

    again = run_campaign(campaign)

    assert (first.changed, again.changed, again.examined) == (5, 0, 0)
    assert OutboxMessage.objects.count() == 5


def test_dry_run_reports_without_writing(make_campaign):
    birthday_people(12)
    campaign = make_campaign("birthday", holdout_percent=25, max_members=5)

    dry = campaign_dry_run(campaign=campaign)

    assert dry.audience == 12 and dry.treated == 5 and dry.points == 500
    # 5 treated fit the budget; 7 drawn, 25% of them (2) held out.
    assert dry.holdout == 2 and len(dry.sample) == 5
    assert not CampaignGrant.objects.exists() and Campaign.objects.get(pk=campaign.pk).granted_members == 0


def test_admin_dry_run_page(admin_client_logged, make_campaign):
    birthday_people(3)
    campaign = make_campaign("birthday")

    page = admin_client_logged.get(reverse("admin:campaigns_campaign_dry_run", args=[campaign.pk])).content.decode()

    assert "Would be treated" in page and "Nothing has been written" in page


@pytest.mark.usefixtures("frozen_dates")
def test_measurement_compares_treated_with_holdout(make_campaign, store, now):
    # The run was two days ago: its audience is who had their birthday month then, which on the
    # 1st or 2nd of a month is last month's.
    ran_at = now - timedelta(days=2)
    members = birthday_people(60, as_of=ran_at)
    campaign = make_campaign("birthday", holdout_percent=30, offer_days=14, starts_at=ran_at - timedelta(days=1))
    run_campaign(campaign, as_of=ran_at)
    treated = set(CampaignGrant.objects.filter(holdout=False).values_list("member", flat=True))
    for member in members:
        if member.pk in treated:
            buy(member, store, "80.00")

    results = campaign_results(campaign=campaign)

    assert results.audience == 60
    assert results.treated.conversion == 1.0 and results.holdout.conversion == 0.0
    assert results.conversion_uplift.estimate == 1.0
    assert results.revenue_uplift.estimate == pytest.approx(80.0)
    assert results.revenue_uplift.low <= 80.0 <= results.revenue_uplift.high


def test_campaign_page_shows_results(admin_client_logged, make_campaign):
    birthday_people(4)
    campaign = make_campaign("birthday", holdout_percent=50)
    run_campaign(campaign)

    page = admin_client_logged.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()

    assert "Results: treated vs held-out control group" in page


def test_launch_checks_the_campaign_is_complete():
    from core.errors import DomainError

    campaign = Campaign.objects.create(name="x", kind="surprise", points=0, starts_at=timezone.now())

    with pytest.raises(DomainError):
        campaign_launch(campaign=campaign)


@pytest.mark.usefixtures("frozen_dates")
def test_due_campaigns_run_once_a_day(make_campaign):
    campaign = make_campaign("birthday")
    assert campaign_runs_due() == [campaign.pk]

    run_campaign(campaign)

    assert campaign_runs_due() == []


def test_staff_tasks_mine_due(admin_client_logged, make_campaign, store):
    for amount in ["100.00", "900.00"]:
        buy(MemberFactory(), store, amount)
    run_campaign(make_campaign("surprise", top_share="0.5", call_top=1, send_cards=False))
    task = StaffTask.objects.get()
    changelist = reverse("admin:campaigns_stafftask_changelist")
    admin_client_logged.post(changelist, {"action": "assign_to_me", "_selected_action": [task.pk]})

    page = admin_client_logged.get(changelist + "?whose=mine_due").content.decode()

    assert task.title in page
    admin_client_logged.post(
        reverse("admin:campaigns_stafftask_complete", args=[task.pk]), {"outcome": "Reached, delighted"}
    )
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("done", "Reached, delighted")


def test_marketing_messages_carry_a_working_unsubscribe_link(client, make_campaign):
    member = birthday_people(1, consent_email=True, email="m@example.com")[0]
    run_campaign(make_campaign("birthday"))
    message = OutboxMessage.objects.get()
    url = re.search(r"http\S+$", message.body).group()  # the line ends with the link, in any language
    assert url.startswith(unsubscribe_url(member, "email").rsplit("/u/", 1)[0] + "/u/")

    path = url.split("127.0.0.1:8000", 1)[1]
    assert client.get(path).status_code == 200
    client.post(path)

    assert Member.objects.get(pk=member.pk).consent_email is False
    assert client.get("/u/garbage/").status_code == 400


def test_staff_create_a_campaign_in_the_admin_with_stage_checkboxes(admin_client_logged):
    data = {
        "name": "Core thanks",
        "kind": "surprise",
        "stages": ["core", "advocate"],
        "top_share": "0.20",
        "quiet_days": 90,
        "grant_type": "points",
        "points": 300,
        "offer_days": 30,
        "call_top": 10,
        "holdout_percent": 10,
        "starts_at_0": "2026-12-01",
        "starts_at_1": "00:00:00",
        "messages-TOTAL_FORMS": 0,
        "messages-INITIAL_FORMS": 0,
    }

    response = admin_client_logged.post(reverse("admin:campaigns_campaign_add"), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Core thanks")
    assert (campaign.stages, campaign.status) == (["core", "advocate"], "draft")
