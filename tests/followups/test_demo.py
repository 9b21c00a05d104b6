"""The follow-up demo: old cases closed with outcomes and root causes, live ones in every board state."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from scoring.followups.demo import LIVE, seed_followups
from scoring.followups.models import ContactAttempt, FollowUpCase
from tests.factories import CallFactory, CustomerFactory
from tests.followups.conftest import make_detractor

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_world(supervisor, owner_agent, monkeypatch):
    from scoring.followups import tasks

    monkeypatch.setattr(tasks, "publish", lambda *a, **kw: None)
    now = timezone.now()
    old = [
        make_detractor(
            agent=owner_agent,
            received_at=now - timedelta(days=10 + i),
            started_at=now - timedelta(days=11 + i),
        )
        for i in range(6)
    ]
    # Calls without a response that ended days ago: the live cases are recorded on them.
    for i in range(12):
        CallFactory(
            agent=owner_agent,
            customer=CustomerFactory(tier="platinum" if i < 2 else "standard"),
            started_at=now - timedelta(days=4, hours=i),
        )
    return old


def test_seed_closes_old_cases_with_outcome_root_cause_and_attempts(demo_world):
    result = seed_followups(seed=7)
    assert result["closed_now"] == 6
    closed = FollowUpCase.objects.filter(pk__in=[c.pk for c in demo_world])
    assert set(closed.values_list("status", flat=True)) == {"closed"}
    assert not closed.filter(root_cause__isnull=True).exists()
    assert ContactAttempt.objects.filter(case__in=closed).count() >= 6
    assert sum(result["outcomes"].values()) == 6


def test_seed_puts_live_cases_in_every_board_state(demo_world, admin_user, client):
    result = seed_followups(seed=7)
    expected = {}
    for state, *_ in LIVE:
        expected[state] = expected.get(state, 0) + 1
    assert result["live"] == expected
    client.force_login(admin_user)
    groups = {g["name"]: g["count"] for g in client.get(reverse("followups:board")).context["groups"]}
    assert groups == {"overdue": 2, "due_soon": 2, "open": 2, "waiting": 1, "failed": 1}
    assert FollowUpCase.objects.filter(escalation_level=1, status="open").count() == 2


def test_seed_is_idempotent(demo_world):
    seed_followups(seed=7)
    before = FollowUpCase.objects.count()
    again = seed_followups(seed=7)
    assert FollowUpCase.objects.count() == before
    assert again["closed_now"] == 0


def test_seed_command_prints_a_summary(demo_world):
    out = StringIO()
    call_command("seed_followups", "--seed", "3", stdout=out)
    assert out.getvalue().startswith("followups: closed 6 old cases")
