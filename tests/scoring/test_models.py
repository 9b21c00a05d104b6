"""Database-level invariants: constraints and the frozen-scorecard triggers, and the seeded scorecard."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring.default_scorecard import DEFINITION
from scoring.models import Answer, Assignment, Criterion, Dispute, Evaluation, Scorecard, Section
from tests.factories import CallFactory, UserFactory
from tests.scoring.factories import AssignmentFactory, criteria_by_key, simple_scorecard

pytestmark = pytest.mark.django_db


def refused(callable_):
    """Run in a savepoint and report whether the database refused it (IntegrityError)."""
    try:
        with transaction.atomic():
            callable_()
    except IntegrityError:
        return True
    return False


# --- the seeded Voice QA scorecard -----------------------------------------------------------------


def test_voice_qa_is_seeded_published_with_every_criterion_of_the_definition(voice_qa):
    assert voice_qa.status == Scorecard.Status.PUBLISHED
    assert voice_qa.published_at is not None
    expected_keys = [c["key"] for s in DEFINITION["sections"] for c in s["criteria"]]
    assert list(voice_qa.criteria.order_by("position").values_list("key", flat=True)) == expected_keys
    assert list(voice_qa.sections.values_list("title", flat=True)) == [
        s["title"] for s in DEFINITION["sections"]
    ]


def test_voice_qa_covers_the_seed_behaviours(voice_qa):
    criteria = criteria_by_key(voice_qa)
    for key in (
        "greeting_brand",
        "greeting_own_name",
        "greeting_offer_help",
        "identity_verified",
        "history_used",
        "empathy",
        "script_common_sense",
        "accurate_resolution",
        "hold_transfer_etiquette",
        "closing_summary",
        "closing_confirms_resolution",
        "closing_thanks",
        "compliance",
    ):
        assert key in criteria
    # "Anything else?" is expected only on resolved calls; unresolved calls get next steps instead.
    assert criteria["closing_anything_else"].applicability == Criterion.Applicability.RESOLVED
    assert criteria["closing_next_steps"].applicability == Criterion.Applicability.UNRESOLVED
    assert criteria["hold_transfer_etiquette"].applicability == Criterion.Applicability.HOLD_OR_TRANSFER
    assert criteria["hold_transfer_etiquette"].allows_na is True
    assert [k for k, c in criteria.items() if c.is_critical] == ["compliance"]
    assert (
        criteria["accurate_resolution"].scale == "points" and criteria["accurate_resolution"].max_points == 4
    )


# --- published scorecards are frozen in the database -----------------------------------------------


def test_published_criterion_cannot_be_updated_even_with_a_raw_save(voice_qa):
    criterion = voice_qa.criteria.get(key="compliance")
    criterion.weight = Decimal("1")
    assert refused(criterion.save)
    assert voice_qa.criteria.get(key="compliance").weight == Decimal("5.00")


def test_published_scorecard_refuses_new_sections_criteria_and_deletions(voice_qa):
    section = voice_qa.sections.first()
    count_sections, count_criteria = voice_qa.sections.count(), voice_qa.criteria.count()
    assert refused(lambda: Section.objects.create(scorecard=voice_qa, title="Sneaky"))
    assert refused(
        lambda: Criterion.objects.create(scorecard=voice_qa, section=section, key="sneaky", question="?")
    )
    assert refused(lambda: voice_qa.criteria.filter(key="empathy").delete())
    assert refused(lambda: Section.objects.filter(pk=section.pk).update(title="Renamed"))
    assert refused(voice_qa.delete)
    assert (voice_qa.sections.count(), voice_qa.criteria.count()) == (count_sections, count_criteria)


def test_published_scorecard_row_refuses_content_changes_but_may_retire(voice_qa):
    assert refused(lambda: Scorecard.objects.filter(pk=voice_qa.pk).update(name="Other"))
    assert refused(lambda: Scorecard.objects.filter(pk=voice_qa.pk).update(status="draft"))
    assert refused(lambda: Scorecard.objects.filter(pk=voice_qa.pk).update(channels=["email"]))
    assert Scorecard.objects.get(pk=voice_qa.pk).name == "Voice QA"
    assert not refused(lambda: Scorecard.objects.filter(pk=voice_qa.pk).update(status="retired"))


def test_draft_scorecard_content_is_editable(db):
    draft = simple_scorecard(family="drafty", publish=False)
    criterion = draft.criteria.get(key="a")
    criterion.weight = Decimal("2.5")
    criterion.save()
    assert draft.criteria.get(key="a").weight == Decimal("2.50")


def test_criterion_section_must_belong_to_the_same_scorecard(db):
    one = simple_scorecard(family="one", publish=False)
    two = simple_scorecard(family="two", publish=False)
    assert refused(
        lambda: Criterion.objects.create(scorecard=one, section=two.sections.first(), key="x", question="?")
    )


def test_scorecard_family_version_is_unique_and_one_draft_per_family(db):
    simple_scorecard(family="fam")  # published v1
    assert refused(
        lambda: Scorecard.objects.create(
            family="fam", version=1, name="dup", status="published", published_at=timezone.now()
        )
    )
    Scorecard.objects.create(family="fam", version=2, name="v2")
    assert refused(lambda: Scorecard.objects.create(family="fam", version=3, name="v3"))


def test_criterion_weight_must_be_positive_and_yes_no_max_is_one(db):
    draft = simple_scorecard(family="w", publish=False)
    section = draft.sections.first()
    assert refused(
        lambda: Criterion.objects.create(scorecard=draft, section=section, key="z", question="?", weight=0)
    )
    assert refused(
        lambda: Criterion.objects.create(
            scorecard=draft, section=section, key="y", question="?", scale="yes_no", max_points=2
        )
    )


# --- evaluations and answers -----------------------------------------------------------------------


@pytest.fixture
def draft(call, reviewer, scorecard):
    return Evaluation.objects.create(call=call, agent=call.agent, scorecard=scorecard, author=reviewer)


def test_score_must_be_between_0_and_100(draft):
    now = timezone.now()
    assert refused(lambda: Evaluation.objects.filter(pk=draft.pk).update(score=Decimal("100.01")))
    assert refused(lambda: Evaluation.objects.filter(pk=draft.pk).update(score=Decimal("-0.01")))
    assert refused(
        lambda: Evaluation.objects.filter(pk=draft.pk).update(status="submitted")
    )  # no submitted_at
    assert refused(
        lambda: Evaluation.objects.filter(pk=draft.pk).update(is_auto_failed=True, score=Decimal("50"))
    )
    assert not refused(
        lambda: Evaluation.objects.filter(pk=draft.pk).update(
            score=Decimal("100"), status="submitted", submitted_at=now
        )
    )


def test_one_answer_per_criterion_and_value_xor_na(draft, scorecard):
    criterion = scorecard.criteria.get(key="a")
    Answer.objects.create(evaluation=draft, criterion=criterion, value=1)
    assert refused(lambda: Answer.objects.create(evaluation=draft, criterion=criterion, value=0))
    other = scorecard.criteria.get(key="b")
    assert refused(lambda: Answer.objects.create(evaluation=draft, criterion=other, value=2, is_na=True))
    assert refused(lambda: Answer.objects.create(evaluation=draft, criterion=other, value=None, is_na=False))
    assert list(draft.answers.values_list("criterion__key", "value")) == [("a", 1)]


def test_at_most_one_draft_per_call_author_kind_agent(draft):
    def second():
        Evaluation.objects.create(
            call=draft.call, agent=draft.agent, scorecard=draft.scorecard, author=draft.author
        )

    assert refused(second)
    # Another kind, or once the first is submitted, is fine.
    Evaluation.objects.create(
        call=draft.call, agent=draft.agent, scorecard=draft.scorecard, author=draft.author, kind="calibration"
    )
    Evaluation.objects.filter(pk=draft.pk).update(status="submitted", submitted_at=timezone.now(), score=50)
    assert not refused(second)


def test_revision_and_supersedes_go_together(draft):
    assert refused(lambda: Evaluation.objects.filter(pk=draft.pk).update(revision=2))
    assert refused(
        lambda: Evaluation.objects.filter(pk=draft.pk).update(is_current=False)
    )  # drafts are never superseded


def test_one_open_dispute_per_evaluation(draft, owner_agent):
    Evaluation.objects.filter(pk=draft.pk).update(status="submitted", submitted_at=timezone.now(), score=80)
    Dispute.objects.create(evaluation=draft, raised_by=owner_agent.user)
    assert refused(lambda: Dispute.objects.create(evaluation=draft, raised_by=owner_agent.user))
    assert Dispute.objects.filter(evaluation=draft).count() == 1


# --- assignments -----------------------------------------------------------------------------------


def test_no_call_is_assigned_twice_for_the_same_purpose_and_period(call, reviewer):
    other_reviewer = UserFactory(username="rev2", roles=["reviewer"])
    monday = timezone.localdate() - timezone.timedelta(days=timezone.localdate().weekday())
    AssignmentFactory(call=call, reviewer=reviewer, purpose="weekly_sample", period=monday)
    assert refused(
        lambda: AssignmentFactory(call=call, reviewer=other_reviewer, purpose="weekly_sample", period=monday)
    )
    # Manual assignments have no period: NULLs must still collide.
    AssignmentFactory(call=call, reviewer=reviewer, purpose="manual")
    assert refused(lambda: AssignmentFactory(call=call, reviewer=other_reviewer, purpose="manual"))
    # A different purpose, or the next week, is a different assignment.
    AssignmentFactory(call=call, reviewer=other_reviewer, purpose="calibration")
    AssignmentFactory(
        call=call, reviewer=reviewer, purpose="weekly_sample", period=monday + timezone.timedelta(days=7)
    )
    assert Assignment.objects.filter(call=call).count() == 4


def test_each_leg_of_a_call_is_assigned_once_per_purpose_and_period(call, reviewer, outsider_agent):
    # The call was transferred to the outsider: their leg is a separate assignment, but still only one.
    other_reviewer = UserFactory(username="rev2", roles=["reviewer"])
    monday = timezone.localdate() - timezone.timedelta(days=timezone.localdate().weekday())
    week = {"purpose": "weekly_sample", "period": monday}
    AssignmentFactory(call=call, reviewer=reviewer, agent=call.agent, **week)
    AssignmentFactory(call=call, reviewer=reviewer, agent=outsider_agent, **week)
    assert refused(
        lambda: AssignmentFactory(call=call, reviewer=other_reviewer, agent=outsider_agent, **week)
    )
    # No period (manual): the same per leg.
    AssignmentFactory(call=call, reviewer=reviewer, agent=outsider_agent, purpose="manual")
    assert refused(
        lambda: AssignmentFactory(call=call, reviewer=other_reviewer, agent=outsider_agent, purpose="manual")
    )
    assert Assignment.objects.filter(call=call).count() == 3


def test_a_weekly_sample_always_names_its_leg_agent(call, reviewer):
    monday = timezone.localdate() - timezone.timedelta(days=timezone.localdate().weekday())
    assert refused(
        lambda: AssignmentFactory(
            call=call, reviewer=reviewer, agent=None, purpose="weekly_sample", period=monday
        )
    )
    assert not Assignment.objects.exists()


def test_agentless_manual_assignments_still_collide(reviewer):
    # NULLs are distinct in a unique index: the constraint coalesces the agent so two rows of a call with
    # no handling agent and no chosen leg are still the same assignment.
    call = CallFactory(agent=None)
    AssignmentFactory(call=call, reviewer=reviewer, agent=None)
    assert refused(lambda: AssignmentFactory(call=call, reviewer=UserFactory(roles=["reviewer"]), agent=None))
    assert Assignment.objects.filter(call=call).count() == 1


def test_calibration_keeps_one_assignment_per_reviewer_whatever_the_leg(call, reviewer, outsider_agent):
    AssignmentFactory(call=call, reviewer=reviewer, purpose="calibration")
    AssignmentFactory(
        call=call, reviewer=UserFactory(username="rev2", roles=["reviewer"]), purpose="calibration"
    )
    assert refused(
        lambda: AssignmentFactory(call=call, reviewer=reviewer, agent=outsider_agent, purpose="calibration")
    )
    assert Assignment.objects.filter(call=call).count() == 2


def test_cancelled_assignment_does_not_block_a_new_one(reviewer):
    call = CallFactory()
    first = AssignmentFactory(call=call, reviewer=reviewer)
    Assignment.objects.filter(pk=first.pk).update(status="cancelled")
    AssignmentFactory(call=call, reviewer=reviewer)
    assert Assignment.objects.filter(call=call, status="open").count() == 1


def test_weekly_sample_needs_a_period(call, reviewer):
    assert refused(
        lambda: AssignmentFactory(call=call, reviewer=reviewer, purpose="weekly_sample", period=None)
    )
