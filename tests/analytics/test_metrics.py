"""Pure analytics statistics against independent computations (scipy, numpy-free plain Python)."""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.stats import f_oneway, multinomial, pearsonr

from scoring.analytics.metrics import (
    GroupSums,
    competition_ranks,
    correlation_from_centered,
    lower_bound,
    nps_difference,
    pooled_moments,
    shrunk_mean,
)
from tests.analytics.helpers import expected_nps_difference

Z = 1.959963984540054

# Unbalanced groups: four agents' QA scores.
GROUPS = [
    [90.0, 85.0, 95.0, 70.0, 88.0],
    [60.0, 75.0, 65.0],
    [99.0, 97.0, 92.0, 94.0, 96.0, 91.0, 98.0],
    [80.0, 82.0],
]


def sums(groups):
    return [GroupSums(len(g), sum(g), sum(x * x for x in g)) for g in groups]


def test_moment_estimate_of_k_matches_scipys_one_way_anova():
    pooled = pooled_moments(sums(GROUPS))
    total = sum(len(g) for g in GROUPS)
    m = len(GROUPS)
    # Within: pooled sample variance computed from deviations (not running sums).
    within = sum((x - sum(g) / len(g)) ** 2 for g in GROUPS for x in g) / (total - m)
    n0 = (total - sum(len(g) ** 2 for g in GROUPS) / total) / (m - 1)
    f = f_oneway(*GROUPS).statistic
    assert pooled.n == total
    assert pooled.mean == pytest.approx(sum(map(sum, GROUPS)) / total)
    assert pooled.within_variance == pytest.approx(within)
    # τ² = (MSB − MSW) / n0 and MSB = F · MSW, so k = MSW / τ² = n0 / (F − 1).
    assert pooled.between_variance == pytest.approx(within * (f - 1) / n0)
    assert pooled.k_estimate == pytest.approx(n0 / (f - 1))


def test_moment_estimate_is_unavailable_without_between_or_within_information():
    assert pooled_moments(sums([[80.0, 90.0, 85.0]])).k_estimate is None  # one agent
    assert pooled_moments(sums([[80.0], [90.0]])).k_estimate is None  # no within-agent df
    empty = pooled_moments([GroupSums(0, 0.0, 0.0)])
    assert (empty.n, empty.mean, empty.k_estimate) == (0, None, None)


def test_no_between_agent_variance_beyond_noise_pools_fully():
    """τ² ≤ 0 is the limit of τ² → 0⁺, where k = σ²/τ² grows without bound: every estimate is the team mean
    (a constant fallback there would make a tiny change in the data flip the team to little shrinkage)."""
    same = pooled_moments(sums([[70.0, 90.0], [90.0, 70.0], [80.0, 80.0]]))
    assert same.between_variance < 0 and same.k_estimate == math.inf
    assert shrunk_mean(total=170.0, n=2, prior_mean=same.mean, k=same.k_estimate) == 80.0
    assert lower_bound(shrunk=80.0, within_variance=same.within_variance, n=2, k=same.k_estimate) == 80.0


def test_identical_scores_within_agents_give_k_zero_no_shrinkage():
    pooled = pooled_moments(sums([[50.0] * 5, [90.0] * 5]))
    assert pooled.within_variance == 0 and pooled.k_estimate == 0
    assert shrunk_mean(total=250.0, n=5, prior_mean=pooled.mean, k=0.0) == 50.0


def test_lower_bound_is_the_posterior_interval_edge():
    assert lower_bound(shrunk=90.0, within_variance=25.0, n=16, k=9.0) == pytest.approx(
        90.0 - 1.959963984540054 * math.sqrt(25.0 / 25.0)
    )
    assert lower_bound(shrunk=90.0, within_variance=None, n=1, k=0.0) == 90.0
    assert lower_bound(shrunk=None, within_variance=4.0, n=3, k=1.0) is None


def test_competition_ranks_share_ties_and_skip_like_sql_rank():
    assert competition_ranks([(9, 1), (8, 2), (8, 2), (7, 0)]) == [1, 2, 2, 4]
    assert competition_ranks([]) == []


def test_correlation_from_centered_sums_matches_scipy():
    x = [95, 90, 85, 70, 60, 88, 40, 75, 99, 55]
    y = [10, 9, 10, 6, 3, 8, 2, 7, 9, 9]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    r = correlation_from_centered(
        sxy=sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)),
        sxx=sum((a - mx) ** 2 for a in x),
        syy=sum((b - my) ** 2 for b in y),
    )
    assert r == pytest.approx(pearsonr(x, y).statistic)
    assert correlation_from_centered(sxy=0.0, sxx=0.0, syy=4.0) is None  # a constant side


def answers(promoters, passives, detractors):
    return [10] * promoters + [7] * passives + [2] * detractors


def test_nps_difference_worked_by_hand():
    # Three promoters against three detractors: each side's adjusted-Wald interval is 50 ± 1.96·28.8675 →
    # (−6.58, 100) and (−100, 6.58); MOVER: 200 − sqrt(106.58² + 106.58²) = 49.27, and 200 + 0.
    diff = nps_difference((3, 0, 0), (0, 0, 3))
    assert diff.difference == 200.0
    side = 50 + Z * 100 * math.sqrt(0.5 / 6)
    assert diff.low == pytest.approx(200 - math.sqrt(2) * side)
    assert diff.low == pytest.approx(49.2741, abs=1e-4)
    assert diff.high == 200.0 and diff.is_significant and diff.is_small_sample


counts = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))


@given(counts, counts)
def test_nps_difference_agrees_with_an_independent_computation_and_holds_the_difference(a, b):
    assume(sum(a) > 0 and sum(b) > 0)
    diff = nps_difference(a, b)
    expected, low, high = expected_nps_difference(answers(*a), answers(*b))
    assert diff.difference == pytest.approx(expected)
    assert (diff.low, diff.high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    assert diff.low <= diff.difference <= diff.high


def difference_coverage(interval_of, n_a, shares_a, n_b, shares_b):
    """Probability over every pair of samples that the interval holds the true difference of NPS."""

    def samples(n, promoter_share, detractor_share):
        shares = [promoter_share, 1 - promoter_share - detractor_share, detractor_share]
        return [
            ((p, n - p - d, d), multinomial.pmf([p, n - p - d, d], n, shares))
            for p in range(n + 1)
            for d in range(n + 1 - p)
        ]

    true = 100 * (shares_a[0] - shares_a[1]) - 100 * (shares_b[0] - shares_b[1])
    covered = 0.0
    for a, chance_a in samples(n_a, *shares_a):
        for b, chance_b in samples(n_b, *shares_b):
            low, high = interval_of(a, b)
            if low - 1e-9 <= true <= high + 1e-9:
                covered += chance_a * chance_b
    return covered


def plain_wald_difference(a, b):
    def nps_se(promoters, passives, detractors):
        n = promoters + passives + detractors
        p, d = promoters / n, detractors / n
        return 100 * (p - d), 100 * math.sqrt(max(p + d - (p - d) ** 2, 0) / n)

    (nps_a, se_a), (nps_b, se_b) = nps_se(*a), nps_se(*b)
    half = Z * math.hypot(se_a, se_b)
    return nps_a - nps_b - half, nps_a - nps_b + half


@pytest.mark.parametrize(
    ("n_a", "shares_a", "n_b", "shares_b", "wald", "product"),
    [
        (5, (0.7, 0.1), 5, (0.5, 0.2), 0.892, 0.960),
        (10, (0.3, 0.4), 10, (0.6, 0.1), 0.913, 0.943),
        (10, (0.9, 0.05), 30, (0.9, 0.05), 0.870, 0.979),
        (6, (0.3, 0.4), 4, (0.6, 0.1), 0.875, 0.935),
    ],
)
def test_nps_difference_covers_about_95_percent_on_small_samples_where_wald_does_not(
    n_a, shares_a, n_b, shares_b, wald, product
):
    def interval(a, b):
        diff = nps_difference(a, b)
        return diff.low, diff.high

    assert difference_coverage(interval, n_a, shares_a, n_b, shares_b) == pytest.approx(product, abs=5e-4)
    assert difference_coverage(plain_wald_difference, n_a, shares_a, n_b, shares_b) == pytest.approx(
        wald, abs=5e-4
    )
