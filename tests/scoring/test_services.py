"""Scorecard building and the evaluation lifecycle, through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring import selectors, services
from scoring.models import Answer, Assignment, AuditEntry, Evaluation, Scorecard
from tests.factories import AgentFactory, CallFactory, TransferFactory, UserFactory
from tests.scoring.factories import (
    AssignmentFactory,
    criteria_by_key,
    expected_score,
    fill_evaluation,
    simple_scorecard,
    submitted_evaluation,
)

pytestmark = pytest.mark.django_db


# --- scorecard building ----------------------------------------------------------------------------


def test_qa_lead_builds_and_publishes_a_scorecard(qa_lead):
    draft = services.scorecard_create_draft(family="chat-qa", name="Chat QA", user=qa_lead, channels=["chat"])
    section = services.section_add(scorecard=draft, user=qa_lead, title="Tone")
    services.criterion_add(section=section, user=qa_lead, key="tone", question="Friendly?", weight="2.5")
    services.criterion_add(
        section=section,
        user=qa_lead,
        key="typos",
        question="Typos?",
        scale="points",
        max_points=3,
        allows_na=True,
    )
    published = services.scorecard_publish(scorecard=draft, user=qa_lead)
    assert published.status == Scorecard.Status.PUBLISHED
    assert published.published_by == qa_lead
    assert list(published.criteria.values_list("key", "weight", "max_points", "position")) == [
        ("tone", Decimal("2.50"), 1, 1),
        ("typos", Decimal("1.00"), 3, 2),
    ]


def test_only_qa_leads_and_admins_build_scorecards(reviewer):
    with pytest.raises(PermissionDenied):
        services.scorecard_create_draft(family="x", name="X", user=reviewer)
    assert not Scorecard.objects.filter(family="x").exists()


def test_published_scorecard_edits_are_refused_and_nothing_changes(qa_lead, scorecard):
    criterion = scorecard.criteria.get(key="a")
    section = scorecard.sections.first()
    with pytest.raises(ValidationError):
        services.criterion_update(criterion=criterion, user=qa_lead, weight=5)
    with pytest.raises(ValidationError):
        services.criterion_add(section=section, user=qa_lead, key="new", question="?")
    with pytest.raises(ValidationError):
        services.section_remove(section=section, user=qa_lead)
    with pytest.raises(ValidationError):
        services.scorecard_update_draft(scorecard=scorecard, user=qa_lead, name="Renamed")
    scorecard.refresh_from_db()
    assert scorecard.name == "Simple"
    assert scorecard.criteria.get(key="a").weight == Decimal("1.00")
    assert scorecard.criteria.count() == 5


def test_criterion_validation(qa_lead):
    draft = simple_scorecard(family="val", publish=False)
    section = draft.sections.first()
    with pytest.raises(ValidationError):
        services.criterion_add(section=section, user=qa_lead, key="a", question="duplicate key")
    with pytest.raises(ValidationError):
        services.criterion_add(section=section, user=qa_lead, key="w0", question="?", weight=0)
    with pytest.raises(ValidationError):
        services.criterion_add(section=section, user=qa_lead, key="w", question="?", weight="abc")
    with pytest.raises(ValidationError):
        services.criterion_add(section=section, user=qa_lead, key="s", question="?", scale="stars")
    # A yes/no criterion always has max 1 whatever is passed.
    criterion = services.criterion_add(section=section, user=qa_lead, key="yn", question="?", max_points=7)
    assert criterion.max_points == 1
    assert draft.criteria.count() == 6


def test_publish_needs_criteria_in_every_section(qa_lead):
    draft = services.scorecard_create_draft(family="empty", name="Empty", user=qa_lead)
    with pytest.raises(ValidationError):
        services.scorecard_publish(scorecard=draft, user=qa_lead)
    section = services.section_add(scorecard=draft, user=qa_lead, title="One")
    services.criterion_add(section=section, user=qa_lead, key="k", question="?")
    services.section_add(scorecard=draft, user=qa_lead, title="Empty section")
    with pytest.raises(ValidationError):
        services.scorecard_publish(scorecard=draft, user=qa_lead)
    assert Scorecard.objects.get(pk=draft.pk).status == Scorecard.Status.DRAFT


def test_new_version_copies_everything_and_publishing_retires_the_old_one(
    qa_lead, scorecard, call, assigned_reviewer
):
    old_evaluation = submitted_evaluation(
        call=call, author=assigned_reviewer, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    draft = services.scorecard_new_version(scorecard=scorecard, user=qa_lead)
    assert (draft.family, draft.version, draft.status, draft.based_on) == ("simple", 2, "draft", scorecard)
    fields = [
        "section__title",
        "key",
        "question",
        "weight",
        "scale",
        "max_points",
        "allows_na",
        "is_critical",
        "applicability",
    ]
    assert list(draft.criteria.order_by("position").values_list(*fields)) == list(
        scorecard.criteria.order_by("position").values_list(*fields)
    )
    # Asking again returns the same draft (one draft per family).
    assert services.scorecard_new_version(scorecard=scorecard, user=qa_lead) == draft
    services.criterion_update(criterion=draft.criteria.get(key="a"), user=qa_lead, weight=4)
    services.scorecard_publish(scorecard=draft, user=qa_lead)
    scorecard.refresh_from_db()
    assert scorecard.status == Scorecard.Status.RETIRED
    assert scorecard.criteria.get(key="a").weight == Decimal("1.00")
    old_evaluation.refresh_from_db()
    assert old_evaluation.scorecard_id == scorecard.pk  # keeps the version it was scored on


def test_scorecard_for_call_prefers_specific_scorecards(voice_qa, scorecard):
    phone_call = CallFactory(channel="phone")
    email_call = CallFactory(channel="email")
    assert selectors.scorecard_for_call(phone_call) == voice_qa  # channel-specific beats the catch-all
    assert selectors.scorecard_for_call(email_call) == scorecard


# --- evaluations -----------------------------------------------------------------------------------


def test_evaluation_start_is_idempotent_and_links_the_assignment(call, assigned_reviewer, scorecard):
    first = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    second = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    assert first.pk == second.pk
    assert first.agent == call.agent
    assert first.assignment == Assignment.objects.get(call=call)
    assert Evaluation.objects.filter(call=call).count() == 1


def test_reviewer_without_assignment_or_permission_cannot_evaluate(call, reviewer, scorecard):
    with pytest.raises(PermissionDenied):
        services.evaluation_start(call=call, author=reviewer, scorecard=scorecard)
    assert not Evaluation.objects.exists()


def test_evaluate_any_call_permission_allows_unassigned_calls(call, qa_lead, scorecard):
    evaluation = services.evaluation_start(call=call, author=qa_lead, scorecard=scorecard)
    assert evaluation.assignment is None


def test_transferred_call_can_be_evaluated_per_leg(call, qa_lead, scorecard):
    second_leg = AgentFactory(employee_code="A-LEG2")
    TransferFactory(call=call, sequence=1, from_agent=call.agent, to_agent=second_leg)
    stranger = AgentFactory(employee_code="A-STRANGER")
    evaluation = services.evaluation_start(call=call, author=qa_lead, agent=second_leg, scorecard=scorecard)
    assert evaluation.agent == second_leg
    with pytest.raises(ValidationError):
        services.evaluation_start(call=call, author=qa_lead, agent=stranger, scorecard=scorecard)
    assert Evaluation.objects.filter(call=call).count() == 1


def test_start_uses_only_published_scorecards(call, qa_lead):
    draft = simple_scorecard(family="unpublished", publish=False)
    with pytest.raises(ValidationError):
        services.evaluation_start(call=call, author=qa_lead, scorecard=draft)


def test_answer_validates_against_the_scale(call, assigned_reviewer, scorecard):
    evaluation = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    c = criteria_by_key(scorecard)
    for kwargs in (
        {"criterion": c["a"], "value": 2},  # yes/no is 0/1
        {"criterion": c["b"], "value": 5},  # 0–4
        {"criterion": c["b"], "value": -1},
        {"criterion": c["a"], "value": None},
        {"criterion": c["a"], "value": True},
        {"criterion": c["a"], "is_na": True},  # N/A not allowed on a
        {"criterion": c["b"], "is_na": True, "value": 2},
        {"criterion": c["unres"], "value": 1},  # resolved call: only N/A
        {"criterion": c["a"], "value": 1, "offset_seconds": -5},
    ):
        with pytest.raises(ValidationError):
            services.evaluation_answer(evaluation=evaluation, author=assigned_reviewer, **kwargs)
    assert not Answer.objects.filter(evaluation=evaluation).exists()
    services.evaluation_answer(evaluation=evaluation, author=assigned_reviewer, criterion=c["b"], is_na=True)
    services.evaluation_answer(
        evaluation=evaluation, author=assigned_reviewer, criterion=c["unres"], is_na=True
    )
    answer = services.evaluation_answer(
        evaluation=evaluation,
        author=assigned_reviewer,
        criterion=c["a"],
        value=1,
        comment="Good",
        quote="Thank you for calling Acme",
        offset_seconds=3,
    )
    # Autosave again: the same row is updated.
    services.evaluation_answer(evaluation=evaluation, author=assigned_reviewer, criterion=c["a"], value=0)
    answer.refresh_from_db()
    assert (answer.value, answer.comment, answer.quote) == (0, "", "")
    assert evaluation.answers.count() == 3


def test_answer_refuses_a_criterion_of_another_scorecard_and_other_authors(
    call, assigned_reviewer, scorecard, voice_qa
):
    evaluation = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    with pytest.raises(ValidationError):
        services.evaluation_answer(
            evaluation=evaluation, author=assigned_reviewer, criterion=voice_qa.criteria.first(), value=1
        )
    intruder = UserFactory(username="intruder", roles=["reviewer"])
    with pytest.raises(PermissionDenied):
        services.evaluation_answer(
            evaluation=evaluation, author=intruder, criterion=scorecard.criteria.get(key="a"), value=1
        )
    assert not evaluation.answers.exists()


def test_submit_requires_every_applicable_answer(call, assigned_reviewer, scorecard):
    evaluation = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    fill_evaluation(evaluation, assigned_reviewer, {"a": 1, "b": 3})
    with pytest.raises(ValidationError) as error:
        services.evaluation_submit(evaluation=evaluation, author=assigned_reviewer)
    assert "crit, res" in str(error.value)
    evaluation.refresh_from_db()
    assert (evaluation.status, evaluation.score, evaluation.submitted_at) == ("draft", None, None)


def test_submit_computes_score_section_scores_and_closes_the_assignment(call, assigned_reviewer, scorecard):
    evaluation = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    fill_evaluation(evaluation, assigned_reviewer, {"a": 1, "b": 3, "crit": 1, "res": 0})
    evaluation = services.evaluation_submit(
        evaluation=evaluation, author=assigned_reviewer, summary="Solid call"
    )
    # weights a1 b3 crit2 res1; unres is N/A on a resolved call.
    assert evaluation.score == expected_score([(1, 1, 1), (3, 3, 4), (2, 1, 1), (1, 0, 1), (1, None, 1)])
    assert evaluation.score == Decimal("75.00")  # 100 × (1 + 2.25 + 2 + 0) / 7
    assert evaluation.status == "submitted" and evaluation.submitted_at is not None
    assert evaluation.summary == "Solid call"
    assert not evaluation.is_auto_failed
    unres = evaluation.answers.get(criterion__key="unres")
    assert unres.is_na and unres.value is None
    assert dict(evaluation.section_scores.values_list("section__title", "score")) == {
        "Basics": expected_score([(1, 1, 1), (3, 3, 4)]),  # 81.25
        "Closing": expected_score([(2, 1, 1), (1, 0, 1)]),  # 66.67
    }
    assignment = Assignment.objects.get(call=call)
    assert assignment.status == "done" and assignment.completed_at is not None
    assert list(evaluation.audit_entries.values_list("action", "actor")) == [
        ("submitted", assigned_reviewer.pk)
    ]


def test_failed_critical_scores_zero_and_keeps_answers(call, assigned_reviewer, scorecard):
    evaluation = submitted_evaluation(
        call=call, author=assigned_reviewer, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 0, "res": 1}
    )
    assert evaluation.score == Decimal("0.00")
    assert evaluation.is_auto_failed is True
    assert dict(evaluation.answers.values_list("criterion__key", "value")) == {
        "a": 1,
        "b": 4,
        "crit": 0,
        "res": 1,
        "unres": None,
    }
    assert dict(evaluation.section_scores.values_list("section__title", "score")) == {
        "Basics": Decimal("100.00"),
        "Closing": Decimal("0.00"),
    }


def test_submitted_evaluation_cannot_be_changed(call, assigned_reviewer, scorecard):
    evaluation = submitted_evaluation(
        call=call, author=assigned_reviewer, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    with pytest.raises(ValidationError):
        services.evaluation_answer(
            evaluation=evaluation,
            author=assigned_reviewer,
            criterion=scorecard.criteria.get(key="a"),
            value=0,
        )
    with pytest.raises(ValidationError):
        services.evaluation_submit(evaluation=evaluation, author=assigned_reviewer)
    with pytest.raises(ValidationError):
        services.evaluation_discard(evaluation=evaluation, author=assigned_reviewer)
    evaluation.refresh_from_db()
    assert evaluation.answers.get(criterion__key="a").value == 1
    assert evaluation.score == Decimal("100.00")


def test_a_call_can_be_evaluated_again_by_another_reviewer(call, assigned_reviewer, qa_lead, scorecard):
    values = {"a": 1, "b": 2, "crit": 1, "res": 1}
    submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=values)
    submitted_evaluation(call=call, author=qa_lead, scorecard=scorecard, values=values)
    # ...and the same reviewer can start a fresh re-review once the first is submitted.
    again = services.evaluation_start(call=call, author=qa_lead, scorecard=scorecard)
    assert again.status == "draft"
    assert Evaluation.objects.filter(call=call).count() == 3


def test_voice_qa_closing_depends_on_resolution(qa_lead, voice_qa, owner_agent):
    """The seed's point: 'anything else?' is scored on resolved calls and can only be N/A on unresolved ones."""
    resolved = CallFactory(agent=owner_agent, is_resolved=True)
    unresolved = CallFactory(agent=owner_agent, is_resolved=False, disposition="callback")
    c = criteria_by_key(voice_qa)
    on_resolved = services.evaluation_start(call=resolved, author=qa_lead)
    on_unresolved = services.evaluation_start(call=unresolved, author=qa_lead)
    assert on_resolved.scorecard == voice_qa
    services.evaluation_answer(
        evaluation=on_resolved, author=qa_lead, criterion=c["closing_anything_else"], value=1
    )
    with pytest.raises(ValidationError):
        services.evaluation_answer(
            evaluation=on_unresolved, author=qa_lead, criterion=c["closing_anything_else"], value=1
        )
    with pytest.raises(ValidationError):
        services.evaluation_answer(
            evaluation=on_resolved, author=qa_lead, criterion=c["closing_next_steps"], value=1
        )
    services.evaluation_answer(
        evaluation=on_unresolved, author=qa_lead, criterion=c["closing_next_steps"], value=0
    )
    rows = {r.criterion.key: r.applies for r in selectors.evaluation_rows(on_unresolved)}
    assert rows["closing_anything_else"] is False
    assert rows["closing_next_steps"] is True
    assert rows["hold_transfer_etiquette"] is False  # no hold, no transfer


def test_full_voice_qa_evaluation_score(qa_lead, voice_qa, owner_agent):
    call = CallFactory(agent=owner_agent, is_resolved=True, hold_seconds=45)
    values = {
        "greeting_brand": 1,
        "greeting_own_name": 0,
        "greeting_offer_help": 1,
        "identity_verified": "na",
        "history_used": 1,
        "empathy": 2,
        "script_common_sense": 1,
        "accurate_resolution": 3,
        "hold_transfer_etiquette": 1,
        "closing_summary": 1,
        "closing_confirms_resolution": 1,
        "closing_anything_else": 0,
        "closing_thanks": 1,
        "compliance": 1,
    }
    evaluation = submitted_evaluation(call=call, author=qa_lead, scorecard=voice_qa, values=values)
    criteria = criteria_by_key(voice_qa)
    items = []
    for key, criterion in criteria.items():
        value = values.get(key, "na")  # closing_next_steps is N/A on a resolved call
        items.append((float(criterion.weight), None if value == "na" else value, criterion.max_points))
    assert evaluation.score == expected_score(items)
    # By hand: earned 1+0+1 +2 +2×1 +2×0.5 +4×0.75 +2 +1+1+0+1 +5 = 20; weights 1+1+1+2+2+2+4+2+1+1+1+1+5 = 24.
    assert evaluation.score == Decimal("83.33")


def test_acknowledge_by_the_evaluated_agent_only(
    call, assigned_reviewer, scorecard, owner_agent, teammate_agent
):
    evaluation = submitted_evaluation(
        call=call, author=assigned_reviewer, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    with pytest.raises(PermissionDenied):
        services.evaluation_acknowledge(evaluation=evaluation, user=teammate_agent.user)
    assert Evaluation.objects.get(pk=evaluation.pk).acknowledged_at is None
    acknowledged = services.evaluation_acknowledge(evaluation=evaluation, user=owner_agent.user)
    first_time = acknowledged.acknowledged_at
    assert first_time is not None
    again = services.evaluation_acknowledge(evaluation=evaluation, user=owner_agent.user)
    assert again.acknowledged_at == first_time
    assert AuditEntry.objects.filter(evaluation=evaluation, action="acknowledged").count() == 1


def test_draft_cannot_be_acknowledged(call, assigned_reviewer, scorecard, owner_agent):
    evaluation = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    with pytest.raises(ValidationError):
        services.evaluation_acknowledge(evaluation=evaluation, user=owner_agent.user)


def test_agent_self_review_of_own_call(call, owner_agent, teammate_agent, scorecard):
    evaluation = services.self_evaluation_start(call=call, user=owner_agent.user, scorecard=scorecard)
    assert (evaluation.kind, evaluation.agent, evaluation.author) == (
        "self_review",
        owner_agent,
        owner_agent.user,
    )
    assert services.self_evaluation_start(call=call, user=owner_agent.user, scorecard=scorecard) == evaluation
    fill_evaluation(evaluation, owner_agent.user, {"a": 1, "b": 2, "crit": 1, "res": 1})
    evaluation = services.self_evaluation_submit(evaluation=evaluation, user=owner_agent.user)
    assert evaluation.score == expected_score([(1, 1, 1), (3, 2, 4), (2, 1, 1), (1, 1, 1)])
    with pytest.raises(PermissionDenied):
        services.self_evaluation_start(call=call, user=teammate_agent.user, scorecard=scorecard)
    assert Evaluation.objects.filter(kind="self_review").count() == 1


def test_a_second_self_review_of_the_same_call_is_refused(call, owner_agent, scorecard):
    first = services.self_evaluation_start(call=call, user=owner_agent.user, scorecard=scorecard)
    fill_evaluation(first, owner_agent.user, {"a": 1, "b": 2, "crit": 1, "res": 1})
    services.self_evaluation_submit(evaluation=first, user=owner_agent.user)
    second = services.self_evaluation_start(call=call, user=owner_agent.user, scorecard=scorecard)
    assert second.pk != first.pk and second.status == "draft"
    fill_evaluation(second, owner_agent.user, {"a": 0, "b": 0, "crit": 1, "res": 1})

    with pytest.raises(ValidationError, match="already submitted a self-review of this call"):
        services.self_evaluation_submit(evaluation=second, user=owner_agent.user)

    second.refresh_from_db()
    assert second.status == "draft"
    assert Evaluation.objects.filter(kind="self_review", status="submitted").count() == 1


def test_the_database_refuses_a_second_submitted_self_review(call, owner_agent, scorecard):
    from django.db import IntegrityError, transaction

    first = services.self_evaluation_start(call=call, user=owner_agent.user, scorecard=scorecard)
    fill_evaluation(first, owner_agent.user, {"a": 1, "b": 2, "crit": 1, "res": 1})
    services.self_evaluation_submit(evaluation=first, user=owner_agent.user)
    second = services.self_evaluation_start(call=call, user=owner_agent.user, scorecard=scorecard)

    with (
        pytest.raises(IntegrityError, match="evaluation_one_submitted_self_review_per_call_agent"),
        transaction.atomic(),
    ):
        Evaluation.objects.filter(pk=second.pk).update(status="submitted", submitted_at=timezone.now())


def test_discard_deletes_only_own_draft(call, assigned_reviewer, scorecard, qa_lead):
    evaluation = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    with pytest.raises(PermissionDenied):
        services.evaluation_discard(evaluation=evaluation, author=qa_lead)
    assert Evaluation.objects.filter(pk=evaluation.pk).exists()
    services.evaluation_discard(evaluation=evaluation, author=assigned_reviewer)
    assert not Evaluation.objects.filter(pk=evaluation.pk).exists()


# --- manual assignment -----------------------------------------------------------------------------


def test_supervisor_assigns_team_calls_but_not_other_teams(supervisor, reviewer, call, outsider_agent):
    assignment = services.assignment_create(
        call=call, reviewer=reviewer, assigned_by=supervisor, note="Complaint"
    )
    assert (assignment.purpose, assignment.status, assignment.assigned_by) == ("manual", "open", supervisor)
    with pytest.raises(ValidationError):
        services.assignment_create(call=call, reviewer=reviewer, assigned_by=supervisor)
    foreign_call = CallFactory(agent=outsider_agent)
    with pytest.raises(PermissionDenied):
        services.assignment_create(call=foreign_call, reviewer=reviewer, assigned_by=supervisor)
    assert Assignment.objects.count() == 1


def test_a_calibration_puts_one_call_in_several_reviewers_queues_once_each(admin_user, reviewer, call):
    """Calibration: several reviewers score the same call, so the call is assigned once per reviewer (a
    manual review stays once per call)."""
    second = UserFactory(username="reviewer-two", roles=["reviewer"])
    both = [
        services.assignment_create(call=call, reviewer=user, assigned_by=admin_user, purpose="calibration")
        for user in (reviewer, second)
    ]
    with pytest.raises(ValidationError, match="already in that reviewer's calibration queue"):
        services.assignment_create(call=call, reviewer=second, assigned_by=admin_user, purpose="calibration")
    services.assignment_create(call=call, reviewer=reviewer, assigned_by=admin_user)
    with pytest.raises(ValidationError, match="already assigned for that purpose"):
        services.assignment_create(call=call, reviewer=second, assigned_by=admin_user)
    # The database holds the same rule against writers that skip the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(call=call, reviewer=second, purpose="calibration")

    assert sorted(Assignment.objects.values_list("reviewer__username", "purpose")) == [
        ("reviewer", "calibration"),
        ("reviewer", "manual"),
        ("reviewer-two", "calibration"),
    ]
    services.assignment_cancel(assignment=both[1], user=admin_user)
    services.assignment_create(call=call, reviewer=second, assigned_by=admin_user, purpose="calibration")


def test_reviewers_and_agents_cannot_assign(reviewer, call, owner_agent):
    for user in (reviewer, owner_agent.user):
        with pytest.raises(PermissionDenied):
            services.assignment_create(call=call, reviewer=reviewer, assigned_by=user)
    assert not Assignment.objects.exists()


def test_assignment_only_to_reviewing_roles(admin_user, call, teammate_agent):
    with pytest.raises(ValidationError):
        services.assignment_create(call=call, reviewer=teammate_agent.user, assigned_by=admin_user)
    assert not Assignment.objects.exists()


def test_cancel_then_reassign(admin_user, reviewer, call):
    first = services.assignment_create(call=call, reviewer=reviewer, assigned_by=admin_user)
    services.assignment_cancel(assignment=first, user=admin_user)
    with pytest.raises(ValidationError):
        services.assignment_cancel(assignment=first, user=admin_user)
    second = services.assignment_create(call=call, reviewer=reviewer, assigned_by=admin_user)
    assert list(Assignment.objects.order_by("pk").values_list("pk", "status")) == [
        (first.pk, "cancelled"),
        (second.pk, "open"),
    ]


def test_submitted_at_is_now(call, assigned_reviewer, scorecard):
    before = timezone.now()
    evaluation = submitted_evaluation(
        call=call, author=assigned_reviewer, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    assert before <= evaluation.submitted_at <= timezone.now()


def test_calibration_closes_only_the_calibration_assignment(call, reviewer, scorecard):
    review_assignment = AssignmentFactory(call=call, reviewer=reviewer, purpose="manual")
    calibration_assignment = AssignmentFactory(call=call, reviewer=reviewer, purpose="calibration")
    values = {"a": 1, "b": 4, "crit": 1, "res": 1}
    calibration = submitted_evaluation(
        call=call, author=reviewer, scorecard=scorecard, values=values, kind="calibration"
    )
    assert calibration.assignment == calibration_assignment
    review_assignment.refresh_from_db()
    calibration_assignment.refresh_from_db()
    assert (review_assignment.status, calibration_assignment.status) == ("open", "done")


# --- assignment_create_many ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_assignment_create_many_makes_each_leg_once_and_reports_the_rest(
    reviewer, supervisor, owner_agent, teammate_agent, outsider_agent
):
    shared = CallFactory(agent=owner_agent, external_id="SHARED")
    TransferFactory(call=shared, sequence=1, from_agent=owner_agent, to_agent=outsider_agent)
    queued = CallFactory(agent=teammate_agent, external_id="QUEUED")
    AssignmentFactory(call=queued, reviewer=reviewer)

    result = services.assignment_create_many(
        legs=[
            (shared, None),  # the default leg: the handling agent's
            (shared, owner_agent),  # the same leg again in one batch
            (shared, outsider_agent),  # another team's leg
            (shared, teammate_agent),  # did not handle the call
            (queued, None),  # already in a queue
        ],
        reviewer=reviewer,
        assigned_by=supervisor,
        note="Coaching",
    )

    assert [(a.call_id, a.agent_id, a.note) for a in result.created] == [
        (shared.pk, owner_agent.pk, "Coaching")
    ]
    assert [(call.external_id, message) for call, message in result.problems] == [
        ("SHARED", "This agent's leg of the call is already assigned for that purpose."),
        ("SHARED", "You may not assign this agent's leg of the call (not one of your teams)."),
        ("SHARED", "The agent to evaluate must have handled a leg of this call."),
        ("QUEUED", "This agent's leg of the call is already assigned for that purpose."),
    ]
    assert Assignment.objects.count() == 2


@pytest.mark.django_db
def test_assignment_create_many_refuses_a_reviewer_who_cannot_take_assignments(
    admin_user, owner_agent, teammate_agent
):
    call = CallFactory(agent=owner_agent)
    with pytest.raises(ValidationError, match="only be assigned to reviewers"):
        services.assignment_create_many(
            legs=[(call, None)], reviewer=teammate_agent.user, assigned_by=admin_user
        )
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_assignment_create_many_falls_back_to_one_by_one_when_it_loses_a_race(
    reviewer, admin_user, owner_agent, monkeypatch
):
    first, second = CallFactory(agent=owner_agent), CallFactory(agent=owner_agent)
    real_default_leg = services.default_leg

    def racing_default_leg(call, legs, scope):
        # Another request queues the first call's leg between the duplicate check and the INSERT.
        if call.pk == first.pk:
            AssignmentFactory(call=first, reviewer=admin_user)
        return real_default_leg(call, legs, scope)

    monkeypatch.setattr(services, "default_leg", racing_default_leg)
    result = services.assignment_create_many(
        legs=[(first, None), (second, None)], reviewer=reviewer, assigned_by=admin_user
    )

    assert [a.call_id for a in result.created] == [second.pk]
    assert [(call.pk, message) for call, message in result.problems] == [
        (first.pk, "This agent's leg of the call is already assigned for that purpose.")
    ]
    assert sorted(Assignment.objects.values_list("call_id", "reviewer_id")) == sorted(
        [(first.pk, admin_user.pk), (second.pk, reviewer.pk)]
    )


@pytest.mark.django_db
def test_a_reviewer_is_never_assigned_their_own_leg(admin_user, reviewer, team, owner_agent):
    """A reviewer who also takes calls: their own leg would sit in their queue for ever (the workspace
    refuses it), so it is refused when assigned, one by one and in bulk; the call's other legs are fine."""
    reviewer_as_agent = AgentFactory(team=team, user=reviewer)
    call = CallFactory(agent=reviewer_as_agent, external_id="OWN")
    TransferFactory(call=call, sequence=1, from_agent=reviewer_as_agent, to_agent=owner_agent)

    with pytest.raises(ValidationError, match="cannot be assigned their own leg"):
        services.assignment_create(
            call=call, reviewer=reviewer, assigned_by=admin_user, agent=reviewer_as_agent
        )
    with pytest.raises(ValidationError, match="cannot be assigned their own leg"):
        services.assignment_create(call=call, reviewer=reviewer, assigned_by=admin_user)  # the default leg
    assert not Assignment.objects.exists()

    result = services.assignment_create_many(
        legs=[(call, reviewer_as_agent), (call, owner_agent)], reviewer=reviewer, assigned_by=admin_user
    )
    assert [(a.call_id, a.agent_id) for a in result.created] == [(call.pk, owner_agent.pk)]
    assert [(c.external_id, message) for c, message in result.problems] == [
        ("OWN", "A reviewer cannot be assigned their own leg of a call (they handled it).")
    ]
    assert list(Assignment.objects.values_list("agent_id", flat=True)) == [owner_agent.pk]


def test_a_draft_whose_assignment_was_cancelled_can_no_longer_be_answered_or_submitted(
    admin_user, call, reviewer, scorecard
):
    """The leg is checked by the services themselves, not only by the workspace: once the assignment that
    gave the right is cancelled, its draft can only be discarded."""
    assignment = services.assignment_create(call=call, reviewer=reviewer, assigned_by=admin_user)
    draft = services.evaluation_start(call=call, author=reviewer, scorecard=scorecard)
    crit = criteria_by_key(scorecard)
    services.evaluation_answer(evaluation=draft, author=reviewer, criterion=crit["a"], value=1)
    services.assignment_cancel(assignment=assignment, user=admin_user)

    with pytest.raises(PermissionDenied):
        services.evaluation_answer(evaluation=draft, author=reviewer, criterion=crit["b"], value=4)
    with pytest.raises(PermissionDenied):
        services.evaluation_summary_save(evaluation=draft, author=reviewer, summary="Good call")
    with pytest.raises(PermissionDenied):
        services.evaluation_submit(evaluation=draft, author=reviewer)
    draft.refresh_from_db()
    assert (draft.status, draft.summary, list(draft.answers.values_list("criterion__key", "value"))) == (
        "draft",
        "",
        [("a", 1)],
    )
    services.evaluation_discard(evaluation=draft, author=reviewer)
    assert not Evaluation.objects.filter(pk=draft.pk).exists()
