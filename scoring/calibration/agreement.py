"""Agreement between raters who scored the same units: pure functions, no Django, no database.

- `interval_alpha`: Krippendorff's alpha at the interval level, computed by the maintained `krippendorff`
  package (imported on first use, so pages that never compute alpha never pay for numpy), with an
  optional 95% percentile bootstrap interval over units (resampling whole units — calls — keeps each
  call's ratings together; Zapf et al. 2016, BMC Med Res Methodol 16:93).
- `rater_bias`: each rater's mean difference from the consensus of the *other* raters of the same unit
  (leave-one-out: a rater is never compared with an average that contains their own score), with a 95%
  Student-t interval.

Ratings are a mapping unit -> {rater: value}; a rater who did not rate a unit, or whose value is None
(N/A), is missing. Alpha rests on *pairable* values only: units with two or more values. With none, or
with a single distinct value among them (no variation: expected disagreement is 0, alpha is 0/0),
alpha is undefined and `Alpha.value` is None with a reason — never a made-up number.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

Ratings = Mapping[Hashable, Mapping[Hashable, float | None]]

# Krippendorff (2004, 2011): rely on data with alpha >= .800; draw only tentative conclusions from
# .667 <= alpha < .800; below .667 the data are not reliable enough to act on.
RELIABLE = 0.800
TENTATIVE = 0.667

NOT_ENOUGH_DATA = "not_enough_data"
NO_VARIATION = "no_variation"

BOOTSTRAP_REPLICATES = 200
# The library builds a units × values × values array per call; bootstrap only while one replicate
# stays well under a millisecond or two, so a page never waits on resampling.
BOOTSTRAP_MAX_CELLS = 50_000
BOOTSTRAP_MIN_UNITS = 5


@dataclass(frozen=True)
class Alpha:
    value: float | None
    units: int  # pairable units (two or more values)
    ratings: int  # pairable values
    raters: int  # raters with at least one pairable value
    reason: str | None = None  # why value is None
    low: float | None = None  # 95% bootstrap interval, when computed
    high: float | None = None

    @property
    def is_defined(self) -> bool:
        return self.value is not None

    @property
    def verdict(self) -> str | None:
        """ "reliable" (>= .800), "tentative" (.667–.800) or "unreliable"; None when undefined."""
        if self.value is None:
            return None
        if self.value >= RELIABLE:
            return "reliable"
        if self.value >= TENTATIVE:
            return "tentative"
        return "unreliable"


@dataclass(frozen=True)
class Bias:
    rater: Hashable
    units: int  # units the rater scored alongside at least one other rater
    mean: float | None  # mean of (rater's value − mean of the other raters' values)
    low: float | None  # 95% Student-t interval of the mean (None below two units)
    high: float | None
    mean_value: float | None  # the rater's own mean value on those units

    @property
    def direction(self) -> str | None:
        """ "higher" / "lower" when the interval excludes 0, "none" when it holds 0, None without one."""
        if self.low is None or self.high is None:
            return None
        if self.low > 0:
            return "higher"
        if self.high < 0:
            return "lower"
        return "none"


def pairable(ratings: Ratings) -> dict[Hashable, dict[Hashable, float]]:
    """The units with two or more (non-missing) values, each as {rater: value}."""
    result = {}
    for unit, by_rater in ratings.items():
        values = {rater: float(value) for rater, value in by_rater.items() if value is not None}
        if len(values) >= 2:
            result[unit] = values
    return result


def ratings_from_matrix(rows: Sequence[Sequence[float | None]]) -> dict[int, dict[int, float | None]]:
    """A raters × units table (None or NaN = missing), as published, into unit -> {rater: value}."""
    ratings: dict[int, dict[int, float | None]] = {}
    for rater, row in enumerate(rows):
        for unit, value in enumerate(row):
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                ratings.setdefault(unit, {})[rater] = value
    return ratings


def interval_alpha(ratings: Ratings, *, bootstrap: bool = False, seed: int = 0) -> Alpha:
    """Krippendorff's alpha (interval metric) of the ratings; see the module docstring."""
    data = pairable(ratings)
    units = len(data)
    values = sum(len(v) for v in data.values())
    raters = len({rater for v in data.values() for rater in v})
    if not data:
        return Alpha(None, 0, 0, 0, reason=NOT_ENOUGH_DATA)
    domain_values = sorted({value for v in data.values() for value in v.values()})
    if len(domain_values) < 2:
        return Alpha(None, units, values, raters, reason=NO_VARIATION)

    import krippendorff  # noqa: PLC0415 — lazy: numpy and the library load only when alpha is computed
    import numpy as np  # noqa: PLC0415

    domain = np.asarray(domain_values, dtype=float)
    index = {value: i for i, value in enumerate(domain_values)}
    counts = np.zeros((units, len(domain_values)))
    for row, by_rater in enumerate(data.values()):
        for value in by_rater.values():
            counts[row, index[value]] += 1
    value = float(
        krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement="interval")
    )
    low = high = None
    if bootstrap and units >= BOOTSTRAP_MIN_UNITS and units * len(domain_values) ** 2 <= BOOTSTRAP_MAX_CELLS:
        low, high = _bootstrap(counts, domain, seed=seed)
    return Alpha(value, units, values, raters, low=low, high=high)


def _bootstrap(counts, domain, *, seed: int) -> tuple[float | None, float | None]:
    """95% percentile interval of alpha over units resampled with replacement (fixed seed: the same data
    always shows the same interval). Replicates without variation have no alpha and are left out; if
    more than a tenth are, there is no interval."""
    import krippendorff  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    units = counts.shape[0]
    estimates = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(BOOTSTRAP_REPLICATES):
            sample = counts[rng.integers(0, units, size=units)]
            if np.count_nonzero(sample.sum(axis=0)) < 2:
                continue
            estimate = krippendorff.alpha(
                value_counts=sample, value_domain=domain, level_of_measurement="interval"
            )
            if np.isfinite(estimate):
                estimates.append(float(estimate))
    if len(estimates) < 0.9 * BOOTSTRAP_REPLICATES:
        return None, None
    low, high = np.percentile(estimates, [2.5, 97.5])
    return float(low), float(high)


def rater_bias(ratings: Ratings) -> list[Bias]:
    """Each rater's bias against the leave-one-out consensus, raters in first-seen order."""
    differences: dict[Hashable, list[float]] = {}
    own: dict[Hashable, list[float]] = {}
    for by_rater in pairable(ratings).values():
        total = sum(by_rater.values())
        others = len(by_rater) - 1
        for rater, value in by_rater.items():
            consensus = (total - value) / others
            differences.setdefault(rater, []).append(value - consensus)
            own.setdefault(rater, []).append(value)
    result = []
    for rater, diffs in differences.items():
        n = len(diffs)
        mean = sum(diffs) / n
        low = high = None
        if n >= 2:
            sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
            half = t_quantile_975(n - 1) * sd / math.sqrt(n)
            low, high = mean - half, mean + half
        result.append(Bias(rater, n, mean, low, high, sum(own[rater]) / n))
    return result


def _t_central(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer df (Abramowitz & Stegun 26.7.3 and 26.7.4: exact)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        if df == 1:
            return 2 * theta / math.pi
        term = total = math.cos(theta)
        for k in range(2, df - 1, 2):  # cos θ (1 + 2/3 cos²θ + 2·4/(3·5) cos⁴θ + …), up to cos^(df−2) θ
            term *= cos2 * k / (k + 1)
            total += term
        return 2 / math.pi * (theta + sin * total)
    term = total = 1.0
    for k in range(1, df - 2, 2):  # 1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + …, up to cos^(df−2) θ
        term *= cos2 * k / (k + 1)
        total += term
    return sin * total


def t_quantile_975(df: int) -> float:
    """The 97.5th percentile of Student's t with df degrees of freedom (two-sided 95%), by bisection."""
    if df < 1:
        raise ValueError("df must be >= 1")
    low, high = 0.0, 20.0
    while _t_central(high, df) < 0.95:  # df = 1 needs 12.706
        high *= 2
    for _ in range(80):
        middle = (low + high) / 2
        if _t_central(middle, df) < 0.95:
            low = middle
        else:
            high = middle
    return (low + high) / 2
