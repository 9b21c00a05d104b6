import math
import statistics

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.stats import multinomial

from scoring.surveys.metrics import SMALL_SAMPLE, nps, nps_interval, nps_standard_error
from scoring.surveys.models import category_for_score
from tests.analytics.helpers import expected_nps_interval


def independent_se(promoters, passives, detractors):
    """SE from the variance of per-response values +1 / 0 / −1 (the textbook derivation), in points."""
    values = [1] * promoters + [0] * passives + [-1] * detractors
    return 100 * math.sqrt(statistics.pvariance(values) / len(values))


def test_nps_exact_values():
    assert nps(50, 30, 20) == 30.0
    assert nps(0, 0, 10) == -100.0
    assert nps(10, 0, 0) == 100.0
    assert nps(1, 1, 1) == 0.0
    assert nps(2, 1, 0) == pytest.approx(200 / 3)


def test_nps_of_nothing_is_none():
    assert nps(0, 0, 0) is None
    interval = nps_interval(0, 0, 0)
    assert interval.nps is None and interval.low is None and interval.n == 0 and interval.is_small_sample


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        nps(-1, 0, 0)


def test_standard_error_matches_the_formula_by_hand():
    # p = 0.5, d = 0.2, n = 100: sqrt((0.7 − 0.09) / 100) = sqrt(0.0061) = 0.078102…
    assert nps_standard_error(50, 30, 20) == pytest.approx(100 * math.sqrt(0.0061))
    assert nps_standard_error(50, 30, 20) == pytest.approx(7.8102497, abs=1e-6)


def test_interval_is_the_adjusted_wald_worked_by_hand():
    # 50 promoters, 30 passives, 20 detractors, plus 3 pseudo-responses (3/4 promoter, 3/4 detractor):
    # n = 103, p = 50.75/103, d = 20.75/103, centre = 3000/103 = 29.1262 points,
    # SE = 100·sqrt((71.5/103 − (30/103)²)/103) = 7.69151.
    interval = nps_interval(50, 30, 20)
    assert interval.nps == 30.0  # the score shown is the one answered, not the adjusted centre
    assert interval.standard_error == pytest.approx(100 * math.sqrt((71.5 / 103 - (30 / 103) ** 2) / 103))
    assert interval.standard_error == pytest.approx(7.6915104, abs=1e-6)
    assert interval.low == pytest.approx(3000 / 103 - 1.959963984540054 * 7.6915104, abs=1e-5)
    assert (interval.low, interval.high) == (
        pytest.approx(14.05113, abs=1e-5),
        pytest.approx(44.20130, abs=1e-5),
    )
    assert not interval.is_small_sample


def test_interval_is_clipped_to_the_possible_range():
    interval = nps_interval(9, 0, 1)  # centre 8/13·100 = 61.54, SE 19.73: high 100.2 unclipped
    assert interval.high == 100.0
    assert interval.low == pytest.approx(800 / 13 - 1.959963984540054 * 19.7273173, abs=1e-5)


def test_unanimous_answers_no_longer_give_a_zero_width_interval():
    # Plain Wald gave "100 to 100" for three promoters (zero variance): as if three answers proved it.
    assert nps_standard_error(3, 0, 0) == 0.0
    three = nps_interval(3, 0, 0)  # 3.75 promoters and 0.75 detractor of 6: centre 50, SE 100·sqrt(0.5/6)
    assert (three.low, three.high) == (
        pytest.approx(50 - 1.959963984540054 * 100 * math.sqrt(0.5 / 6)),
        100.0,
    )
    assert three.low == pytest.approx(-6.57929, abs=1e-5)
    assert nps_interval(0, 0, 3).high == pytest.approx(6.57929, abs=1e-5)  # mirror image
    # One answer: the adjusted interval alone would stop short of the NPS itself (98.5); it is stretched to hold it.
    one = nps_interval(1, 0, 0)
    assert (one.low, one.high) == (pytest.approx(25 - 1.959963984540054 * 37.5), 100.0)
    forty = nps_interval(40, 0, 0)
    assert (forty.low, forty.high) == (pytest.approx(83.58170, abs=1e-5), 100.0)


Z = 1.959963984540054


@given(st.integers(0, 400), st.integers(0, 400), st.integers(0, 400))
def test_interval_agrees_with_an_independent_pseudo_count_computation(promoters, passives, detractors):
    assume(promoters + passives + detractors > 0)
    interval = nps_interval(promoters, passives, detractors)
    low, high = expected_nps_interval([10] * promoters + [8] * passives + [0] * detractors)
    assert (interval.low, interval.high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    assert interval.low <= interval.high


def exact_coverage(interval_of, n, promoter_share, detractor_share):
    """Probability, over every possible sample of n answers, that the interval holds the true NPS."""
    true_nps = 100 * (promoter_share - detractor_share)
    shares = [promoter_share, 1 - promoter_share - detractor_share, detractor_share]
    covered = 0.0
    for promoters in range(n + 1):
        for detractors in range(n + 1 - promoters):
            passives = n - promoters - detractors
            low, high = interval_of(promoters, passives, detractors)
            if low - 1e-9 <= true_nps <= high + 1e-9:
                covered += multinomial.pmf([promoters, passives, detractors], n, shares)
    return covered


def plain_wald(promoters, passives, detractors):
    n = promoters + passives + detractors
    score = 100 * (promoters - detractors) / n
    half = Z * independent_se(promoters, passives, detractors)
    return max(-100.0, score - half), min(100.0, score + half)


@pytest.mark.parametrize(
    ("n", "promoter_share", "detractor_share", "wald", "adjusted"),
    [
        (10, 0.9, 0.05, 0.649, 0.959),  # a good agent, ten answers: Wald misses a third of the time
        (10, 0.7, 0.1, 0.877, 0.951),
        (20, 0.3, 0.4, 0.927, 0.943),
        (30, 0.5, 0.2, 0.935, 0.946),
    ],
)
def test_adjusted_interval_covers_the_true_nps_about_95_percent_where_wald_does_not(
    n, promoter_share, detractor_share, wald, adjusted
):
    product = lambda *counts: (nps_interval(*counts).low, nps_interval(*counts).high)  # noqa: E731
    assert exact_coverage(product, n, promoter_share, detractor_share) == pytest.approx(adjusted, abs=5e-4)
    assert exact_coverage(plain_wald, n, promoter_share, detractor_share) == pytest.approx(wald, abs=5e-4)


def test_small_sample_flag_switches_at_30():
    assert nps_interval(10, 10, 9).is_small_sample is True
    assert nps_interval(10, 10, 10).is_small_sample is False
    assert SMALL_SAMPLE == 30


@given(st.integers(0, 400), st.integers(0, 400), st.integers(0, 400))
def test_nps_and_se_agree_with_an_independent_computation(promoters, passives, detractors):
    n = promoters + passives + detractors
    assume(n > 0)
    scores = [10] * promoters + [7] * passives + [3] * detractors
    buckets = [category_for_score(s) for s in scores]
    expected_nps = 100 * (buckets.count("promoter") - buckets.count("detractor")) / n
    assert nps(promoters, passives, detractors) == pytest.approx(expected_nps)
    assert nps_standard_error(promoters, passives, detractors) == pytest.approx(
        independent_se(promoters, passives, detractors), abs=1e-9
    )


@pytest.mark.parametrize(
    ("score", "category"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")],
)
def test_category_boundaries(score, category):
    assert category_for_score(score) == category


@pytest.mark.parametrize("score", [-1, 11])
def test_category_refuses_scores_outside_0_to_10(score):
    with pytest.raises(ValueError):
        category_for_score(score)
