from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignMessage, CampaignStatus
from jobs.services import job_run_now


@pytest.fixture
def make_campaign(db):
    def make(kind, **fields):
        defaults = {
            "name": f"{kind} campaign",
            "points": 100,
            "holdout_percent": 0,
            "starts_at": timezone.now() - timedelta(days=1),
        }
        campaign = Campaign.objects.create(kind=kind, status=CampaignStatus.ACTIVE, **{**defaults, **fields})
        CampaignMessage.objects.create(
            campaign=campaign, language="zh-hans", subject="Hi {name}", body="{points} points for you {voucher_code}"
        )
        return campaign

    return make


def run_campaign(campaign, as_of=None):
    return job_run_now(name="campaign", as_of=as_of or timezone.now(), params={"campaign": campaign.pk}).run
