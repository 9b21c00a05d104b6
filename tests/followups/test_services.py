"""Follow-up services against PostgreSQL: opening, SLA, dispatch with claims and retries, sweeper,
escalation, the owner's actions and the database invariants."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from celery import current_app
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import Customer
from scoring.followups import services, tasks
from scoring.followups.models import (
    BusinessCalendar,
    FollowUpCase,
    FollowUpQueue,
    Notification,
    OpeningHours,
    RootCause,
    SlaPolicy,
)
from scoring.surveys.services import response_record
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    TeamFactory,
    TransferFactory,
    UserFactory,
)
from tests.followups.conftest import hours, make_detractor

pytestmark = pytest.mark.django_db
S, D = FollowUpCase.Status, FollowUpCase.DispatchState


# --- opening ----------------------------------------------------------------------------------------


def test_detractor_gets_exactly_one_follow_up(supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)
    again = services.followup_open_for_response(response=case.response)
    assert again.pk == case.pk
    assert FollowUpCase.objects.count() == 1
    assert (case.status, case.dispatch_state, case.dispatch_attempts, case.escalation_level) == (
        S.OPEN,
        D.PENDING,
        0,
        0,
    )


def test_promoter_and_passive_get_no_follow_up(supervisor, owner_agent):
    for score in (7, 8, 9, 10):
        response_record(call=CallFactory(agent=owner_agent), score=score, source="inbound_api")
    assert FollowUpCase.objects.count() == 0


def test_second_case_for_the_same_response_is_refused_by_the_database(supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpCase.objects.create(
            response=case.response, call=case.call, owner=supervisor, due_at=timezone.now()
        )


def test_owner_is_the_supervisor_of_the_final_legs_team(supervisor, owner_agent, outsider_agent):
    # The call started with the outsider (other team) and was transferred to the owner's team.
    other_sup = UserFactory(username="othersup", roles=["supervisor"])
    outsider_agent.team.supervisors.add(other_sup)
    call = CallFactory(agent=outsider_agent)
    TransferFactory(call=call, sequence=1, from_agent=outsider_agent, to_agent=owner_agent)
    response, _ = response_record(call=call, score=2, source="inbound_api")
    case = FollowUpCase.objects.get(response=response)
    assert case.owner == supervisor
    assert case.queue is None


def test_case_without_a_supervisor_goes_to_the_default_queue(db):
    lonely = AgentFactory(team=TeamFactory(name="No lead"))
    case = make_detractor(agent=lonely)
    assert case.owner is None
    assert case.queue == FollowUpQueue.objects.get(is_default=True)


def test_platinum_zero_to_three_is_due_in_one_hour_and_urgent(supervisor, owner_agent):
    received = timezone.now() - timedelta(minutes=5)
    case = make_detractor(
        agent=owner_agent,
        score=2,
        customer=CustomerFactory(tier=Customer.Tier.PLATINUM),
        received_at=received,
    )
    assert case.due_at == received + hours(1)
    assert case.priority == "urgent"
    assert case.sla_policy.name == "Platinum detractor (0–3)"


def test_other_detractors_fall_to_the_default_24_hours(supervisor, owner_agent):
    received = timezone.now() - timedelta(minutes=5)
    case = make_detractor(agent=owner_agent, score=5, customer=CustomerFactory(), received_at=received)
    assert case.due_at == received + hours(24)
    assert case.sla_policy == SlaPolicy.objects.get(is_default=True)
    assert case.priority == "normal"


def test_business_hours_policy_counts_only_opening_hours(supervisor, owner_agent):
    office = BusinessCalendar.objects.get(name="Office hours")  # Mon–Fri 08–18 UTC (data migration)
    assert sorted(office.opening_hours.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    SlaPolicy.objects.create(
        name="Gold in office hours",
        position=1,
        customer_tier="gold",
        min_score=0,
        max_score=6,
        resolution_minutes=8 * 60,
        business_hours_only=True,
        calendar=office,
        case_priority="high",
    )
    friday_16 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # a Friday
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(tier="gold"), received_at=friday_16)
    # 2 h on Friday (16–18), 6 h on Monday from 08:00 → Monday 14:00.
    assert case.due_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert case.calendar == office


def test_dispatch_is_queued_only_after_the_response_commits(
    supervisor, owner_agent, monkeypatch, django_capture_on_commit_callbacks
):
    published = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args, **kw: published.append((task.name, args)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case = make_detractor(agent=owner_agent)
    assert published == []  # nothing inside the transaction
    for callback in callbacks:
        callback()
    assert published == [("scoring.followups.tasks.followup_dispatch_task", (case.pk,))]


def test_open_with_broker_down_does_not_raise_and_does_not_hang(
    supervisor, owner_agent, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(current_app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens there
    tasks._drop_producer()
    tasks._state.skip_until = 0.0
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        case = make_detractor(agent=owner_agent)
    elapsed = time.monotonic() - started
    tasks._drop_producer()
    tasks._state.skip_until = 0.0
    print(f"enqueue with broker down: {elapsed * 1000:.0f} ms")
    assert elapsed < 1.5
    case.refresh_from_db()
    assert case.dispatch_state == D.PENDING
    assert case.dispatch_after is not None  # stamped: the sweeper re-drives it after the short grace


# --- dispatch ---------------------------------------------------------------------------------------


def test_dispatch_notifies_the_owner_once_by_email_and_on_the_board(
    supervisor, owner_agent, scripted_notifier
):
    supervisor.email = "sup@example.com"
    supervisor.save()
    case = make_detractor(agent=owner_agent)
    first = services.followup_dispatch(case_id=case.pk)
    second = services.followup_dispatch(case_id=case.pk)
    assert (first.result, second.result) == ("dispatched", "skipped")
    case.refresh_from_db()
    assert (case.dispatch_state, case.dispatch_attempts, case.lease_expires_at) == (D.DISPATCHED, 1, None)
    key = f"followup.{case.pk}.assigned.0.user.{supervisor.pk}"
    notification = Notification.objects.get()
    assert (notification.idempotency_key, notification.recipient, notification.channels) == (
        key,
        supervisor,
        "email,scripted",
    )
    assert [m.to for m in mail.outbox] == [["sup@example.com"]]
    assert mail.outbox[0].extra_headers["X-QA-Idempotency-Key"] == key
    assert "Nobody called me back" in mail.outbox[0].body
    assert scripted_notifier.sends() == [key]


def test_queue_case_notifies_every_queue_member(db, scripted_notifier):
    lonely = AgentFactory(team=TeamFactory(name="No lead"))
    queue = FollowUpQueue.objects.get(is_default=True)
    members = [UserFactory(username="care1"), UserFactory(username="care2")]
    queue.members.add(*members)
    case = make_detractor(agent=lonely)
    services.followup_dispatch(case_id=case.pk)
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == ["care1", "care2"]


def test_transient_failures_retry_with_backoff_then_succeed(
    supervisor, owner_agent, scripted_notifier, settings
):
    settings.FOLLOWUP_RETRY_BASE_SECONDS = 2.0
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(external_id="FLAKY3-1"))
    now = timezone.now()
    delays = []
    for _ in range(3):
        outcome = services.followup_dispatch(case_id=case.pk, now=now)
        assert outcome.result == "retry"
        delays.append(outcome.retry_in)
        case.refresh_from_db()
        assert case.dispatch_state == D.PENDING
        # Not claimable again before its backoff has passed.
        assert services.followup_dispatch(case_id=case.pk, now=now).result == "skipped"
        now = case.dispatch_after
    assert delays == [2.0, 4.0, 8.0]
    assert services.followup_dispatch(case_id=case.pk, now=now).result == "dispatched"
    case.refresh_from_db()
    key = f"followup.{case.pk}.assigned.0.user.{supervisor.pk}"
    assert (case.dispatch_state, case.dispatch_attempts) == (D.DISPATCHED, 4)
    assert (scripted_notifier.failures(key), scripted_notifier.sends()) == (3, [key])
    assert Notification.objects.filter(idempotency_key=key).count() == 1


def test_always_failing_notifier_ends_failed_after_max_attempts(
    supervisor, owner_agent, scripted_notifier, settings
):
    settings.FOLLOWUP_MAX_ATTEMPTS = 3
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(external_id="ALWAYSFAIL-1"))
    now = timezone.now()
    results = []
    for _ in range(4):
        results.append(services.followup_dispatch(case_id=case.pk, now=now).result)
        case.refresh_from_db()
        now = (case.dispatch_after or now) + timedelta(seconds=1)
    assert results == ["retry", "retry", "failed", "skipped"]
    assert (case.status, case.dispatch_state, case.dispatch_attempts) == (S.FAILED, D.FAILED, 3)
    assert "scripted transient failure" in case.dispatch_error
    assert Notification.objects.count() == 0  # the failed sends left no record behind


def test_permanent_error_fails_at_once(supervisor, owner_agent, scripted_notifier):
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(external_id="PERMFAIL-1"))
    assert services.followup_dispatch(case_id=case.pk).result == "failed"
    case.refresh_from_db()
    assert (case.status, case.dispatch_state, case.dispatch_attempts) == (S.FAILED, D.FAILED, 1)
    assert case.dispatch_error.startswith("permanent error")


def test_failed_dispatch_can_be_retried_after_the_fix(supervisor, owner_agent, scripted_notifier, settings):
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(external_id="PERMFAIL-2"))
    services.followup_dispatch(case_id=case.pk)
    settings.FOLLOWUP_NOTIFIERS = ["email"]  # the broken channel is removed
    services.followup_dispatch_retry(case=case)
    case.refresh_from_db()
    assert (case.status, case.dispatch_state, case.dispatch_attempts) == (S.OPEN, D.PENDING, 0)
    assert services.followup_dispatch(case_id=case.pk).result == "dispatched"
    with pytest.raises(services.FollowUpStateError):
        services.followup_dispatch_retry(case=case)


def test_expired_lease_is_taken_over_and_the_old_attempt_is_fenced_off(
    supervisor, owner_agent, scripted_notifier
):
    case = make_detractor(agent=owner_agent)
    now = timezone.now()
    # A worker claimed attempt 1 and died (its lease ran out).
    FollowUpCase.objects.filter(pk=case.pk).update(
        dispatch_state=D.DISPATCHING, dispatch_attempts=1, lease_expires_at=now - timedelta(seconds=1)
    )
    assert services.followup_dispatch(case_id=case.pk, now=now).result == "dispatched"
    case.refresh_from_db()
    assert (case.dispatch_state, case.dispatch_attempts) == (D.DISPATCHED, 2)
    # The dead attempt's late write matches nothing.
    stale = FollowUpCase.objects.filter(pk=case.pk, dispatch_state=D.DISPATCHING, dispatch_attempts=1)
    assert stale.update(dispatch_state=D.PENDING) == 0


def test_live_lease_is_not_taken_over(supervisor, owner_agent, scripted_notifier):
    case = make_detractor(agent=owner_agent)
    now = timezone.now()
    FollowUpCase.objects.filter(pk=case.pk).update(
        dispatch_state=D.DISPATCHING, dispatch_attempts=1, lease_expires_at=now + timedelta(seconds=30)
    )
    assert services.followup_dispatch(case_id=case.pk, now=now).result == "skipped"
    assert Notification.objects.count() == 0


def test_dispatch_to_an_owner_is_one_claim_and_one_notice_statement(
    supervisor, owner_agent, django_assert_num_queries
):
    # The hot path, per detractor: the claim (UPDATE … RETURNING everything the notice says) and one
    # statement that records the notice and marks the case dispatched, in the transaction that sends
    # (a savepoint here, inside the test's transaction: SAVEPOINT / RELEASE are the other two).
    case = make_detractor(agent=owner_agent)
    with django_assert_num_queries(4) as captured:
        assert services.followup_dispatch(case_id=case.pk).result == "dispatched"
    statements = [query["sql"].split(None, 1)[0].upper() for query in captured.captured_queries]
    assert statements == ["UPDATE", "SAVEPOINT", "WITH", "RELEASE"]
    # Inside a caller's transaction (this test's) the claim must not switch that transaction to an
    # asynchronous commit: the delivery commits in it too.
    assert "synchronous_commit" not in captured.captured_queries[0]["sql"]


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_is_its_own_transaction_commits_without_waiting_for_the_flush(
    supervisor, owner_agent, django_assert_num_queries
):
    case = make_detractor(agent=owner_agent)
    with django_assert_num_queries(4) as captured:
        assert services.followup_dispatch(case_id=case.pk).result == "dispatched"
    claim, *delivery = (query["sql"] for query in captured.captured_queries)
    assert claim.lstrip().startswith("UPDATE")
    assert "set_config('synchronous_commit', 'off', true)" in claim
    assert not any("synchronous_commit" in sql for sql in delivery)
    assert Notification.objects.filter(case=case, kind="assigned").count() == 1


def test_dispatch_of_a_closed_case_sends_nothing(supervisor, owner_agent, scripted_notifier, root_cause):
    case = make_detractor(agent=owner_agent)
    services.followup_close(case=case, by=supervisor, outcome="resolved", root_cause=root_cause)
    assert services.followup_dispatch(case_id=case.pk).result == "dispatched"
    assert Notification.objects.count() == 0


def test_notification_key_is_unique_in_the_database(supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)
    Notification.objects.create(case=case, kind="assigned", idempotency_key="k1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(case=case, kind="assigned", idempotency_key="k1")
    assert Notification.objects.count() == 1


def test_backoff_doubles_and_is_capped(settings):
    settings.FOLLOWUP_RETRY_BASE_SECONDS = 5.0
    settings.FOLLOWUP_RETRY_MAX_SECONDS = 30.0
    assert [services.retry_delay_seconds(n) for n in (1, 2, 3, 4, 5)] == [5.0, 10.0, 20.0, 30.0, 30.0]


def test_the_default_retry_budget_rides_out_half_an_hour_of_notifier_outage():
    """With the shipped defaults (not the test overrides), a case is marked failed only after the retries
    between its attempts add up to half an hour: 5+10+20+40+80+160 s, then 300 s apart."""
    from qa_center import settings as shipped

    waits = [
        min(shipped.FOLLOWUP_RETRY_BASE_SECONDS * 2 ** (n - 1), shipped.FOLLOWUP_RETRY_MAX_SECONDS)
        for n in range(1, shipped.FOLLOWUP_MAX_ATTEMPTS)
    ]
    assert shipped.FOLLOWUP_MAX_ATTEMPTS == 12
    assert sum(waits) == 5 + 10 + 20 + 40 + 80 + 160 + 300 * 5 == 1815


# --- sweeper ----------------------------------------------------------------------------------------


@pytest.fixture
def broker(monkeypatch, settings):
    """A stand-in for the publisher: records what was queued; `up` says whether the broker answers."""
    settings.FOLLOWUP_REDRIVE_AFTER_SECONDS = 15
    settings.FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS = 300

    class Broker:
        up = True
        queued: list[int] = []

        @staticmethod
        def publish(task, *args, **kw):
            # Only follow-up work is recorded: a response also queues its analytics refresh this way.
            if Broker.up and task.name.startswith("scoring.followups."):
                Broker.queued.append(args[0])
            return Broker.up

    monkeypatch.setattr(tasks, "publish", Broker.publish)
    return Broker


def test_case_whose_publish_failed_is_redriven_after_the_short_grace(
    supervisor, owner_agent, broker, django_capture_on_commit_callbacks
):
    broker.up = False
    with django_capture_on_commit_callbacks(execute=True):
        case = make_detractor(agent=owner_agent)
    case.refresh_from_db()
    stamped = case.dispatch_after
    assert stamped is not None  # "no message in flight"
    assert services.followup_sweep(now=stamped + timedelta(seconds=10)).redriven == 0
    broker.up = True
    assert services.followup_sweep(now=stamped + timedelta(seconds=16)).redriven == 1
    assert broker.queued == [case.pk]
    case.refresh_from_db()
    assert case.dispatch_after is None  # queued now: only the long wait applies from here on
    assert services.followup_sweep(now=stamped + timedelta(seconds=60)).redriven == 0


def test_queued_case_is_redriven_only_after_the_long_wait(
    supervisor, owner_agent, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = make_detractor(agent=owner_agent)
    assert broker.queued == [case.pk]
    created = case.created_at
    # Its message may sit behind a backlog: re-queueing it early would only add duplicates.
    assert services.followup_sweep(now=created + timedelta(seconds=16)).redriven == 0
    assert services.followup_sweep(now=created + timedelta(seconds=299)).redriven == 0
    assert services.followup_sweep(now=created + timedelta(seconds=301)).redriven == 1
    assert services.followup_sweep(now=created + timedelta(seconds=400)).redriven == 0  # throttled
    assert services.followup_sweep(now=created + timedelta(seconds=602)).redriven == 1
    assert broker.queued == [case.pk, case.pk, case.pk]
    services.followup_dispatch(case_id=case.pk)
    assert services.followup_sweep(now=created + timedelta(seconds=1000)).redriven == 0


def test_expired_claim_is_redriven_after_its_lease(supervisor, owner_agent, broker):
    case = make_detractor(agent=owner_agent)
    now = timezone.now()
    FollowUpCase.objects.filter(pk=case.pk).update(
        dispatch_state=D.DISPATCHING, dispatch_attempts=1, lease_expires_at=now + timedelta(seconds=5)
    )
    assert services.followup_sweep(now=now).redriven == 0
    assert services.followup_sweep(now=now + timedelta(seconds=6)).redriven == 1
    assert broker.queued == [case.pk]


def test_sweeper_fails_a_dispatch_whose_attempts_died(supervisor, owner_agent, monkeypatch, settings):
    settings.FOLLOWUP_MAX_ATTEMPTS = 2
    monkeypatch.setattr(tasks, "publish", lambda *a, **kw: None)
    case = make_detractor(agent=owner_agent)
    now = timezone.now()
    FollowUpCase.objects.filter(pk=case.pk).update(
        dispatch_state=D.DISPATCHING, dispatch_attempts=2, lease_expires_at=now - timedelta(seconds=1)
    )
    result = services.followup_sweep(now=now)
    case.refresh_from_db()
    assert (result.exhausted, result.redriven) == (1, 0)
    assert (case.status, case.dispatch_state) == (S.FAILED, D.FAILED)
    assert "never finished" in case.dispatch_error


def test_overdue_case_escalates_once_per_level(
    supervisor,
    owner_agent,
    department_supervisor,
    far_department_supervisor,
    admin_user,
    scripted_notifier,
    monkeypatch,
    settings,
):
    settings.FOLLOWUP_ESCALATION_STEP_MINUTES = 60
    monkeypatch.setattr(tasks, "publish", lambda task, *args, **kw: task.apply(args))  # run notices inline
    case = make_detractor(agent=owner_agent)
    due = case.due_at
    assert services.followup_sweep(now=due - timedelta(seconds=1)).escalated == 0
    assert services.followup_sweep(now=due).escalated == 1
    assert services.followup_sweep(now=due + timedelta(minutes=59)).escalated == 0
    case.refresh_from_db()
    assert (case.escalation_level, case.escalated_at, case.escalation_notified_level) == (1, due, 1)
    level1 = Notification.objects.filter(kind="escalated", level=1)
    assert list(level1.values_list("recipient__username", flat=True)) == ["deptsup"]
    assert services.followup_sweep(now=due + timedelta(minutes=60)).escalated == 1
    case.refresh_from_db()
    assert (case.escalation_level, case.escalation_notified_level) == (2, 2)
    level2 = Notification.objects.filter(kind="escalated", level=2)
    assert list(level2.values_list("recipient__username", flat=True)) == ["boss"]
    assert services.followup_sweep(now=due + timedelta(days=3)).escalated == 0  # the top level is 2
    assert Notification.objects.filter(kind="escalated").count() == 2


def test_waiting_and_closed_cases_do_not_escalate(supervisor, owner_agent, root_cause, monkeypatch):
    monkeypatch.setattr(tasks, "publish", lambda *a, **kw: None)
    waiting = services.followup_pause(case=make_detractor(agent=owner_agent))
    closed = services.followup_close(
        case=make_detractor(agent=owner_agent), by=supervisor, outcome="resolved", root_cause=root_cause
    )
    result = services.followup_sweep(now=timezone.now() + timedelta(days=5))
    assert result.escalated == 0
    assert list(
        FollowUpCase.objects.filter(pk__in=[waiting.pk, closed.pk]).values_list("escalation_level", flat=True)
    ) == [0, 0]


# --- the owner's work -------------------------------------------------------------------------------


def test_pause_spanning_the_deadline_moves_due_by_the_paused_time(supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)  # 24/7 default policy
    due = case.due_at
    paused_at = due - hours(2)
    resumed_at = due + hours(5)
    services.followup_pause(case=case, by=supervisor, now=paused_at)
    case.refresh_from_db()
    assert (case.status, case.sla_paused_at) == (S.WAITING, paused_at)
    case = services.followup_resume(case=case, by=supervisor, now=resumed_at)
    assert case.due_at == due + hours(7)
    assert case.paused_seconds == 7 * 3600
    assert (case.status, case.sla_paused_at) == (S.OPEN, None)


def test_pause_in_business_hours_moves_due_by_business_time_only(supervisor, owner_agent):
    office = BusinessCalendar.objects.create(name="Berlin office", time_zone="Europe/Berlin")
    OpeningHours.objects.bulk_create(
        OpeningHours(calendar=office, weekday=d, opens_at="09:00", closes_at="17:00") for d in range(5)
    )
    case = make_detractor(agent=owner_agent)
    FollowUpCase.objects.filter(pk=case.pk).update(
        calendar=office,
        due_at=datetime(2026, 11, 24, 11, 0, tzinfo=UTC),  # Tuesday 12:00 Berlin
    )
    case.refresh_from_db()
    services.followup_pause(case=case, now=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # Tue 11:00 Berlin
    case = services.followup_resume(case=case, now=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # Wed 10:00
    # Paused Tue 11–17 + Wed 09–10 = 7 business hours; 1 h was left → due Wed 11:00 Berlin = 10:00 UTC.
    assert case.paused_seconds == 7 * 3600
    assert case.due_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_pause_and_resume_refuse_wrong_states(supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)
    with pytest.raises(services.FollowUpStateError):
        services.followup_resume(case=case)
    services.followup_pause(case=case)
    with pytest.raises(services.FollowUpStateError):
        services.followup_pause(case=case)


def test_close_records_outcome_and_root_cause(supervisor, owner_agent, root_cause):
    case = make_detractor(agent=owner_agent)
    closed = services.followup_close(
        case=case, by=supervisor, outcome="goodwill", root_cause=root_cause, notes="Refunded the fee."
    )
    assert (closed.status, closed.outcome, closed.root_cause, closed.closed_by) == (
        S.CLOSED,
        "goodwill",
        root_cause,
        supervisor,
    )
    assert closed.notes == "Refunded the fee."
    with pytest.raises(services.FollowUpStateError):
        services.followup_close(case=case, by=supervisor, outcome="resolved", root_cause=root_cause)


def test_close_refuses_missing_or_retired_root_cause_and_changes_nothing(supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)
    retired = RootCause.objects.create(code="old", name="Old code", is_active=False)
    with pytest.raises(ValueError):
        services.followup_close(case=case, by=supervisor, outcome="resolved", root_cause=None)
    with pytest.raises(ValueError):
        services.followup_close(case=case, by=supervisor, outcome="resolved", root_cause=retired)
    with pytest.raises(ValueError):
        services.followup_close(
            case=case, by=supervisor, outcome="made-up", root_cause=RootCause.objects.first()
        )
    case.refresh_from_db()
    assert (case.status, case.outcome, case.root_cause, case.closed_at) == (S.OPEN, "", None, None)


def test_closing_a_waiting_case_counts_the_pause(supervisor, owner_agent, root_cause):
    case = make_detractor(agent=owner_agent)
    t0 = timezone.now()
    services.followup_pause(case=case, now=t0)
    closed = services.followup_close(
        case=case, by=supervisor, outcome="resolved", root_cause=root_cause, now=t0 + hours(3)
    )
    assert (closed.paused_seconds, closed.sla_paused_at) == (3 * 3600, None)
    assert closed.due_at == case.due_at + hours(3)  # the pause ends at the close, as a resume would


def test_database_refuses_a_closed_case_without_root_cause(supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpCase.objects.filter(pk=case.pk).update(
            status=S.CLOSED, closed_at=timezone.now(), outcome="resolved"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpCase.objects.filter(pk=case.pk).update(status=S.WAITING)  # waiting without a pause time
    case.refresh_from_db()
    assert case.status == S.OPEN


def test_contact_attempt_is_logged_but_not_on_a_closed_case(supervisor, owner_agent, root_cause):
    case = make_detractor(agent=owner_agent)
    attempt = services.followup_contact_attempt_log(
        case=case, by=supervisor, channel="phone", result="no_answer", note=" voicemail "
    )
    assert (attempt.channel, attempt.result, attempt.note, attempt.by) == (
        "phone",
        "no_answer",
        "voicemail",
        supervisor,
    )
    services.followup_close(case=case, by=supervisor, outcome="unreachable", root_cause=root_cause)
    with pytest.raises(services.FollowUpStateError):
        services.followup_contact_attempt_log(case=case, by=supervisor, channel="phone", result="reached")
    assert case.contact_attempts.count() == 1


# --- reliability fixes: failed dispatches escalate; a stalled send cannot hold the case for ever -------


def test_overdue_case_whose_dispatch_failed_escalates(
    supervisor, owner_agent, department_supervisor, scripted_notifier, monkeypatch
):
    """Nobody was told about a failed dispatch: when it is overdue, the next level must hear of it."""
    monkeypatch.setattr(tasks, "publish", lambda task, *args, **kw: task.apply(args))  # run inline
    case = make_detractor(agent=owner_agent)
    # The dispatch used up its attempts (e.g. an SMTP outage longer than the retries): failed, nobody told.
    FollowUpCase.objects.filter(pk=case.pk).update(
        status=S.FAILED, dispatch_state=D.FAILED, dispatch_attempts=5, dispatch_error="SMTP unreachable"
    )
    case.refresh_from_db()
    assert (case.status, case.dispatch_state) == (S.FAILED, D.FAILED)
    assert services.followup_sweep(now=case.due_at).escalated == 1
    case.refresh_from_db()
    assert (case.escalation_level, case.escalation_notified_level) == (1, 1)
    assert list(
        Notification.objects.filter(case=case, kind="escalated").values_list("recipient__username", flat=True)
    ) == ["deptsup"]


class StallingNotifier:
    """A send that hangs far past the claim's lease (a frozen worker, a notifier without a timeout)."""

    name = "stalling"

    def is_enabled(self):
        return True

    def applies(self, notice):
        return True

    def send(self, notice):
        time.sleep(4)


@pytest.mark.django_db(transaction=True)
def test_a_send_stalled_past_the_lease_releases_the_case_row(supervisor, owner_agent, settings, monkeypatch):
    import threading

    from django.db import DatabaseError, connection, connections

    settings.FOLLOWUP_DISPATCH_LEASE_SECONDS = 1
    settings.FOLLOWUP_NOTIFIERS = ["tests.followups.test_services.StallingNotifier"]
    monkeypatch.setattr(tasks, "publish", lambda *a, **kw: True)  # no worker: dispatched below
    case = make_detractor(agent=owner_agent)
    errors = []

    def dispatch():
        try:
            services.followup_dispatch(case_id=case.pk)
        except Exception as exc:  # the stalled session was ended by PostgreSQL
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=dispatch)
    thread.start()
    time.sleep(2.5)  # past the lease, still inside the send
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '1s'")
    try:
        # The owner pausing the case (or the sweeper locking it) must not wait on the stalled send.
        services.followup_pause(case=case, by=supervisor)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
        thread.join()
    # "terminating connection due to idle-in-transaction timeout": the stalled session was ended.
    assert errors and isinstance(errors[0], DatabaseError)
    case.refresh_from_db()
    assert (case.status, case.dispatch_state) == (S.WAITING, D.DISPATCHING)  # the sweeper re-drives it
    assert Notification.objects.filter(case=case).count() == 0


class BadAddressNotifier:
    """E-mail that bounces permanently for one recipient's address."""

    name = "bad-address"

    def is_enabled(self):
        return True

    def applies(self, notice):
        return True

    def send(self, notice):
        from scoring.followups.notifiers import PermanentNotifyError

        if notice.recipient_email.startswith("bounce"):
            raise PermanentNotifyError("550 no such user")


def test_one_bouncing_escalation_recipient_does_not_cost_the_others_their_notice(
    supervisor, owner_agent, team, settings, monkeypatch
):
    settings.FOLLOWUP_NOTIFIERS = ["tests.followups.test_services.BadAddressNotifier"]
    monkeypatch.setattr(tasks, "publish", lambda task, *args, **kw: task.apply(args))
    sister = TeamFactory(name="Billing North", department=team.department)
    bouncing = UserFactory(username="a-bounce", email="bounce@example.com", roles=["supervisor"])
    fine = UserFactory(username="b-fine", email="fine@example.com", roles=["supervisor"])
    sister.supervisors.add(bouncing, fine)
    case = make_detractor(agent=owner_agent)
    assert services.followup_sweep(now=case.due_at).escalated == 1
    assert list(
        Notification.objects.filter(case=case, kind="escalated", level=1).values_list(
            "recipient__username", flat=True
        )
    ) == ["b-fine"]


def test_a_calendar_without_opening_hours_does_not_refuse_the_detractors_answer(supervisor, owner_agent):
    calendar = BusinessCalendar.objects.create(
        name="New office, hours not entered yet", time_zone="Europe/Paris"
    )
    SlaPolicy.objects.create(
        name="Office hours", position=0, resolution_minutes=120, business_hours_only=True, calendar=calendar
    )
    received = timezone.now()
    case = make_detractor(agent=owner_agent, received_at=received)  # raised ValueError before
    assert case.due_at == received + hours(2)
    assert case.calendar_id is None


def test_one_bouncing_queue_member_does_not_cost_the_others_their_notice(db, settings):
    """A queue case tells every member; a member whose address bounces is noted, the others are told."""
    settings.FOLLOWUP_NOTIFIERS = ["tests.followups.test_services.BadAddressNotifier"]
    lonely = AgentFactory(team=TeamFactory(name="No lead"))
    queue = FollowUpQueue.objects.get(is_default=True)
    queue.members.add(
        UserFactory(username="care1", email="care1@example.com"),
        UserFactory(username="care2", email="bounce@example.com", first_name="Bo", last_name="Unce"),
        UserFactory(username="care3", email="care3@example.com"),
    )
    case = make_detractor(agent=lonely)

    assert services.followup_dispatch(case_id=case.pk).result == "dispatched"

    case.refresh_from_db()
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == ["care1", "care3"]
    assert (case.status, case.dispatch_state) == ("open", "dispatched")
    assert case.dispatch_error == "not told: Bo Unce: 550 no such user"


def test_a_queue_whose_every_member_bounces_fails_the_dispatch(db, settings):
    settings.FOLLOWUP_NOTIFIERS = ["tests.followups.test_services.BadAddressNotifier"]
    lonely = AgentFactory(team=TeamFactory(name="No lead"))
    FollowUpQueue.objects.get(is_default=True).members.add(
        UserFactory(username="care1", email="bounce1@example.com"),
        UserFactory(username="care2", email="bounce2@example.com"),
    )
    case = make_detractor(agent=lonely)

    assert services.followup_dispatch(case_id=case.pk).result == "failed"

    case.refresh_from_db()
    assert (case.status, case.dispatch_state) == ("failed", "failed")
    assert Notification.objects.count() == 0
