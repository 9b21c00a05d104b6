"""Pure statistics for the analytics pages (no Django): shrinkage, intervals, correlation.

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
    if n + k == 0:
        return None
    return (total + k * prior_mean) / (n + k)


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


def correlation_interval(r: float | None, n: int, *, z: float = Z_95) -> Correlation:
    """95% interval of a correlation coefficient by Fisher's z: tanh(atanh(r) ± z/sqrt(n − 3))."""
    if r is None or n < 4 or math.isnan(r):
        return Correlation(r=r, n=n, low=None, high=None)
    if abs(r) >= 1:
        return Correlation(r=r, n=n, low=r, high=r)
    center = math.atanh(r)
    half = z / math.sqrt(n - 3)
    return Correlation(r=r, n=n, low=math.tanh(center - half), high=math.tanh(center + half))


def rate(part: int | None, whole: int | None) -> float | None:
    return part / whole if whole else None
