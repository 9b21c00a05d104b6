"""Pure scoring and sampling math (no database)."""

from __future__ import annotations

import itertools
import math
import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoring.metrics import (
    ScoredAnswer,
    compute_score,
    criterion_applies,
    criterion_failed,
    es_key,
    percentile,
    sampling_weight,
    to_storage,
    weighted_sample,
    weighted_score,
)

# --- exact values ----------------------------------------------------------------------------------


def test_score_is_weighted_mean_of_earned_fractions():
    answers = [
        ScoredAnswer(weight=1, possible=1, earned=1),
        ScoredAnswer(weight=3, possible=4, earned=2),
        ScoredAnswer(weight=2, possible=1, earned=0),
    ]
    # 100 × (1×1 + 3×2/4 + 2×0) / (1 + 3 + 2) = 100 × 2.5 / 6 = 41.666…
    result = compute_score(answers)
    assert result.score == Fraction(125, 3)
    assert result.score_for_storage == Decimal("41.67")
    assert result.is_auto_failed is False


def test_na_answers_leave_both_sums():
    answers = [ScoredAnswer(weight=1, possible=1, earned=1), ScoredAnswer(weight=5, possible=4, earned=None)]
    assert compute_score(answers).score == 100


def test_all_na_scores_none():
    answers = [
        ScoredAnswer(weight=1, possible=1, earned=None),
        ScoredAnswer(weight=2, possible=3, earned=None),
    ]
    result = compute_score(answers)
    assert result.score is None
    assert result.score_for_storage is None
    assert result.is_auto_failed is False


def test_failed_critical_yes_no_sets_zero_and_auto_fails_keeping_section_scores():
    answers = [
        ScoredAnswer(weight=1, possible=1, earned=1, section="greeting"),
        ScoredAnswer(weight=1, possible=2, earned=1, section="greeting"),
        ScoredAnswer(weight=5, possible=1, earned=0, is_critical=True, section="compliance"),
        ScoredAnswer(weight=1, possible=1, earned=1, section="compliance"),
    ]
    result = compute_score(answers)
    assert result.score == 0
    assert result.is_auto_failed is True
    assert result.failed_critical_count == 1
    # The section without the failed critical keeps its earned sub-score: 100 × (1 + 0.5) / 2 = 75.
    assert result.section_scores == {"greeting": Fraction(75), "compliance": Fraction(0)}


def test_critical_points_criterion_fails_below_full_marks():
    short = [ScoredAnswer(weight=1, possible=4, earned=3, is_critical=True)]
    full = [ScoredAnswer(weight=1, possible=4, earned=4, is_critical=True)]
    assert compute_score(short).score == 0 and compute_score(short).is_auto_failed
    assert compute_score(full).score == 100 and not compute_score(full).is_auto_failed


def test_critical_na_does_not_fail():
    answers = [
        ScoredAnswer(weight=1, possible=1, earned=1),
        ScoredAnswer(weight=5, possible=1, earned=None, is_critical=True),
    ]
    result = compute_score(answers)
    assert result.score == 100
    assert result.is_auto_failed is False


def test_criterion_failed_is_less_than_full_marks():
    assert criterion_failed(0, 1) is True
    assert criterion_failed(1, 1) is False
    assert criterion_failed(3, 4) is True
    assert criterion_failed(4, 4) is False


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (Fraction(1, 8), Decimal("0.13")),  # half-up, not banker's rounding (which gives 0.12)
        (Fraction(200, 3), Decimal("66.67")),
        (Fraction(100, 3), Decimal("33.33")),
        (Fraction(100), Decimal("100.00")),
        (Fraction(0), Decimal("0.00")),
        (None, None),
    ],
)
def test_to_storage_rounds_half_up_to_two_places(value, stored):
    assert to_storage(value) == stored


def test_invalid_answers_are_refused():
    with pytest.raises(ValueError):
        ScoredAnswer(weight=0, possible=1, earned=1)
    with pytest.raises(ValueError):
        ScoredAnswer(weight=1, possible=2, earned=3)
    with pytest.raises(ValueError):
        ScoredAnswer(weight=1, possible=0, earned=0)


@pytest.mark.parametrize(
    ("applicability", "resolved", "held", "expected"),
    [
        ("always", True, False, True),
        ("always", False, True, True),
        ("resolved", True, False, True),
        ("resolved", False, False, False),
        ("unresolved", True, False, False),
        ("unresolved", False, False, True),
        ("hold_or_transfer", True, True, True),
        ("hold_or_transfer", True, False, False),
    ],
)
def test_criterion_applies(applicability, resolved, held, expected):
    assert criterion_applies(applicability, is_resolved=resolved, had_hold_or_transfer=held) is expected


def test_unknown_applicability_is_an_error():
    with pytest.raises(ValueError):
        criterion_applies("sometimes", is_resolved=True, had_hold_or_transfer=False)


# --- properties ------------------------------------------------------------------------------------

weights = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2)


SECTIONS = st.sampled_from(["s1", "s2", "s3"])


@st.composite
def scored_answer(draw, section=SECTIONS):
    possible = draw(st.integers(min_value=1, max_value=10))
    earned = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=possible)))
    return ScoredAnswer(
        weight=draw(weights),
        possible=possible,
        earned=earned,
        is_critical=draw(st.booleans()),
        section=draw(section),
    )


answer_lists = st.lists(scored_answer(), min_size=0, max_size=25)


def reference_score(answers) -> float | None:
    """Straightforward float computation written independently of scoring.metrics."""
    answered = [a for a in answers if a.earned is not None]
    if not answered:
        return None
    for a in answered:
        if a.is_critical and a.earned != a.possible:
            return 0.0
    top = 0.0
    bottom = 0.0
    for a in answered:
        top += float(a.weight) * a.earned / a.possible
        bottom += float(a.weight)
    return top / bottom * 100


@given(answer_lists)
def test_score_matches_reference_computation(answers):
    expected = reference_score(answers)
    result = compute_score(answers)
    if expected is None:
        assert result.score is None
    else:
        assert math.isclose(float(result.score), expected, rel_tol=1e-9, abs_tol=1e-9)
        assert result.is_auto_failed == (
            expected == 0.0
            and any(a.is_critical and a.earned is not None and a.earned < a.possible for a in answers)
        )


@given(answer_lists)
def test_section_scores_match_reference_per_section(answers):
    result = compute_score(answers)
    sections = {a.section for a in answers}
    assert set(result.section_scores) == sections
    for section in sections:
        expected = reference_score([a for a in answers if a.section == section])
        got = result.section_scores[section]
        if expected is None:
            assert got is None
        else:
            assert math.isclose(float(got), expected, rel_tol=1e-9, abs_tol=1e-9)


@given(answer_lists)
def test_score_is_between_0_and_100(answers):
    score = compute_score(answers).score
    assume(score is not None)
    assert 0 <= score <= 100
    assert Decimal("0") <= to_storage(score) <= Decimal("100")


@given(answer_lists, scored_answer())
def test_adding_an_na_answer_never_changes_the_score(answers, extra):
    na = ScoredAnswer(
        weight=extra.weight, possible=extra.possible, earned=None, is_critical=extra.is_critical
    )
    before = compute_score(answers)
    after = compute_score([*answers, na])
    assert after.score == before.score
    assert after.is_auto_failed == before.is_auto_failed


@given(answer_lists, st.fractions(min_value=Fraction(1, 1000), max_value=1000))
def test_scaling_all_weights_leaves_the_score_unchanged(answers, k):
    assume(k > 0)
    scaled = [
        ScoredAnswer(
            weight=Fraction(a.weight) * k,
            possible=a.possible,
            earned=a.earned,
            is_critical=a.is_critical,
            section=a.section,
        )
        for a in answers
    ]
    assert compute_score(scaled).score == compute_score(answers).score
    assert compute_score(scaled).section_scores == compute_score(answers).section_scores


@given(answer_lists, st.randoms(use_true_random=False))
def test_answer_order_does_not_matter(answers, rnd):
    shuffled = list(answers)
    rnd.shuffle(shuffled)
    assert compute_score(shuffled).score == compute_score(answers).score


@given(answer_lists)
def test_without_critical_failures_score_equals_weighted_score(answers):
    plain = [ScoredAnswer(weight=a.weight, possible=a.possible, earned=a.earned) for a in answers]
    assert compute_score(plain).score == weighted_score(answers)


# --- sampling math ---------------------------------------------------------------------------------


def test_sampling_weight_adds_one_per_signal():
    assert sampling_weight(transferred=False, escalated=False, unresolved=False, long_handle=False) == 1.0
    assert sampling_weight(transferred=True, escalated=False, unresolved=False, long_handle=False) == 2.0
    assert sampling_weight(transferred=True, escalated=True, unresolved=True, long_handle=False) == 4.0
    assert sampling_weight(transferred=True, escalated=True, unresolved=True, long_handle=True) == 5.0
    assert (
        sampling_weight(transferred=False, escalated=False, unresolved=True, long_handle=False, extra=2.5)
        == 4.5
    )


def test_es_key_is_log_u_over_weight():
    assert es_key(4.0, 0.5) == math.log(0.5) / 4.0
    assert es_key(1.0, 0.25) == math.log(0.25)
    with pytest.raises(ValueError):
        es_key(0.0, 0.5)
    with pytest.raises(ValueError):
        es_key(1.0, 0.0)


@given(
    st.floats(min_value=0.01, max_value=100),
    st.floats(min_value=1e-9, max_value=1 - 1e-9),
    st.floats(min_value=0.01, max_value=100),
    st.floats(min_value=1e-9, max_value=1 - 1e-9),
)
def test_log_keys_order_like_the_classic_u_to_the_one_over_w(w1, u1, w2, u2):
    classic1, classic2 = u1 ** (1 / w1), u2 ** (1 / w2)
    assume(abs(classic1 - classic2) > 1e-12)
    assert (es_key(w1, u1) > es_key(w2, u2)) == (classic1 > classic2)


def test_weighted_sample_is_deterministic_with_a_seed_and_has_no_duplicates():
    items = [(f"call{i}", float(1 + i % 4)) for i in range(30)]
    first = weighted_sample(items, 7, random.Random(1234))
    second = weighted_sample(items, 7, random.Random(1234))
    assert first == second
    assert len(first) == 7
    assert len(set(first)) == 7
    assert weighted_sample(items, 7, random.Random(99)) != first


def test_weighted_sample_returns_everything_when_k_exceeds_population():
    items = [("a", 1.0), ("b", 2.0)]
    assert sorted(weighted_sample(items, 5, random.Random(0))) == ["a", "b"]
    assert weighted_sample(items, 0, random.Random(0)) == []
    assert weighted_sample([], 3, random.Random(0)) == []


def exact_inclusion_probabilities(weights: list[float], k: int) -> list[float]:
    """Successive sampling proportional to weight, enumerated over every ordered draw sequence
    (Efraimidis–Spirakis reproduces exactly this process)."""
    n = len(weights)
    inclusion = [0.0] * n
    for sequence in itertools.permutations(range(n), k):
        probability = 1.0
        remaining = sum(weights)
        for index in sequence:
            probability *= weights[index] / remaining
            remaining -= weights[index]
        for index in sequence:
            inclusion[index] += probability
    return inclusion


def test_exact_inclusion_helper_matches_hand_computation():
    # One draw from [4, 1, 1, 1]: 4/7. Two draws from [4,1,1,1,1]: 4/8 + 4 × (1/8 × 4/7) = 11/14.
    assert exact_inclusion_probabilities([4, 1, 1, 1], 1)[0] == pytest.approx(4 / 7)
    assert exact_inclusion_probabilities([4, 1, 1, 1, 1], 2)[0] == pytest.approx(11 / 14)


@pytest.mark.parametrize(("weights", "k"), [([4, 1, 1, 1], 1), ([4, 1, 1, 1, 1], 2), ([4, 2, 1, 1, 1, 1], 3)])
def test_weight_four_call_is_included_at_the_exact_expected_rate(weights, k):
    trials = 20_000
    counts = [0] * len(weights)
    rng = random.Random(20240601)
    items = [(i, float(w)) for i, w in enumerate(weights)]
    for _ in range(trials):
        for index in weighted_sample(items, k, rng):
            counts[index] += 1
    expected = exact_inclusion_probabilities(weights, k)
    for index, p in enumerate(expected):
        sigma = math.sqrt(p * (1 - p) / trials)
        assert abs(counts[index] / trials - p) < 4.5 * sigma, (index, counts[index] / trials, p)
    # And the heavy call really is picked more often than a weight-1 call.
    assert counts[0] > counts[-1] * 1.5


@settings(max_examples=200)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=50),
    st.floats(min_value=0, max_value=100),
)
def test_percentile_matches_numpy_linear(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-6)


def test_percentile_of_nothing_is_none():
    assert percentile([], 90) is None
