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
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from core.chunks import ChunkResult
from core.errors import DomainError, field_error
from core.i18n import local_day
from core.i18n import points as points_label
from core.sampling import bucket, held_out, rank
from core.unit_of_work import UnitOfWork
from events import services as events
from events.types import EventType
from jobs.models import JobRun, RunStatus
from members.models import Member, MemberStatus
from messaging.services import marketing_channel, message_queue_many
from messaging.unsubscribe import unsubscribe_line
from rewards.catalog import new_voucher_code, reward_take_stock
from rewards.earning import earning_setup_invalidate, lot_expiry
from rewards.ledger import Actor, post_bonus_many
from rewards.models import EarningRule, Reward, Voucher

from .audiences import audience, grant_key, segment, surprise_prepare
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


def campaign_prepare(campaign: Campaign, as_of: datetime, *, sample: bool = True, keep_top: bool = False) -> dict:
    """Figures a run computes once for all its chunks: the surprise threshold and top spenders,
    and how the audience splits into treated and holdout (`campaign_split`)."""
    params = {"campaign": campaign.pk}
    if campaign.kind == CampaignKind.SURPRISE:
        params |= surprise_prepare(campaign, as_of, keep_top=keep_top)
    if sample and campaign.kind != CampaignKind.PROMOTION:
        if not campaign.holdout_percent and _treatable_members(campaign) is None:
            # Everyone is treated and nobody held out: no need to read the audience for that.
            params |= {"sample_cutoff": None, "holdout_cutoff": -1}
        else:
            members = audience(campaign, as_of=as_of, params=params).values_list("pk", flat=True)
            params |= campaign_split(campaign, as_of, list(members.iterator(chunk_size=5000)))
    return params


def _sample_rank(campaign: Campaign, as_of: datetime):
    """The repeatable draw of each member for the run of that day."""
    day = timezone.localdate(as_of)
    return lambda member_id: rank("sample", campaign.pk, day, member_id)


def _holdout_rank(campaign: Campaign):
    """A member's place in the campaign's holdout order: the same on every run of the campaign."""
    return lambda member_id: rank("holdout", campaign.pk, member_id)


def _held_count(considered: int, percent: int) -> int:
    """The holdout of `considered` members, rounded half up."""
    return (considered * percent + 50) // 100


def campaign_split(campaign: Campaign, as_of: datetime, member_ids: list[int]) -> dict:
    """Who of the audience the run considers, and who of those it holds out, as two cutoffs on
    stable ranks (so each chunk applies them to its own members).

    The holdout is the configured share of the members considered, exactly: when the budget
    cannot treat the whole audience, a repeatable draw first picks as many members as the budget
    treats plus their holdout, and the holdout is taken from those. (Holding out a share of the
    whole audience and then cutting only the treated side to the budget made the control group
    look far bigger than configured: 35 held out against 60 treated for 10%.)
    """
    percent = campaign.holdout_percent
    considered = len(member_ids)
    split = {"sample_cutoff": None}
    limit = _treatable_members(campaign)
    if limit is not None and considered - _held_count(considered, percent) > limit:
        # The largest sample whose treated side fits the budget (treated grows by 0 or 1 per member).
        considered = min(considered, limit * 100 // (100 - percent) + 1)
        while considered and considered - _held_count(considered, percent) > limit:
            considered -= 1
        while considered < len(member_ids) and considered + 1 - _held_count(considered + 1, percent) <= limit:
            considered += 1
        draw = _sample_rank(campaign, as_of)
        draws = {member_id: draw(member_id) for member_id in member_ids}  # each hashed once
        split["sample_cutoff"] = sorted(draws.values())[considered - 1] if considered else -1
        member_ids = [m for m, d in draws.items() if d <= split["sample_cutoff"]]
    held = _held_count(len(member_ids), percent)
    ranks = sorted(map(_holdout_rank(campaign), member_ids))
    split["holdout_cutoff"] = ranks[held - 1] if held else -1
    return split


@dataclass
class Selection:
    """Who a chunk would treat and hold out, before anything is written."""

    audience: int = 0
    treated: list[dict] = field(default_factory=list)
    holdout: list[dict] = field(default_factory=list)


def _audience_rows(
    campaign: Campaign, *, as_of: datetime, params: dict, id_range: tuple[int, int] | None = None, dry: bool = False
) -> list[dict]:
    """The audience (of a chunk). A dry run needs only who (ids), not what a grant writes
    (contact fields, grant keys)."""
    fields = ["pk"] if dry else ["pk", "name", "language", "email", "phone"]
    if campaign.kind == CampaignKind.WIN_BACK and not dry:
        fields.append("lapse_episode")
    if campaign.kind == CampaignKind.REFERRAL:
        fields.append("referred_by_id")
    rows = list(audience(campaign, as_of=as_of, params=params, id_range=id_range).order_by("pk").values(*fields))
    if not dry:
        for row in rows:
            row["grant_key"] = grant_key(campaign, as_of, row)
    return rows


def _divide(campaign: Campaign, rows: list[dict], *, as_of: datetime, params: dict) -> Selection:
    """Split audience rows by the run's cutoffs. Without them (a promotion window, whose holdout
    was decided purchase by purchase) each member's own hash decides."""
    selection = Selection(audience=len(rows))
    sample_cutoff, holdout_cutoff = params.get("sample_cutoff"), params.get("holdout_cutoff")
    draw, place = _sample_rank(campaign, as_of), _holdout_rank(campaign)
    for row in rows:
        if sample_cutoff is not None and draw(row["pk"]) > sample_cutoff:
            continue  # not drawn this run: neither treated nor held out
        if holdout_cutoff is None:
            holdout = held_out(campaign.pk, row["pk"], campaign.holdout_percent)
        else:
            holdout = place(row["pk"]) <= holdout_cutoff
        (selection.holdout if holdout else selection.treated).append(row)
    return selection


def _select(campaign: Campaign, *, as_of: datetime, params: dict, id_range: tuple[int, int]) -> Selection:
    rows = _audience_rows(campaign, as_of=as_of, params=params, id_range=id_range)
    return _divide(campaign, rows, as_of=as_of, params=params)


def _grants_per_member(campaign: Campaign) -> int:
    """Grants one treated member brings: a referral rewards the referrer too."""
    return 2 if campaign.kind == CampaignKind.REFERRAL else 1


def _treatable_members(campaign: Campaign) -> int | None:
    """How many more members the budget (members, points, voucher stock) can treat; None: no limit."""
    grants = _grants_per_member(campaign)
    limits = []
    if campaign.max_members is not None:
        limits.append((campaign.max_members - campaign.granted_members) // grants)
    per_member = _points_each(campaign) * grants
    if campaign.max_points is not None and per_member:
        limits.append((campaign.max_points - campaign.granted_points) // per_member)
    if campaign.grant_type == GrantType.VOUCHER and campaign.reward.stock is not None:
        limits.append(campaign.reward.stock // grants)
    return max(min(limits), 0) if limits else None


def _within_budget(campaign: Campaign, treated: list[dict]) -> list[dict]:
    """As many as the remaining budget allows, in a random but repeatable order. The run's sample
    already fits the budget as it was when the run started; this guards against a budget spent
    meanwhile (a till redeeming the same reward, a second run)."""
    limit = _treatable_members(campaign)
    if limit is None or len(treated) <= limit:
        return treated
    return sorted(treated, key=lambda row: bucket("order", campaign.pk, row["pk"]))[:limit]


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
    public_ids = dict(Member.objects.filter(pk__in={m for m, _ in recipients}).values_list("pk", "public_id"))
    work, bonus_entries = UnitOfWork(), {}
    if points:
        # Last: crediting locks the recipients until the chunk commits, so everything else is
        # written first and a till buying for one of them waits as little as possible.
        # A referrer of two new members in one chunk is two recipients: both grants are credited.
        points_by_member = Counter()
        for member_id, _ in recipients:
            points_by_member[member_id] += points
        bonus_entries = post_bonus_many(
            dict(points_by_member),
            work=work,
            expires_at=lot_expiry(as_of),
            actor=Actor(job=f"campaign:{campaign.pk}"),
            reason=f"Campaign: {campaign.name}",
        )
    # The events go last too, with the bonus rows: inserting one takes the member's event
    # sequence row until the chunk commits, which a till recording a purchase would wait on.
    events.record_many(_grant_events(campaign, recipients, vouchers, bonus_entries, public_ids, as_of=as_of), work=work)
    work.flush()


def _grant_events(
    campaign: Campaign, recipients, vouchers: list[Voucher], bonus_entries: dict, public_ids: dict, *, as_of
) -> list:
    """The events of a chunk's grants: points earned, vouchers issued, badges awarded."""
    found = []
    for member_id, entry in bonus_entries.items():
        ref = events.MemberRef(member_id, public_ids[member_id])
        data = {"points": entry.points, "balance": entry.balance_after, "kind": "bonus", "campaign": campaign.pk}
        found.append(events.build(EventType.POINTS_EARNED, member=ref, data=data, occurred_at=as_of))
    for voucher in vouchers:
        ref = events.MemberRef(voucher.member_id, public_ids[voucher.member_id])
        data = {"code": voucher.code, "reward": campaign.reward.name, "points": 0, "campaign": campaign.pk}
        found.append(events.build(EventType.VOUCHER_ISSUED, member=ref, data=data, occurred_at=as_of))
    if campaign.kind == CampaignKind.BADGE:
        for member_id in dict(recipients):
            ref = events.MemberRef(member_id, public_ids[member_id])
            data = {"badge": campaign.badge.name, "campaign": campaign.pk}
            found.append(events.build(EventType.BADGE_AWARDED, member=ref, data=data, occurred_at=as_of))
    return found


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
        with translation.override(template.language):
            values = _Blank(
                name=member.name,
                points=points_label(campaign.points),
                voucher_code=voucher.code if voucher else "",
                reward=campaign.reward.name if campaign.reward_id else "",
                expires=local_day(voucher.expires_at) if voucher else "",
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
    why_nobody: str = ""  # when nobody would be treated: why, for the person asking


def _audience_described(campaign: Campaign, as_of: datetime) -> str:
    """Who the campaign looks for, as the "0 members ..." of an empty audience."""
    kind = campaign.kind
    if kind == CampaignKind.BIRTHDAY:
        month = formats.date_format(timezone.localtime(as_of), "F")
        return _("0 active members with a birthday in %(month)s") % {"month": month}
    if kind == CampaignKind.SURPRISE:
        return _(
            "0 active members among the top spenders of the last 12 months not surprised in the last %(days)d days"
        ) % {"days": campaign.quiet_days}
    if kind == CampaignKind.WIN_BACK:
        return _("0 lapsed members who could be won back")
    if kind == CampaignKind.REFERRAL:
        return _("0 referred members who made their first purchase since the campaign started")
    if kind == CampaignKind.BADGE:
        return _("0 members who earned the badge and do not have it yet")
    return _("0 active members")


def _in_window(campaign: Campaign, as_of: datetime) -> bool:
    return campaign.starts_at <= as_of and (campaign.ends_at is None or as_of < campaign.ends_at)


def _why_nobody(campaign: Campaign, as_of: datetime, selection: Selection, params: dict) -> str:
    """Why a run now would treat nobody, the first reason that applies."""
    if not _in_window(campaign, as_of):
        return _("The campaign is outside its window (%(starts)s to %(ends)s).") % {
            "starts": formats.date_format(timezone.localtime(campaign.starts_at), "SHORT_DATETIME_FORMAT"),
            "ends": formats.date_format(timezone.localtime(campaign.ends_at), "SHORT_DATETIME_FORMAT")
            if campaign.ends_at
            else _("no end"),
        }
    if _treatable_members(campaign) == 0:
        return _("The budget is exhausted (members, points or voucher stock).")
    if not selection.audience:
        if audience(campaign, as_of=as_of, params=params, exclude_granted=False).exists():
            return _("All matching members have already been granted this campaign.")
        if segment(campaign, Member.objects.all()).exists() or not (campaign.stages or campaign.min_tier_id):
            return _("No member matches the audience: %(who)s.") % {"who": _audience_described(campaign, as_of)}
        return _("No member matches the audience: 0 active members in the chosen stages and tiers.")
    if selection.holdout and not selection.treated:
        return _("Every member considered (%(count)d) falls in the holdout.") % {"count": len(selection.holdout)}
    return ""


def campaign_dry_run(*, campaign: Campaign, as_of: datetime | None = None) -> DryRun:
    """What a run now would do, writing nothing: audience, holdout, who, and what it costs."""
    as_of = as_of or timezone.now()
    # One pass over the audience: the split comes from the same rows the run would divide.
    params = campaign_prepare(campaign, as_of, sample=False, keep_top=True)
    rows = _audience_rows(campaign, as_of=as_of, params=params, dry=True)
    if campaign.kind != CampaignKind.PROMOTION:
        params |= campaign_split(campaign, as_of, [row["pk"] for row in rows])
    selection = _divide(campaign, rows, as_of=as_of, params=params)
    # Outside its window the schedule does not run the campaign: nobody would be treated.
    treated = _within_budget(campaign, selection.treated) if _in_window(campaign, as_of) else []
    recipients = len(treated) * _grants_per_member(campaign)
    sample_ids = [row["pk"] for row in random.Random(campaign.pk).sample(treated, min(SAMPLE_SIZE, len(treated)))]
    return DryRun(
        why_nobody="" if treated else _why_nobody(campaign, as_of, selection, params),
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
        raise field_error("points", gettext("A points campaign needs a number of points."))
    if campaign.grant_type == GrantType.VOUCHER and campaign.reward_id is None:
        raise field_error("reward", gettext("A voucher campaign needs a catalog reward."))
    if campaign.kind == CampaignKind.BADGE and campaign.badge_id is None:
        raise field_error("badge", gettext("A badge campaign needs a badge."))
    if campaign.kind == CampaignKind.PROMOTION and not (campaign.multiplier and campaign.ends_at):
        raise field_error("multiplier", gettext("A promotion window needs a multiplier and an end date."))


@transaction.atomic
def campaign_launch(*, campaign: Campaign) -> Campaign:
    """Make a draft campaign active. A promotion window gets its earning rule (holdout excluded)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.DRAFT:
        raise DomainError(gettext("Only a draft campaign can be launched."))
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
        raise field_error("outcome", gettext("Say how it went."))
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
