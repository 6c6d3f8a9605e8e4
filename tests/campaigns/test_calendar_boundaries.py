"""Campaign days on the Shanghai calendar: birthdays by month (29 February included) and
once-a-day runs, with the clock stopped where the Shanghai and the UTC date differ."""

from datetime import date

import pytest

from campaigns.models import CampaignGrant
from campaigns.services import campaign_runs_due
from tests.campaigns.conftest import run_campaign
from tests.clock import at, shanghai
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db


def test_a_29_february_birthday_is_celebrated_in_february_of_a_non_leap_year(make_campaign):
    # The birthday campaign is monthly: a 29 February birthday is a February one, every year.
    born = MemberFactory(birthday=date(2000, 2, 29))
    with at(shanghai(2027, 2, 28, 23, 30)):
        campaign = make_campaign("birthday")
        run_campaign(campaign)

    assert list(CampaignGrant.objects.values_list("member", "grant_key")) == [(born.pk, "birthday:2027")]


def test_the_birthday_month_turns_at_midnight_in_shanghai(make_campaign):
    born = MemberFactory(birthday=date(1990, 3, 15))
    with at(shanghai(2027, 2, 28, 23, 30)):
        campaign = make_campaign("birthday")
        run_campaign(campaign)
    granted_in_february = CampaignGrant.objects.count()

    with at(shanghai(2027, 3, 1, 0, 30)):  # 28 February 16:30 in UTC
        run_campaign(campaign)

    assert granted_in_february == 0
    assert list(CampaignGrant.objects.values_list("member", flat=True)) == [born.pk]


def test_a_campaign_that_ran_at_23_30_is_due_again_at_00_30(make_campaign):
    with at(shanghai(2027, 12, 31, 23, 30)):
        campaign = make_campaign("birthday")
        run_campaign(campaign)
        due_the_same_evening = campaign_runs_due()

    with at(shanghai(2028, 1, 1, 0, 30)):  # the same UTC date, 31 December
        due_after_midnight = campaign_runs_due()

    assert (due_the_same_evening, due_after_midnight) == ([], [campaign.pk])


def test_a_surprise_on_31_december_and_one_on_1_january_are_two_days(make_campaign, store):
    spender = MemberFactory()
    with at(shanghai(2027, 12, 31, 12, 0)):
        buy(spender, store, "500.00")
    with at(shanghai(2027, 12, 31, 23, 30)):
        campaign = make_campaign("surprise", top_share="1.0", quiet_days=0)
        run_campaign(campaign)

    with at(shanghai(2028, 1, 1, 0, 30)):
        run_campaign(campaign)

    keys = list(CampaignGrant.objects.order_by("pk").values_list("grant_key", flat=True))
    assert keys == ["surprise:2027-12-31", "surprise:2028-01-01"]
