"""Pure survey math (no Django): NPS with its standard error and 95% interval; CSAT (share satisfied)
with a Wilson interval; CES (mean effort) with a Student-t interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95% normal quantile
SMALL_SAMPLE = 30


def nps(promoters: int, passives: int, detractors: int) -> float | None:
    """NPS = 100 × (promoters − detractors) / responses, in [−100, 100]; None with no responses."""
    _check_counts(promoters, passives, detractors)
    n = promoters + passives + detractors
    if n == 0:
        return None
    return 100.0 * (promoters - detractors) / n


def nps_standard_error(promoters: int, passives: int, detractors: int) -> float | None:
    """Standard error of NPS in points: 100 × sqrt((p + d − (p − d)²) / n), p and d the shares."""
    _check_counts(promoters, passives, detractors)
    n = promoters + passives + detractors
    if n == 0:
        return None
    p = promoters / n
    d = detractors / n
    # max() guards against a tiny negative from floating-point rounding when p + d == 1 and p == d ± 1.
    return 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)


@dataclass(frozen=True)
class NpsInterval:
    n: int
    nps: float | None
    standard_error: float | None
    low: float | None
    high: float | None
    is_small_sample: bool


def nps_interval(promoters: int, passives: int, detractors: int, *, z: float = Z_95) -> NpsInterval:
    """NPS with a normal-approximation interval (±z·SE), clipped to the possible range [−100, 100].

    is_small_sample is True under SMALL_SAMPLE responses: the approximation is rough there and the
    screen says so.
    """
    n = promoters + passives + detractors
    score = nps(promoters, passives, detractors)
    se = nps_standard_error(promoters, passives, detractors)
    if score is None or se is None:
        return NpsInterval(n=n, nps=None, standard_error=None, low=None, high=None, is_small_sample=True)
    return NpsInterval(
        n=n,
        nps=score,
        standard_error=se,
        low=max(-100.0, score - z * se),
        high=min(100.0, score + z * se),
        is_small_sample=n < SMALL_SAMPLE,
    )


@dataclass(frozen=True)
class ShareInterval:
    """A percentage of n answers with its 95% Wilson score interval (in percent)."""

    n: int
    percent: float | None
    low: float | None
    high: float | None
    is_small_sample: bool


def csat_interval(satisfied: int, n: int, *, z: float = Z_95) -> ShareInterval:
    """CSAT = 100 × satisfied / n (answers of 4–5 on 1–5) with the Wilson score interval, which stays inside
    0–100 and is honest for small n and shares near 0 or 100 % (unlike ± z·SE)."""
    _check_counts(satisfied, n)
    if satisfied > n:
        raise ValueError(f"satisfied ({satisfied}) exceeds answers ({n})")
    if n == 0:
        return ShareInterval(n=0, percent=None, low=None, high=None, is_small_sample=True)
    share = satisfied / n
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return ShareInterval(
        n=n,
        percent=100.0 * share,
        low=100.0 * max(0.0, centre - half),
        high=100.0 * min(1.0, centre + half),
        is_small_sample=n < SMALL_SAMPLE,
    )


@dataclass(frozen=True)
class MeanInterval:
    """A mean of n answers with its 95% Student-t interval (None under two answers), clipped to the scale."""

    n: int
    mean: float | None
    low: float | None
    high: float | None
    is_small_sample: bool


def mean_interval(
    total: float, total_of_squares: float, n: int, *, lowest: float, highest: float
) -> MeanInterval:
    """Mean and t-interval from the SQL sums Σx, Σx² over n answers on the scale [lowest, highest]."""
    from scoring.calibration.agreement import t_quantile_975

    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if n == 0:
        return MeanInterval(n=0, mean=None, low=None, high=None, is_small_sample=True)
    mean = total / n
    if n == 1:
        return MeanInterval(n=1, mean=mean, low=None, high=None, is_small_sample=True)
    variance = max(total_of_squares - total * total / n, 0.0) / (n - 1)
    half = t_quantile_975(n - 1) * math.sqrt(variance / n)
    return MeanInterval(
        n=n,
        mean=mean,
        low=max(lowest, mean - half),
        high=min(highest, mean + half),
        is_small_sample=n < SMALL_SAMPLE,
    )


def _check_counts(*counts: int) -> None:
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must be non-negative, got {counts}")
