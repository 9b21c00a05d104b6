"""The project's seed_demo: calls, QA, surveys, follow-ups and rollups in one idempotent command."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from calls.models import AgentDayCallStats, Call
from scoring.demo import CALIBRATION_CALLS
from scoring.followups.models import FollowUpCase
from scoring.models import Dispute, Evaluation
from scoring.surveys.models import SurveyResponse

pytestmark = pytest.mark.django_db

OPTIONS = {"calls": 600, "agents": 8, "days": 21, "seed": 5, "end_date": date(2026, 11, 20)}


def seed(**extra) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **OPTIONS, **extra)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "calls": Call.objects.count(),
        "evaluations": Evaluation.objects.count(),
        "calibrations": Evaluation.objects.filter(kind="calibration").count(),
        "disputes": Dispute.objects.count(),
        "responses": SurveyResponse.objects.count(),
        "followups": FollowUpCase.objects.count(),
    }


def test_seed_demo_builds_every_part_of_the_demo_and_a_rerun_adds_nothing():
    output = seed()
    first = counts()
    assert first["calls"] == 600
    assert first["evaluations"] > 0 and first["disputes"] > 0 and first["responses"] > 0
    # Three demo reviewers: the two who did not review a calibration call score it again.
    assert first["calibrations"] == 2 * CALIBRATION_CALLS
    detractors = SurveyResponse.objects.filter(category="detractor").count()
    # Every detractor response has exactly one follow-up case (the closed loop).
    assert first["followups"] == detractors > 0
    statuses = set(FollowUpCase.objects.values_list("status", flat=True))
    assert {"open", "closed"} <= statuses
    assert "QA demo:" in output

    # The rollups agree with the raw calls.
    rolled = AgentDayCallStats.objects.aggregate(calls=Sum("calls"))["calls"]
    assert rolled == Call.objects.filter(agent__isnull=False).count()

    seed()
    assert counts() == first


def test_seed_demo_if_empty_leaves_a_populated_database_alone():
    seed(calls_only=True)
    before = counts()
    out = StringIO()
    call_command("seed_demo", if_empty=True, stdout=out, **OPTIONS)
    assert "not seeded" in out.getvalue()
    assert counts() == before
    assert before["evaluations"] == 0


def test_agents_per_day_rollup_matches_a_raw_count_per_agent():
    seed(calls_only=True)
    call_command("seed_demo", stdout=StringIO(), **OPTIONS)  # second run: scoring seeders on existing calls
    raw = dict(Call.objects.filter(agent__isnull=False).values_list("agent_id").annotate(n=Count("id")))
    rolled = dict(AgentDayCallStats.objects.values_list("agent_id").annotate(n=Sum("calls")))
    assert rolled == raw
