"""Demo QA data on top of the calls demo: consistent, valid, idempotent."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from scoring.calibration.selectors import calibration_report
from scoring.demo import CALIBRATION_CALLS, seed_evaluations
from scoring.models import Answer, Assignment, AuditEntry, Dispute, Evaluation
from tests.scoring.factories import expected_score

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_calls(db):
    call_command("seed_demo", calls=400, agents=6, days=14, seed=7, calls_only=True, stdout=io.StringIO())


def test_seed_evaluations_builds_consistent_qa_data(demo_calls):
    summary = seed_evaluations(seed=3, share=0.3)
    assert summary["skipped"] is False
    assert summary["reviews"] > 20
    adjusted = Dispute.objects.filter(status="adjusted").count()
    assert Evaluation.objects.filter(kind="review").count() == summary["reviews"] + adjusted
    assert Evaluation.objects.filter(kind="self_review").count() == summary["self_reviews"] > 0
    assert Evaluation.objects.filter(status="draft").count() == 0

    # Every stored score equals an independent recomputation from the stored answers.
    for evaluation in Evaluation.objects.prefetch_related("answers__criterion"):
        answers = list(evaluation.answers.all())
        assert len(answers) == evaluation.scorecard.criteria.count()
        failed_critical = any(
            a.criterion.is_critical and not a.is_na and a.value < a.criterion.max_points for a in answers
        )
        items = [
            (float(a.criterion.weight), None if a.is_na else a.value, a.criterion.max_points) for a in answers
        ]
        if failed_critical:
            assert evaluation.score == Decimal("0.00") and evaluation.is_auto_failed
        else:
            assert evaluation.score == expected_score(items)
            assert not evaluation.is_auto_failed

    # Consistent with the transcripts: asking for a full card number fails compliance.
    card = Answer.objects.filter(
        evaluation__kind="review",
        criterion__key="compliance",
        evaluation__call__transcript__contains="full card number",
        evaluation__is_current=True,
    )
    assert set(card.values_list("value", flat=True)) <= {0}
    # "Anything else?" is N/A on every unresolved call.
    assert not Answer.objects.filter(
        criterion__key="closing_anything_else", evaluation__call__is_resolved=False, is_na=False
    ).exists()

    assert Dispute.objects.filter(status="open").count() == summary["disputes_open"]
    assert Dispute.objects.exclude(status="open").count() == summary["disputes_resolved"]
    assert (
        Evaluation.objects.filter(is_current=False).count()
        == Dispute.objects.filter(status="adjusted").count()
    )
    assert (
        AuditEntry.objects.filter(action="submitted").count() == Evaluation.objects.filter(revision=1).count()
    )
    assert (
        Assignment.objects.filter(status="open", purpose="weekly_sample").count()
        == summary["assignments"]
        > 0
    )


def test_seed_evaluations_is_idempotent(demo_calls):
    first = seed_evaluations(seed=3, share=0.2)
    count = Evaluation.objects.count()
    second = seed_evaluations(seed=3, share=0.2)
    assert second == {"skipped": True, "evaluations": count}
    assert first["evaluations"] == Evaluation.objects.filter(revision=1).count()
    assert Evaluation.objects.count() == count


def test_demo_scores_follow_the_agent_profiles(demo_calls):
    from django.db.models import Avg

    from calls.demo import agent_profile

    seed_evaluations(seed=3, share=0.4)
    averages = dict(
        Evaluation.objects.filter(kind="review", is_current=True)
        .values("agent__employee_code")
        .annotate(avg=Avg("score"))
        .values_list("agent__employee_code", "avg")
    )
    assert agent_profile("A-002").archetype == "star" and agent_profile("A-001").archetype == "new hire"
    assert averages["A-002"] > averages["A-001"] + 15


def test_demo_calibration_puts_every_reviewer_on_the_same_calls(demo_calls, django_user_model):
    summary = seed_evaluations(seed=3, share=0.3)

    reviewers = django_user_model.objects.filter(groups__name="reviewer").order_by("username")
    assert list(reviewers.values_list("username", flat=True)) == ["reviewer", "reviewer2", "reviewer3"]
    calibrated = set(Evaluation.objects.filter(kind="calibration").values_list("call_id", flat=True))
    assert len(calibrated) == CALIBRATION_CALLS and summary["calibration"] == 2 * CALIBRATION_CALLS
    for call_id in calibrated:  # the call's review by one reviewer, a calibration by each of the others
        ratings = Evaluation.objects.filter(call_id=call_id, kind__in=["review", "calibration"], revision=1)
        assert sorted(ratings.values_list("author__username", flat=True)) == [
            "reviewer",
            "reviewer2",
            "reviewer3",
        ]
        assert ratings.filter(kind="review").count() == 1
    report = calibration_report(django_user_model.objects.get(username="admin"))
    assert (report.overall.units, report.overall.raters) == (CALIBRATION_CALLS, 3)
    # Colleagues differ now and then on points items, never on critical ones: agreement is good, not perfect.
    assert report.overall.verdict in {"reliable", "tentative"} and report.overall.value < 1
    assert len(report.reviewers) == 3


def test_demo_notices_come_from_the_events(demo_calls, django_user_model):
    from datetime import timedelta

    from django.utils import timezone

    from scoring.models import Notice

    before = timezone.now()
    summary = seed_evaluations(seed=3, share=0.3)
    reviews_of_logins = Evaluation.objects.filter(kind="review", revision=1, agent__user__isnull=False)
    assert reviews_of_logins.exists()
    # One notice per review of an agent with a login, to that agent, dated when the review was submitted.
    told = Notice.objects.filter(kind="review_submitted")
    assert sorted(told.values_list("evaluation_id", "recipient_id", "created_at")) == sorted(
        reviews_of_logins.values_list("pk", "agent__user_id", "submitted_at")
    )
    # Each dispute: its team's supervisors (or the admins) and the reviewer; each decision: agent and reviewer.
    for dispute in Dispute.objects.select_related("evaluation__agent__team"):
        evaluation = dispute.evaluation
        supervisors = set(evaluation.agent.team.supervisors.values_list("pk", flat=True))
        if not supervisors:
            supervisors = set(
                django_user_model.objects.filter(is_superuser=True).values_list("pk", flat=True)
            ) | set(django_user_model.objects.filter(groups__name="admin").values_list("pk", flat=True))
        opened = set(
            Notice.objects.filter(dispute=dispute, kind="dispute_opened").values_list("recipient", flat=True)
        )
        assert opened == (supervisors | {evaluation.author_id}) - {dispute.raised_by_id}
        decided = set(
            Notice.objects.filter(dispute=dispute, kind="dispute_decided").values_list("recipient", flat=True)
        )
        if dispute.status == "open":
            assert decided == set()
        else:
            assert decided == {evaluation.agent.user_id, evaluation.author_id} - {dispute.resolved_by_id}
    assert summary["notices"] == Notice.objects.count()
    # Older notices are shown read; the last few days' are unread.
    unread = Notice.objects.filter(read_at__isnull=True)
    assert unread.exists()
    assert not unread.filter(created_at__lt=before - timedelta(days=3)).exists()
    assert not Notice.objects.filter(
        read_at__isnull=False, created_at__gte=before - timedelta(days=3) + timedelta(minutes=1)
    ).exists()


def test_demo_records_coaching_sessions_by_the_agents_supervisors(demo_calls):
    from scoring.models import CoachingSession, Notice

    summary = seed_evaluations(seed=3, share=0.3)
    sessions = list(CoachingSession.objects.select_related("agent__team", "agent__user").order_by("pk"))
    assert summary["coaching_sessions"] == len(sessions) == 2
    for session in sessions:
        assert session.agent.team.supervisors.filter(pk=session.coach_id).exists()
        assert session.coach_id != session.agent.user_id
        assert session.focus_criteria.count() == 2
        assert {e.agent_id for e in session.evaluations.all()} == {session.agent_id}
        assert list(
            Notice.objects.filter(kind="coaching_recorded", coaching_session=session).values_list(
                "recipient", flat=True
            )
        ) == [session.agent.user_id]
    assert [s.acknowledged_at is not None for s in sessions] == [True, False]
    # Deterministic: the same data set gives the same sessions.
    first = [
        (s.agent_id, s.held_on, sorted(s.focus_criteria.values_list("key", flat=True))) for s in sessions
    ]
    assert len({agent for agent, _, _ in first}) == 2
