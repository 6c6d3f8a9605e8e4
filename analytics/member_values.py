"""Reads of the stored member values (no numpy here: the web processes import this module for the
member API, the campaign audiences and the lapse rule)."""

import math
from decimal import Decimal

from django.db.models import Q

from .models import MemberValue


def member_clv(*, member_id: int) -> dict | None:
    """What a till shows of a member's value: spend in the last 12 months, predicted spend in the
    next 12 and P(alive), as of the last `customer_value` run; None before their first valuation."""
    return MemberValue.objects.filter(member_id=member_id).values("historic_12m", "predicted_12m", "p_alive").first()


def predicted_value_cutoff(*, top_share: float) -> Decimal | None:
    """The predicted 12-month value of the member at rank ceil(top_share x valued members), from
    the highest: members at or above it are the top `top_share` (ties at the cutoff included).
    None when nobody is valued yet."""
    if not 0 < top_share <= 1:
        raise ValueError("top_share must be in (0, 1]")
    valued = MemberValue.objects.count()
    if not valued:
        return None
    rank = math.ceil(top_share * valued)
    return MemberValue.objects.order_by("-predicted_12m").values_list("predicted_12m", flat=True)[rank - 1]


def valuable_at_risk(*, top_share: float, p_alive_below: float, prefix: str = "") -> Q:
    """Members among the top `top_share` by predicted value whose P(alive) is below
    `p_alive_below` (on Member, or through `prefix` on a model with a member relation). Matches
    nobody before the first valuation."""
    cutoff = predicted_value_cutoff(top_share=top_share)
    if cutoff is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}value__predicted_12m__gte": cutoff, f"{prefix}value__p_alive__lt": p_alive_below})


def likely_lapsed(*, p_alive_below: float) -> Q:
    """The optional lapse rule beside the gap rule: members the BG/NBD model gives a P(alive)
    below the threshold as of the last valuation. Members who bought once always have P(alive) 1
    in BG/NBD, so this rule only ever adds repeat buyers who stopped; the gap rule covers the rest."""
    return Q(value__p_alive__lt=p_alive_below)
