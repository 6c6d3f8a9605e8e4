"""Customer lifetime value: the BG/NBD and Gamma-Gamma models, fitted by maximum likelihood.

Pure functions over numpy arrays, no database. Each customer is summarised by
- x: repeat purchases (purchase days after the first),
- t_x: time from the first to the last purchase (recency),
- T: time from the first purchase to the end of the observation (age),
- m: mean spend of the repeat purchases (Gamma-Gamma only, repeat buyers only),
all times in one unit (the job uses weeks). Identical rows are passed once with a weight (how many
customers share them), so a million members fit in seconds.

References: Fader, Hardie and Lee (2005), "Counting your customers the easy way: an alternative to
the Pareto/NBD model", Marketing Science 24(2); Fader, Hardie and Lee (2005), "RFM and CLV: using
iso-value curves for customer base analysis", Journal of Marketing Research 42(4), and Fader and
Hardie's note "The Gamma-Gamma model of monetary value" (2013).

Written here rather than taken from a library: `lifetimes` is unmaintained and fails with current
numpy/scipy, `btyd` is a beta of the same code, and `pymc-marketing` brings PyMC and PyTensor (a
compiler toolchain) for what is a few lines of likelihood and one call to `scipy.optimize`.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1

# Parameters are optimised on their logarithms, within these bounds, so they stay positive and a
# degenerate sample (a handful of customers) stops at a finite value instead of running away.
LOG_BOUND = (np.log(1e-6), np.log(1e6))
# The Gamma-Gamma mean spend p * gamma / (q - 1) exists only for q > 1.
Q_MIN = 1.0 + 1e-6
A_STEP = 1e-7


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    customers: int = 0
    converged: bool = True


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters: spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    customers: int = 0
    converged: bool = True


def _arrays(*columns, weights=None):
    arrays = [np.asarray(c, dtype=float) for c in columns]
    w = np.ones_like(arrays[0]) if weights is None else np.asarray(weights, dtype=float)
    return (*arrays, w)


def bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T):
    """Each customer's log-likelihood (Fader, Hardie and Lee 2005, equation 6), in log space."""
    x, t_x, T = np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # The second term exists only for repeat buyers (the customer may have dropped out after the
    # last purchase); b + x - 1 > 0 there.
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_fit(x, t_x, T, *, weights=None, start=(1.0, 1.0, 1.0, 1.0)) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for customers (x, t_x, T), each row counted `weights` times."""
    x, t_x, T, w = _arrays(x, t_x, T, weights=weights)
    total = w.sum()

    def negative(log_params):
        r, alpha, a, b = np.exp(log_params)
        return -np.dot(w, bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T)) / total

    result = minimize(
        negative, np.log(start), method="L-BFGS-B", bounds=[LOG_BOUND] * 4, options={"maxiter": 500, "ftol": 1e-12}
    )
    r, alpha, a, b = np.exp(result.x)
    return BgNbd(
        float(r), float(alpha), float(a), float(b), float(-result.fun * total), round(total), bool(result.success)
    )


def _log_alive_odds(params: BgNbd, x, t_x, T):
    """log of P(dead) / P(alive) for repeat buyers; -inf (alive for sure) for the others."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    odds = np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, odds, -np.inf)


def probability_alive(params: BgNbd, x, t_x, T):
    """P(still a customer at T | x, t_x, T) (Fader, Hardie and Lee 2005, equation 13)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return expit(-_log_alive_odds(params, x, t_x, T))


def expected_purchases(params: BgNbd, t, x, t_x, T):
    """Expected purchases in the next `t` time units (Fader, Hardie and Lee 2005, equation 10)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    # a = 1 is a removable singularity (0 / 0), reached when a sample without repeat buyers leaves
    # a at its starting value: step beside it (the error is of the order of the step).
    a = a if abs(a - 1.0) > A_STEP else 1.0 + A_STEP
    z = t / (alpha + T + t)
    # The paper's ((alpha + T) / (alpha + T + t)) ** (r + x) * 2F1(r + x, b + x; a + b + x - 1; z)
    # overflows for frequent buyers (2F1 passes 1e308 near x = 1,600 at the CDNOW parameters).
    # Euler's transformation 2F1(a, b; c; z) = (1 - z) ** (c - a - b) * 2F1(c - a, c - b; c; z)
    # gives the same product as (1 - z) ** (a - 1) * 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z),
    # whose parameters stay small as x grows, but which overflows in turn when a is large: each
    # row takes the form that stays finite.
    with np.errstate(over="ignore", invalid="ignore"):
        direct = np.exp((r + x) * np.log1p(-z)) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        euler = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    bracket = 1.0 - np.where(np.isfinite(direct), direct, euler)
    numerator = (a + b + x - 1) / (a - 1) * bracket
    # Divided by 1 + odds of being dead, written as a product with P(alive) so it cannot overflow.
    return np.maximum(numerator * expit(-_log_alive_odds(params, x, t_x, T)), 0.0)


def gamma_gamma_log_likelihood(p, q, gamma, x, m):
    """Each repeat buyer's log-likelihood of mean spend m over x purchases (up to a constant in m)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + gamma)
    )


def gamma_gamma_fit(x, m, *, weights=None, start=(1.0, 2.0, 1.0)) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters on repeat buyers (x > 0, m > 0)."""
    x, m, w = _arrays(x, m, weights=weights)
    keep = (x > 0) & (m > 0)
    x, m, w = x[keep], m[keep], w[keep]
    total = w.sum()

    def negative(log_params):
        p, q, gamma = np.exp(log_params)
        return -np.dot(w, gamma_gamma_log_likelihood(p, q, gamma, x, m)) / total

    bounds = [LOG_BOUND, (np.log(Q_MIN), LOG_BOUND[1]), LOG_BOUND]
    result = minimize(
        negative, np.log(start), method="L-BFGS-B", bounds=bounds, options={"maxiter": 500, "ftol": 1e-12}
    )
    p, q, gamma = np.exp(result.x)
    return GammaGamma(float(p), float(q), float(gamma), float(-result.fun * total), round(total), bool(result.success))


def expected_spend(params: GammaGamma, x, m):
    """Expected spend per purchase given x repeat purchases of mean m (the population mean when x = 0)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    p, q, gamma = params.p, params.q, params.gamma
    return p * (gamma + x * m) / (p * x + q - 1)


def predicted_value(bgnbd: BgNbd, spend: GammaGamma, t, x, t_x, T, m):
    """Expected spend in the next `t` time units: expected purchases x expected spend per purchase,
    undiscounted and margin-free (the horizon is a year at most)."""
    return expected_purchases(bgnbd, t, x, t_x, T) * expected_spend(spend, x, m)
