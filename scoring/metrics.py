"""Pure scoring and sampling math: no Django, no database, trivially unit-testable.

QA score (DOMAIN.md):
    score = 100 × Σ(weight × earned / possible) / Σ(weight)   over answered (non-N/A) criteria.
N/A answers drop out of both sums; if every answer is N/A the score is None. A *critical* criterion
that is failed (earned < possible: "No" on yes/no, anything short of full marks on a points scale)
sets the score to 0 and marks the evaluation auto-failed; the answers are kept as given.
Section sub-scores use the same formula over the section's answers (a section holding a failed
critical criterion scores 0; other sections keep their earned sub-score, useful for coaching).

Arithmetic is exact (`fractions.Fraction`); `to_storage` rounds half-up to 2 decimals only when a
value is stored or shown, so invariants (N/A never changes a score, scaling weights changes nothing)
hold exactly rather than up to float noise.

Sampling uses Efraimidis–Spirakis weighted sampling without replacement: each item gets the key
u^(1/w) with u ~ U(0, 1) and the k largest keys win. We compare log(u)/w, the same order without
underflow for large weights.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

HUNDRED = Fraction(100)
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class ScoredAnswer:
    """One criterion's answer as the math sees it. earned=None means N/A."""

    weight: Decimal | int | Fraction | str
    possible: int
    earned: int | None
    is_critical: bool = False
    section: Hashable = None

    def __post_init__(self) -> None:
        if Fraction(self.weight) <= 0:
            raise ValueError("weight must be > 0")
        if self.possible < 1:
            raise ValueError("possible must be >= 1")
        if self.earned is not None and not 0 <= self.earned <= self.possible:
            raise ValueError(f"earned {self.earned} outside 0..{self.possible}")

    @property
    def is_na(self) -> bool:
        return self.earned is None

    @property
    def is_failed_critical(self) -> bool:
        return self.is_critical and self.earned is not None and criterion_failed(self.earned, self.possible)


@dataclass(frozen=True)
class ScoreResult:
    score: Fraction | None
    is_auto_failed: bool
    section_scores: dict[Hashable, Fraction | None] = field(default_factory=dict)
    failed_critical_count: int = 0

    @property
    def score_for_storage(self) -> Decimal | None:
        return to_storage(self.score)


def criterion_failed(earned: int, possible: int) -> bool:
    """A criterion is failed when it did not earn full marks (what makes a critical one auto-fail)."""
    return earned < possible


def weighted_score(answers: Iterable[ScoredAnswer]) -> Fraction | None:
    """100 × Σ(w × earned/possible) / Σ(w) over non-N/A answers, ignoring critical rules; None if none answered."""
    numerator = Fraction(0)
    denominator = Fraction(0)
    for answer in answers:
        if answer.earned is None:
            continue
        weight = Fraction(answer.weight)
        numerator += weight * Fraction(answer.earned, answer.possible)
        denominator += weight
    if denominator == 0:
        return None
    return HUNDRED * numerator / denominator


def _score_with_critical(answers: Sequence[ScoredAnswer]) -> tuple[Fraction | None, bool]:
    raw = weighted_score(answers)
    if any(a.is_failed_critical for a in answers):
        return Fraction(0), True
    return raw, False


def compute_score(answers: Iterable[ScoredAnswer]) -> ScoreResult:
    """Total score, auto-fail flag and per-section sub-scores (keyed by ScoredAnswer.section)."""
    answers = list(answers)
    score, auto_failed = _score_with_critical(answers)
    by_section: dict[Hashable, list[ScoredAnswer]] = {}
    for answer in answers:
        by_section.setdefault(answer.section, []).append(answer)
    section_scores = {section: _score_with_critical(items)[0] for section, items in by_section.items()}
    return ScoreResult(
        score=score,
        is_auto_failed=auto_failed,
        section_scores=section_scores,
        failed_critical_count=sum(1 for a in answers if a.is_failed_critical),
    )


def to_storage(value: Fraction | Decimal | None) -> Decimal | None:
    """Round half-up to 2 decimals (the stored/displayed precision)."""
    if value is None:
        return None
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


# --- applicability ---------------------------------------------------------------------------------

ALWAYS = "always"
RESOLVED = "resolved"
UNRESOLVED = "unresolved"
HOLD_OR_TRANSFER = "hold_or_transfer"


def criterion_applies(applicability: str, *, is_resolved: bool, had_hold_or_transfer: bool) -> bool:
    """Whether a context-aware criterion applies to a call (an inapplicable one can only be N/A)."""
    if applicability == ALWAYS:
        return True
    if applicability == RESOLVED:
        return is_resolved
    if applicability == UNRESOLVED:
        return not is_resolved
    if applicability == HOLD_OR_TRANSFER:
        return had_hold_or_transfer
    raise ValueError(f"unknown applicability {applicability!r}")


# --- sampling --------------------------------------------------------------------------------------

BASE_WEIGHT = 1.0
# Each risk signal adds this much to a call's sampling weight (a call with all four weighs 5).
SIGNAL_WEIGHT = 1.0


def sampling_weight(
    *, transferred: bool, escalated: bool, unresolved: bool, long_handle: bool, extra: float = 0.0
) -> float:
    """1 + 1 per risk signal (transfer, escalation, unresolved, handle time above the week's p90) + extra."""
    signals = sum((transferred, escalated, unresolved, long_handle))
    weight = BASE_WEIGHT + SIGNAL_WEIGHT * signals + extra
    if weight <= 0:
        raise ValueError("sampling weight must be > 0")
    return weight


def es_key(weight: float, u: float) -> float:
    """Efraimidis–Spirakis key in log form: log(u) / w, ordered like u^(1/w). u in (0, 1)."""
    if weight <= 0:
        raise ValueError("weight must be > 0")
    if not 0.0 < u < 1.0:
        raise ValueError("u must be in (0, 1)")
    return math.log(u) / weight


def weighted_sample[T](items: Sequence[tuple[T, float]], k: int, rng: random.Random) -> list[T]:
    """k distinct items drawn without replacement with probability proportional to weight.

    Draws one uniform per item, in input order, so a seeded rng and a stable input order give the
    same sample every time. Returned in descending key order (the order they would have been drawn).
    """
    if k <= 0 or not items:
        return []
    keyed = []
    for index, (item, weight) in enumerate(items):
        u = rng.random()
        while u == 0.0:  # random() is in [0, 1); log(0) is undefined
            u = rng.random()
        keyed.append((es_key(weight, u), index, item))
    keyed.sort(key=lambda entry: (-entry[0], entry[1]))
    return [item for _, _, item in keyed[:k]]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default method); q in [0, 100]. None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return float(ordered[lower])
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction
