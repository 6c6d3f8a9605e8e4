"""The customer_value job: one fit per run, then each buyer's historic and predicted value."""

from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from analytics import clv
from analytics.models import CustomerValueFit, MemberValue
from analytics.selectors import member_summaries
from analytics.services import HORIZON_WEEKS
from jobs.services import job_run_now
from members.services import purchase_return
from tests.factories import MemberFactory, buy

pytestmark = pytest.mark.django_db

VALUES = (
    "frequency",
    "recency_days",
    "age_days",
    "historic_12m",
    "historic_lifetime",
    "expected_purchases_12m",
    "p_alive",
    "expected_spend",
    "predicted_12m",
)


@pytest.fixture
def today():
    """Noon today in the business time zone, so purchase days are whole days before it."""
    return timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)


def buy_every(member, store, *, first_days_ago, last_days_ago, every, today, total="50.00"):
    for days_ago in range(first_days_ago, last_days_ago - 1, -every):
        buy(member, store, total, occurred_at=today - timedelta(days=days_ago))


@pytest.fixture
def base(store, today):
    """A small base: a frequent recent buyer, a frequent buyer who stopped a year ago, one-time
    buyers and a member who never bought."""
    recent, gone = MemberFactory(), MemberFactory()
    buy_every(recent, store, first_days_ago=400, last_days_ago=5, every=15, today=today)
    buy_every(gone, store, first_days_ago=800, last_days_ago=400, every=15, today=today)
    once = [MemberFactory() for _ in range(3)]
    for days_ago, member in zip((30, 200, 500), once, strict=True):
        buy(member, store, "80.00", occurred_at=today - timedelta(days=days_ago))
    return {"recent": recent, "gone": gone, "once": once, "never": MemberFactory()}


def value_of(member) -> MemberValue:
    return MemberValue.objects.get(member=member)


def test_a_frequent_recent_buyer_is_more_likely_alive_than_a_frequent_buyer_of_long_ago(base, today):
    job_run_now(name="customer_value", as_of=today)

    recent, gone = value_of(base["recent"]), value_of(base["gone"])
    assert (recent.frequency, gone.frequency) == (26, 26)
    assert recent.p_alive > 0.5 > gone.p_alive
    assert recent.expected_purchases_12m > gone.expected_purchases_12m
    assert recent.predicted_12m > gone.predicted_12m


def test_the_run_stores_one_fit_with_its_date_and_quality_and_values_every_buyer(base, today):
    summary = job_run_now(name="customer_value", as_of=today)

    fit = CustomerValueFit.objects.get()
    assert summary.run.params == {"fit": fit.pk}
    assert (fit.as_of, fit.customers, fit.repeat_buyers) == (today, 5, 2)
    assert fit.log_likelihood < 0
    assert fit.p is not None and fit.q > 1
    assert summary.run.examined == 5
    assert set(MemberValue.objects.values_list("fit", flat=True)) == {fit.pk}
    assert not MemberValue.objects.filter(member=base["never"]).exists()


def test_frequency_recency_and_age_count_purchase_days(store, member, today):
    buy(member, store, "10.00", occurred_at=today - timedelta(days=30))
    buy(member, store, "15.00", occurred_at=today - timedelta(days=30, hours=1))
    buy(member, store, "20.00", occurred_at=today - timedelta(days=10))

    job_run_now(name="customer_value", as_of=today)

    value = value_of(member)
    # Two receipts on one day are one purchase; the repeat purchase is the second day.
    assert (value.frequency, value.recency_days, value.age_days) == (1, 20, 30)
    assert (value.historic_12m, value.historic_lifetime) == (Decimal("45.00"), Decimal("45.00"))


def test_historic_spend_splits_at_twelve_months_and_is_net_of_returns(store, member, today):
    buy(member, store, "300.00", occurred_at=today - timedelta(days=400))
    kept = buy(member, store, "100.00", occurred_at=today - timedelta(days=100))
    purchase_return(purchase=kept, store=store, receipt_id="RET-1", amount=Decimal("40.00"))

    job_run_now(name="customer_value", as_of=timezone.now())

    value = value_of(member)
    assert (value.historic_12m, value.historic_lifetime) == (Decimal("60.00"), Decimal("360.00"))


def test_as_of_excludes_later_purchases_and_later_returns(store, member, today):
    first = buy(member, store, "100.00", occurred_at=today - timedelta(days=100))
    buy(member, store, "70.00", occurred_at=today - timedelta(days=10))
    purchase_return(purchase=first, store=store, receipt_id="RET-1", amount=Decimal("25.00"))
    late_buyer = MemberFactory()
    buy(late_buyer, store, "90.00", occurred_at=today - timedelta(days=5))

    job_run_now(name="customer_value", as_of=today - timedelta(days=50))

    value = value_of(member)
    assert (value.frequency, value.age_days, value.historic_lifetime) == (0, 50, Decimal("100.00"))
    assert not MemberValue.objects.filter(member=late_buyer).exists()


def test_a_rerun_as_of_the_same_moment_writes_the_same_values(base, today):
    job_run_now(name="customer_value", as_of=today)
    first = {row["member"]: row for row in MemberValue.objects.values("member", *VALUES)}

    job_run_now(name="customer_value", as_of=today)

    again = {row["member"]: row for row in MemberValue.objects.values("member", *VALUES)}
    assert again == first
    assert MemberValue.objects.count() == 5
    assert set(MemberValue.objects.values_list("fit", flat=True)) == {CustomerValueFit.objects.first().pk}


def test_a_rerun_as_of_an_earlier_moment_drops_members_who_had_not_bought_yet(base, today):
    job_run_now(name="customer_value", as_of=today)

    job_run_now(name="customer_value", as_of=today - timedelta(days=100))

    assert not MemberValue.objects.filter(member=base["once"][0]).exists()
    assert MemberValue.objects.count() == 4
    assert set(MemberValue.objects.values_list("as_of", flat=True)) == {today - timedelta(days=100)}


def test_a_base_without_purchases_stores_no_fit_and_no_values(member, today):
    summary = job_run_now(name="customer_value", as_of=today)

    assert summary.run.status == "done"
    assert summary.run.params == {"fit": None}
    assert (CustomerValueFit.objects.count(), MemberValue.objects.count()) == (0, 0)


def test_without_repeat_buyers_expected_spend_is_the_members_own_average(store, today):
    members = [MemberFactory() for _ in range(2)]
    for member, total in zip(members, ("40.00", "90.00"), strict=True):
        buy(member, store, total, occurred_at=today - timedelta(days=20))

    job_run_now(name="customer_value", as_of=today)

    assert CustomerValueFit.objects.get().p is None
    assert [value_of(m).expected_spend for m in members] == [Decimal("40.00"), Decimal("90.00")]


def test_run_job_command_fits_on_the_history_up_to_the_date_given(base, today):
    out = StringIO()
    as_of = (today - timedelta(days=100)).date()

    call_command("run_job", "customer_value", "--as-of", as_of.isoformat(), stdout=out)

    moment = timezone.make_aware(datetime.combine(as_of, datetime.min.time()))
    assert CustomerValueFit.objects.get().as_of == moment
    assert out.getvalue().startswith("customer_value: examined 4, changed 4")


def test_the_database_refuses_a_probability_outside_zero_and_one(base, today):
    job_run_now(name="customer_value", as_of=today)

    with pytest.raises(IntegrityError), transaction.atomic():
        MemberValue.objects.filter(member=base["recent"]).update(p_alive=1.5)


def test_the_fit_reads_the_same_customers_as_the_members_own_summaries(base, today):
    job_run_now(name="customer_value", as_of=today)

    # The fit's grouped rows, evaluated at its parameters, give its log-likelihood: so do the
    # members' own summaries when they describe the same customers.
    fit = CustomerValueFit.objects.get()
    every = member_summaries(as_of=today, members=Q())
    visits = clv.bgnbd_log_likelihood(
        fit.r, fit.alpha, fit.a, fit.b, every.x, every.recency_days / 7, every.age_days / 7
    )
    repeat = every.x > 0
    spend = clv.gamma_gamma_log_likelihood(fit.p, fit.q, fit.gamma, every.x[repeat], every.mean_repeat_spend[repeat])
    assert visits.sum() == pytest.approx(fit.log_likelihood, abs=1e-6)
    assert spend.sum() == pytest.approx(fit.spend_log_likelihood, abs=1e-6)


def test_a_base_of_one_repeat_buyer_is_valued_by_their_own_rhythm_where_the_model_overflows(store, member, today):
    # Fitted on one customer, the parameters are extreme and the model's expected purchases NaN.
    buy(member, store, "30.00", occurred_at=today - timedelta(days=60))
    buy(member, store, "40.00", occurred_at=today - timedelta(days=20))

    summary = job_run_now(name="customer_value", as_of=today)

    value = value_of(member)
    assert summary.run.status == "done"
    assert 0 <= value.p_alive <= 1
    # Two purchase days in the member's age in weeks, over the 12-month horizon, times P(alive).
    assert value.expected_purchases_12m == pytest.approx(2 / (value.age_days / 7) * HORIZON_WEEKS * value.p_alive)
