"""Fixtures for scoring tests (the shared owner/teammate/outsider trio lives in tests/conftest.py)."""

import pytest
from django.contrib.auth.models import Permission

from scoring.models import Scorecard
from tests.factories import CallFactory, UserFactory
from tests.scoring.factories import AssignmentFactory, simple_scorecard


@pytest.fixture
def voice_qa(db):
    """The seeded default scorecard (data migration 0003)."""
    return Scorecard.objects.get(family="voice-qa", version=1)


@pytest.fixture
def scorecard(db):
    return simple_scorecard()


@pytest.fixture
def call(owner_agent):
    """A resolved phone call handled by the owner agent, no hold, no transfer."""
    return CallFactory(agent=owner_agent, is_resolved=True, hold_seconds=0)


@pytest.fixture
def assigned_reviewer(reviewer, call):
    """The reviewer with an open manual assignment for `call`."""
    AssignmentFactory(call=call, reviewer=reviewer)
    return reviewer


@pytest.fixture
def qa_lead(db):
    """A reviewer who may build scorecards and evaluate any call."""
    user = UserFactory(username="qalead", roles=["reviewer"])
    user.user_permissions.add(
        Permission.objects.get(codename="manage_scorecards"),
        Permission.objects.get(codename="evaluate_any_call"),
    )
    return user
