"""The nightly daily sales aggregate: a recount of the days that changed, and the same figures
as the purchases themselves."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from analytics import metrics
from analytics.aggregates import changed_days
from analytics.models import DailySales
from analytics.periods import Filters, Period
from jobs.services import job_run_now
from members.services import purchase_return
from stores.models import Channel
from tests.clock import shanghai
from tests.factories import MemberFactory, StoreFactory, buy

pytestmark = pytest.mark.django_db

OCTOBER = Period.containing("month", date(2026, 10, 1))


def bought(member, store, total, moment, **kwargs):
    with time_machine.travel(moment, tick=False):
        return buy(member, store, total, occurred_at=moment, **kwargs)


def refresh(moment):
    with time_machine.travel(moment, tick=False):
        return job_run_now(name="refresh_daily_sales")


@pytest.fixture
def october():
    a, b = StoreFactory(), StoreFactory()
    member = MemberFactory()
    bought(member, a, "100.00", shanghai(2026, 10, 2, 10))
    bought(member, a, "50.00", shanghai(2026, 10, 2, 18), channel=Channel.ONLINE)
    bought(member, b, "30.00", shanghai(2026, 10, 3, 23, 59))
    return {"a": a, "b": b, "member": member}


def rows():
    return sorted(DailySales.objects.values_list("day", "store_id", "channel", "revenue", "purchases"))


def test_the_first_refresh_counts_every_day_by_store_and_channel(october):
    refresh(shanghai(2026, 11, 1, 3))

    a, b = october["a"].pk, october["b"].pk
    assert rows() == [
        (date(2026, 10, 2), a, "online", Decimal("50.00"), 1),
        (date(2026, 10, 2), a, "store", Decimal("100.00"), 1),
        (date(2026, 10, 3), b, "store", Decimal("30.00"), 1),
    ]


def test_a_later_refresh_recounts_only_the_days_that_changed(october):
    refresh(shanghai(2026, 11, 1, 3))
    purchase = october["member"].purchases.get(total=Decimal("30.00"))
    with time_machine.travel(shanghai(2026, 11, 5, 12), tick=False):
        purchase_return(purchase=purchase, store=october["b"], receipt_id="RET-1", amount=Decimal("10.00"))
    bought(october["member"], october["a"], "70.00", shanghai(2026, 11, 5, 13))

    assert changed_days(since=shanghai(2026, 11, 1, 3), as_of=shanghai(2026, 11, 6)) == [
        date(2026, 10, 3),
        date(2026, 11, 5),
    ]
    refresh(shanghai(2026, 11, 6, 3))

    assert DailySales.objects.get(day=date(2026, 10, 3)).revenue == Decimal("20.00")
    assert DailySales.objects.get(day=date(2026, 11, 5)).revenue == Decimal("70.00")
    assert DailySales.objects.count() == 4


def test_refreshing_twice_changes_nothing(october):
    refresh(shanghai(2026, 11, 1, 3))
    before = rows()

    refresh(shanghai(2026, 11, 1, 4))

    assert rows() == before


def test_the_metrics_read_the_aggregate_once_it_holds_the_period_and_agree(october):
    raw = metrics.sales(OCTOBER), metrics.revenue_by_day(OCTOBER)
    filtered_raw = metrics.sales(OCTOBER, Filters(store_id=october["a"].pk, channel=Channel.STORE))
    refresh(shanghai(2026, 11, 1, 3))
    # Tamper with one aggregate row: the figure moving with it shows the metric reads the aggregate.
    DailySales.objects.filter(day=date(2026, 10, 2), channel="online").update(revenue=Decimal("51.00"))

    aggregated = metrics.sales(OCTOBER)

    assert (aggregated.revenue, aggregated.purchases, aggregated.buyers) == (Decimal("181.00"), 3, 1)
    assert raw[0].revenue == Decimal("180.00")
    DailySales.objects.filter(day=date(2026, 10, 2), channel="online").update(revenue=Decimal("50.00"))
    assert metrics.sales(OCTOBER) == raw[0]
    assert metrics.revenue_by_day(OCTOBER) == raw[1]
    assert metrics.sales(OCTOBER, Filters(store_id=october["a"].pk, channel=Channel.STORE)) == filtered_raw


def test_a_period_not_yet_refreshed_is_read_from_the_purchases(october):
    refresh(shanghai(2026, 10, 3, 3))  # before 3 October's purchase

    assert metrics.sales(OCTOBER).revenue == Decimal("180.00")
