"""Customer lifetime value: fit the models once per run, then value a chunk of members at a time."""

import time
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from core.chunks import ChunkResult
from jobs.models import JobRun

from .models import CustomerValueFit, MemberValue

# numpy and scipy (about 70 MB and half a second) are imported inside the functions: the job
# registry imports this module in every process, web workers included (the admin lists the jobs),
# and only the processes that run the job need them.

# "The next 12 months" in the models' unit (weeks).
HORIZON_WEEKS = 365.25 / 7


@transaction.atomic
def customer_value_fit(*, as_of: datetime) -> CustomerValueFit | None:
    """Fit BG/NBD on every member who bought by `as_of` and Gamma-Gamma on the repeat buyers, and
    store the parameters. None when nobody has bought yet (there is nothing to fit)."""
    from . import clv
    from .selectors import fit_sample

    started = time.monotonic()
    sample = fit_sample(as_of=as_of)
    if not len(sample.x):
        return None
    bgnbd = clv.bgnbd_fit(sample.x, sample.t_x, sample.T, weights=sample.count)
    spend = (
        clv.gamma_gamma_fit(sample.spend_x, sample.spend_m, weights=sample.spend_count) if len(sample.spend_x) else None
    )
    return CustomerValueFit.objects.create(
        as_of=as_of,
        r=bgnbd.r,
        alpha=bgnbd.alpha,
        a=bgnbd.a,
        b=bgnbd.b,
        log_likelihood=bgnbd.log_likelihood,
        customers=bgnbd.customers,
        p=spend and spend.p,
        q=spend and spend.q,
        gamma=spend and spend.gamma,
        spend_log_likelihood=spend and spend.log_likelihood,
        repeat_buyers=spend.customers if spend else 0,
        converged=bgnbd.converged and (spend is None or spend.converged),
        seconds=time.monotonic() - started,
    )


def _where_the_model_cannot_say(alive, purchases, x, T):
    """A fit on a handful of customers can land on extreme parameters where the model's formulas
    overflow (a base of one repeat buyer gives NaN expected purchases). Rather than failing the
    chunk, such a member is valued by their own rhythm: purchases so far per week of age over the
    horizon, times P(alive), taken as 1 where it cannot be computed either."""
    import numpy as np

    alive = np.where(np.isfinite(alive), alive, 1.0)
    own_rate = (x + 1) / np.maximum(T, 1.0) * HORIZON_WEEKS * alive
    return alive, np.where(np.isfinite(purchases), purchases, own_rate)


def _money(values) -> list[Decimal]:
    return [Decimal(f"{max(value, 0.0):.2f}") for value in values]


def _expected_spend(fit: CustomerValueFit, summaries):
    from . import clv

    if fit.p is None:
        # Nobody bought twice, so spend per purchase could not be fitted: the member's own average.
        return summaries.lifetime_array() / (summaries.x + 1)
    return clv.expected_spend(clv.GammaGamma(fit.p, fit.q, fit.gamma), summaries.x, summaries.mean_repeat_spend)


@transaction.atomic
def member_values_compute(
    *, as_of: datetime, run: JobRun, member_id_from: int, member_id_to: int, member_ids: list[int] | None = None
) -> ChunkResult:
    """Write the value of every member of the chunk who bought by `as_of` (one upsert) under the
    run's fit, and remove the value of those who had not (a rerun as of an earlier moment)."""
    from . import clv
    from .selectors import WEEK_DAYS, member_range, member_summaries

    members = member_range(member_id_from=member_id_from, member_id_to=member_id_to, member_ids=member_ids)
    fit_id = run.params.get("fit")
    summaries = member_summaries(as_of=as_of, members=members) if fit_id else None
    if not summaries:
        removed, _ = MemberValue.objects.filter(members).delete()
        return ChunkResult(0, removed)
    fit = CustomerValueFit.objects.get(pk=fit_id)
    bgnbd = clv.BgNbd(fit.r, fit.alpha, fit.a, fit.b)
    t_x, T = summaries.recency_days / WEEK_DAYS, summaries.age_days / WEEK_DAYS
    alive = clv.probability_alive(bgnbd, summaries.x, t_x, T)
    purchases = clv.expected_purchases(bgnbd, HORIZON_WEEKS, summaries.x, t_x, T)
    alive, purchases = _where_the_model_cannot_say(alive, purchases, summaries.x, T)
    spend = _expected_spend(fit, summaries)
    rows = [
        MemberValue(
            member_id=member_id,
            as_of=as_of,
            fit=fit,
            frequency=int(x),
            recency_days=int(recency),
            age_days=int(age),
            historic_12m=recent,
            historic_lifetime=lifetime,
            expected_purchases_12m=float(expected),
            p_alive=float(p_alive),
            expected_spend=per_purchase,
            predicted_12m=predicted,
        )
        for member_id, x, recency, age, recent, lifetime, expected, p_alive, per_purchase, predicted in zip(
            summaries.member_ids,
            summaries.x,
            summaries.recency_days,
            summaries.age_days,
            summaries.recent,
            summaries.lifetime,
            purchases,
            alive,
            _money(spend),
            _money(purchases * spend),
            strict=True,
        )
    ]
    MemberValue.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["member"],
        update_fields=[f.name for f in MemberValue._meta.concrete_fields if not f.primary_key],
    )
    # Rows this upsert did not touch belong to members without a purchase by as_of.
    removed, _ = MemberValue.objects.filter(members).exclude(fit=fit).delete()
    return ChunkResult(len(rows), len(rows) + removed)
