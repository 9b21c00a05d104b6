"""Legs of a call (scoring.legs): who handled it in which department, and the scorecard of each leg."""

from __future__ import annotations

import datetime as dt
import importlib
import random

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission

from calls.models import Call
from scoring import legs, selectors, services
from scoring.models import Assignment
from tests.factories import AgentFactory, CallFactory, DepartmentFactory, TransferFactory, UserFactory
from tests.scoring.factories import AssignmentFactory, department_scorecard, simple_scorecard

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


@pytest.fixture
def path(db):
    """A call handled by H in Billing: H → R (Tech), R → H (back), H → X (Retention), then F — whom no
    transfer brought in — transfers out of Retention to R again."""
    billing, tech, retention = (DepartmentFactory(name=n) for n in ("Billing", "Tech", "Retention"))
    handler, receiver, third, from_only = (AgentFactory(employee_code=c) for c in ("H", "R", "X", "F"))
    call = CallFactory(agent=handler, department=billing, started_at=START)
    hops = [
        (handler, billing, receiver, tech),
        (receiver, tech, handler, billing),
        (handler, billing, third, retention),
        (from_only, retention, receiver, tech),
    ]
    for sequence, (from_agent, from_dep, to_agent, to_dep) in enumerate(hops, start=1):
        TransferFactory(
            call=call,
            sequence=sequence,
            from_agent=from_agent,
            from_department=from_dep,
            to_agent=to_agent,
            to_department=to_dep,
        )
    return {
        "call": call,
        "agents": (handler, receiver, third, from_only),
        "departments": (billing, tech, retention),
    }


def test_call_legs_one_per_agent_in_the_department_they_worked_in(path, django_assert_num_queries):
    handler, receiver, third, from_only = path["agents"]
    billing, tech, retention = path["departments"]
    with django_assert_num_queries(1):
        found = legs.call_legs(path["call"])
    assert [(leg.agent, leg.department, leg.sequence, leg.role) for leg in found] == [
        (handler, billing, 0, "handling"),  # coming back at #2 does not make a second leg
        (receiver, tech, 1, "received"),  # first transfer in; reached again at #4
        (third, retention, 3, "received"),
        (from_only, retention, 4, "transferred_out"),  # nobody brought the call to F: a leg anyway
    ]
    assert selectors.call_leg_agents(path["call"]) == [handler, receiver, third, from_only]


def test_legs_between_lists_the_same_legs_in_one_query(path, django_assert_num_queries):
    handler, receiver, third, from_only = path["agents"]
    billing, tech, retention = path["departments"]
    agentless = CallFactory(agent=None, department=None, started_at=START + dt.timedelta(hours=1))
    TransferFactory(call=agentless, sequence=1, from_agent=None, to_agent=receiver, to_department=None)
    CallFactory(agent=third, started_at=START + dt.timedelta(days=7))  # next week: not listed
    c = path["call"].pk
    with django_assert_num_queries(1):
        rows = legs.legs_between(START - dt.timedelta(hours=9), START + dt.timedelta(days=7))
    assert rows == [
        legs.LegRow(c, handler.pk, billing.pk, 0, "handling"),
        legs.LegRow(c, receiver.pk, tech.pk, 1, "received"),
        legs.LegRow(c, third.pk, retention.pk, 3, "received"),
        legs.LegRow(c, from_only.pk, retention.pk, 4, "transferred_out"),
        legs.LegRow(agentless.pk, receiver.pk, None, 1, "received"),
    ]


def test_scorecard_for_leg_follows_the_legs_department(path):
    billing, tech, _ = path["departments"]
    catch_all = simple_scorecard("catch-all")
    tech_card = department_scorecard("tech", [tech])
    call = path["call"]
    # The seeded Voice QA (phone, every department) is channel-specific: it beats the catch-all on
    # Billing; a department-specific scorecard beats both.
    voice_qa = selectors.scorecard_for_call(call)
    assert voice_qa.family == "voice-qa"
    assert selectors.scorecard_for_leg(department_id=billing.pk, channel="phone") == voice_qa
    assert selectors.scorecard_for_leg(department_id=tech.pk, channel="phone") == tech_card
    assert selectors.scorecard_for_leg(department_id=None, channel="email") == catch_all


def test_evaluating_a_transfer_leg_uses_that_leg_scorecard(path, reviewer):
    _, tech, _ = path["departments"]
    handler, receiver, _, _ = path["agents"]
    tech_card = department_scorecard("tech", [tech])
    AssignmentFactory(call=path["call"], reviewer=reviewer, agent=receiver)
    AssignmentFactory(call=path["call"], reviewer=reviewer, agent=handler)
    leg_draft = services.evaluation_start(call=path["call"], author=reviewer, agent=receiver)
    handling_draft = services.evaluation_start(call=path["call"], author=reviewer, agent=handler)
    assert leg_draft.scorecard == tech_card
    assert handling_draft.scorecard.family == "voice-qa"
    # Each draft fulfils the assignment of its own leg.
    assert (leg_draft.assignment.agent, handling_draft.assignment.agent) == (receiver, handler)


def test_migration_0006_fills_in_the_calls_agent_on_old_rows(path, reviewer):
    handler, receiver, _, _ = path["agents"]
    old = AssignmentFactory(call=path["call"], reviewer=reviewer, agent=None)  # as written before 0006
    chosen = AssignmentFactory(
        call=path["call"], reviewer=UserFactory(roles=["reviewer"]), agent=receiver, purpose="calibration"
    )

    migration = importlib.import_module("scoring.migrations.0007_assignment_per_leg")
    migration.fill_in_leg_agents(apps, None)
    assert Assignment.objects.get(pk=old.pk).agent == handler
    assert Assignment.objects.get(pk=chosen.pk).agent == receiver
    assert Assignment.objects.count() == 2


def test_calls_legs_gives_each_call_its_own_legs_in_one_query(path, django_assert_num_queries):
    handler, receiver, third, from_only = path["agents"]
    billing, tech, retention = path["departments"]
    lone = CallFactory(agent=third, department=retention, started_at=START)
    agentless = CallFactory(agent=None, department=None, started_at=START)
    TransferFactory(call=agentless, sequence=1, from_agent=None, to_agent=receiver, to_department=tech)
    calls = [path["call"], lone, agentless]

    with django_assert_num_queries(1):
        found = legs.calls_legs(calls)

    def rows(call_id):
        return [(leg.agent, leg.department, leg.sequence, leg.role) for leg in found[call_id]]

    assert list(found) == [path["call"].pk, lone.pk, agentless.pk]
    assert rows(path["call"].pk) == [
        (handler, billing, 0, "handling"),
        (receiver, tech, 1, "received"),
        (third, retention, 3, "received"),
        (from_only, retention, 4, "transferred_out"),
    ]
    assert rows(lone.pk) == [(third, retention, 0, "handling")]
    assert rows(agentless.pk) == [(receiver, tech, 1, "received")]
    with django_assert_num_queries(0):
        assert legs.calls_legs([]) == {}


def test_leg_assign_scope_per_role(path, team, other_team, supervisor, reviewer, admin_user):
    handler, receiver, third, from_only = path["agents"]
    handler.team, receiver.team, third.team = team, other_team, None
    lead = UserFactory(username="lead", roles=["reviewer"])
    lead.user_permissions.add(Permission.objects.get(codename="assign_calls"))

    def assignable(user):
        scope = selectors.leg_assign_scope(user)
        return [scope.may_assign(agent) for agent in (handler, receiver, third)]

    assert assignable(admin_user) == [True, True, True]
    assert assignable(lead) == [True, True, True]
    assert assignable(supervisor) == [True, False, False]  # only their team's; an agent without a team: no
    assert assignable(reviewer) == [False, False, False]


def test_legs_between_agrees_with_the_python_rules_on_random_transfer_paths(django_assert_num_queries):
    # Two ways to the same legs: legs_between's SQL (a UNION with NOT IN / NOT EXISTS) and calls_legs'
    # walk of each path in Python. Random paths over five agents hit the rare cases: agents the call
    # comes back to, a from_agent who receives the call only later (a received leg, not a transferred-out
    # one), unknown agents on either side (a NULL target must not hide a transferred-out leg), no handler.
    rng = random.Random(20261127)
    departments = [DepartmentFactory(name=f"D{i}") for i in range(3)]
    agents = [AgentFactory(employee_code=f"R{i}") for i in range(5)]

    def maybe(choices):
        return rng.choice([None, *choices])

    calls = []
    for number in range(80):
        call = CallFactory(
            agent=maybe(agents),
            department=maybe(departments),
            started_at=START + dt.timedelta(minutes=number),
        )
        for sequence in range(1, rng.randint(0, 4) + 1):
            TransferFactory(
                call=call,
                sequence=sequence,
                from_agent=maybe(agents),
                from_department=maybe(departments),
                to_agent=maybe(agents),
                to_department=maybe(departments),
            )
        calls.append(call)
    calls = list(Call.objects.filter(pk__in=[c.pk for c in calls]).select_related("agent", "department"))

    expected = sorted(
        (
            legs.LegRow(call.pk, leg.agent.pk, leg.department_id, leg.sequence, leg.role)
            for call, found in zip(calls, legs.calls_legs(calls).values(), strict=True)
            for leg in found
        ),
        key=lambda row: (row.call_id, row.sequence, row.agent_id),
    )
    with django_assert_num_queries(1):
        rows = legs.legs_between(START, START + dt.timedelta(days=1))

    roles = {row.role for row in rows}
    assert roles == {"handling", "received", "transferred_out"}
    assert rows == expected  # legs_between orders by call, sequence, agent
    assert len(rows) == len(expected) > 80
