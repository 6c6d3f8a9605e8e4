"""Who each kind of campaign is for, as querysets over a chunk of members, and the figures a run
computes once before its chunks start (the surprise threshold, the sampling rate)."""

from datetime import datetime, timedelta

from django.db.models import CharField, Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from feedback.models import Feedback, LostCustomerInterview, WinBackChance
from members.models import (
    ChangeKind,
    HabitDimension,
    LapseState,
    Member,
    MemberHabit,
    MemberStatus,
    Purchase,
    StageChange,
)
from tiers.models import Tier
from tiers.selectors import QUALIFYING_WINDOW, tier_by_id

from .models import BadgeKind, Campaign, CampaignGrant, CampaignKind


def segment(campaign: Campaign, members: QuerySet) -> QuerySet:
    """Active members in the campaign's stages and tiers. Suspended members never take part."""
    members = members.filter(status=MemberStatus.ACTIVE)
    if campaign.stages:
        members = members.filter(stage__in=campaign.stages)
    if campaign.min_tier_id:
        rank = tier_by_id(campaign.min_tier_id).rank
        members = members.filter(tier__in=Tier.objects.filter(rank__gte=rank))
    return members


def _spend_by_member(as_of: datetime, id_range: tuple[int, int] | None = None):
    money = DecimalField(max_digits=14, decimal_places=2)
    purchases = Purchase.objects.filter(occurred_at__gt=as_of - QUALIFYING_WINDOW, occurred_at__lte=as_of)
    if id_range:
        purchases = purchases.filter(member_id__gte=id_range[0], member_id__lt=id_range[1])
    return (
        purchases.order_by()
        .values("member")
        .annotate(spend=Sum(F("total") - F("returned_amount"), output_field=money))
        .filter(spend__gt=0)
    )


def surprise_prepare(campaign: Campaign, as_of: datetime, *, keep_top: bool = False) -> dict:
    """The 12-month spend that puts a member in the top share, and the top spenders to call: from
    one grouped pass over the year's purchases, ranked here. With `keep_top`, also the ids of
    everyone at or above the threshold ("top"), so the audience needs no second pass (a dry run;
    a run's chunks each group their own range instead of carrying the list)."""
    ranked = list(_spend_by_member(as_of).order_by("-spend").values_list("member", "spend"))
    if not ranked:
        return {"threshold": None, "call": []}
    position = max(int(len(ranked) * campaign.top_share) - 1, 0)
    threshold = ranked[position][1]
    params = {"threshold": str(threshold), "call": _top_eligible(campaign, [m for m, _ in ranked])}
    if keep_top:
        params["top"] = [member_id for member_id, spend in ranked if spend >= threshold]
    return params


def _top_eligible(campaign: Campaign, ranked_ids: list[int], batch: int = 1000) -> list[int]:
    """The first `call_top` members of the ranking the campaign's segment admits."""
    chosen: list[int] = []
    for start in range(0, len(ranked_ids), batch):
        ids = ranked_ids[start : start + batch]
        eligible = set(segment(campaign, Member.objects.filter(pk__in=ids)).values_list("pk", flat=True))
        chosen += [member_id for member_id in ids if member_id in eligible]
        if len(chosen) >= campaign.call_top:
            break
    return chosen[: campaign.call_top]


def _surprised_recently(campaign: Campaign, as_of: datetime) -> Exists:
    return Exists(
        CampaignGrant.objects.filter(
            member=OuterRef("pk"),
            campaign__kind=CampaignKind.SURPRISE,
            holdout=False,
            granted_at__gt=as_of - timedelta(days=campaign.quiet_days),
        )
    )


def _badge_earned(campaign: Campaign) -> Q:
    badge = campaign.badge
    if badge.kind == BadgeKind.NTH_REVIEW:
        reviews = Feedback.objects.filter(member=OuterRef("pk")).exclude(comment="")
        counted = reviews.order_by().values("member").annotate(n=Count("*")).values("n")
        return Q(
            pk__in=Member.objects.annotate(reviews=Subquery(counted)).filter(reviews__gte=badge.threshold).values("pk")
        )
    dimension = HabitDimension.CATEGORY if badge.kind == BadgeKind.NEW_CATEGORY else HabitDimension.CHANNEL
    habits = MemberHabit.objects.filter(dimension=dimension).order_by().values("member").annotate(n=Count("*"))
    return Q(pk__in=habits.filter(n__gte=2).values("member"))


def audience(
    campaign: Campaign,
    *,
    as_of: datetime,
    params: dict,
    id_range: tuple[int, int] | None = None,
    exclude_granted: bool = True,
) -> QuerySet:
    """The members (all, or those with ids in [from, to)) the campaign is for right now, with
    nothing granted yet (or also those granted already, to tell an empty audience from a done one)."""
    members = Member.objects.all()
    if id_range:
        members = members.filter(pk__gte=id_range[0], pk__lt=id_range[1])
    members = segment(campaign, members)
    kind = campaign.kind
    if kind == CampaignKind.SURPRISE:
        if params.get("threshold") is None:
            return members.none()
        if "top" in params:
            top = params["top"]
        else:
            # One grouped pass over the range's purchases, joined to the members (not a sum per member).
            top = _spend_by_member(as_of, id_range).filter(spend__gte=params["threshold"]).values("member")
        members = members.filter(pk__in=top).exclude(_surprised_recently(campaign, as_of))
    elif kind == CampaignKind.BIRTHDAY:
        # By Shanghai month, so a 29 February birthday is celebrated every February, leap or not.
        members = members.filter(birthday__month=timezone.localtime(as_of).month)
    elif kind == CampaignKind.WIN_BACK:
        latest = LostCustomerInterview.objects.filter(member=OuterRef("pk")).order_by("-happened_at")
        members = members.filter(lapse_state=LapseState.LAPSED).annotate(
            chance=Subquery(latest.values("can_win_back")[:1]), lapse_episode=_lapse_episode()
        )
        members = members.filter(Q(chance__isnull=True) | ~Q(chance=WinBackChance.NO))
    elif kind == CampaignKind.REFERRAL:
        members = members.filter(
            referred_by__isnull=False, purchase_count__gte=1, first_purchase_at__gte=campaign.starts_at
        )
    elif kind == CampaignKind.BADGE:
        members = members.filter(_badge_earned(campaign)).exclude(badges__badge=campaign.badge)
    if not exclude_granted:
        return members
    already = CampaignGrant.objects.filter(
        campaign=campaign, member=OuterRef("pk"), grant_key=grant_key_expression(campaign, as_of)
    )
    return members.exclude(Exists(already))


def _lapse_episode() -> Subquery:
    """The latest "became lapsed" history row: one win-back grant per lapse."""
    changes = StageChange.objects.filter(member=OuterRef("pk"), kind=ChangeKind.LAPSE, to_value=LapseState.LAPSED)
    return Subquery(changes.order_by("-id").values("id")[:1])


def grant_key_expression(campaign: Campaign, as_of: datetime):
    """The grant key as an SQL expression, so "already granted" is checked in the same query."""
    if campaign.kind == CampaignKind.WIN_BACK:
        return Concat(Value("lapse:"), Cast(OuterRef("lapse_episode"), CharField()))
    if campaign.kind == CampaignKind.REFERRAL:
        return Concat(Value("referral:"), Cast(OuterRef("pk"), CharField()))
    return Value(grant_key(campaign, as_of))


def grant_key(campaign: Campaign, as_of: datetime, row: dict | None = None) -> str:
    """The period or event a grant is for: a campaign grants a member once per key."""
    local = timezone.localtime(as_of)
    kind = campaign.kind
    if kind == CampaignKind.WIN_BACK:
        return f"lapse:{row['lapse_episode']}"
    if kind == CampaignKind.REFERRAL:
        return f"referral:{row['pk']}"
    if kind == CampaignKind.BIRTHDAY:
        return f"birthday:{local.year}"
    if kind == CampaignKind.SURPRISE:
        return f"surprise:{local:%Y-%m-%d}"
    if kind == CampaignKind.BADGE:
        return f"badge:{campaign.badge.code}"
    return "window"  # a promotion window: one place in it per member


def valuable_at_risk(members: QuerySet, *, top_share: float, p_alive_below: float) -> QuerySet:
    """The members among the top `top_share` by predicted 12-month value (customer lifetime value)
    whose probability of still buying is below `p_alive_below`: e.g. top 20% with P(alive) < 0.5,
    the valuable customers to win back before they are lost."""
    from analytics.member_values import valuable_at_risk as value_filter

    return members.filter(value_filter(top_share=top_share, p_alive_below=p_alive_below))
