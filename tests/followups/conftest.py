import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from scoring.followups.models import FollowUpCase, RootCause
from scoring.surveys.services import response_record
from tests.factories import CallFactory, CustomerFactory, DepartmentFactory, TeamFactory, UserFactory
from tests.followups import notifiers as scripted

SCRIPTED = "tests.followups.notifiers.ScriptedNotifier"


def make_detractor(
    *, agent, score=3, comment="Nobody called me back", customer=None, received_at=None, **call_kwargs
):
    """A real detractor response through the surveys service (it opens the follow-up in its transaction)."""
    call = CallFactory(agent=agent, customer=customer or CustomerFactory(), **call_kwargs)
    response, created = response_record(
        call=call,
        score=score,
        comment=comment,
        source="inbound_api",
        received_at=received_at or timezone.now(),
    )
    assert created
    return FollowUpCase.objects.get(response=response)


@pytest.fixture(autouse=True)
def followup_defaults(request):
    """The data-migration rows (roles, root causes, default queue and SLA policies) even after a
    transactional test elsewhere flushed the tables."""
    if request.node.get_closest_marker("django_db") is None:
        return
    importlib.import_module("calls.migrations.0002_roles").create_groups(apps, None)
    importlib.import_module("scoring.followups.migrations.0002_defaults").create_defaults(apps, None)


@pytest.fixture
def scripted_notifier(settings):
    settings.FOLLOWUP_NOTIFIERS = ["email", SCRIPTED]
    scripted.reset()
    yield scripted
    scripted.reset()


@pytest.fixture
def root_cause(db):
    return RootCause.objects.get(code="process-policy")


@pytest.fixture
def department_supervisor(team):
    """Another supervisor in the same department (a sister team): the level-1 escalation contact."""
    sister = TeamFactory(name="Billing West", department=team.department)
    user = UserFactory(username="deptsup", email="deptsup@example.com", roles=["supervisor"])
    sister.supervisors.add(user)
    return user


@pytest.fixture
def far_department_supervisor(db):
    team = TeamFactory(name="Far Away", department=DepartmentFactory(name="Far department"))
    user = UserFactory(username="farsup", roles=["supervisor"])
    team.supervisors.add(user)
    return user


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
