"""Bench (not part of the suite: run it by name) — the notice sweep over 1,000 events that tell nobody.

    DATABASE_URL=… DJANGO_SETTINGS_MODULE=qa_center.settings_test .venv/bin/pytest -q -s -p no:cacheprovider \
        --create-db tests/scoring/bench_notice_sweep.py

Two kinds of silent event, 1,000 of each in the look-back window (bulk-inserted submitted reviews):
- "inactive login": the evaluated agent's login is deactivated, so the sweep must resolve each event to learn
  that nobody is told (the case a marker saves);
- "no login": the agent has no login at all, which the sweep's SQL already leaves out up front.
Prints queries and wall time of three successive sweeps per kind (median of 3 timed runs for the later ones).
"""

from __future__ import annotations

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scoring.models import Evaluation
from scoring.notices.services import notice_sweep
from tests.factories import AgentFactory, CallFactory, UserFactory
from tests.scoring.factories import simple_scorecard

pytestmark = pytest.mark.django_db

EVENTS = 1000


def _silent_reviews(agent, author, scorecard) -> None:
    calls = CallFactory.create_batch(EVENTS, agent=agent)
    now = timezone.now()
    Evaluation.objects.bulk_create(
        Evaluation(
            call=call,
            agent=agent,
            scorecard=scorecard,
            author=author,
            kind=Evaluation.Kind.REVIEW,
            status=Evaluation.Status.SUBMITTED,
            score=50,
            submitted_at=now,
        )
        for call in calls
    )


def _sweep() -> tuple[int, float, int]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = notice_sweep()
        elapsed = time.perf_counter() - started
    return len(queries), elapsed * 1000, result.events


@pytest.mark.parametrize("kind", ["inactive login", "no login"])
def test_bench_sweep_over_silent_events(kind):
    author = UserFactory(username="bench-reviewer")
    login = None if kind == "no login" else UserFactory(username="bench-agent", is_active=False)
    agent = AgentFactory(employee_code="A-BENCH", user=login)
    _silent_reviews(agent, author, simple_scorecard())
    first = _sweep()
    later = [_sweep() for _ in range(3)]
    print(
        f"\n{kind}: {EVENTS} silent reviews — sweep 1: {first[0]} queries, {first[1]:.0f} ms, "
        f"{first[2]} events examined; later sweeps: {later[0][0]} queries, "
        f"{statistics.median(t for _, t, _ in later):.1f} ms (median of 3), {later[0][2]} events examined"
    )
