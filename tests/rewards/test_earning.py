from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from rewards.earning import BasketLine, lot_expiry, points_for_basket
from rewards.models import EarningPolicy, EarningRule, ExpiryMode, Rounding
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def quote(lines, *, channel="store", store_id=None, at=None, total=None):
    at = at or timezone.now()
    total = total if total is not None else sum(line.amount for line in lines)
    return points_for_basket(lines=lines, total=total, channel=channel, store_id=store_id, at=at)


def line(amount, category="general"):
    return BasketLine("SKU", category, 1, Decimal(amount))


def test_base_rate_is_one_point_per_ten_by_default():
    assert quote([line("99.99")]).points == 9


def test_rate_is_a_policy_setting():
    EarningPolicy.objects.filter(pk=1).update(spend_per_point=Decimal("15"))
    assert quote([line("150")]).points == 10


@pytest.mark.parametrize(("rounding", "points"), [(Rounding.DOWN, 1), (Rounding.HALF_UP, 2), (Rounding.UP, 2)])
def test_rounding_follows_the_policy(rounding, points):
    EarningPolicy.objects.filter(pk=1).update(rounding=rounding)
    assert quote([line("15")]).points == points


def test_purchase_below_minimum_spend_earns_nothing_and_says_why():
    EarningPolicy.objects.filter(pk=1).update(minimum_spend=Decimal("20"))
    result = quote([line("19.99")])
    assert (result.points, "20" in result.note) == (0, True)


def test_category_multiplier_applies_only_to_that_category():
    EarningRule.objects.create(name="Coffee x3", multiplier=3, category="coffee")
    assert quote([line("100", "coffee"), line("100", "tea")]).points == 40


def test_channel_and_store_multipliers_multiply_together():
    store = StoreFactory()
    EarningRule.objects.create(name="Online x2", multiplier=2, channel="online")
    EarningRule.objects.create(name="Flagship x1.5", multiplier=Decimal("1.5"), store=store)
    assert quote([line("100")], channel="online", store_id=store.pk).points == 30
    assert quote([line("100")], channel="store", store_id=store.pk).points == 15


@pytest.mark.usefixtures("frozen_dates")
def test_promotion_window_applies_only_inside_it(now):
    EarningRule.objects.create(name="Double", multiplier=2, starts_at=now, ends_at=now + timedelta(days=7))
    assert quote([line("100")], at=now + timedelta(days=1)).points == 20
    assert quote([line("100")], at=now - timedelta(seconds=1)).points == 10
    assert quote([line("100")], at=now + timedelta(days=7)).points == 10


def test_inactive_rule_is_ignored():
    EarningRule.objects.create(name="Off", multiplier=5, active=False)
    assert quote([line("100")]).points == 10


def test_rolling_expiry_is_n_months_later_clamped_to_month_end():
    EarningPolicy.objects.filter(pk=1).update(expiry_mode=ExpiryMode.ROLLING_MONTHS, expiry_months=1)
    earned = datetime(2026, 1, 31, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert lot_expiry(earned) == datetime(2026, 2, 28, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_end_of_following_year_expiry():
    EarningPolicy.objects.filter(pk=1).update(expiry_mode=ExpiryMode.END_OF_FOLLOWING_YEAR)
    earned = datetime(2026, 3, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert lot_expiry(earned) == datetime(2028, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
