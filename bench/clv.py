"""Fit the CLV models on 1,000,000 synthetic customers drawn from the models themselves.

The customers follow the BG/NBD story with known parameters (purchase rate ~ Gamma(r, alpha),
dropout after each repeat purchase with probability ~ Beta(a, b), first purchase 1 to 104 weeks
before the end, at any time of its day) and the Gamma-Gamma story for spend; times are then cut
to whole days between purchase dates, as the customer_value job sees them. The script groups
identical (x, t_x, T) rows as the job's SQL does, fits both models, values every customer, and
prints the time of each step, the process's peak memory and the recovered parameters beside the
true ones. No database.

    .venv/bin/python -m bench.clv                     # 1,000,000 customers
    .venv/bin/python -m bench.clv --customers 200000 --seed 7
"""

import argparse
import resource
import sys
import time

import numpy as np

from analytics import clv

TRUE_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # CDNOW's, per week
TRUE_SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}
HORIZON_WEEKS = 365.25 / 7


def simulate(n: int, rng: np.random.Generator):
    """(x, t_x, T) in whole days and the mean repeat spend of n customers."""
    r, alpha, a, b = TRUE_BGNBD.values()
    # The first purchase falls at `start` (a fraction of day 0); the observation ends at the start
    # of day T_days, as the job's as-of date does.
    T_days = rng.integers(7, 7 * 104, size=n, endpoint=True)
    start = rng.random(n)
    T = (T_days - start) / 7.0
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    dropout = rng.beta(a, b, size=n)
    # Repeat purchases made while alive: the customer leaves after the K-th one.
    K = rng.geometric(dropout)
    events = rng.poisson(rate * T)  # repeat purchases a never-leaving customer would make by T
    x = np.minimum(events, K)
    # Given n events in [0, T], their times are n uniform order statistics: the x-th of n is
    # T * Beta(x, n - x + 1).
    t_x = np.zeros(n)
    bought = x > 0
    t_x[bought] = T[bought] * rng.beta(x[bought], events[bought] - x[bought] + 1)
    # The job counts whole days between purchase dates.
    t_x_days = np.where(bought, np.floor(start + t_x * 7.0), 0.0)
    p, q, gamma = TRUE_SPEND.values()
    nu = rng.gamma(q, 1.0 / gamma, size=n)
    mean_spend = np.zeros(n)
    mean_spend[bought] = rng.gamma(p * x[bought], 1.0 / nu[bought]) / x[bought]
    return x.astype(float), t_x_days, T_days.astype(float), np.round(mean_spend, 2)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2005)
    args = parser.parse_args()
    steps: dict[str, float] = {}
    started = time.perf_counter()

    def step(name, since):
        now = time.perf_counter()
        steps[name] = now - since
        return now

    rng = np.random.default_rng(args.seed)
    x, t_x_days, T_days, mean_spend = simulate(args.customers, rng)
    mark = step("simulate", started)
    fit_started = mark
    rows, counts = np.unique(np.stack([x, t_x_days, T_days], axis=1), axis=0, return_counts=True)
    mark = step("group (x, t_x, T)", mark)
    bgnbd = clv.bgnbd_fit(rows[:, 0], rows[:, 1] / 7, rows[:, 2] / 7, weights=counts)
    mark = step("fit BG/NBD", mark)
    repeat = (x > 0) & (mean_spend > 0)
    spend_rows, spend_counts = np.unique(np.stack([x[repeat], mean_spend[repeat]], axis=1), axis=0, return_counts=True)
    spend = clv.gamma_gamma_fit(spend_rows[:, 0], spend_rows[:, 1], weights=spend_counts)
    mark = step("group and fit Gamma-Gamma", mark)
    fit_seconds = mark - fit_started
    alive = clv.probability_alive(bgnbd, x, t_x_days / 7, T_days / 7)
    value = clv.predicted_value(bgnbd, spend, HORIZON_WEEKS, x, t_x_days / 7, T_days / 7, mean_spend)
    mark = step("value every customer", mark)

    print(f"customers: {args.customers:,}; distinct (x, t_x, T) rows: {len(rows):,}; ", end="")
    print(f"repeat buyers: {int(repeat.sum()):,} in {len(spend_rows):,} distinct (x, mean spend) rows")
    for name, seconds in steps.items():
        print(f"  {name:<28} {seconds:8.2f} s")
    print(f"fit (group + both models): {fit_seconds:.2f} s; total {time.perf_counter() - started:.2f} s")
    print(f"peak memory (max RSS of the process): {peak_mb():.0f} MB")
    print(f"converged: BG/NBD {bgnbd.converged}, Gamma-Gamma {spend.converged}")
    print("parameter      true   fitted   error")
    worst = 0.0
    for name, true in [*TRUE_BGNBD.items(), *TRUE_SPEND.items()]:
        fitted = getattr(bgnbd if name in TRUE_BGNBD else spend, name)
        error = fitted / true - 1
        worst = max(worst, abs(error))
        print(f"  {name:<8} {true:8.3f} {fitted:8.3f} {error:+7.2%}")
    print(f"mean P(alive) {alive.mean():.3f}; mean predicted 12-month value {value.mean():.2f}")
    ok = fit_seconds <= 120 and peak_mb() < 1024 and worst <= 0.05
    print(f"{'PASS' if ok else 'FAIL'}: fit <= 120 s, peak < 1 GB, every parameter within 5% of the truth")
    return 0 if ok else 1


if __name__ == "__main__":  # python -m bench.clv
    sys.exit(main())
