import math
import statistics

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scoring.surveys.metrics import SMALL_SAMPLE, nps, nps_interval, nps_standard_error
from scoring.surveys.models import category_for_score


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


def test_interval_is_nps_plus_minus_1_96_standard_errors():
    interval = nps_interval(50, 30, 20)
    assert interval.nps == 30.0
    assert interval.low == pytest.approx(30 - 1.959963984540054 * 7.8102497, abs=1e-5)
    assert interval.high == pytest.approx(30 + 1.959963984540054 * 7.8102497, abs=1e-5)
    assert interval.low == pytest.approx(14.6921, abs=1e-4)
    assert not interval.is_small_sample


def test_interval_is_clipped_to_the_possible_range():
    interval = nps_interval(9, 0, 1)  # NPS 80, SE = 100·sqrt((1 − 0.64)/10) = 18.97 → high 117 unclipped
    assert interval.high == 100.0
    assert interval.low == pytest.approx(80 - 1.959963984540054 * 100 * math.sqrt(0.036))


def test_all_promoters_have_zero_standard_error():
    assert nps_standard_error(40, 0, 0) == 0.0
    interval = nps_interval(40, 0, 0)
    assert (interval.low, interval.high) == (100.0, 100.0)


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
