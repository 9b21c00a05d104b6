"""Pure math for coaching: the difference of two independent proportions with its 95% interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..surveys.metrics import ShareInterval, csat_interval

# Under this many answers on either side the comparison says "too few reviews to tell".
MIN_ANSWERS = 10


@dataclass(frozen=True)
class ShareDifference:
    """after − before, in percentage points, with Newcombe's hybrid score interval (None if either side
    has no answers)."""

    before: ShareInterval
    after: ShareInterval
    difference: float | None
    low: float | None
    high: float | None

    @property
    def is_too_few(self) -> bool:
        return self.before.n < MIN_ANSWERS or self.after.n < MIN_ANSWERS


def share_difference(
    *, before_passed: int, before_n: int, after_passed: int, after_n: int
) -> ShareDifference:
    """Newcombe (1998) method 10, built from the two Wilson intervals (`csat_interval`, in percent):
    d = p2 − p1, low = d − sqrt((p2 − l2)² + (u1 − p1)²), high = d + sqrt((u2 − p2)² + (p1 − l1)²),
    with side 1 the period before and side 2 the period after."""
    before = csat_interval(before_passed, before_n)
    after = csat_interval(after_passed, after_n)
    if before.percent is None or after.percent is None:
        return ShareDifference(before=before, after=after, difference=None, low=None, high=None)
    p1, l1, u1 = before.percent, before.low, before.high
    p2, l2, u2 = after.percent, after.low, after.high
    difference = p2 - p1
    return ShareDifference(
        before=before,
        after=after,
        difference=difference,
        low=difference - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2),
        high=difference + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2),
    )
