"""QA notices: who is told of each event, exactly once, only after commit; optional e-mail, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from scoring import services
from scoring.followups.notifiers import TransientNotifyError
from scoring.models import Evaluation, Notice
from scoring.notices import services as notice_services
from scoring.notices.services import NoticeSweepResult, notice_create_for_event, notice_sweep
from scoring.tasks import notice_create_for_event_task
from tests.factories import AgentFactory, CallFactory, UserFactory
from tests.scoring.factories import criteria_by_key, submitted_evaluation

pytestmark = pytest.mark.django_db

VALUES = {"a": 0, "b": 2, "crit": 1, "res": 1}


def email_state(notice):
    """(emailed_at, failed?, attempts, retry_at, error) of a notice's e-mail."""
    return (
        notice.emailed_at,
        notice.email_failed_at is not None,
        notice.email_attempts,
        notice.email_retry_at,
        notice.email_error,
    )


def notices():
    """(recipient username, kind, evaluation id, event key) of every notice, sorted."""
    return sorted(Notice.objects.values_list("recipient__username", "kind", "evaluation_id", "event_key"))


@pytest.fixture
def review(call, assigned_reviewer, scorecard, django_capture_on_commit_callbacks, eager_celery):
    with django_capture_on_commit_callbacks(execute=True):
        return submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)


def open_dispute(evaluation, agent_user, scorecard, capture):
    criteria = criteria_by_key(scorecard)
    with capture(execute=True):
        return services.dispute_open(
            evaluation=evaluation,
            user=agent_user,
            items={criteria["a"].pk: "I did greet"},
            reason="Re-listen",
        )


# --- review submitted -------------------------------------------------------------------------------


def test_a_submitted_review_tells_the_evaluated_agent_only(review, owner_agent):
    assert notices() == [("owner", "review_submitted", review.pk, f"evaluation:{review.pk}")]
    notice = Notice.objects.get()
    # The notice is dated when the review was submitted, unread, not e-mailed (QA_NOTICE_EMAIL is off).
    assert (notice.created_at, notice.read_at, notice.emailed_at) == (review.submitted_at, None, None)
    assert mail.outbox == []


def test_a_review_of_an_agent_without_a_login_tells_nobody(
    team, assigned_reviewer, scorecard, django_capture_on_commit_callbacks, eager_celery
):
    no_login = AgentFactory(employee_code="A-NOLOGIN", team=team, user=None)
    call = CallFactory(agent=no_login, is_resolved=True, hold_seconds=0)
    assigned_reviewer.user_permissions.add(Permission.objects.get(codename="evaluate_any_call"))
    with django_capture_on_commit_callbacks(execute=True):
        submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    assert notices() == []


def test_self_reviews_and_calibrations_tell_nobody(
    call, owner_agent, scorecard, django_capture_on_commit_callbacks, eager_celery
):
    calibrator = UserFactory(username="calibrator", roles=["reviewer"])
    calibrator.user_permissions.add(Permission.objects.get(codename="evaluate_any_call"))
    with django_capture_on_commit_callbacks(execute=True):
        submitted_evaluation(
            call=call, author=owner_agent.user, scorecard=scorecard, values=VALUES, kind="self_review"
        )
        submitted_evaluation(
            call=call, author=calibrator, scorecard=scorecard, values=VALUES, kind="calibration"
        )
    assert Evaluation.objects.filter(status="submitted").count() == 2
    assert notices() == []


def test_an_agent_reviewing_their_own_call_as_reviewer_is_not_told(
    team, scorecard, django_capture_on_commit_callbacks, eager_celery
):
    both = UserFactory(username="both", roles=["agent", "reviewer"])
    both.user_permissions.add(Permission.objects.get(codename="evaluate_any_call"))
    agent = AgentFactory(employee_code="A-BOTH", team=team, user=both)
    call = CallFactory(agent=agent, is_resolved=True, hold_seconds=0)
    # Nobody may start, answer or submit a review of their own leg any more (tests/scoring/test_views_legs.py),
    # even a draft left from before that rule...
    draft = Evaluation.objects.create(call=call, agent=agent, scorecard=scorecard, author=both, kind="review")
    with pytest.raises(PermissionDenied):
        services.evaluation_submit(evaluation=draft, author=both)
    # ...but one submitted before it must still not notify its author about themselves.
    Evaluation.objects.filter(pk=draft.pk).update(status="submitted", submitted_at=timezone.now(), score=90)
    with django_capture_on_commit_callbacks(execute=True):
        assert notice_create_for_event(kind="review_submitted", evaluation_id=draft.pk) == ()
    assert notices() == []


# --- dispute opened ---------------------------------------------------------------------------------


def test_an_opened_dispute_tells_the_team_supervisors_and_the_reviewer_not_the_agent(
    review, owner_agent, supervisor, team, scorecard, django_capture_on_commit_callbacks
):
    second = UserFactory(username="sup2", roles=["supervisor"])
    team.supervisors.add(second)
    UserFactory(username="boss", roles=["admin"])  # admins are only the fallback
    dispute = open_dispute(review, owner_agent.user, scorecard, django_capture_on_commit_callbacks)
    key = f"dispute:{dispute.pk}"
    assert [n for n in notices() if n[1] == "dispute_opened"] == [
        ("reviewer", "dispute_opened", review.pk, key),
        ("sup", "dispute_opened", review.pk, key),
        ("sup2", "dispute_opened", review.pk, key),
    ]
    assert Notice.objects.get(recipient=supervisor).dispute_id == dispute.pk


@pytest.mark.parametrize("without", ["supervisor", "team"])
def test_a_dispute_with_no_team_supervisor_goes_to_the_admins(
    without,
    owner_agent,
    team,
    assigned_reviewer,
    scorecard,
    call,
    django_capture_on_commit_callbacks,
    eager_celery,
):
    if without == "team":
        owner_agent.team = None
        owner_agent.save()
    UserFactory(username="admin-group", roles=["admin"])
    UserFactory(username="root", is_superuser=True)
    UserFactory(username="gone-admin", roles=["admin"], is_active=False)
    UserFactory(username="other-sup", roles=["supervisor"])  # leads no team of this agent
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = submitted_evaluation(
            call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES
        )
    dispute = open_dispute(evaluation, owner_agent.user, scorecard, django_capture_on_commit_callbacks)
    key = f"dispute:{dispute.pk}"
    assert [n for n in notices() if n[1] == "dispute_opened"] == [
        ("admin-group", "dispute_opened", evaluation.pk, key),
        ("reviewer", "dispute_opened", evaluation.pk, key),
        ("root", "dispute_opened", evaluation.pk, key),
    ]


def test_a_supervisor_who_wrote_the_review_gets_one_notice_of_the_dispute(
    owner_agent, supervisor, scorecard, call, django_capture_on_commit_callbacks, eager_celery
):
    supervisor.user_permissions.add(Permission.objects.get(codename="evaluate_any_call"))
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = submitted_evaluation(call=call, author=supervisor, scorecard=scorecard, values=VALUES)
    dispute = open_dispute(evaluation, owner_agent.user, scorecard, django_capture_on_commit_callbacks)
    assert [n for n in notices() if n[1] == "dispute_opened"] == [
        ("sup", "dispute_opened", evaluation.pk, f"dispute:{dispute.pk}")
    ]


# --- dispute decided --------------------------------------------------------------------------------


def test_an_upheld_dispute_tells_the_agent_and_the_reviewer_not_the_supervisor(
    review, owner_agent, supervisor, scorecard, django_capture_on_commit_callbacks
):
    dispute = open_dispute(review, owner_agent.user, scorecard, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="Stands")
    key = f"dispute:{dispute.pk}"
    assert [n for n in notices() if n[1] == "dispute_decided"] == [
        ("owner", "dispute_decided", review.pk, key),
        ("reviewer", "dispute_decided", review.pk, key),
    ]


def test_an_adjusted_dispute_links_the_new_revision(
    review, owner_agent, supervisor, scorecard, django_capture_on_commit_callbacks
):
    dispute = open_dispute(review, owner_agent.user, scorecard, django_capture_on_commit_callbacks)
    criteria = criteria_by_key(scorecard)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_resolve(
            dispute=dispute,
            user=supervisor,
            outcome="adjusted",
            note="Right",
            new_answers={criteria["a"].pk: 1},
        )
    revision = Evaluation.objects.get(supersedes=review)
    key = f"dispute:{dispute.pk}"
    assert [n for n in notices() if n[1] == "dispute_decided"] == [
        ("owner", "dispute_decided", revision.pk, key),
        ("reviewer", "dispute_decided", revision.pk, key),
    ]


def test_an_admin_deciding_on_their_own_review_is_not_told(
    owner_agent, admin_user, scorecard, call, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = submitted_evaluation(call=call, author=admin_user, scorecard=scorecard, values=VALUES)
    dispute = open_dispute(evaluation, owner_agent.user, scorecard, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_resolve(dispute=dispute, user=admin_user, outcome="upheld", note="Stands")
    assert [n for n in notices() if n[1] == "dispute_decided"] == [
        ("owner", "dispute_decided", evaluation.pk, f"dispute:{dispute.pk}")
    ]


# --- exactly once, only after commit ----------------------------------------------------------------


def test_running_the_task_twice_and_then_the_sweep_leaves_one_notice(review):
    before = notices()
    notice_create_for_event_task.apply(args=("review_submitted", review.pk, None))
    notice_create_for_event_task.apply(args=("review_submitted", review.pk, None))
    result = notice_sweep()
    assert (result.events, result.emails) == (0, 0)
    assert notices() == before == [("owner", "review_submitted", review.pk, f"evaluation:{review.pk}")]


def test_the_sweep_creates_the_notices_of_a_lost_task_once(
    call, assigned_reviewer, owner_agent, supervisor, scorecard
):
    # No on_commit callbacks run here: as if every task had been lost.
    evaluation = submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    criteria = criteria_by_key(scorecard)
    dispute = services.dispute_open(
        evaluation=evaluation, user=owner_agent.user, items={criteria["a"].pk: "x"}
    )
    services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="Stands")
    assert notices() == []
    assert notice_sweep().events == 3
    key = f"dispute:{dispute.pk}"
    expected = [
        ("owner", "dispute_decided", evaluation.pk, key),
        ("owner", "review_submitted", evaluation.pk, f"evaluation:{evaluation.pk}"),
        ("reviewer", "dispute_decided", evaluation.pk, key),
        ("reviewer", "dispute_opened", evaluation.pk, key),
        ("sup", "dispute_opened", evaluation.pk, key),
    ]
    assert notices() == expected
    assert notice_sweep().events == 0
    assert notices() == expected


def test_the_sweep_leaves_events_older_than_its_look_back(call, assigned_reviewer, scorecard, settings):
    settings.QA_NOTICE_SWEEP_LOOKBACK_HOURS = 2
    evaluation = submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    assert notice_sweep(now=evaluation.submitted_at + timedelta(hours=2, seconds=1)).events == 0
    assert notices() == []
    assert notice_sweep(now=evaluation.submitted_at + timedelta(hours=1, minutes=59)).events == 1
    assert len(notices()) == 1


class Rollback(Exception):
    pass


def test_a_rolled_back_submit_queues_no_notice(
    call, assigned_reviewer, scorecard, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Rollback), transaction.atomic():
        submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
        raise Rollback
    assert not Evaluation.objects.filter(status="submitted").exists()
    assert notices() == []


def test_no_notice_exists_before_the_commit(
    call, assigned_reviewer, scorecard, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True):
        submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
        assert notices() == []  # still inside the transaction: the task has not been queued
    assert [n[:2] for n in notices()] == [("owner", "review_submitted")]


def test_an_event_must_name_what_it_is_about():
    with pytest.raises(ValueError, match="names its dispute"):
        notice_create_for_event(kind="dispute_opened", evaluation_id=1)
    with pytest.raises(ValueError, match="unknown notice kind"):
        notice_create_for_event(kind="praise", evaluation_id=1)


# --- e-mail -----------------------------------------------------------------------------------------


@pytest.fixture
def email_on(settings):
    settings.QA_NOTICE_EMAIL = True
    settings.SITE_URL = "https://qa.example.com"


def test_each_notice_is_emailed_once(
    email_on,
    call,
    assigned_reviewer,
    owner_agent,
    scorecard,
    django_capture_on_commit_callbacks,
    eager_celery,
):
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = submitted_evaluation(
            call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES
        )
    notice_create_for_event_task.apply(args=("review_submitted", evaluation.pk, None))
    assert notice_sweep().emails == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    notice = Notice.objects.get()
    assert message.to == ["olive@example.com"]
    # VALUES: a=0 (w1), b=2/4 (w3), crit=1 (w2), res=1 (w1): 100·(0 + 1.5 + 2 + 1)/7 = 64.29
    assert message.subject == f"QA Center: Review received: call {call.external_id} scored 64.29."
    assert f"https://qa.example.com/qa/evaluations/{evaluation.pk}/" in message.body
    assert message.extra_headers["X-QA-Idempotency-Key"] == f"notice.{notice.pk}"
    assert notice.emailed_at is not None


def test_a_recipient_without_an_address_is_recorded_as_not_delivered_once(
    email_on,
    call,
    assigned_reviewer,
    owner_agent,
    scorecard,
    django_capture_on_commit_callbacks,
    eager_celery,
):
    with django_capture_on_commit_callbacks(execute=True):
        submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    assert mail.outbox == []
    assert email_state(Notice.objects.get()) == (None, True, 0, None, "no e-mail address")
    # Failed for good: an address given later does not make a sweep try again.
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()
    assert notice_sweep() == NoticeSweepResult(events=0, emails=0, email_failures=0)
    assert mail.outbox == []


def test_a_failed_email_is_sent_by_the_next_sweep(
    email_on,
    monkeypatch,
    call,
    assigned_reviewer,
    owner_agent,
    scorecard,
    django_capture_on_commit_callbacks,
    eager_celery,
):
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()

    def down(**kwargs):
        raise TransientNotifyError("SMTP unreachable")

    monkeypatch.setattr(notice_services, "email_send", down)
    with django_capture_on_commit_callbacks(execute=True):
        submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    notice = Notice.objects.get()
    assert (notice.emailed_at, notice.email_attempts, notice.email_error) == (None, 1, "SMTP unreachable")
    monkeypatch.undo()
    # Not before its backoff (QA_NOTICE_EMAIL_RETRY_BASE_SECONDS = 300 after the first failure).
    assert notice_sweep(now=notice.email_retry_at - timedelta(seconds=1)).emails == 0
    assert notice_sweep(now=notice.email_retry_at).emails == 1
    assert notice_sweep(now=notice.email_retry_at + timedelta(minutes=5)).emails == 0
    assert [m.to for m in mail.outbox] == [["olive@example.com"]]
    notice.refresh_from_db()
    assert (
        notice.emailed_at is not None,
        notice.email_attempts,
        notice.email_retry_at,
        notice.email_error,
    ) == (
        True,
        2,
        None,
        "",
    )


def test_no_email_when_the_setting_is_off(
    call, assigned_reviewer, owner_agent, scorecard, django_capture_on_commit_callbacks, eager_celery
):
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    assert notice_sweep().emails == 0
    assert mail.outbox == []


# --- reading ----------------------------------------------------------------------------------------


def test_marking_read_keeps_the_first_read_time_and_refuses_others(review, owner_agent, teammate_agent):
    from django.core.exceptions import PermissionDenied

    notice = Notice.objects.get()
    with pytest.raises(PermissionDenied):
        notice_services.notice_mark_read(notice=notice, user=teammate_agent.user)
    assert Notice.objects.get().read_at is None
    first = notice_services.notice_mark_read(notice=notice, user=owner_agent.user).read_at
    assert first is not None and first <= timezone.now()
    assert notice_services.notice_mark_read(notice=notice, user=owner_agent.user).read_at == first
    assert notice_services.notice_mark_all_read(user=owner_agent.user) == 0
