"""Pure analytics statistics against independent computations (scipy, numpy-free plain Python)."""

import math

import pytest
from scipy.stats import f_oneway, pearsonr

from scoring.analytics.metrics import (
    GroupSums,
    competition_ranks,
    correlation_from_centered,
    lower_bound,
    pooled_moments,
    shrunk_mean,
)

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
