"""QA notices: an e-mail ends sent or failed (never retried after), transient failures back off up to a
bound, and an event with nobody to tell is resolved once (a NoticeSilentEvent marker), not every sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring import services
from scoring.followups.notifiers import PermanentNotifyError, TransientNotifyError
from scoring.models import Notice, NoticeSilentEvent
from scoring.notices import services as notice_services
from scoring.notices.services import EmailOutcome, NoticeSweepResult, notice_email_send, notice_sweep
from tests.factories import AgentFactory, CallFactory, UserFactory
from tests.scoring.factories import criteria_by_key, submitted_evaluation

pytestmark = pytest.mark.django_db

VALUES = {"a": 0, "b": 2, "crit": 1, "res": 1}


class FakeSend:
    """Stands in for email_send: records each call and raises the queued errors, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[str] = []

    def __call__(self, *, subject, body, to, idempotency_key) -> None:
        self.calls.append(idempotency_key)
        if self.errors:
            raise self.errors.pop(0)


@pytest.fixture
def email_on(settings):
    settings.QA_NOTICE_EMAIL = True
    settings.QA_NOTICE_EMAIL_MAX_ATTEMPTS = 3
    settings.QA_NOTICE_EMAIL_RETRY_BASE_SECONDS = 300
    return settings


@pytest.fixture
def unsent_notice(call, assigned_reviewer, owner_agent, scorecard, settings):
    """A review notice of the owner (who has an address) created while e-mail was off: never tried."""
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()
    settings.QA_NOTICE_EMAIL = False
    evaluation = submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    assert notice_sweep().events == 1
    return Notice.objects.get(evaluation=evaluation)


def state(notice: Notice):
    notice.refresh_from_db()
    return (
        notice.emailed_at,
        notice.email_failed_at,
        notice.email_attempts,
        notice.email_retry_at,
        notice.email_error,
    )


# --- e-mail outcomes --------------------------------------------------------------------------------


def test_a_permanent_failure_is_recorded_once_and_never_retried(unsent_notice, email_on, monkeypatch):
    fake = FakeSend(PermanentNotifyError("SMTP 550: b'no such user'"))
    monkeypatch.setattr(notice_services, "email_send", fake)
    t0 = unsent_notice.created_at + timedelta(minutes=1)
    assert notice_sweep(now=t0) == NoticeSweepResult(events=0, emails=0, email_failures=1)
    assert state(unsent_notice) == (None, t0, 1, None, "SMTP 550: b'no such user'")
    for later in (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=23)):
        assert notice_sweep(now=t0 + later) == NoticeSweepResult(events=0, emails=0, email_failures=0)
    assert notice_email_send(notice_id=unsent_notice.pk, now=t0 + timedelta(hours=2)) == EmailOutcome.SKIPPED
    assert fake.calls == [f"notice.{unsent_notice.pk}"]
    assert state(unsent_notice) == (None, t0, 1, None, "SMTP 550: b'no such user'")


def test_a_transient_failure_backs_off_then_fails_after_the_bound(unsent_notice, email_on, monkeypatch):
    fake = FakeSend(*(TransientNotifyError(f"SMTP 421: busy {n}") for n in (1, 2, 3, 4)))
    monkeypatch.setattr(notice_services, "email_send", fake)
    t0 = unsent_notice.created_at + timedelta(minutes=1)
    # Attempt 1 at t0; waits base·2^0 = 300 s, then base·2^1 = 600 s; the 3rd failure (the bound) is final.
    assert notice_sweep(now=t0).email_failures == 0
    assert state(unsent_notice) == (None, None, 1, t0 + timedelta(seconds=300), "SMTP 421: busy 1")
    assert notice_sweep(now=t0 + timedelta(seconds=299)) == NoticeSweepResult(0, 0, 0)
    assert len(fake.calls) == 1
    t1 = t0 + timedelta(seconds=300)
    assert notice_sweep(now=t1) == NoticeSweepResult(0, 0, 0)
    assert state(unsent_notice) == (None, None, 2, t1 + timedelta(seconds=600), "SMTP 421: busy 2")
    t2 = t1 + timedelta(seconds=600)
    assert notice_sweep(now=t2) == NoticeSweepResult(events=0, emails=0, email_failures=1)
    assert state(unsent_notice) == (None, t2, 3, None, "gave up after 3 attempts: SMTP 421: busy 3")
    assert notice_sweep(now=t2 + timedelta(hours=1)) == NoticeSweepResult(0, 0, 0)
    assert fake.calls == [f"notice.{unsent_notice.pk}"] * 3
    assert mail.outbox == []


def test_a_transient_failure_then_success_is_sent_once(unsent_notice, email_on, monkeypatch):
    fake = FakeSend(TransientNotifyError("SMTP unreachable"))
    monkeypatch.setattr(notice_services, "email_send", fake)
    t0 = unsent_notice.created_at + timedelta(minutes=1)
    notice_sweep(now=t0)
    t1 = t0 + timedelta(seconds=300)
    assert notice_sweep(now=t1) == NoticeSweepResult(events=0, emails=1, email_failures=0)
    assert state(unsent_notice) == (t1, None, 2, None, "")
    assert notice_sweep(now=t1 + timedelta(hours=1)).emails == 0
    assert len(fake.calls) == 2


def test_a_retry_is_taken_up_even_after_the_event_left_the_look_back(unsent_notice, email_on, monkeypatch):
    email_on.QA_NOTICE_SWEEP_LOOKBACK_HOURS = 1
    fake = FakeSend(TransientNotifyError("SMTP unreachable"))
    monkeypatch.setattr(notice_services, "email_send", fake)
    t0 = unsent_notice.created_at + timedelta(minutes=59)
    notice_sweep(now=t0)
    # The event is now 64 minutes old, past the 1-hour look-back: its due retry still runs (and succeeds).
    assert notice_sweep(now=t0 + timedelta(seconds=300)).emails == 1
    assert len(fake.calls) == 2


def test_a_never_tried_notice_older_than_the_look_back_is_left_alone(unsent_notice, email_on, monkeypatch):
    fake = FakeSend()
    monkeypatch.setattr(notice_services, "email_send", fake)
    email_on.QA_NOTICE_SWEEP_LOOKBACK_HOURS = 1
    assert notice_sweep(now=unsent_notice.created_at + timedelta(hours=1, seconds=1)).emails == 0
    assert fake.calls == []
    assert state(unsent_notice) == (None, None, 0, None, "")


def test_an_inactive_recipient_fails_without_a_send(unsent_notice, email_on, monkeypatch, owner_agent):
    fake = FakeSend()
    monkeypatch.setattr(notice_services, "email_send", fake)
    owner_agent.user.is_active = False
    owner_agent.user.save()
    t0 = unsent_notice.created_at + timedelta(minutes=1)
    assert notice_sweep(now=t0) == NoticeSweepResult(events=0, emails=0, email_failures=1)
    assert state(unsent_notice) == (None, t0, 0, None, "the recipient is inactive")
    assert fake.calls == []


def test_the_task_sends_right_away_and_leaves_a_failure_to_the_sweep(
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
    fake = FakeSend(TransientNotifyError("SMTP unreachable"))
    monkeypatch.setattr(notice_services, "email_send", fake)
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = submitted_evaluation(
            call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES
        )
    notice = Notice.objects.get()
    # A repeat of the task does not retry early: only never-tried notices are sent by the task.
    notice_services.notice_create_for_event(kind="review_submitted", evaluation_id=evaluation.pk)
    assert len(fake.calls) == 1
    _, failed_at, attempts, retry_at, error = state(notice)
    assert (failed_at, attempts, error) == (None, 1, "SMTP unreachable")
    assert notice_sweep(now=retry_at).emails == 1
    assert len(fake.calls) == 2


# --- the database keeps the e-mail state coherent ---------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        (
            {"emailed_at": "now", "email_failed_at": "now", "email_attempts": 1, "email_error": "x"},
            "notice_email_either_sent_or_failed",
        ),
        ({"emailed_at": "now"}, "notice_email_sent_after_an_attempt_without_error"),
        (
            {"emailed_at": "now", "email_attempts": 1, "email_error": "old"},
            "notice_email_sent_after_an_attempt_without_error",
        ),
        ({"email_failed_at": "now"}, "notice_email_failure_says_why_and_is_final"),
        (
            {"email_failed_at": "now", "email_error": "550", "email_attempts": 1, "email_retry_at": "now"},
            "notice_email_failure_says_why_and_is_final",
        ),
        ({"email_retry_at": "now", "email_error": "421"}, "notice_email_retry_follows_a_failed_attempt"),
        ({"email_retry_at": "now", "email_attempts": 1}, "notice_email_retry_follows_a_failed_attempt"),
        ({"email_attempts": 2, "email_error": "421"}, "notice_email_tried_and_pending_has_retry"),
    ],
)
def test_the_database_refuses_incoherent_email_states(unsent_notice, fields, constraint):
    now = timezone.now()
    values = {key: now if value == "now" else value for key, value in fields.items()}
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Notice.objects.filter(pk=unsent_notice.pk).update(**values)
    assert state(unsent_notice) == (None, None, 0, None, "")


@pytest.mark.parametrize(
    "fields",
    [
        {"emailed_at": "now", "email_attempts": 1},
        {"email_failed_at": "now", "email_error": "no e-mail address"},
        {"email_failed_at": "now", "email_attempts": 3, "email_error": "gave up"},
        {"email_retry_at": "now", "email_attempts": 1, "email_error": "421"},
    ],
)
def test_the_database_accepts_the_four_email_states(unsent_notice, fields):
    now = timezone.now()
    values = {key: now if value == "now" else value for key, value in fields.items()}
    assert Notice.objects.filter(pk=unsent_notice.pk).update(**values) == 1


# --- events with nobody to tell ---------------------------------------------------------------------


@pytest.fixture
def any_call_reviewer(reviewer):
    reviewer.user_permissions.add(Permission.objects.get(codename="evaluate_any_call"))
    return reviewer


def silent_reviews(reviewer, scorecard, team, count: int, *, login: bool):
    """Reviews of an agent with a deactivated login (login=True) or none; their tasks are lost."""
    user = UserFactory(username=f"gone-{login}", is_active=False) if login else None
    agent = AgentFactory(employee_code=f"A-SILENT-{login}", team=team, user=user)
    return [
        submitted_evaluation(
            call=CallFactory(agent=agent, is_resolved=True, hold_seconds=0),
            author=reviewer,
            scorecard=scorecard,
            values=VALUES,
        )
        for _ in range(count)
    ]


def markers():
    return sorted(
        NoticeSilentEvent.objects.values_list("kind", "evaluation_id", "dispute_id", "event_key", "event_at")
    )


def test_a_silent_event_is_resolved_once_and_later_sweeps_ask_less(
    any_call_reviewer, owner_agent, team, scorecard, django_assert_num_queries
):
    silent = silent_reviews(any_call_reviewer, scorecard, team, 3, login=True)
    silent_reviews(any_call_reviewer, scorecard, team, 2, login=False)  # left out by the SQL up front
    told = submitted_evaluation(
        call=CallFactory(agent=owner_agent, is_resolved=True, hold_seconds=0),
        author=any_call_reviewer,
        scorecard=scorecard,
        values=VALUES,
    )
    # 6 statements (prune markers; reviews, opened and decided disputes, coaching sessions, due follow-ups to resolve), then 3
    # per event:
    # the evaluation, its recipients, and the insert (a marker for the 3 silent ones, the notice for `told`).
    with django_assert_num_queries(6 + 3 * 4):
        assert notice_sweep() == NoticeSweepResult(events=4, emails=0, email_failures=0)
    assert markers() == sorted(
        ("review_submitted", e.pk, None, f"evaluation:{e.pk}", e.submitted_at) for e in silent
    )
    assert list(Notice.objects.values_list("recipient__username", "evaluation_id")) == [("owner", told.pk)]
    # Every event is resolved: the next sweeps only ask the 6 statements.
    for _ in range(2):
        with django_assert_num_queries(6):
            assert notice_sweep() == NoticeSweepResult(events=0, emails=0, email_failures=0)
    assert len(markers()) == 3
    assert Notice.objects.count() == 1


def test_the_task_marks_a_silent_event_so_no_sweep_resolves_it(
    any_call_reviewer,
    team,
    scorecard,
    django_capture_on_commit_callbacks,
    eager_celery,
    django_assert_num_queries,
):
    with django_capture_on_commit_callbacks(execute=True):
        (evaluation,) = silent_reviews(any_call_reviewer, scorecard, team, 1, login=True)
    assert markers() == [
        ("review_submitted", evaluation.pk, None, f"evaluation:{evaluation.pk}", evaluation.submitted_at)
    ]
    with django_assert_num_queries(6):
        assert notice_sweep().events == 0
    # A repeat of the task (a redelivery) inserts nothing more.
    notice_services.notice_create_for_event(kind="review_submitted", evaluation_id=evaluation.pk)
    assert len(markers()) == 1
    assert Notice.objects.count() == 0


def test_an_event_with_recipients_never_gets_a_marker(
    call,
    assigned_reviewer,
    owner_agent,
    supervisor,
    scorecard,
    django_capture_on_commit_callbacks,
    eager_celery,
):
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = submitted_evaluation(
            call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES
        )
    criteria = criteria_by_key(scorecard)
    with django_capture_on_commit_callbacks(execute=True):
        dispute = services.dispute_open(
            evaluation=evaluation, user=owner_agent.user, items={criteria["a"].pk: "x"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="Stands")
    notice_sweep()
    assert markers() == []
    assert set(Notice.objects.values_list("kind", flat=True)) == {
        "dispute_decided",
        "dispute_opened",
        "review_submitted",
    }


def test_a_silent_dispute_is_marked_and_not_resolved_again(
    call, assigned_reviewer, owner_agent, team, scorecard, django_assert_num_queries
):
    # No supervisor for the team and no admin: only the reviewer is told of the dispute, and they left.
    evaluation = submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    criteria = criteria_by_key(scorecard)
    dispute = services.dispute_open(
        evaluation=evaluation, user=owner_agent.user, items={criteria["a"].pk: "x"}
    )
    assigned_reviewer.is_active = False
    assigned_reviewer.save()
    assert notice_sweep().events == 2  # the review (told to the agent) and the dispute's opening (nobody)
    assert markers() == [
        ("dispute_opened", evaluation.pk, dispute.pk, f"dispute:{dispute.pk}", dispute.created_at)
    ]
    with django_assert_num_queries(6):
        assert notice_sweep().events == 0


def test_markers_are_pruned_once_their_event_leaves_the_look_back(
    any_call_reviewer, team, scorecard, settings
):
    settings.QA_NOTICE_SWEEP_LOOKBACK_HOURS = 2
    (evaluation,) = silent_reviews(any_call_reviewer, scorecard, team, 1, login=True)
    notice_sweep(now=evaluation.submitted_at + timedelta(minutes=1))
    assert len(markers()) == 1
    assert notice_sweep(now=evaluation.submitted_at + timedelta(hours=2)).events == 0
    assert len(markers()) == 1  # still inside: kept, so the event is not resolved again
    assert notice_sweep(now=evaluation.submitted_at + timedelta(hours=2, seconds=1)).events == 0
    assert markers() == []


def test_the_database_keeps_one_marker_per_event_and_names_a_disputes_dispute(
    any_call_reviewer, team, scorecard
):
    (evaluation,) = silent_reviews(any_call_reviewer, scorecard, team, 1, login=True)
    fields = {
        "kind": "review_submitted",
        "evaluation": evaluation,
        "event_key": f"evaluation:{evaluation.pk}",
        "event_at": evaluation.submitted_at,
    }
    NoticeSilentEvent.objects.create(**fields)
    with pytest.raises(IntegrityError, match="notice_silent_event_once"), transaction.atomic():
        NoticeSilentEvent.objects.create(**fields)
    with (
        pytest.raises(IntegrityError, match="notice_silent_event_dispute_events_name_their_dispute"),
        transaction.atomic(),
    ):
        NoticeSilentEvent.objects.create(**{**fields, "kind": "dispute_opened", "event_key": "dispute:1"})
    with pytest.raises(IntegrityError, match="notice_silent_event_kind_valid"), transaction.atomic():
        # (a dispute id, so that only the kind is wrong; the deferred foreign key is never checked)
        NoticeSilentEvent.objects.create(
            **{**fields, "kind": "praise", "event_key": "x", "dispute_id": 999999}
        )
    assert len(markers()) == 1


# --- migration --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_one_attempt_for_notices_already_emailed(
    call, assigned_reviewer, owner_agent, scorecard
):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    evaluation = submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)
    teammate = UserFactory(username="second")
    sent = Notice.objects.create(
        recipient=owner_agent.user, kind="review_submitted", evaluation=evaluation, event_key="evaluation:x"
    )
    unsent = Notice.objects.create(
        recipient=teammate, kind="review_submitted", evaluation=evaluation, event_key="evaluation:x"
    )
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("scoring", "0007_assignment_per_leg")])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE scoring_notice SET emailed_at = now() WHERE id = %s", [sent.pk])
        executor.loader.build_graph()
        executor.migrate([("scoring", "0008_notice_email_state_and_silent_events")])
        rows = Notice.objects.values_list("pk", "email_attempts", "email_error", "email_failed_at")
        assert list(rows.order_by("pk")) == [(sent.pk, 1, "", None), (unsent.pk, 0, "", None)]
        # Only the columns 0008 knows: a whole row would ask for columns added by later migrations.
        assert Notice.objects.filter(pk=sent.pk).values_list("emailed_at", flat=True).get() is not None
    finally:
        # Back to the latest migrations: later tests need the columns added after 0008.
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
