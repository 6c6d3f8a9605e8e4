"""The metrics of docs/metrics.md on hand-made data, with the figures worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from analytics import metrics
from analytics.periods import Filters, Period
from members.models import ChangeKind, Member, StageChange
from members.services import purchase_return
from rewards.models import EarningPolicy
from rewards.services import points_expire, points_redeem
from stores.models import Channel
from tests.clock import shanghai
from tests.factories import MemberFactory, StoreFactory, buy, standard_tiers
from tiers.models import TierChange, TierChangeKind

pytestmark = pytest.mark.django_db

OCTOBER = Period.containing("month", date(2026, 10, 1))


@pytest.fixture
def shop():
    """Two stores, five members; September and October 2026 purchases (Shanghai time):

    | member | September            | October                                        |
    |--------|----------------------|------------------------------------------------|
    | m1     | 200 A (10th)         | 500 A (2nd), 300 A (20th, 100 returned)        |
    | m2     | 100 A (12th)         | 100 A online (5th)                              |
    | m3     |                      | 50 B (31st 23:30)                               |
    | m4     |                      | (50 B on 1 Nov 00:10: November)                 |
    | m5     | 50 A (30th 23:50)    |                                                 |
    """
    a, b = StoreFactory(), StoreFactory()
    m1, m2, m3, m4, m5 = (MemberFactory() for _ in range(5))
    buy(m1, a, "200.00", occurred_at=shanghai(2026, 9, 10, 12))
    buy(m2, a, "100.00", occurred_at=shanghai(2026, 9, 12, 12))
    buy(m5, a, "50.00", occurred_at=shanghai(2026, 9, 30, 23, 50))
    buy(m1, a, "500.00", occurred_at=shanghai(2026, 10, 2, 12))
    returned = buy(m1, a, "300.00", occurred_at=shanghai(2026, 10, 20, 12))
    purchase_return(purchase=returned, store=a, receipt_id="RET-1", amount=Decimal("100.00"))
    buy(m2, a, "100.00", channel=Channel.ONLINE, occurred_at=shanghai(2026, 10, 5, 12))
    buy(m3, b, "50.00", occurred_at=shanghai(2026, 10, 31, 23, 30))
    buy(m4, b, "50.00", occurred_at=shanghai(2026, 11, 1, 0, 10))
    return {"a": a, "b": b, "m1": m1, "m2": m2, "m3": m3, "m4": m4, "m5": m5}


def test_sales_count_net_revenue_receipts_and_buyers_of_the_local_month(shop):
    sales = metrics.sales(OCTOBER)

    assert (sales.revenue, sales.purchases, sales.buyers) == (Decimal("850.00"), 4, 3)
    assert sales.average_basket == Decimal("212.50")


def test_sales_of_the_previous_period(shop):
    sales = metrics.sales(OCTOBER.previous())

    assert (sales.revenue, sales.purchases, sales.buyers) == (Decimal("350.00"), 3, 3)
    assert metrics.change(Decimal("850.00"), sales.revenue) == pytest.approx(500 / 350)


def test_sales_filtered_by_store(shop):
    sales = metrics.sales(OCTOBER, Filters(store_id=shop["a"].pk))

    assert (sales.revenue, sales.purchases, sales.buyers) == (Decimal("800.00"), 3, 2)


def test_sales_filtered_by_channel(shop):
    sales = metrics.sales(OCTOBER, Filters(channel=Channel.ONLINE))

    assert (sales.revenue, sales.purchases, sales.buyers) == (Decimal("100.00"), 1, 1)


def test_sales_filtered_by_tier(shop):
    tiers = standard_tiers()
    Member.objects.filter(pk=shop["m1"].pk).update(tier=tiers["gold"])

    sales = metrics.sales(OCTOBER, Filters(tier_id=tiers["gold"].pk))

    assert (sales.revenue, sales.purchases, sales.buyers) == (Decimal("700.00"), 2, 1)


def test_a_period_without_purchases_has_no_average_basket(db):
    sales = metrics.sales(OCTOBER)

    assert (sales.revenue, sales.purchases, sales.buyers, sales.average_basket) == (Decimal("0.00"), 0, 0, None)


def test_revenue_by_day_lists_every_day_with_zeros(shop):
    days = metrics.revenue_by_day(OCTOBER)

    assert len(days) == 31
    assert days[1] == (date(2026, 10, 2), Decimal("500.00"), 1)
    assert days[2] == (date(2026, 10, 3), Decimal("0.00"), 0)
    assert days[30] == (date(2026, 10, 31), Decimal("50.00"), 1)
    assert sum(revenue for _, revenue, _ in days) == Decimal("850.00")


def test_revenue_share_by_tier_from_the_highest(shop):
    tiers = standard_tiers()
    Member.objects.filter(pk=shop["m1"].pk).update(tier=tiers["gold"])
    Member.objects.filter(pk__in=[shop["m2"].pk, shop["m3"].pk]).update(tier=tiers["member"])

    shares = metrics.revenue_by_tier(OCTOBER)

    assert [(s.tier, s.revenue) for s in shares] == [("Gold", Decimal("700.00")), ("Member", Decimal("150.00"))]
    assert [s.share for s in shares] == pytest.approx([700 / 850, 150 / 850])


def test_pareto_top_fifth_and_curve(shop):
    pareto = metrics.pareto(OCTOBER)

    # Three buyers: 700, 100, 50. The top ceil(3 x 4/20) = 1 buyer holds 700 of 850.
    assert (pareto.buyers, pareto.revenue) == (3, Decimal("850.00"))
    assert pareto.top_share == pytest.approx(700 / 850)
    assert len(pareto.curve) == 20
    assert pareto.curve[5] == pytest.approx((0.30, 700 / 850))  # ceil(3 x 0.30) = 1 buyer
    assert pareto.curve[6] == pytest.approx((0.35, 800 / 850))  # ceil(3 x 0.35) = 2 buyers
    assert pareto.curve[19] == pytest.approx((1.0, 1.0))


def test_pareto_of_a_period_without_buyers(db):
    pareto = metrics.pareto(OCTOBER)

    assert (pareto.buyers, pareto.top_share, pareto.curve) == (0, None, [])


def test_retention_is_the_previous_buyers_who_bought_again(shop):
    retention = metrics.retention(OCTOBER)

    # September's buyers m1, m2, m5; m1 and m2 bought in October.
    assert (retention.previous_buyers, retention.retained) == (3, 2)
    assert retention.retention_rate == pytest.approx(2 / 3)
    assert retention.churn_rate == pytest.approx(1 / 3)


def test_retention_filtered_by_store(shop):
    retention = metrics.retention(Period.containing("month", date(2026, 11, 1)), Filters(store_id=shop["b"].pk))

    # October's buyers at B: m3 only, who did not buy at B in November (m4 did).
    assert (retention.previous_buyers, retention.retained, retention.churn_rate) == (1, 0, 1.0)


def test_cohort_matrix_shares_of_each_first_purchase_month_still_buying(shop):
    cohorts = metrics.cohort_matrix(first_month=date(2026, 9, 1), last_month=date(2026, 11, 1))

    # September: m1, m2, m5 (first purchases); October: m3; November: m4.
    assert [(c.month, c.members) for c in cohorts] == [
        (date(2026, 9, 1), 3),
        (date(2026, 10, 1), 1),
        (date(2026, 11, 1), 1),
    ]
    assert cohorts[0].active == pytest.approx([1.0, 2 / 3, 0.0])
    assert cohorts[1].active == pytest.approx([1.0, 0.0])
    assert cohorts[2].active == pytest.approx([1.0])


def _at(row, moment):
    type(row).objects.filter(pk=row.pk).update(created_at=moment)


def _member_enrolled(moment, **fields):
    member = MemberFactory(**fields)
    Member.objects.filter(pk=member.pk).update(enrolled_at=moment)
    return member


def _stage_change(member, kind, from_value, to_value, moment):
    change = StageChange.objects.create(
        member=member, kind=kind, from_value=from_value, to_value=to_value, reason="test"
    )
    _at(change, moment)


def test_stage_funnel_counts_members_by_their_stage_at_the_end_and_conversions(db):
    before = shanghai(2026, 9, 1, 12)
    a, b, c, d = (_member_enrolled(before) for _ in range(4))
    _member_enrolled(shanghai(2026, 11, 2, 12))  # enrolled after the period: not counted
    _stage_change(a, ChangeKind.STAGE, "prospect", "first_time", shanghai(2026, 9, 5, 12))
    _stage_change(b, ChangeKind.STAGE, "prospect", "first_time", shanghai(2026, 9, 6, 12))
    _stage_change(a, ChangeKind.STAGE, "first_time", "repeat", shanghai(2026, 10, 10, 12))
    _stage_change(c, ChangeKind.STAGE, "prospect", "first_time", shanghai(2026, 10, 11, 12))
    _stage_change(b, ChangeKind.STAGE, "first_time", "repeat", shanghai(2026, 11, 1, 0, 5))  # November
    _stage_change(d, ChangeKind.LAPSE, "active", "lapsed", shanghai(2026, 10, 12, 12))  # not a stage

    funnel = metrics.stage_funnel(OCTOBER)

    assert dict(funnel.at_end) == {
        "prospect": 1,
        "target": 0,
        "first_time": 2,
        "repeat": 1,
        "core": 0,
        "advocate": 0,
    }
    conversions = [(c.from_stage, c.to_stage, c.members, c.rate) for c in funnel.conversions]
    # At the start of October: 2 prospects (c, d) and 2 first-time buyers (a, b).
    assert conversions == [("prospect", "first_time", 1, 0.5), ("first_time", "repeat", 1, 0.5)]


def test_tier_mix_at_the_end_and_moves_in_the_period(db):
    tiers = standard_tiers()
    before = shanghai(2026, 9, 1, 12)
    a, b, c = (_member_enrolled(before) for _ in range(3))
    _member_enrolled(before)  # never given a tier
    until = shanghai(2027, 10, 1)
    for member, kind, old, new, moment in [
        (a, TierChangeKind.ENROL, None, "member", shanghai(2026, 9, 1, 13)),
        (b, TierChangeKind.ENROL, None, "member", shanghai(2026, 9, 1, 13)),
        (c, TierChangeKind.ENROL, None, "gold", shanghai(2026, 9, 1, 13)),
        (a, TierChangeKind.UPGRADE, "member", "silver", shanghai(2026, 10, 3, 12)),
        (c, TierChangeKind.DOWNGRADE, "gold", "silver", shanghai(2026, 10, 4, 12)),
        (b, TierChangeKind.RENEW, "member", "member", shanghai(2026, 10, 5, 12)),
        (b, TierChangeKind.UPGRADE, "member", "gold", shanghai(2026, 11, 5, 12)),  # after October
    ]:
        change = TierChange.objects.create(
            member=member,
            kind=kind,
            from_tier=tiers[old] if old else None,
            to_tier=tiers[new],
            valid_until=until,
            reason="test",
        )
        _at(change, moment)

    mix = metrics.tier_mix(OCTOBER)

    assert mix.at_end == [("Black", 0), ("Gold", 0), ("Silver", 2), ("Member", 1), ("", 1)]
    assert (mix.upgrades, mix.downgrades, mix.kept) == (1, 1, 1)


def test_win_back_beside_new_members_first_purchases(db):
    store = StoreFactory()
    lapsed = [_member_enrolled(shanghai(2026, 1, 1, 12)) for _ in range(4)]
    for n, member in enumerate(lapsed):
        _stage_change(member, ChangeKind.LAPSE, "active", "lapsed", shanghai(2026, 10, 1 + n, 12))
    # Won back: lapsed[0] after 20 days, lapsed[1] after 95 days (outside a 90-day window).
    _stage_change(lapsed[0], ChangeKind.LAPSE, "lapsed", "won_back", shanghai(2026, 10, 21, 12))
    _stage_change(lapsed[1], ChangeKind.LAPSE, "lapsed", "won_back", shanghai(2027, 1, 5, 12))
    new = [_member_enrolled(shanghai(2026, 10, 10, 12)) for _ in range(5)]
    buy(new[0], store, "10.00", occurred_at=shanghai(2026, 10, 15, 12))
    buy(new[1], store, "10.00", occurred_at=shanghai(2026, 11, 20, 12))
    _member_enrolled(shanghai(2026, 9, 30, 12))  # enrolled in September: not new in October

    result = metrics.win_back(OCTOBER)

    assert (result.lapsed, result.won_back, result.new_members, result.new_buyers) == (4, 1, 5, 2)
    assert (result.win_back_rate, result.first_purchase_rate) == (0.25, 0.4)


def buy_then(member, store, total, moment):
    """A purchase recorded as it happened (its ledger entry dated then too)."""
    with time_machine.travel(moment, tick=False):
        return buy(member, store, total, occurred_at=moment)


def test_points_issued_redeemed_expired_and_liability(db):
    # Given one point per 10 spent, points valid one month, a point worth 0.05
    EarningPolicy.objects.filter(pk=1).update(expiry_months=1, point_value=Decimal("0.05"))
    store = StoreFactory()
    m1, m2 = MemberFactory(), MemberFactory()
    buy_then(m1, store, "1000.00", shanghai(2026, 9, 10, 12))  # +100, expires 10 Oct
    with time_machine.travel(shanghai(2026, 10, 1, 12), tick=False):
        points_redeem(member=m1, points=40, receipt_id="S1", store=store)  # -40
    purchase = buy_then(m2, store, "500.00", shanghai(2026, 10, 5, 12))  # +50
    with time_machine.travel(shanghai(2026, 10, 12, 12), tick=False):
        purchase_return(purchase=purchase, store=store, receipt_id="RET-1", amount=Decimal("100.00"))  # -10
    with time_machine.travel(shanghai(2026, 10, 15, 12), tick=False):
        points_expire(as_of=shanghai(2026, 10, 15, 12))  # m1's remaining 60

    result = metrics.points(OCTOBER)

    # Issued in October: 50 earned - 10 taken back by the return. Redeemed 40, expired 60.
    assert (result.issued, result.redeemed, result.expired, result.outstanding) == (40, 40, 60, 40)
    assert result.redemption_rate == 1.0
    assert result.breakage == 1.5
    assert result.liability == Decimal("2.00")  # 40 points x 0.05
    # Over the history 60 of the 100 points that left did so by expiring: 2.00 x (1 - 0.6).
    assert result.breakage_estimate == pytest.approx(0.6)
    assert result.expected_liability == Decimal("0.80")


def test_points_by_month_cut_to_the_period(db):
    store = StoreFactory()
    member = MemberFactory()
    buy_then(member, store, "300.00", shanghai(2026, 9, 10, 12))
    buy_then(member, store, "200.00", shanghai(2026, 10, 10, 12))

    months = metrics.points_by_month(Period.between(date(2026, 9, 15), date(2026, 10, 31)))

    assert [(month, p.issued, p.outstanding) for month, p in months] == [
        (date(2026, 9, 1), 0, 30),
        (date(2026, 10, 1), 20, 50),
    ]


def test_nps_by_month(db):
    from feedback.models import Feedback

    for score, moment in [
        (10, shanghai(2026, 10, 1, 12)),
        (9, shanghai(2026, 10, 2, 12)),
        (7, shanghai(2026, 10, 3, 12)),
        (3, shanghai(2026, 10, 4, 12)),
        (0, shanghai(2026, 9, 4, 12)),
    ]:
        _at(Feedback.objects.create(nps=score), moment)

    rows = metrics.nps_by_month(Period.between(date(2026, 9, 1), date(2026, 10, 31)))

    assert [(r.month, r.responses, r.score) for r in rows] == [
        (date(2026, 9, 1), 1, -100.0),
        (date(2026, 10, 1), 4, 25.0),
    ]


def test_grid_mix_at_the_end_of_each_month(db):
    a, b = _member_enrolled(shanghai(2026, 8, 1, 12)), _member_enrolled(shanghai(2026, 8, 1, 12))
    _stage_change(a, ChangeKind.GRID, "none", "committed", shanghai(2026, 9, 20, 12))
    _stage_change(b, ChangeKind.GRID, "none", "mercenary", shanghai(2026, 10, 20, 12))

    months = metrics.grid_mix_by_month(Period.between(date(2026, 9, 1), date(2026, 10, 31)))

    assert [day for day, _ in months] == [date(2026, 9, 30), date(2026, 10, 31)]
    assert (months[0][1]["none"], months[0][1]["committed"], months[0][1]["mercenary"]) == (1, 1, 0)
    assert (months[1][1]["none"], months[1][1]["committed"], months[1][1]["mercenary"]) == (0, 1, 1)


def test_change_against_nothing_is_unknown():
    assert metrics.change(Decimal("10"), Decimal("0")) is None
    assert metrics.change(Decimal("15"), Decimal("10")) == 0.5


def test_revenue_by_day_of_one_day(shop):
    day = Period.containing("day", date(2026, 10, 31))

    assert metrics.revenue_by_day(day) == [(date(2026, 10, 31), Decimal("50.00"), 1)]
    assert metrics.revenue_by_day(day.previous()) == [(date(2026, 10, 30), Decimal("0.00"), 0)]


def test_nothing_in_range_before_a_member_enrolled(db):
    member = _member_enrolled(shanghai(2026, 10, 10, 12))

    funnel = metrics.stage_funnel(Period.containing("month", date(2026, 9, 1)))

    assert sum(n for _, n in funnel.at_end) == 0
    assert metrics.stage_funnel(OCTOBER).at_end[0] == ("prospect", 1)
    assert member.stage == "prospect"
