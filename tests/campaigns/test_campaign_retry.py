"""A campaign whose run finished with failures is due again within the hour; the rerun grants
only what failed (grants are unique per campaign, key and member)."""

import pytest

from campaigns.models import CampaignGrant
from campaigns.services import campaign_runs_due
from jobs.models import RunStatus
from tests.campaigns.conftest import run_campaign
from tests.campaigns.test_campaign_runs import birthday_people
from tests.jobs.failures import refuse_rows, stop_refusing

pytestmark = pytest.mark.django_db


@pytest.fixture
def refuse_grants():
    yield lambda **kwargs: refuse_rows(CampaignGrant, **kwargs)
    stop_refusing(CampaignGrant)


def test_a_failed_campaign_run_is_due_again_and_a_rerun_grants_only_what_failed(make_campaign, settings, refuse_grants):
    settings.JOB_CHUNK_SIZE = 1
    settings.JOB_CHUNK_MAX_RETRIES = 0
    campaign = make_campaign("birthday")
    people = birthday_people(2)
    refuse_grants(member_id=people[1].pk, times=1)
    failed = run_campaign(campaign)
    assert (failed.status, failed.changed) == (RunStatus.FAILED, 1)

    assert campaign_runs_due() == [campaign.pk]
    again = run_campaign(campaign)

    assert (again.status, again.changed) == (RunStatus.DONE, 1)
    assert CampaignGrant.objects.filter(campaign=campaign).count() == 2
    assert campaign_runs_due() == []
