"""The nightly jobs: each is a function over one chunk of member ids, idempotent by itself."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from campaigns.models import Campaign
from campaigns.services import campaign_grant_chunk, campaign_prepare
from feedback.grid import grid_place
from feedback.surveys import survey_invitations_create
from members.journey import lapse_detect, stage_policy, stages_promote
from rewards.services import points_expire
from tiers.services import tier_downgrade_notices, tiers_requalify

from .results import ChunkResult


def _expire_points(*, as_of, member_id_from, member_id_to, since, run) -> ChunkResult:
    result = points_expire(as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to)
    return ChunkResult(result.members, result.members)


def _requalify_tiers(*, as_of, member_id_from, member_id_to, since, run) -> ChunkResult:
    result = tiers_requalify(as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to, run=run)
    tier_downgrade_notices(as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to)
    return result


def _detect_lapse(*, as_of, member_id_from, member_id_to, since, run) -> ChunkResult:
    return lapse_detect(as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to, run=run)


def _promote_stages(*, as_of, member_id_from, member_id_to, since, run) -> ChunkResult:
    return stages_promote(as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to, since=since, run=run)


def _campaign_prepare(as_of, params) -> dict:
    return campaign_prepare(Campaign.objects.get(pk=params["campaign"]), as_of)


def _run_campaign(*, as_of, member_id_from, member_id_to, since, run) -> ChunkResult:
    return campaign_grant_chunk(
        campaign_id=run.params["campaign"],
        params=run.params,
        as_of=as_of,
        member_id_from=member_id_from,
        member_id_to=member_id_to,
        run=run,
    )


def _place_loyalty_grid(*, as_of, member_id_from, member_id_to, since, run) -> ChunkResult:
    return grid_place(as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to, run=run)


def _invite_to_surveys(*, as_of, member_id_from, member_id_to, since, run) -> ChunkResult:
    return survey_invitations_create(
        as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to, since=since, run=run
    )


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    chunk: Callable[..., ChunkResult]
    # For incremental jobs: when the rules last changed (a change forces a full run).
    rules_changed_at: Callable[[], datetime] | None = None
    # Computes, once per run, figures all its chunks share (stored on the run).
    prepare: Callable[[datetime, dict], dict] | None = None


JOBS = {
    job.name: job
    for job in [
        Job("expire_points", "Expire points lots that reached their date, oldest first.", _expire_points),
        Job("requalify_tiers", "Requalify tiers whose validity ended; warn members 30 days ahead.", _requalify_tiers),
        Job("detect_lapse", "Mark members lapsed who stopped buying (win-back targets).", _detect_lapse),
        Job(
            "promote_stages",
            "Move journey stages for what time changed: windows sliding, referrals, feedback.",
            _promote_stages,
            rules_changed_at=lambda: stage_policy().updated_at,
        ),
        Job(
            "place_loyalty_grid",
            "Place members on the behavioural x attitudinal loyalty grid.",
            _place_loyalty_grid,
        ),
        Job(
            "campaign",
            "Run one campaign (params: campaign id): grants, holdout, messages, staff tasks.",
            _run_campaign,
            prepare=_campaign_prepare,
        ),
        Job(
            "invite_to_surveys",
            "Invite a sample of recent buyers to the post-purchase survey.",
            _invite_to_surveys,
            # Incremental by nature: each run samples the purchases recorded since the last one.
            rules_changed_at=lambda: datetime.min.replace(tzinfo=UTC),
        ),
    ]
}
# The order the nightly run uses: expiry and tiers first, stages and the grid last so they see
# today's lapses. Survey invitations run on their own schedule (hourly).
NIGHTLY_ORDER = ["expire_points", "requalify_tiers", "detect_lapse", "promote_stages", "place_loyalty_grid"]
