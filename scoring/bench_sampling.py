"""Weekly QA sample at scale: the row-based `weekly_sample_assign` against the model-instance version it replaced.

Builds one synthetic week (default 50,000 calls, 100 agents: transfers to other agents, escalations,
unresolved calls, long calls, survey detractors, e-mail calls no scorecard covers) inside a transaction
that is rolled back at the end, so the database is left as it was. Each round runs both methods once
(interleaved, so a load spike hits both alike), each in a savepoint that is rolled back, so both always
draw from the same untouched week. Before timing, the two draws are compared for the same seed: they
must create exactly the same assignments (call, agent, reviewer, weight note). PostgreSQL only.

"before" is a frozen copy of the previous code (Call instances with annotations, the detractor weights
as a second query with every call id in an IN list, Assignment(call=<Call>)); it exists only here.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.test.utils import CaptureQueriesContext

from calls.models import Agent, Call, Department, Escalation, Team, Transfer

from . import metrics
from .legs import legs_between
from .models import Assignment
from .sampling import (
    percentile_of_handle_times,
    week_bounds,
    week_calls_for_sampling,
    week_taken_legs,
    weekly_sample_assign,
)
from .selectors import published_scorecard_scopes, scorecard_for_leg
from .surveys.models import Category as SurveyCategory
from .surveys.models import SurveyResponse

SEED = 20261127
WEEK = dt.date(2021, 3, 1)  # a Monday long past, so existing data hardly overlaps it


class _Rollback(Exception):
    pass


def add_arguments(parser) -> None:
    parser.add_argument("--calls", type=int, default=50_000, help="calls in the week (default 50000)")
    parser.add_argument("--agents", type=int, default=100, help="active agents (default 100)")
    parser.add_argument("--reviewers", type=int, default=5, help="reviewers (default 5)")
    parser.add_argument(
        "--transcript-chars",
        type=int,
        default=3000,
        help="transcript length per call (default 3000, about five minutes of speech)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds, each running both (default 3)")


# --- before: the previous implementation, verbatim apart from names ------------------------------------


def _before_week_calls(week_start: dt.date):
    start, end = week_bounds(week_start)
    with_agent_on_transfer = Exists(
        Transfer.objects.filter(call=OuterRef("pk")).filter(
            Q(to_agent__isnull=False) | Q(from_agent__isnull=False)
        )
    )
    return (
        Call.objects.filter(started_at__gte=start, started_at__lt=end)
        .filter(Q(agent__isnull=False) | with_agent_on_transfer)
        .annotate(
            has_transfer=Exists(Transfer.objects.filter(call=OuterRef("pk"))),
            has_escalation=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
            handle_total=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
        )
        .order_by("started_at", "id")
    )


def _before_weights(calls, *, long_handle_seconds):
    detractor_call_ids = (
        SurveyResponse.objects.filter(call_id__in=[c.pk for c in calls], category=SurveyCategory.DETRACTOR)
        .values_list("call_id", flat=True)
        .distinct()
    )
    extra = dict.fromkeys(detractor_call_ids, float(settings.QA_SAMPLE_DETRACTOR_WEIGHT))
    return {
        call.pk: metrics.sampling_weight(
            transferred=call.has_transfer,
            escalated=call.has_escalation,
            unresolved=not call.is_resolved,
            long_handle=long_handle_seconds is not None and call.handle_total > long_handle_seconds,
            extra=extra.get(call.pk, 0.0),
        )
        for call in calls
    }


@transaction.atomic
def _before_weekly_sample_assign(*, week_start: dt.date, per_agent: int, seed: int, reviewers) -> list:
    week_calls = list(_before_week_calls(week_start))
    calls = {call.pk: call for call in week_calls}
    long_handle = metrics.percentile([c.handle_total for c in week_calls], 90)
    weights = _before_weights(week_calls, long_handle_seconds=long_handle)
    legs_by_agent: dict = {}
    for leg in legs_between(*week_bounds(week_start)):
        legs_by_agent.setdefault(leg.agent_id, []).append(leg)
    for agent_legs in legs_by_agent.values():
        agent_legs.sort(key=lambda leg: (calls[leg.call_id].started_at, leg.call_id))
    taken = week_taken_legs(week_start)
    already = dict(
        Assignment.objects.filter(purpose=Assignment.Purpose.WEEKLY_SAMPLE, period=week_start)
        .exclude(status=Assignment.Status.CANCELLED)
        .values("agent_id")
        .annotate(n=Count("pk"))
        .values_list("agent_id", "n")
    )
    open_load = dict(
        Assignment.objects.filter(status=Assignment.Status.OPEN, reviewer__in=reviewers)
        .values("reviewer_id")
        .annotate(n=Count("pk"))
        .values_list("reviewer_id", "n")
    )
    reviewers = sorted(reviewers, key=lambda r: (open_load.get(r.pk, 0), r.username))
    reviewer_agent = dict(Agent.objects.filter(user__in=reviewers).values_list("user_id", "pk"))
    scopes = published_scorecard_scopes()
    rng = random.Random(seed)
    turn = 0
    new_assignments = []
    for agent in Agent.objects.filter(is_active=True).order_by("employee_code", "pk"):
        agent_legs = legs_by_agent.get(agent.pk, [])
        if not agent_legs:
            continue
        need = per_agent - already.get(agent.pk, 0)
        if need <= 0:
            continue
        eligible = [
            leg
            for leg in agent_legs
            if (leg.call_id, agent.pk) not in taken
            and scorecard_for_leg(
                department_id=leg.department_id, channel=calls[leg.call_id].channel, scopes=scopes
            )
            is not None
        ]
        picked = metrics.weighted_sample([(leg, weights[leg.call_id]) for leg in eligible], need, rng)
        for leg in picked:
            for _ in range(len(reviewers)):
                reviewer = reviewers[turn % len(reviewers)]
                turn += 1
                if reviewer_agent.get(reviewer.pk) != agent.pk:
                    break
            else:
                continue
            new_assignments.append(
                Assignment(
                    call=calls[leg.call_id],
                    agent=agent,
                    reviewer=reviewer,
                    purpose=Assignment.Purpose.WEEKLY_SAMPLE,
                    period=week_start,
                    status=Assignment.Status.OPEN,
                    note=f"Weekly sample (weight {weights[leg.call_id]:g})",
                )
            )
    return Assignment.objects.bulk_create(new_assignments)


# --- the week -------------------------------------------------------------------------------------------


WORDS = [
    "account",
    "billing",
    "refund",
    "card",
    "payment",
    "order",
    "delivery",
    "router",
    "reset",
    "password",
    "plan",
    "upgrade",
]


def _transcript(rng: random.Random, chars: int) -> str:
    """Agent/customer lines of random words (varied, so TOAST compresses it about as much as real speech)."""
    lines, length = [], 0
    while length < chars:
        line = f"{rng.choice(('Agent', 'Customer'))}: {' '.join(rng.choices(WORDS, k=rng.randrange(4, 16)))}"
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)[:chars]


def _build(out, *, calls: int, agents: int, reviewers: int, transcript_chars: int) -> list[User]:
    t0 = time.perf_counter()
    rng = random.Random(SEED)
    departments = [Department.objects.create(name=f"bench sample dep {i}") for i in range(3)]
    teams = [
        Team.objects.create(name=f"bench sample team {i}", department=d) for i, d in enumerate(departments)
    ]
    agent_rows = Agent.objects.bulk_create(
        Agent(employee_code=f"bench-s-{i:04d}", name=f"Bench {i}", team=teams[i % len(teams)])
        for i in range(agents)
    )
    group = Group.objects.get(name="reviewer")
    reviewer_users = [User.objects.create(username=f"bench-sample-rev-{i}") for i in range(reviewers)]
    for user in reviewer_users:
        user.groups.add(group)
    start, _ = week_bounds(WEEK)
    call_rows = []
    for i in range(calls):
        started = start + dt.timedelta(seconds=rng.randrange(7 * 86400))
        talk, hold, wrap = (
            rng.randrange(30, 900),
            rng.choice([0, 0, 0, rng.randrange(10, 300)]),
            rng.randrange(0, 90),
        )
        call_rows.append(
            Call(
                external_id=f"bench-sample-{i}",
                channel="email" if rng.random() < 0.1 else "phone",
                agent=rng.choice(agent_rows),
                department=rng.choice(departments),
                started_at=started,
                answered_at=started,
                ended_at=started + dt.timedelta(seconds=talk + hold),
                talk_seconds=talk,
                hold_seconds=hold,
                wrap_seconds=wrap,
                is_resolved=rng.random() < 0.7,
                transcript=_transcript(rng, transcript_chars),
            )
        )
    call_rows = Call.objects.bulk_create(call_rows, batch_size=5000)
    transfers, escalations, responses = [], [], []
    for call in call_rows:
        if rng.random() < 0.25:
            hops = 2 if rng.random() < 0.2 else 1
            previous = call.agent
            for sequence in range(1, hops + 1):
                to_agent = rng.choice(agent_rows) if rng.random() < 0.8 else None
                transfers.append(
                    Transfer(
                        call=call,
                        sequence=sequence,
                        at=call.started_at + dt.timedelta(seconds=10 * sequence),
                        from_agent=previous,
                        to_agent=to_agent,
                        to_department=rng.choice(departments),
                    )
                )
                previous = to_agent
        if rng.random() < 0.05:
            escalations.append(
                Escalation(
                    call=call,
                    sequence=1,
                    level="supervisor",
                    raised_at=call.started_at + dt.timedelta(seconds=5),
                )
            )
        if rng.random() < 0.2:
            score = rng.randrange(11)
            category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            responses.append(SurveyResponse(call=call, score=score, category=category, source="inbound_api"))
    Transfer.objects.bulk_create(transfers, batch_size=5000)
    Escalation.objects.bulk_create(escalations, batch_size=5000)
    SurveyResponse.objects.bulk_create(responses, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calls_call, calls_transfer, calls_escalation, surveys_surveyresponse")
    out(
        f"week of {WEEK}: {calls:,} calls, {agents} agents, {len(transfers):,} transfers, "
        f"{len(escalations):,} escalations, {len(responses):,} survey responses "
        f"({sum(r.category == 'detractor' for r in responses):,} detractors), "
        f"transcripts of {transcript_chars:,} characters, built in {time.perf_counter() - t0:.1f} s"
    )
    return reviewer_users


def _run_once(fn) -> tuple[float, int, list[tuple]]:
    """Seconds, queries (savepoints aside) and the assignments made; everything rolled back."""
    picked: list[tuple] = []
    elapsed = 0.0
    queries = 0
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                assignments = fn()
                elapsed = time.perf_counter() - t0
            queries = sum(
                1
                for q in captured.captured_queries
                if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
            )
            picked = [(a.call_id, a.agent_id, a.reviewer_id, a.note) for a in assignments]
            raise _Rollback
    except _Rollback:
        pass
    return elapsed, queries, picked


def _percentile_in_sql() -> float | None:
    """PostgreSQL's percentile_cont(0.9) over the same calls, for comparison with the Python p90."""
    start, end = week_bounds(WEEK)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY c.talk_seconds + c.hold_seconds + c.wrap_seconds)
               FROM calls_call c
               WHERE c.started_at >= %s AND c.started_at < %s
                 AND (c.agent_id IS NOT NULL OR EXISTS (SELECT 1 FROM calls_transfer t WHERE t.call_id = c.id
                      AND (t.to_agent_id IS NOT NULL OR t.from_agent_id IS NOT NULL)))""",
            [start, end],
        )
        return cursor.fetchone()[0]


def run(
    out, *, calls: int, agents: int, reviewers: int, transcript_chars: int, repeat: int, **_options
) -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("bench sample needs PostgreSQL (set DATABASE_URL)")
    if calls < 1 or agents < 1 or reviewers < 1 or repeat < 1 or transcript_chars < 0:
        raise RuntimeError(
            "--calls, --agents, --reviewers and --repeat must be at least 1, --transcript-chars 0 or more"
        )
    per_agent = settings.QA_SAMPLE_CALLS_PER_AGENT
    timings: dict[str, list[float]] = {"before": [], "after": []}
    queries: dict[str, int] = {}
    try:
        with transaction.atomic():
            reviewer_users = _build(
                out, calls=calls, agents=agents, reviewers=reviewers, transcript_chars=transcript_chars
            )
            methods = {
                "before": lambda seed: _before_weekly_sample_assign(
                    week_start=WEEK, per_agent=per_agent, seed=seed, reviewers=reviewer_users
                ),
                "after": lambda seed: (
                    weekly_sample_assign(
                        week_start=WEEK, per_agent=per_agent, seed=seed, reviewers=reviewer_users
                    ).assignments
                ),
            }
            # Same seed, same week: both must make exactly the same assignments (checked for two seeds).
            for seed in (SEED, SEED + 1):
                draws = {
                    name: _run_once(lambda fn=fn, seed=seed: fn(seed))[2] for name, fn in methods.items()
                }
                if draws["before"] != draws["after"]:
                    raise RuntimeError(f"seed {seed}: the two methods made different assignments")
                out(f"seed {seed}: both made the same {len(draws['after']):,} assignments")
            for round_number in range(repeat):
                for name, fn in methods.items():
                    elapsed, count, _ = _run_once(lambda fn=fn, r=round_number: fn(SEED + r))
                    timings[name].append(elapsed)
                    queries[name] = count
            t0 = time.perf_counter()
            week_calls = week_calls_for_sampling(WEEK)
            load = time.perf_counter() - t0
            t0 = time.perf_counter()
            p90 = percentile_of_handle_times(week_calls)
            in_python = time.perf_counter() - t0
            t0 = time.perf_counter()
            p90_sql = _percentile_in_sql()
            in_sql = time.perf_counter() - t0
            out(
                f"after, parts: {len(week_calls):,} call rows in {load * 1000:.0f} ms; p90 {p90} in Python "
                f"{in_python * 1000:.1f} ms, percentile_cont {p90_sql} in SQL {in_sql * 1000:.1f} ms"
            )
            raise _Rollback
    except _Rollback:
        pass
    for name, samples in timings.items():
        out(
            f"{name:6s} median {statistics.median(samples):6.2f} s  min {min(samples):6.2f} s  "
            f"queries {queries[name]}  (n={len(samples)})"
        )
    before, after = statistics.median(timings["before"]), statistics.median(timings["after"])
    out(
        f"bench sample: {calls:,} calls, before {before:.2f} s / {queries['before']} queries, "
        f"after {after:.2f} s / {queries['after']} queries, ratio {before / after:.1f}"
    )
