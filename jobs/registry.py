"""The nightly jobs: each is a function over one chunk of member ids, idempotent by itself."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils.translation import gettext_lazy

from analytics.aggregates import daily_sales_refresh_since
from analytics.services import customer_value_fit, member_values_compute
from campaigns.models import Campaign
from campaigns.services import campaign_grant_chunk, campaign_prepare
from core.chunks import ChunkResult
from feedback.grid import grid_candidates, grid_place, grid_policy
from feedback.surveys import survey_invitations_create
from members.journey import lapse_candidates, lapse_detect, stage_candidates, stage_policy, stages_promote
from rewards.selectors import points_expiry_candidates
from rewards.services import points_expire
from tiers.selectors import tier_job_candidates
from tiers.services import tier_downgrade_notices, tiers_requalify

from .models import JobRun

NEVER = datetime.min.replace(tzinfo=UTC)


def _expire_points(*, as_of, member_id_from, member_id_to, member_ids, since, run) -> ChunkResult:
    result = points_expire(as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to, member_ids=member_ids)
    return ChunkResult(examined=result.examined, changed=result.members)


def _requalify_tiers(*, as_of, member_id_from, member_id_to, member_ids, since, run) -> ChunkResult:
    members = {"member_id_from": member_id_from, "member_id_to": member_id_to, "member_ids": member_ids}
    result = tiers_requalify(as_of=as_of, run=run, **members)
    tier_downgrade_notices(as_of=as_of, since=since, **members)
    return result


def _over_members(service) -> Callable[..., ChunkResult]:
    """The chunk function of a service that takes the chunk's members, as of a moment, for a run."""

    def chunk(*, as_of, member_id_from, member_id_to, member_ids, since, run) -> ChunkResult:
        members = {"member_id_from": member_id_from, "member_id_to": member_id_to, "member_ids": member_ids}
        return service(as_of=as_of, run=run, **members)

    return chunk


def _campaign_prepare(as_of, params) -> dict:
    return campaign_prepare(Campaign.objects.get(pk=params["campaign"]), as_of)


def _run_campaign(*, as_of, member_id_from, member_id_to, member_ids, since, run) -> ChunkResult:
    return campaign_grant_chunk(
        campaign_id=run.params["campaign"],
        params=run.params,
        as_of=as_of,
        member_id_from=member_id_from,
        member_id_to=member_id_to,
        run=run,
    )


def _invite_to_surveys(*, as_of, member_id_from, member_id_to, member_ids, since, run) -> ChunkResult:
    return survey_invitations_create(
        as_of=as_of, member_id_from=member_id_from, member_id_to=member_id_to, since=since, run=run
    )


def _no_member_chunks(**kwargs) -> ChunkResult:
    return ChunkResult(0, 0)


def _customer_value_prepare(as_of, params) -> dict:
    fit = customer_value_fit(as_of=as_of)
    return {"fit": fit and fit.pk}


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    chunk: Callable[..., ChunkResult]
    # For incremental jobs: when the rules last changed (a change forces a full run).
    rules_changed_at: Callable[[], datetime] | None = None
    # Computes, once per run, figures all its chunks share (stored on the run).
    prepare: Callable[[datetime, dict], dict] | None = None
    # The ids of the members a run as of a moment may change, given the previous run (None for a
    # full run); returning None means every member.
    candidates: Callable[[datetime, JobRun | None], Iterable[int] | None] | None = None
    # At most this many members per chunk (else JOB_CHUNK_SIZE): a chunk that locks the members it
    # writes holds them until it commits.
    max_chunk_size: Callable[[], int] | None = None


JOBS = {
    job.name: job
    for job in [
        Job(
            "expire_points",
            gettext_lazy("Expire points lots that reached their date, oldest first."),
            _expire_points,
            candidates=points_expiry_candidates,
        ),
        Job(
            "requalify_tiers",
            gettext_lazy("Requalify tiers whose validity ended; warn members 30 days ahead."),
            _requalify_tiers,
            # Validity dates say who is due; notices go to whose validity came within 30 days since.
            rules_changed_at=lambda: NEVER,
            candidates=tier_job_candidates,
        ),
        Job(
            "detect_lapse",
            gettext_lazy("Mark members lapsed who stopped buying (win-back targets)."),
            _over_members(lapse_detect),
            rules_changed_at=lambda: stage_policy().updated_at,
            candidates=lapse_candidates,
        ),
        Job(
            "promote_stages",
            gettext_lazy("Move journey stages for what time changed: windows sliding, referrals, feedback."),
            _over_members(stages_promote),
            rules_changed_at=lambda: stage_policy().updated_at,
            candidates=stage_candidates,
        ),
        Job(
            "place_loyalty_grid",
            gettext_lazy("Place members on the behavioural x attitudinal loyalty grid."),
            _over_members(grid_place),
            rules_changed_at=lambda: grid_policy().updated_at,
            candidates=grid_candidates,
        ),
        Job(
            "campaign",
            gettext_lazy("Run one campaign (params: campaign id): grants, holdout, messages, staff tasks."),
            _run_campaign,
            prepare=_campaign_prepare,
            # A chunk locks the members it credits until it commits: a till buying for one of
            # them waits that long (members.locking; BENCHMARKS.md "Campaign lock slices").
            max_chunk_size=lambda: settings.CAMPAIGN_CHUNK_SIZE,
        ),
        Job(
            "invite_to_surveys",
            gettext_lazy("Invite a sample of recent buyers to the post-purchase survey."),
            _invite_to_surveys,
            # Incremental by nature: each run samples the purchases recorded since the last one.
            rules_changed_at=lambda: NEVER,
        ),
        Job(
            "refresh_daily_sales",
            "Recount the daily sales aggregate of the days with purchases or returns recorded since the last refresh.",
            _no_member_chunks,
            # The recount is set-based per batch of days, done once in the prepare step; there is
            # nothing per member, so the run has no chunks.
            prepare=lambda as_of, params: daily_sales_refresh_since(as_of=as_of),
            candidates=lambda as_of, previous: [],
        ),
        Job(
            "customer_value",
            gettext_lazy("Fit the lifetime-value models on the history, then value every member who bought."),
            _over_members(member_values_compute),
            # Every member's age grows each day, so every buyer's value moves: always a full run.
            prepare=_customer_value_prepare,
        ),
    ]
}
# The order the nightly run uses: expiry and tiers first, stages and the grid last so they see
# today's lapses. Survey invitations run on their own schedule (hourly).
NIGHTLY_ORDER = ["expire_points", "requalify_tiers", "detect_lapse", "promote_stages", "place_loyalty_grid"]
