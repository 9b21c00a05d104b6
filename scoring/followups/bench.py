"""Follow-ups end to end: detractor responses through the real endpoint → owner notified, vs bare Celery.

Everything runs for real on this machine: a temporary PostgreSQL database (created, migrated, dropped), a
throwaway redis-server, gunicorn (2 sync workers), a prefork Celery worker (2 processes, the project's
settings: acks_late, prefetch 1) and beat. The outside channel is a counting notifier that records each
send in Redis by idempotency key (one Redis write, like the no-op reference task).

Latency: detractor responses POSTed at a steady rate (default 100/s for 60 s); response saved → owner
notified (Notification row) p50/p95/p99/max. Reference: a no-op task's enqueue → start at the same rate.
Throughput: N detractor responses (default 20,000) POSTed as fast as the endpoint takes them while the
worker is stopped; then the worker is started and follow-ups dispatched per second are measured from
"worker ready" to the last notice. Reference: N no-op tasks published the same way (worker stopped),
per second from "worker ready" to the last start. Both run on the same worker process and settings,
the same broker and the same queue (the no-op task is routed like every scoring.followups task), in
interleaved rounds (--rounds), and the ratio is the median of the per-round ratios.
Lost = a case with no notice; duplicates = a second Notification row or a second outside send per key.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

import psycopg
import redis
from celery import shared_task
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from .notifiers import Notice, Notifier

NOOP_KEY = "bench:noop"
SENDS_KEY = "bench:sends"


# --- pieces the worker imports (celery worker --include scoring.followups.bench) ---------------------


_clients: dict[tuple[int, str], redis.Redis] = {}


def _redis() -> redis.Redis:
    """One client per process (a prefork child must not reuse its parent's sockets)."""
    key = (os.getpid(), os.environ["BENCH_REDIS_URL"])
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(key[1])
    return _clients[key]


@shared_task(name="scoring.followups.bench.bench_noop_task", ignore_result=True)
def bench_noop_task(sent_at: float) -> None:
    _redis().rpush(NOOP_KEY, f"{sent_at}:{time.time()}")


class CountingNotifier(Notifier):
    """The bench's outside channel: one Redis write per send, counted by idempotency key."""

    name = "counting"

    def send(self, notice: Notice) -> None:
        _redis().hincrby(SENDS_KEY, notice.idempotency_key, 1)


# --- the command ----------------------------------------------------------------------------------------


def add_arguments(parser) -> None:
    parser.add_argument("--seconds", type=int, default=60, help="latency phase length (default 60)")
    parser.add_argument("--rate", type=int, default=100, help="latency phase requests/s (default 100)")
    parser.add_argument(
        "--responses", type=int, default=20_000, help="throughput phase responses (default 20000)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in the throughput phase")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved product/reference throughput rounds (default 3)"
    )
    parser.add_argument("--keep-database", action="store_true", help="do not drop the temporary database")


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0–100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _summary(values: list[float]) -> str:
    if not values:
        return "no samples (n=0)"
    ms = [v * 1000 for v in values]
    return (
        f"p50 {_percentile(ms, 50):.1f} ms, p95 {_percentile(ms, 95):.1f} ms, p99 {_percentile(ms, 99):.1f} ms, "
        f"max {max(ms):.1f} ms (n={len(ms)})"
    )


def _database_url(params: dict, name: str) -> str:
    user = quote(params.get("USER") or "", safe="")
    password = quote(params.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{params.get('HOST') or 'localhost'}:{params.get('PORT') or 5432}/{name}"


def _seed(calls_needed: int) -> str:
    """Teams with supervisors, agents, customers and ended calls in the bench database; an API token."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from calls.models import Agent, Call, Customer, Department, Team

    department = Department.objects.create(name="Bench department")
    supervisors = Group.objects.get(name="supervisor")
    agents = []
    for t in range(10):
        team = Team.objects.create(name=f"Bench team {t}", department=department)
        user = User.objects.create_user(f"bench-sup-{t}", email=f"sup{t}@bench.invalid")
        user.groups.add(supervisors)
        team.supervisors.add(user)
        agents += Agent.objects.bulk_create(Agent(employee_code=f"B-{t}-{a}", team=team) for a in range(5))
    tiers = ["platinum"] * 5 + ["gold"] * 15 + ["standard"] * 80
    customers = Customer.objects.bulk_create(
        (Customer(external_id=f"BC-{i}", tier=tiers[i % 100]) for i in range(calls_needed)), batch_size=5000
    )
    start = timezone.now() - timedelta(days=1)
    Call.objects.bulk_create(
        (
            Call(
                external_id=f"B-{i}",
                channel="phone",
                customer=customer,
                agent=agents[i % len(agents)],
                department=department,
                started_at=start,
                answered_at=start,
                ended_at=start + timedelta(minutes=5),
                talk_seconds=300,
                is_resolved=i % 3 != 0,
            )
            for i, customer in enumerate(customers)
        ),
        batch_size=5000,
    )
    admin = User.objects.create_superuser("bench-admin", "admin@bench.invalid", None)
    return Token.objects.create(user=admin).key


def _post_all(url: str, token: str, call_ids: list[str], *, rate: float | None, clients: int) -> list:
    """POST one detractor response per call; paced at `rate`/s (open loop) or as fast as possible."""
    results: list = [None] * len(call_ids)
    counter = itertools.count()
    start = time.monotonic() + 0.2

    def client() -> None:
        while (i := next(counter)) < len(call_ids):
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            body = json.dumps({"call_external_id": call_ids[i], "score": i % 7, "comment": "Bench detractor"})
            request = urllib.request.Request(  # noqa: S310 - our own http:// server
                url,
                data=body.encode(),
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
            )
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - our own server
                    status = reply.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            results[i] = (status, time.monotonic() - t0)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _publish_noops(count: int, *, rate: float | None, broker_url: str) -> float:
    """Publish no-op tasks (paced or flat out) to the bench's broker; returns the wall time of the first publish.

    The broker is named explicitly: Celery reads CELERY_BROKER_URL from the environment before its
    configuration, so setting conf.broker_url would send the reference tasks to another Redis than the
    worker's (they were never run, or a stale backlog was drained instead). One producer is reused, as
    the product's `publish` does."""
    from celery import current_app

    with current_app.connection_for_write(broker_url) as broker_connection:
        producer = broker_connection.Producer()
        first = time.time()
        start = time.monotonic()
        for i in range(count):
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            bench_noop_task.apply_async((time.time(),), producer=producer)
    return first


def _wait(predicate, timeout: float, out, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    out(f"  gave up waiting for {what} after {timeout:.0f} s")
    return False


def _undispatched(prefix: str) -> int:
    from .models import FollowUpCase

    return (
        FollowUpCase.objects.filter(call__external_id__startswith=prefix)
        .exclude(dispatch_state="dispatched")
        .count()
    )


_NOTICES = """
    FROM followups_notification n
    JOIN followups_followupcase c ON c.id = n.case_id
    JOIN surveys_surveyresponse r ON r.id = c.response_id
    JOIN calls_call ca ON ca.id = c.call_id
    WHERE n.kind = 'assigned' AND substr(ca.external_id, 3)::int >= %s AND substr(ca.external_id, 3)::int < %s
"""


def _notify_latencies(first: int, last: int) -> list[float]:
    """Response saved → owner notified, in seconds, for calls B-first … B-(last − 1)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXTRACT(EPOCH FROM n.created_at - r.created_at)" + _NOTICES, [first, last])
        return [float(row[0]) for row in cursor.fetchall()]


def _dispatch_window(first: int, last: int, *, since: float) -> tuple[float, int]:
    """Seconds from `since` (epoch) to the last notice, and the notices, for calls B-first … B-(last − 1)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXTRACT(EPOCH FROM max(n.created_at)), count(*)" + _NOTICES, [first, last])
        finished, count = cursor.fetchone()
        return (float(finished) - since if finished else 0.0), count


def _lost_and_duplicates(bench_redis: redis.Redis) -> tuple[int, int, int]:
    from .models import FollowUpCase, Notification

    cases = FollowUpCase.objects.filter(call__external_id__startswith="B-")
    lost = cases.exclude(notifications__kind="assigned").count()
    per_case = Counter(Notification.objects.filter(kind="assigned").values_list("case_id", flat=True))
    duplicate_rows = sum(n - 1 for n in per_case.values() if n > 1)
    sends = [int(v) for v in bench_redis.hvals(SENDS_KEY)]
    duplicate_sends = sum(n - 1 for n in sends if n > 1)
    return lost, duplicate_rows, duplicate_sends


def run(
    out,
    *,
    seconds: int,
    rate: int,
    responses: int,
    clients: int,
    rounds: int,
    keep_database: bool,
    **_options,
) -> dict:
    from .processes import CeleryBeat, CeleryWorker, RedisServer, WebServer, free_port

    if connection.vendor != "postgresql":
        raise RuntimeError("bench followups needs PostgreSQL (set DATABASE_URL)")
    if seconds < 1 or rate < 1 or clients < 1 or rounds < 1 or responses < rounds + 4:
        raise RuntimeError(
            "--seconds, --rate, --clients and --rounds must be at least 1, --responses at least rounds + 4"
        )
    params = connections["default"].settings_dict
    original_name = params["NAME"]
    name = f"qa_center_bench_followups_{os.getpid()}"
    database_url = _database_url(params, name)
    admin = psycopg.connect(
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
    latency_calls = seconds * rate
    broker = RedisServer(free_port(6390))
    processes = []
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        started = time.perf_counter()
        env = {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "qa_center.settings",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "FOLLOWUP_NOTIFIERS": "email,scoring.followups.bench.CountingNotifier",
        }
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            cwd=settings.BASE_DIR,
            env={**os.environ, **env},
            check=True,
        )
        connections["default"].close()
        params["NAME"] = name
        token = _seed(latency_calls + responses)
        out(
            f"database {name} migrated and seeded with {latency_calls + responses:,} calls in {time.perf_counter() - started:.1f} s"
        )

        broker.start()
        env |= {"REDIS_URL": broker.url, "CELERY_BROKER_URL": broker.url, "BENCH_REDIS_URL": broker.url}
        os.environ["BENCH_REDIS_URL"] = broker.url
        bench_redis = redis.Redis.from_url(broker.url)
        processes.append(CeleryWorker(env, node="bench", include="scoring.followups.bench").start())
        processes.append(CeleryBeat(env).start())
        web = WebServer(env, port=free_port(8390), workers=2).start()
        processes.append(web)
        endpoint = f"{web.url}/api/surveys/responses"
        # Warm up: Django's first request per process imports every view.
        _post_all(
            endpoint,
            token,
            [f"B-{latency_calls + responses - i - 1}" for i in range(4)],
            rate=None,
            clients=2,
        )

        # --- latency -----------------------------------------------------------------------------------
        out(f"latency: {latency_calls:,} detractor responses at {rate}/s through the endpoint")
        results = _post_all(endpoint, token, [f"B-{i}" for i in range(latency_calls)], rate=rate, clients=16)
        statuses = Counter(r[0] for r in results)
        _wait(lambda: _undispatched("B-") == 0, 120, out, "the latency phase's dispatches")
        product_latencies = _notify_latencies(0, latency_calls)
        out(f"  HTTP {dict(statuses)}; request {_summary([r[1] for r in results])}")
        out(f"  response saved → owner notified: {_summary(product_latencies)}")
        bench_redis.delete(NOOP_KEY)
        _publish_noops(latency_calls, rate=rate, broker_url=broker.url)
        _wait(lambda: bench_redis.llen(NOOP_KEY) >= latency_calls, 120, out, "the no-op tasks")
        noop = [tuple(map(float, v.split(b":"))) for v in bench_redis.lrange(NOOP_KEY, 0, -1)]
        out(f"  reference, no-op task enqueue → start at {rate}/s: {_summary([b - a for a, b in noop])}")

        # --- throughput --------------------------------------------------------------------------------
        # The worker is stopped while the responses arrive, then started: "dispatched per second" is the
        # dispatch pipeline draining a backlog, measured exactly like the bare Celery reference (same
        # worker process and settings, same broker, same restart; the endpoint's own rate is reported
        # separately: with the worker running it would bound both). The machine is shared, so product and
        # reference alternate in `rounds` rounds and the ratio is the median of the per-round ratios:
        # load that comes and goes hits both sides of a round alike.
        worker = processes[0]
        out(
            f"throughput: {responses - 4:,} detractor responses as fast as the endpoint takes them "
            f"({clients} clients), then the worker (prefork -c {worker.concurrency}, acks_late, prefetch 1) "
            f"drains the backlog; the same for {responses:,} no-op tasks; {rounds} interleaved rounds"
        )
        first_id = latency_calls
        product_rates: list[float] = []
        bare_rates: list[float] = []
        for round_number in range(rounds):
            size = (responses - 4) // rounds + (1 if round_number < (responses - 4) % rounds else 0)
            round_ids = [f"B-{first_id + i}" for i in range(size)]
            worker.stop()
            t0 = time.monotonic()
            results = _post_all(endpoint, token, round_ids, rate=None, clients=clients)
            posting = time.monotonic() - t0
            statuses = Counter(r[0] for r in results)
            worker.start()
            ready = time.time()
            _wait(lambda: _undispatched("B-") == 0, 900, out, "the throughput phase's dispatches")
            window, dispatched = _dispatch_window(first_id, first_id + size, since=ready)
            product_rates.append(dispatched / window if window else 0.0)
            first_id += size

            noops = responses // rounds + (1 if round_number < responses % rounds else 0)
            bench_redis.delete(NOOP_KEY)
            worker.stop()
            _publish_noops(noops, rate=None, broker_url=broker.url)
            worker.start()
            ready = time.time()
            _wait(lambda n=noops: bench_redis.llen(NOOP_KEY) >= n, 900, out, "the no-op tasks")
            started_at = [float(v.split(b":")[1]) for v in bench_redis.lrange(NOOP_KEY, 0, -1)]
            last = max(started_at, default=ready)
            bare_rates.append(len(started_at) / (last - ready) if last > ready else 0.0)
            out(
                f"  round {round_number + 1}: HTTP {dict(statuses)}, endpoint {size / posting:,.0f} responses/s; "
                f"follow-ups dispatched {dispatched:,} in {window:.1f} s = {product_rates[-1]:,.0f}/s; "
                f"no-op tasks {len(started_at):,} in {last - ready:.1f} s = {bare_rates[-1]:,.0f}/s; "
                f"ratio {product_rates[-1] / bare_rates[-1] if bare_rates[-1] else 0.0:.2f}"
            )
        product_rate = statistics.median(product_rates)
        bare_rate = statistics.median(bare_rates)
        ratio = statistics.median(p / b if b else 0.0 for p, b in zip(product_rates, bare_rates, strict=True))

        # Other work each response queues (analytics rollup refreshes) waits on the default queue: the
        # worker serves the follow-up queue first, so it never delays a notice; report what is left.
        out(f"other tasks still queued behind the follow-ups (default queue): {bench_redis.llen('celery'):,}")
        lost, duplicate_rows, duplicate_sends = _lost_and_duplicates(bench_redis)
        out(f"lost {lost}; duplicate notices: {duplicate_rows} rows, {duplicate_sends} outside sends")
        p99 = _percentile(product_latencies, 99) * 1000 if product_latencies else float("nan")
        out(
            f"bench followups: p99 {p99:.0f} ms, throughput {product_rate:.0f}/s, bare celery {bare_rate:.0f}/s, "
            f"throughput ratio {ratio:.2f}, lost {lost}, duplicates {duplicate_rows + duplicate_sends}"
        )
        return {
            "p99_ms": p99,
            "throughput": product_rate,
            "bare": bare_rate,
            "ratio": ratio,
            "lost": lost,
            "duplicates": duplicate_rows + duplicate_sends,
        }
    finally:
        for process in reversed(processes):
            process.stop()
        broker.stop()
        connections["default"].close()
        params["NAME"] = original_name
        if keep_database:
            out(f"kept database {name}")
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
