"""The CLV models against the published results on the CDNOW sample (tests/analytics/data/README.md)."""

from pathlib import Path

import numpy as np
import pytest

from analytics import clv

CDNOW = Path(__file__).parent / "data" / "cdnow_customers_summary_with_transactions.csv"


@pytest.fixture(scope="module")
def cdnow():
    return np.genfromtxt(CDNOW, delimiter=",", names=True)


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return clv.bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"])


def test_the_cdnow_sample_has_the_published_customers(cdnow):
    assert len(cdnow) == 2357
    assert int((cdnow["x"] > 0).sum()) == 946


def test_bgnbd_fit_matches_the_published_parameters_within_one_percent(bgnbd):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(bgnbd, name) == pytest.approx(value, rel=0.01), name


def test_bgnbd_fit_reaches_the_published_log_likelihood(bgnbd):
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert bgnbd.customers == 2357


def test_gamma_gamma_fit_on_repeat_buyers_matches_the_published_parameters_within_one_percent(cdnow):
    repeat = cdnow["x"] > 0
    fit = clv.gamma_gamma_fit(cdnow["x"][repeat], cdnow["zbar"][repeat])
    assert fit.customers == 946
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name


def test_grouped_rows_with_weights_fit_as_the_individual_rows(cdnow, bgnbd):
    rows, counts = np.unique(np.stack([cdnow["x"], cdnow["t_x"], cdnow["T"]], axis=1), axis=0, return_counts=True)
    grouped = clv.bgnbd_fit(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)
    assert len(rows) < len(cdnow)
    assert grouped.log_likelihood == pytest.approx(bgnbd.log_likelihood, abs=1e-4)
    # The same optimum, up to the optimiser's tolerance.
    assert (grouped.r, grouped.alpha, grouped.a, grouped.b) == pytest.approx(
        (bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b), rel=1e-3
    )


def test_expected_purchases_match_the_papers_worked_example():
    # The paper's customer: 2 repeat purchases, the last at 30.43 weeks, observed for 38.86 weeks,
    # is expected to buy 1.226 times in the next 39 weeks.
    published = clv.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert float(clv.expected_purchases(published, 39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=0.001)


def test_a_recent_buyer_is_more_likely_alive_than_one_who_stopped_long_ago(bgnbd):
    recent, long_ago = clv.probability_alive(bgnbd, [5, 5], [38.0, 5.0], [38.86, 38.86])
    assert 0 < long_ago < recent <= 1


def test_a_customer_without_repeat_purchases_is_alive_for_the_model(bgnbd):
    assert float(clv.probability_alive(bgnbd, 0, 0, 38.86)) == 1.0


def test_very_frequent_buyers_stay_finite(bgnbd):
    x = [500, 500, 5000, 5000]
    alive = clv.probability_alive(bgnbd, x, [38.8, 1.0, 38.8, 1.0], [38.86] * 4)
    expected = clv.expected_purchases(bgnbd, 52, x, [38.8, 1.0, 38.8, 1.0], [38.86] * 4)
    assert np.all(np.isfinite(alive)) and np.all(np.isfinite(expected))
    assert alive[1] < 1e-6 < alive[0]
    assert expected[1] < expected[0]


@pytest.mark.parametrize(
    ("x", "reference"),
    # The paper's equation 10 at the published parameters (t = 52.18, t_x = 103, T = 104 weeks),
    # evaluated with mpmath at 50 digits, where the direct 2F1 is past 1e119 and 1e256.
    [(700, 164.44923720122492), (1500, 1.0644137183690733)],
)
def test_expected_purchases_of_frequent_buyers_match_a_high_precision_evaluation(x, reference):
    published = clv.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert float(clv.expected_purchases(published, 52.18, x, 103, 104)) == pytest.approx(reference, rel=1e-9)


def test_expected_spend_shrinks_a_buyers_mean_towards_the_population_mean():
    fit = clv.GammaGamma(p=6.25, q=3.74, gamma=15.44)
    population = float(clv.expected_spend(fit, 0, 0))
    assert population == pytest.approx(6.25 * 15.44 / 2.74)
    one_purchase, many = clv.expected_spend(fit, [1, 50], [100.0, 100.0])
    assert population < one_purchase < many < 100.0


def test_expected_purchases_are_continuous_through_a_equal_to_one():
    at_one = clv.BgNbd(r=0.5, alpha=5.0, a=1.0, b=2.0)
    beside = clv.BgNbd(r=0.5, alpha=5.0, a=1.0001, b=2.0)
    values = clv.expected_purchases(at_one, 52, [0, 3], [0, 20.0], [30.0, 30.0])
    assert values == pytest.approx(clv.expected_purchases(beside, 52, [0, 3], [0, 20.0], [30.0, 30.0]), rel=1e-3)


def test_expected_purchases_stay_finite_when_the_dropout_parameters_are_large():
    # A small base can leave a and b in the hundreds and thousands: the transformed 2F1 that
    # serves frequent buyers overflows there, the paper's form does not.
    fitted = clv.BgNbd(r=0.195, alpha=1.015, a=584.15, b=28694.5)
    x = np.array([0, 1, 26, 300, 5000])
    expected = clv.expected_purchases(fitted, 52.18, x, np.minimum(x, 55.0), np.full(5, 57.0))
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
