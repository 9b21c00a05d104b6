"""Pure NPS math (no Django): buckets, score, standard error and a 95% interval."""

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


def _check_counts(*counts: int) -> None:
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must be non-negative, got {counts}")
