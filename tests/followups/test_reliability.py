"""Reliability with real processes: a prefork Celery worker, real Redis, real PostgreSQL (committed rows,
no eager mode). Each test prints its figures and asserts them.

The worker runs the production code with the scripted outside channel of tests/followups/notifiers.py,
which records every send in Redis: "lost" = a case with no recorded notice, "duplicate" = a second
Notification row or a second outside send for one idempotency key.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
import redis
from celery import current_app
from django.conf import settings as django_settings
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from scoring.followups import services, tasks
from scoring.followups.models import FollowUpCase, Notification
from scoring.followups.processes import CeleryWorker, RedisServer, WebServer, free_port
from scoring.surveys.models import SurveyInvitation, SurveyResponse
from scoring.surveys.services import response_record
from scoring.surveys.tokens import token_generate
from tests.factories import (
    CallFactory,
    CustomerFactory,
)
from tests.followups import notifiers as scripted
from tests.followups.conftest import SCRIPTED, make_detractor

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 3.0
REDRIVE_AFTER_SECONDS = 2.0
REDRIVE_QUEUED_AFTER_SECONDS = 5.0
MAX_ATTEMPTS = 5


def process_env(broker_url: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        "DJANGO_SETTINGS_MODULE": "qa_center.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "FU_TEST_REDIS_URL": django_settings.REDIS_URL,
        "FOLLOWUP_NOTIFIERS": f"email,{SCRIPTED}",
        "FOLLOWUP_DISPATCH_LEASE_SECONDS": str(LEASE_SECONDS),
        "FOLLOWUP_RETRY_BASE_SECONDS": "0.2",
        "FOLLOWUP_REDRIVE_AFTER_SECONDS": str(REDRIVE_AFTER_SECONDS),
        "FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS": str(REDRIVE_QUEUED_AFTER_SECONDS),
        "FOLLOWUP_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "LOG_LEVEL": "WARNING",
    }


def use_broker(url: str) -> None:
    """Point this process's follow-up publisher at another broker."""
    current_app.conf.broker_url = url
    tasks._drop_producer()
    tasks._state.skip_until = 0.0


def api_token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture(autouse=True)
def reliability_settings(settings):
    settings.FOLLOWUP_NOTIFIERS = ["email", SCRIPTED]
    settings.FOLLOWUP_DISPATCH_LEASE_SECONDS = LEASE_SECONDS
    settings.FOLLOWUP_REDRIVE_AFTER_SECONDS = REDRIVE_AFTER_SECONDS
    settings.FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS = REDRIVE_QUEUED_AFTER_SECONDS
    settings.FOLLOWUP_MAX_ATTEMPTS = MAX_ATTEMPTS
    settings.FOLLOWUP_RETRY_BASE_SECONDS = 0.2
    scripted.reset()
    original = current_app.conf.broker_url
    yield
    use_broker(original)
    scripted.reset()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """One worker on this test run's Redis db for the module (tests that kill it restart it)."""
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()  # our own db number: stale messages out
    with django_db_blocker.unblock():
        env = process_env(django_settings.REDIS_URL)
    # Follow-up tasks only: a rollup refresh still running when a test's database flush comes would
    # deadlock with it (the refreshes have their own tests).
    process = CeleryWorker(env, queues="followups").start()
    yield process
    process.stop()


def wait_until(predicate, *, timeout: float, sweep: bool = True, sweeps: list | None = None) -> float:
    """Poll (running the sweeper as beat would, faster) until predicate() holds; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        if sweep:
            result = services.followup_sweep()
            if sweeps is not None:
                sweeps.append(result)
        time.sleep(0.5)
    raise AssertionError(f"condition not met within {timeout} s")


def effect_counts(cases) -> dict[str, int]:
    """Lost and duplicated notices for these cases, from the database and from the outside channel."""
    ids = [c.pk for c in cases]
    rows = list(
        Notification.objects.filter(case_id__in=ids, kind="assigned").values_list(
            "case_id", "idempotency_key"
        )
    )
    per_case = Counter(case_id for case_id, _key in rows)
    keys = {key for _case, key in rows}
    wanted = {str(i) for i in ids}
    sent = Counter(k for k in scripted.sends() if k.split(".")[1] in wanted and k.split(".")[2] == "assigned")
    return {
        "cases": len(ids),
        "notification_rows": len(rows),
        "lost": sum(1 for i in ids if per_case[i] == 0),
        "duplicate_rows": sum(n - 1 for n in per_case.values() if n > 1),
        "sent_distinct": len(sent),
        "sent_lost": len(keys - set(sent)),
        "sent_duplicates": sum(n - 1 for n in sent.values() if n > 1),
    }


# --- 1. SIGKILL -------------------------------------------------------------------------------------


def test_sigkill_of_the_worker_during_200_detractors_loses_and_duplicates_nothing(
    quiet_worker_after, supervisor, owner_agent
):
    worker = quiet_worker_after
    # SLOW- customers make each notice take 0.2 s, so the worker is always busy when it is killed.
    calls = [
        CallFactory(agent=owner_agent, customer=CustomerFactory(external_id=f"SLOW-{i}")) for i in range(200)
    ]

    def produce():
        try:
            for call in calls:
                response_record(call=call, score=i_score(call), comment="Kept on hold", source="inbound_api")
                time.sleep(0.01)
        finally:
            connections.close_all()

    started = time.monotonic()
    producer = threading.Thread(target=produce)
    producer.start()
    kills = 0
    for pause in (1.0, 2.0):
        time.sleep(pause)
        worker.kill()
        kills += 1
        worker.start()
    producer.join()
    cases = list(FollowUpCase.objects.all())
    assert len(cases) == 200
    sweeps: list = []
    waited = wait_until(
        lambda: FollowUpCase.objects.exclude(dispatch_state="dispatched").count() == 0,
        timeout=90,
        sweeps=sweeps,
    )
    counts = effect_counts(cases)
    attempts = Counter(FollowUpCase.objects.values_list("dispatch_attempts", flat=True))
    redriven = sum(s.redriven for s in sweeps)
    print(
        f"\nSIGKILL x{kills}: {counts}; re-driven by sweeper {redriven}; attempts {dict(sorted(attempts.items()))}; "
        f"all dispatched {time.monotonic() - started:.1f} s after the first response ({waited:.1f} s of sweeping)"
    )
    assert (counts["notification_rows"], counts["lost"], counts["duplicate_rows"]) == (200, 0, 0)
    assert (counts["sent_distinct"], counts["sent_lost"]) == (200, 0)
    # An outside send can repeat only if a kill lands between the send and the COMMIT of its row; at
    # most one per killed in-flight task (2 processes per kill). The receiver dedups by key.
    assert counts["sent_duplicates"] <= kills * 2
    assert redriven > 0, "the kills lost no message: this run did not exercise the recovery path"


@pytest.fixture
def quiet_worker_after(worker):
    """After the test, the worker is idle before the database is flushed: redelivered copies of the
    killed tasks (no-ops once their case is dispatched) still lock rows, and a flush meeting one of them
    deadlocks. Stopped warm (it finishes its task), its queue emptied, started again for the next test."""
    yield worker
    worker.stop()
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    worker.start()


def i_score(call) -> int:
    return int(call.external_id.rsplit("-", 1)[-1]) % 7  # 0–6: every detractor score


# --- 2. Redis outage --------------------------------------------------------------------------------


def test_redis_outage_saves_every_response_fast_and_the_sweeper_dispatches_all_after(
    supervisor, owner_agent, admin_user
):
    throwaway = RedisServer(free_port(6391)).start()
    env = process_env(throwaway.url) | {"FOLLOWUP_BROKER_TIMEOUT": "1.0"}
    outage_worker = CeleryWorker(env, node="fu-outage", queues="followups").start()
    # One web process, warmed up by a first response while Redis is up: the timings below are then
    # about the broker outage, not about a cold Django start.
    web = WebServer(env, port=free_port(8391), workers=1).start()
    token = api_token(admin_user)

    def post(call) -> tuple[int, float]:
        body = json.dumps(
            {"call_external_id": call.external_id, "score": 2, "comment": "Broker is down"}
        ).encode()
        request = urllib.request.Request(
            f"{web.url}/api/surveys/responses",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        t0 = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            return reply.status, time.monotonic() - t0

    warm_up = CallFactory(agent=owner_agent, customer=CustomerFactory())
    calls = [CallFactory(agent=owner_agent, customer=CustomerFactory()) for _ in range(30)]
    try:
        assert post(warm_up)[0] == 201
        wait_until(lambda: all_dispatched(FollowUpCase.objects.filter(call=warm_up)), timeout=20, sweep=False)
        throwaway.stop()  # Redis goes away
        statuses, latencies = zip(*(post(call) for call in calls), strict=True)
        saved = SurveyResponse.objects.filter(call__in=calls).count()
        pending = FollowUpCase.objects.filter(call__in=calls, dispatch_state="pending").count()
        print(
            f"\nRedis down: {len(statuses)} posts, statuses {dict(Counter(statuses))}, latency max "
            f"{max(latencies) * 1000:.0f} ms, median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms; "
            f"saved {saved}, cases pending {pending}"
        )
        assert statuses == (201,) * 30
        assert max(latencies) < 3.0  # bounded: a 1 s broker timeout, then the publisher backs off
        assert (saved, pending, Notification.objects.filter(case__call__in=calls).count()) == (30, 30, 0)

        throwaway.start()  # Redis is back (empty: nothing was queued while it was down)
        use_broker(throwaway.url)
        cases = list(FollowUpCase.objects.filter(call__in=calls))
        waited = wait_until(lambda: all_dispatched(cases), timeout=60)
        counts = effect_counts(cases)
        print(f"after Redis came back: all dispatched in {waited:.1f} s; {counts}")
        assert (counts["notification_rows"], counts["lost"], counts["duplicate_rows"]) == (30, 0, 0)
        assert (counts["sent_distinct"], counts["sent_duplicates"]) == (30, 0)
    finally:
        web.stop()
        outage_worker.stop()
        throwaway.stop()


def all_dispatched(cases) -> bool:
    return (
        not FollowUpCase.objects.filter(pk__in=[c.pk for c in cases])
        .exclude(dispatch_state="dispatched")
        .exists()
    )


# --- 3. the same dispatch from 20 threads -----------------------------------------------------------


def test_same_dispatch_task_from_20_threads_notifies_once(supervisor, owner_agent, monkeypatch):
    monkeypatch.setattr(tasks, "publish", lambda *a, **kw: True)  # this test runs the task itself
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(external_id="SLOW-20"))
    barrier = threading.Barrier(20)
    results: list[str] = []

    def run():
        try:
            barrier.wait()
            results.append(tasks.followup_dispatch_task.apply(args=(case.pk,)).get())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = effect_counts([case])
    print(f"\n20 threads: results {dict(Counter(results))}; {counts}")
    assert Counter(results) == {"dispatched": 1, "skipped": 19}
    assert (counts["notification_rows"], counts["sent_distinct"], counts["sent_duplicates"]) == (1, 1, 0)


# --- 4. one token submitted 50 times at once --------------------------------------------------------


def test_same_token_50_times_concurrently_gives_one_response_one_case_one_notice(
    worker, supervisor, owner_agent, admin_user
):
    call = CallFactory(agent=owner_agent)
    raw, digest = token_generate()
    SurveyInvitation.objects.create(
        call=call,
        customer=call.customer,
        status="sent",
        token_hash=digest,
        expires_at=timezone.now() + timedelta(days=7),
        channel="email",
    )
    token = api_token(admin_user)
    barrier = threading.Barrier(50)
    statuses: list[int] = []

    def submit():
        try:
            client = Client(headers={"Authorization": f"Token {token}"})
            barrier.wait()
            reply = client.post(
                reverse("surveys:api-responses"),
                {"token": raw, "score": 1, "comment": "Same click x50"},
                content_type="application/json",
            )
            statuses.append(reply.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cases = list(FollowUpCase.objects.filter(call=call))
    assert SurveyResponse.objects.filter(call=call).count() == 1
    assert len(cases) == 1
    waited = wait_until(lambda: all_dispatched(cases), timeout=30)
    counts = effect_counts(cases)
    print(
        f"\n50 concurrent submissions: statuses {dict(Counter(statuses))}; dispatched in {waited:.1f} s; {counts}"
    )
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 409}
    assert (counts["notification_rows"], counts["sent_distinct"], counts["sent_duplicates"]) == (1, 1, 0)


# --- 5. flaky and broken notifiers ------------------------------------------------------------------


def test_notifier_failing_3_times_then_succeeding_takes_4_attempts_and_1_effect(
    worker, supervisor, owner_agent
):
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(external_id="FLAKY3-w"))
    waited = wait_until(lambda: all_dispatched([case]), timeout=30, sweep=False)
    case.refresh_from_db()
    key = f"followup.{case.pk}.assigned.0.user.{supervisor.pk}"
    counts = effect_counts([case])
    print(f"\nflaky notifier: dispatched in {waited:.1f} s after {case.dispatch_attempts} attempts; {counts}")
    assert (case.dispatch_attempts, scripted.failures(key), scripted.sends()) == (4, 3, [key])
    assert counts["notification_rows"] == 1


def test_notifier_that_always_fails_ends_failed_and_on_the_board(worker, supervisor, owner_agent, client):
    case = make_detractor(agent=owner_agent, customer=CustomerFactory(external_id="ALWAYSFAIL-w"))
    waited = wait_until(
        lambda: FollowUpCase.objects.filter(pk=case.pk, dispatch_state="failed").exists(),
        timeout=30,
        sweep=False,
    )
    case.refresh_from_db()
    key = f"followup.{case.pk}.assigned.0.user.{supervisor.pk}"
    print(
        f"\nbroken notifier: failed after {case.dispatch_attempts} attempts in {waited:.1f} s: {case.dispatch_error}"
    )
    assert (case.status, case.dispatch_attempts, scripted.failures(key)) == (
        "failed",
        MAX_ATTEMPTS,
        MAX_ATTEMPTS,
    )
    assert Notification.objects.filter(case=case).count() == 0
    client.force_login(supervisor)
    groups = {
        g["name"]: [r.case.pk for r in g["rows"]]
        for g in client.get(reverse("followups:board")).context["groups"]
    }
    assert groups["failed"] == [case.pk]


# --- 6. two sweepers, one escalation ----------------------------------------------------------------


def test_overdue_cases_escalate_exactly_once_with_two_sweepers_at_once(
    worker, supervisor, owner_agent, department_supervisor
):
    cases = [make_detractor(agent=owner_agent) for _ in range(150)]
    ids = [c.pk for c in cases]
    # Overdue and already dispatched: the sweepers' only work is escalation.
    FollowUpCase.objects.filter(pk__in=ids).update(
        due_at=timezone.now() - timedelta(minutes=5), dispatch_state="dispatched"
    )
    scripted.reset()
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(services.followup_sweep())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    levels = Counter(FollowUpCase.objects.filter(pk__in=ids).values_list("escalation_level", flat=True))
    escalated = [r.escalated for r in results]
    waited = wait_until(
        lambda: (
            Notification.objects.filter(kind="escalated").count() >= 150
            and not FollowUpCase.objects.filter(pk__in=ids, escalation_notified_level=0).exists()
        ),
        timeout=60,
        sweep=False,
    )
    time.sleep(1.0)  # let any stray duplicate task finish before counting
    rows = Counter(Notification.objects.filter(kind="escalated").values_list("case_id", flat=True))
    sent = Counter(k for k in scripted.sends() if ".escalated." in k)
    print(
        f"\ntwo sweepers: escalated per sweeper {escalated}; levels {dict(levels)}; notices {sum(rows.values())} "
        f"for {len(rows)} cases, sent {sum(sent.values())} ({len(sent)} distinct); notified in {waited:.1f} s"
    )
    assert sum(escalated) == 150
    assert levels == {1: 150}
    assert set(rows.values()) == {1} and len(rows) == 150
    assert (sum(sent.values()), len(sent)) == (150, 150)
    assert set(
        Notification.objects.filter(kind="escalated").values_list("recipient__username", flat=True)
    ) == {"deptsup"}
