"""Running campaigns: a run is a batch job over chunks of member ids; each chunk picks its share
of the audience, splits off the holdout, respects the budget, grants, and queues messages and
staff tasks. A grant is unique per campaign, grant key and member, so a rerun grants nothing more.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs.models import JobRun, RunStatus
from jobs.results import ChunkResult
from loyalty.errors import DomainError, field_error
from loyalty.sampling import bucket, held_out
from members.models import Member, MemberStatus
from messaging.services import marketing_channel, message_queue_many
from messaging.unsubscribe import unsubscribe_line
from rewards.catalog import new_voucher_code, reward_take_stock
from rewards.earning import earning_setup_invalidate, lot_expiry
from rewards.ledger import Actor, post_bonus_many
from rewards.models import EarningRule, Reward, Voucher

from .audiences import audience, grant_key, surprise_prepare
from .models import (
    Campaign,
    CampaignGrant,
    CampaignKind,
    CampaignStatus,
    GrantType,
    MemberBadge,
    StaffTask,
    TaskKind,
    TaskStatus,
)

SAMPLE_SIZE = 20


# A sampling cutoff above every draw: no sampling.
EVERYONE = 10_000


def campaign_prepare(campaign: Campaign, as_of: datetime, *, sample: bool = True, keep_top: bool = False) -> dict:
    """Figures a run computes once for all its chunks: the surprise threshold and top spenders,
    and the share of the treated audience to sample so the budget is spread over everyone."""
    params = {"campaign": campaign.pk}
    if campaign.kind == CampaignKind.SURPRISE:
        params |= surprise_prepare(campaign, as_of, keep_top=keep_top)
    if sample:
        params["sample_cutoff"] = _sample_cutoff(campaign, as_of, params)
    return params


def _sample_draws(campaign: Campaign, as_of: datetime):
    """The repeatable draw of each member for the run of that day (0 to 9,999)."""
    day = timezone.localdate(as_of)
    return lambda member_id: bucket("sample", campaign.pk, day, member_id)


def _sample_cutoff(campaign: Campaign, as_of: datetime, params: dict) -> int:
    """With a member budget smaller than the audience, a random (but repeatable) draw picks who
    gets it: everyone whose draw is at most the cutoff, so the chunks fill the budget together."""
    if campaign.max_members is None:
        return EVERYONE
    members = audience(campaign, as_of=as_of, params=params).values_list("pk", flat=True)
    treatable = (m for m in members.iterator(chunk_size=5000) if not held_out(campaign.pk, m, campaign.holdout_percent))
    draw = _sample_draws(campaign, as_of)
    return _cutoff_for(campaign, [draw(member_id) for member_id in treatable])


def _cutoff_for(campaign: Campaign, draws: list[int]) -> int:
    remaining = campaign.max_members - campaign.granted_members
    if remaining <= 0:
        return -1
    draws = sorted(draws)
    return draws[remaining - 1] if len(draws) > remaining else EVERYONE


@dataclass
class Selection:
    """Who a chunk would treat and hold out, before anything is written."""

    audience: int = 0
    treated: list[dict] = field(default_factory=list)
    holdout: list[dict] = field(default_factory=list)


def _select(
    campaign: Campaign, *, as_of: datetime, params: dict, id_range: tuple[int, int] | None = None, dry: bool = False
) -> Selection:
    """Split the audience into holdout and treated. A dry run needs only who (ids), not what a
    grant writes (contact fields, grant keys)."""
    fields = ["pk"] if dry else ["pk", "name", "language", "email", "phone"]
    if campaign.kind == CampaignKind.WIN_BACK and not dry:
        fields.append("lapse_episode")
    if campaign.kind == CampaignKind.REFERRAL:
        fields.append("referred_by_id")
    rows = audience(campaign, as_of=as_of, params=params, id_range=id_range).order_by("pk").values(*fields)
    selection, cutoff, draw = Selection(), params.get("sample_cutoff", EVERYONE), _sample_draws(campaign, as_of)
    for row in rows:
        selection.audience += 1
        if not dry:
            row["grant_key"] = grant_key(campaign, as_of, row)
        if held_out(campaign.pk, row["pk"], campaign.holdout_percent):
            selection.holdout.append(row)
        elif cutoff == EVERYONE or draw(row["pk"]) <= cutoff:
            selection.treated.append(row)
    return selection


def _grants_per_member(campaign: Campaign) -> int:
    """Grants one treated member brings: a referral rewards the referrer too."""
    return 2 if campaign.kind == CampaignKind.REFERRAL else 1


def _within_budget(campaign: Campaign, treated: list[dict]) -> list[dict]:
    """As many as the remaining budget allows, in a random but repeatable order."""
    treated = sorted(treated, key=lambda row: bucket("order", campaign.pk, row["pk"]))
    per_member = _points_each(campaign) * _grants_per_member(campaign)
    if campaign.max_members is not None:
        treated = treated[: max(campaign.max_members - campaign.granted_members, 0)]
    if campaign.max_points is not None and per_member:
        treated = treated[: max((campaign.max_points - campaign.granted_points) // per_member, 0)]
    if campaign.grant_type == GrantType.VOUCHER and campaign.reward.stock is not None:
        treated = treated[: campaign.reward.stock // _grants_per_member(campaign)]
    return treated


def _points_each(campaign: Campaign) -> int:
    return campaign.points if campaign.grant_type == GrantType.POINTS else 0


@transaction.atomic
def campaign_grant_chunk(
    *, campaign_id: int, params: dict, as_of: datetime, member_id_from: int, member_id_to: int, run=None
) -> ChunkResult:
    """Grant one chunk of a campaign run. The campaign row is locked while the budget is spent."""
    campaign = Campaign.objects.select_for_update(of=("self",)).select_related("reward", "badge").get(pk=campaign_id)
    if campaign.status != CampaignStatus.ACTIVE:
        return ChunkResult(0, 0)
    selection = _select(campaign, as_of=as_of, params=params, id_range=(member_id_from, member_id_to))
    if campaign.grant_type == GrantType.VOUCHER and campaign.reward.stock is not None:
        # The stock as it is now, locked until the vouchers are issued: tills redeem the same
        # reward meanwhile, and a stale figure would make the all-or-nothing take fail the run.
        campaign.reward = Reward.objects.select_for_update().get(pk=campaign.reward_id)
    treated = _within_budget(campaign, selection.treated)
    CampaignGrant.objects.bulk_create(
        CampaignGrant(
            campaign=campaign, member_id=row["pk"], grant_key=row["grant_key"], holdout=True, granted_at=as_of, run=run
        )
        for row in selection.holdout
    )
    _treat(campaign, treated, as_of=as_of, params=params, run=run)
    return ChunkResult(selection.audience, len(treated))


def _treat(campaign: Campaign, treated: list[dict], *, as_of: datetime, params: dict, run) -> None:
    if not treated:
        return
    recipients = _recipients(campaign, treated)
    points = _points_each(campaign)
    vouchers = _issue_vouchers(campaign, recipients, as_of) if campaign.grant_type == GrantType.VOUCHER else []
    CampaignGrant.objects.bulk_create(
        CampaignGrant(
            campaign=campaign,
            member_id=member_id,
            grant_key=key,
            points=points,
            voucher=vouchers[index] if vouchers else None,
            granted_at=as_of,
            run=run,
        )
        for index, (member_id, key) in enumerate(recipients)
    )
    if points:
        # A referrer of two new members in one chunk is two recipients: both grants are credited.
        points_by_member = Counter()
        for member_id, _ in recipients:
            points_by_member[member_id] += points
        post_bonus_many(
            dict(points_by_member),
            expires_at=lot_expiry(as_of),
            actor=Actor(job=f"campaign:{campaign.pk}"),
            reason=f"Campaign: {campaign.name}",
        )
    if campaign.kind == CampaignKind.BADGE:
        MemberBadge.objects.bulk_create(
            MemberBadge(member_id=row["pk"], badge=campaign.badge, awarded_at=as_of) for row in treated
        )
    _tasks(campaign, treated, as_of=as_of, params=params)
    _messages(campaign, recipients, vouchers)
    Campaign.objects.filter(pk=campaign.pk).update(
        granted_members=F("granted_members") + len(recipients),
        granted_points=F("granted_points") + points * len(recipients),
    )


def _recipients(campaign: Campaign, treated: list[dict]) -> list[tuple[int, str]]:
    """(member id, grant key) pairs: a referral rewards both the new member and the referrer."""
    pairs = [(row["pk"], row["grant_key"]) for row in treated]
    if campaign.kind == CampaignKind.REFERRAL:
        referrers = Member.objects.filter(pk__in=[row["referred_by_id"] for row in treated], status=MemberStatus.ACTIVE)
        active = set(referrers.values_list("pk", flat=True))
        pairs += [(row["referred_by_id"], row["grant_key"]) for row in treated if row["referred_by_id"] in active]
    return pairs


def _issue_vouchers(campaign: Campaign, recipients: list[tuple[int, str]], as_of: datetime) -> list[Voucher]:
    """One voucher per recipient, in the recipients' order."""
    reward = campaign.reward
    reward_take_stock(reward, len(recipients))
    vouchers = Voucher.objects.bulk_create(
        Voucher(
            code=new_voucher_code(),
            reward=reward,
            member_id=member_id,
            campaign=campaign,
            expires_at=as_of + timedelta(days=campaign.offer_days),
        )
        for member_id, _ in recipients
    )
    return vouchers


def _tasks_for(campaign: Campaign, row: dict, params: dict) -> list[tuple[str, str]]:
    """(kind, title) of the personal touches a campaign asks staff for, for one member."""
    who = row["name"] or f"member {row['pk']}"
    if campaign.kind == CampaignKind.SURPRISE:
        calls = (
            [(TaskKind.CALL, f"Thank-you call to {who}, a top spender")] if row["pk"] in params.get("call", []) else []
        )
        cards = [(TaskKind.CARD, f"Handwritten thank-you card to {who}")] if campaign.send_cards else []
        return calls + cards
    if campaign.kind == CampaignKind.WIN_BACK:
        return [(TaskKind.INTERVIEW, f"Lost-customer interview with {who}: why did they leave?")]
    if campaign.grant_type == GrantType.TASK:
        return [(TaskKind.FOLLOW_UP, f"{campaign.name}: follow up with {who}")]
    return []


def _tasks(campaign: Campaign, treated: list[dict], *, as_of: datetime, params: dict) -> None:
    due = as_of + timedelta(days=7)
    StaffTask.objects.bulk_create(
        (
            StaffTask(kind=kind, title=title, member_id=row["pk"], campaign=campaign, due_at=due)
            for row in treated
            for kind, title in _tasks_for(campaign, row, params)
        ),
        ignore_conflicts=True,
    )


class _Blank(dict):
    def __missing__(self, key):
        return ""


def _messages(campaign: Campaign, recipients: list[tuple[int, str]], vouchers: list[Voucher]) -> None:
    templates = {m.language: m for m in campaign.messages.all()}
    if not templates:
        return
    members = Member.objects.in_bulk([member_id for member_id, _ in recipients])
    queued = []
    for index, (member_id, key) in enumerate(recipients):
        member = members[member_id]
        template = templates.get(member.language) or next(iter(templates.values()))
        voucher = vouchers[index] if vouchers else None
        values = _Blank(
            name=member.name,
            points=campaign.points,
            voucher_code=voucher.code if voucher else "",
            reward=campaign.reward.name if campaign.reward_id else "",
            expires=f"{timezone.localtime(voucher.expires_at):%Y-%m-%d}" if voucher else "",
        )
        channel = marketing_channel(member)
        queued.append(
            {
                "member": member,
                "campaign": campaign,
                "kind": f"campaign_{campaign.kind}",
                "marketing": True,
                "channel": channel,
                "language": template.language,
                "dedupe_key": f"campaign:{campaign.pk}:{key}:{member_id}",
                "subject": template.subject.format_map(values)[:200],
                "body": template.body.format_map(values) + unsubscribe_line(member, channel),
            }
        )
    message_queue_many(queued)


# --- launching, dry runs -------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    audience: int
    holdout: int
    treated: int
    sample: list
    points: int
    vouchers: int
    stock_left: int | None


def campaign_dry_run(*, campaign: Campaign, as_of: datetime | None = None) -> DryRun:
    """What a run now would do, writing nothing: audience, holdout, who, and what it costs."""
    as_of = as_of or timezone.now()
    # One pass over the audience: the sampling cutoff comes from the same rows the run would treat.
    params = campaign_prepare(campaign, as_of, sample=False, keep_top=True)
    selection = _select(campaign, as_of=as_of, params=params, dry=True)
    if campaign.max_members is not None:
        draw = _sample_draws(campaign, as_of)
        draws = {row["pk"]: draw(row["pk"]) for row in selection.treated}
        cutoff = _cutoff_for(campaign, list(draws.values()))
        selection.treated = [row for row in selection.treated if draws[row["pk"]] <= cutoff]
    treated = _within_budget(campaign, selection.treated)
    recipients = len(treated) * _grants_per_member(campaign)
    sample_ids = [row["pk"] for row in random.Random(campaign.pk).sample(treated, min(SAMPLE_SIZE, len(treated)))]
    return DryRun(
        audience=selection.audience,
        holdout=len(selection.holdout),
        treated=len(treated),
        sample=list(Member.objects.filter(pk__in=sample_ids)),
        points=_points_each(campaign) * recipients,
        vouchers=recipients if campaign.grant_type == GrantType.VOUCHER else 0,
        stock_left=campaign.reward.stock if campaign.grant_type == GrantType.VOUCHER else None,
    )


def _check_ready(campaign: Campaign) -> None:
    if campaign.grant_type == GrantType.POINTS and campaign.kind != CampaignKind.PROMOTION and campaign.points <= 0:
        raise field_error("points", "A points campaign needs a number of points.")
    if campaign.grant_type == GrantType.VOUCHER and campaign.reward_id is None:
        raise field_error("reward", "A voucher campaign needs a catalog reward.")
    if campaign.kind == CampaignKind.BADGE and campaign.badge_id is None:
        raise field_error("badge", "A badge campaign needs a badge.")
    if campaign.kind == CampaignKind.PROMOTION and not (campaign.multiplier and campaign.ends_at):
        raise field_error("multiplier", "A promotion window needs a multiplier and an end date.")


@transaction.atomic
def campaign_launch(*, campaign: Campaign) -> Campaign:
    """Make a draft campaign active. A promotion window gets its earning rule (holdout excluded)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.DRAFT:
        raise DomainError("Only a draft campaign can be launched.")
    _check_ready(campaign)
    if campaign.kind == CampaignKind.PROMOTION:
        EarningRule.objects.create(
            name=f"Promotion: {campaign.name}",
            multiplier=campaign.multiplier,
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            min_tier=campaign.min_tier,
            stages=campaign.stages,
            campaign=campaign,
        )
        earning_setup_invalidate()
    campaign.status = CampaignStatus.ACTIVE
    campaign.save(update_fields=["status"])
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.ACTIVE).update(status=CampaignStatus.PAUSED)
    EarningRule.objects.filter(campaign=campaign).update(active=False)
    earning_setup_invalidate()
    campaign.refresh_from_db()
    return campaign


def campaigns_due(as_of: datetime):
    """Active campaigns inside their window (promotion windows run once, to record their audience)."""
    return Campaign.objects.filter(status=CampaignStatus.ACTIVE, starts_at__lte=as_of).exclude(ends_at__lte=as_of)


@transaction.atomic
def task_complete(*, task: StaffTask, outcome: str, notes: str = "", user=None) -> StaffTask:
    outcome = (outcome or "").strip()
    if not outcome:
        raise field_error("outcome", "Say how it went.")
    StaffTask.objects.filter(pk=task.pk).update(
        status=TaskStatus.DONE,
        outcome=outcome[:200],
        notes=notes,
        completed_at=timezone.now(),
        assignee=user or task.assignee,
    )
    task.refresh_from_db()
    return task


def campaign_runs_due(*, as_of: datetime | None = None) -> list[int]:
    """The campaigns to run now: active, in their window, not yet run today. A run that finished
    with failures does not count, so the hourly schedule tries again (grants already made stay
    unique, so only what failed is done)."""
    as_of = as_of or timezone.now()
    today = timezone.localtime(as_of).date()
    runs_today = JobRun.objects.filter(name="campaign", as_of__date=today).exclude(status=RunStatus.FAILED)
    ran_today = set(runs_today.values_list("params__campaign", flat=True))
    return [pk for pk in campaigns_due(as_of).values_list("pk", flat=True) if pk not in ran_today]
