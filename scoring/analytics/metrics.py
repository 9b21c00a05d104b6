"""Pure statistics for the analytics pages (no Django): shrinkage (with its prior weight estimated by the
method of moments), fair ranks, intervals, correlation.

NPS itself (score, SE, interval) lives in scoring.surveys.metrics and is reused, not duplicated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scoring.surveys.metrics import Z_95, nps, nps_standard_error


def shrunk_mean(*, total: float, n: int, prior_mean: float | None, k: float) -> float | None:
    """Empirical-Bayes (credibility) estimate (n·mean + k·prior_mean) / (n + k) = (total + k·prior) / (n + k).

    With no prior (a team with no evaluations) the plain mean; None with no data at all.
    """
    if prior_mean is None:
        return total / n if n else None
    if math.isinf(k):  # full pooling (no between-agent variance beyond noise)
        return prior_mean
    if n + k == 0:
        return None
    return (total + k * prior_mean) / (n + k)


@dataclass(frozen=True)
class GroupSums:
    """Running sums of one agent's scores: n, Σx and Σx²."""

    n: int
    total: float
    total_squares: float


@dataclass(frozen=True)
class Pooled:
    """A team's scores seen as one-way random effects (agents are the groups).

    mean: team mean over all scores; within_variance: pooled within-agent variance (MSW);
    k_estimate: the method-of-moments prior weight σ²_within / τ²_between, None when it cannot be
    estimated (fewer than two agents with scores, or no within-agent degrees of freedom). With no
    between-agent variance beyond noise (τ² ≤ 0) it is infinite: the positive-part estimate τ² = 0, full
    pooling, every agent's estimate is the team mean (k grows without bound as τ² falls to 0, so a small
    change in the data cannot flip the team from full to little shrinkage).
    """

    n: int
    mean: float | None
    within_variance: float | None
    between_variance: float | None
    k_estimate: float | None


def pooled_moments(groups: list[GroupSums]) -> Pooled:
    """One-way ANOVA method-of-moments (unbalanced): MSW = Σ(Σx² − (Σx)²/n) / (N − m),
    MSB = Σ n·(mean − grand)² / (m − 1), n0 = (N − Σn²/N) / (m − 1), τ² = (MSB − MSW) / n0, k = MSW / τ².

    k is the prior weight of the team mean in (n·mean + k·team_mean) / (n + k), the posterior mean of an
    agent's true score under a normal model; equivalently k = n0 / (F − 1) with F = MSB / MSW.
    """
    groups = [g for g in groups if g.n > 0]
    n_total = sum(g.n for g in groups)
    m = len(groups)
    if n_total == 0:
        return Pooled(0, None, None, None, None)
    grand = sum(g.total for g in groups) / n_total
    within_df = n_total - m
    within = None
    if within_df > 0:
        squares = sum(max(g.total_squares - g.total * g.total / g.n, 0.0) for g in groups)
        within = squares / within_df
    between = k = None
    if m >= 2 and within is not None:
        msb = sum(g.n * (g.total / g.n - grand) ** 2 for g in groups) / (m - 1)
        n0 = (n_total - sum(g.n * g.n for g in groups) / n_total) / (m - 1)
        tau2 = (msb - within) / n0
        between = tau2
        k = within / tau2 if tau2 > 0 else math.inf
    return Pooled(n_total, grand, within, between, k)


def lower_bound(*, shrunk: float | None, within_variance: float | None, n: int, k: float, z: float = Z_95):
    """Lower 95% bound of a shrunk mean: shrunk − z·sqrt(σ²_within / (n + k)) (the posterior SD when
    k = σ²_within / τ²); the estimate itself without a within-agent variance."""
    if shrunk is None:
        return None
    if within_variance is None or n + k <= 0:
        return shrunk
    return shrunk - z * math.sqrt(max(within_variance, 0.0) / (n + k))


def competition_ranks(keys: list) -> list[int]:
    """SQL RANK() over keys already sorted best first: equal keys share a rank, the next rank skips."""
    ranks: list[int] = []
    for i, key in enumerate(keys):
        ranks.append(ranks[-1] if i and key == keys[i - 1] else i + 1)
    return ranks


def sample_sd(*, n: int, total: float, total_squares: float) -> float | None:
    """Sample standard deviation (n − 1) from running sums; None under 2 observations."""
    if n < 2:
        return None
    variance = (total_squares - total * total / n) / (n - 1)
    return math.sqrt(max(variance, 0.0))


def mean_interval(
    *, n: int, total: float, total_squares: float, z: float = Z_95
) -> tuple[float, float] | None:
    """Normal-approximation 95% interval of a mean from running sums."""
    sd = sample_sd(n=n, total=total, total_squares=total_squares)
    if sd is None:
        return None
    mean = total / n
    half = z * sd / math.sqrt(n)
    return mean - half, mean + half


@dataclass(frozen=True)
class Difference:
    """NPS(a) − NPS(b) in points, with a 95% interval for independent samples."""

    nps_a: float | None
    nps_b: float | None
    n_a: int
    n_b: int
    difference: float | None
    low: float | None
    high: float | None
    is_small_sample: bool

    @property
    def is_significant(self) -> bool:
        return self.low is not None and (self.low > 0 or self.high < 0)


def nps_difference(a: tuple[int, int, int], b: tuple[int, int, int], *, min_n: int = 30) -> Difference:
    """Difference of two NPS (promoters, passives, detractors) with SE = sqrt(SE_a² + SE_b²)."""
    nps_a, nps_b = nps(*a), nps(*b)
    n_a, n_b = sum(a), sum(b)
    small = n_a < min_n or n_b < min_n
    if nps_a is None or nps_b is None:
        return Difference(nps_a, nps_b, n_a, n_b, None, None, None, True)
    se = math.sqrt(nps_standard_error(*a) ** 2 + nps_standard_error(*b) ** 2)
    diff = nps_a - nps_b
    return Difference(nps_a, nps_b, n_a, n_b, diff, diff - Z_95 * se, diff + Z_95 * se, small)


@dataclass(frozen=True)
class Correlation:
    r: float | None
    n: int
    low: float | None
    high: float | None

    @property
    def is_small_sample(self) -> bool:
        return self.n < 30


def correlation_from_centered(*, sxy: float | None, sxx: float | None, syy: float | None) -> float | None:
    """Pearson's r from centered sums Σ(x − x̄)(y − ȳ), Σ(x − x̄)², Σ(y − ȳ)²; None when a side is constant."""
    if sxy is None or not sxx or not syy or sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


# Fieller, Hartley & Pearson (1957): the variance of atanh(Spearman's rho) is about 1.06 / (n − 3).
SPEARMAN_VARIANCE_FACTOR = 1.06


def correlation_interval(r: float | None, n: int, *, z: float = Z_95, spearman: bool = False) -> Correlation:
    """95% interval of a correlation coefficient by Fisher's z: tanh(atanh(r) ± z·sqrt(c / (n − 3))), c = 1
    for Pearson's r and 1.06 for Spearman's rho (Fieller, Hartley & Pearson)."""
    if r is None or n < 4 or math.isnan(r):
        return Correlation(r=r, n=n, low=None, high=None)
    if abs(r) >= 1:
        return Correlation(r=r, n=n, low=r, high=r)
    center = math.atanh(r)
    half = z * math.sqrt((SPEARMAN_VARIANCE_FACTOR if spearman else 1.0) / (n - 3))
    return Correlation(r=r, n=n, low=math.tanh(center - half), high=math.tanh(center + half))


def rate(part: int | None, whole: int | None) -> float | None:
    return part / whole if whole else None
