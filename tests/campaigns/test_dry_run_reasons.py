"""A dry run that would treat nobody says why."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from campaigns.services import campaign_dry_run
from tests.campaigns.conftest import run_campaign
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

# 15 March, 10:30 in Shanghai: a birthday campaign then looks for March birthdays.
AS_OF = datetime(2026, 3, 15, 2, 30, tzinfo=UTC)


def born_in(month, count=3):
    return [MemberFactory(birthday=date(1990, month, 2)) for _ in range(count)]


def birthday_campaign(make_campaign, **fields):
    return make_campaign("birthday", **{"starts_at": AS_OF - timedelta(days=1), **fields})


def test_a_dry_run_that_treats_someone_gives_no_reason(make_campaign):
    born_in(3)
    campaign = birthday_campaign(make_campaign)

    dry = campaign_dry_run(campaign=campaign, as_of=AS_OF)

    assert (dry.treated, dry.why_nobody) == (3, "")


def test_no_member_matches_the_audience(make_campaign):
    born_in(4)
    campaign = birthday_campaign(make_campaign)

    dry = campaign_dry_run(campaign=campaign, as_of=AS_OF)

    assert dry.treated == 0
    assert dry.why_nobody == "No member matches the audience: 0 active members with a birthday in March."


def test_no_member_in_the_chosen_stages(make_campaign):
    born_in(3)
    campaign = birthday_campaign(make_campaign, stages=["advocate"])

    dry = campaign_dry_run(campaign=campaign, as_of=AS_OF)

    assert dry.why_nobody == "No member matches the audience: 0 active members in the chosen stages and tiers."


def test_budget_exhausted(make_campaign):
    born_in(3)
    campaign = birthday_campaign(make_campaign, max_members=5, granted_members=5)

    dry = campaign_dry_run(campaign=campaign, as_of=AS_OF)

    assert dry.treated == 0
    assert dry.why_nobody == "The budget is exhausted (members, points or voucher stock)."


def test_campaign_outside_its_window(make_campaign):
    born_in(3)
    campaign = birthday_campaign(make_campaign, starts_at=AS_OF + timedelta(days=1), ends_at=AS_OF + timedelta(days=10))

    dry = campaign_dry_run(campaign=campaign, as_of=AS_OF)

    assert dry.treated == 0
    assert dry.why_nobody == "The campaign is outside its window (03/16/2026 10:30 a.m. to 03/25/2026 10:30 a.m.)."


def test_all_matching_members_already_granted(make_campaign):
    born_in(3)
    campaign = birthday_campaign(make_campaign)
    run_campaign(campaign, as_of=AS_OF)

    dry = campaign_dry_run(campaign=campaign, as_of=AS_OF + timedelta(hours=1))

    assert (dry.audience, dry.treated) == (0, 0)
    assert dry.why_nobody == "All matching members have already been granted this campaign."


def test_everyone_considered_is_held_out(make_campaign):
    born_in(3, count=1)
    campaign = birthday_campaign(make_campaign, holdout_percent=90)

    dry = campaign_dry_run(campaign=campaign, as_of=AS_OF)

    assert (dry.holdout, dry.treated) == (1, 0)
    assert dry.why_nobody == "Every member considered (1) falls in the holdout."


def test_admin_dry_run_page_says_why_nobody(admin_client_logged, make_campaign):
    born_in(3)
    campaign = make_campaign("birthday", starts_at=AS_OF, ends_at=AS_OF + timedelta(days=1))

    page = admin_client_logged.get(reverse("admin:campaigns_campaign_dry_run", args=[campaign.pk])).content.decode()

    assert "Nobody would be treated. The campaign is outside its window" in page
