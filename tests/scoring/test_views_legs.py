"""QA per leg in the web UI and the permission scopes: a call owner_agent (team "Billing East") handled in
Billing and transferred (#1) to outsider_agent (team "Tech West") in Tech."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from scoring import selectors, services
from scoring.models import Assignment, Evaluation
from tests.factories import CallFactory, DepartmentFactory, TransferFactory, UserFactory
from tests.scoring.factories import (
    AssignmentFactory,
    criteria_by_key,
    department_scorecard,
    submitted_evaluation,
)

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def billing(db):
    return DepartmentFactory(name="Billing")


@pytest.fixture
def tech(db):
    return DepartmentFactory(name="Tech")


@pytest.fixture
def transferred(owner_agent, outsider_agent, billing, tech, scorecard):
    """A chat call (the seeded Voice QA is phone only; `scorecard` is the catch-all)."""
    call = CallFactory(agent=owner_agent, department=billing, channel="chat", started_at=MONDAY)
    TransferFactory(
        call=call,
        sequence=1,
        from_agent=owner_agent,
        from_department=billing,
        to_agent=outsider_agent,
        to_department=tech,
    )
    return call


def weekly(call, agent, reviewer, **kwargs):
    return AssignmentFactory(
        call=call, agent=agent, reviewer=reviewer, purpose="weekly_sample", period=MONDAY.date(), **kwargs
    )


# --- workspace -----------------------------------------------------------------------------------------


def test_workspace_defaults_to_the_leg_agent_of_the_open_assignment(
    client, reviewer, transferred, outsider_agent, tech
):
    tech_card = department_scorecard("tech", [tech])
    weekly(transferred, outsider_agent, reviewer)
    client.force_login(reviewer)

    page = client.get(reverse("scoring:workspace", args=[transferred.pk]))

    assert page.status_code == 200
    ws = page.context["ws"]
    assert (ws.agent, ws.kind, ws.scorecard) == (outsider_agent, "review", tech_card)
    html = page.content.decode()
    assert "Review of Otto Outsider" in html
    picker = html[html.index('data-testid="leg-picker"') :]
    picker = picker[: picker.index("</ol>")]
    assert "Olive Owner (A-OWNER)</a>" in picker and "· Billing · handled the call" in picker
    assert 'class="current">Otto Outsider (A-OUT)</a>' in picker and "· Tech · transfer #1" in picker


def test_each_leg_opens_with_its_own_assignment_and_scorecard(
    client, reviewer, transferred, owner_agent, outsider_agent, tech, scorecard
):
    tech_card = department_scorecard("tech", [tech])
    owner_leg = weekly(transferred, owner_agent, reviewer)
    outsider_leg = weekly(transferred, outsider_agent, reviewer)
    client.force_login(reviewer)

    default = client.get(reverse("scoring:workspace", args=[transferred.pk])).context["ws"]
    assert (default.agent, default.scorecard) == (owner_agent, scorecard)  # the oldest assignment's leg

    k = criteria_by_key(tech_card)["k"]
    response = client.post(
        reverse("scoring:workspace_answer", args=[transferred.pk]),
        {"criterion": k.pk, f"c{k.pk}-value": "1", "agent": outsider_agent.pk},
        headers=HX,
    )
    assert response.status_code == 200
    draft = Evaluation.objects.get()
    assert (draft.agent, draft.scorecard, draft.assignment) == (outsider_agent, tech_card, outsider_leg)
    services.evaluation_submit(evaluation=draft, author=reviewer)
    statuses = dict(Assignment.objects.values_list("pk", "status"))
    assert statuses == {owner_leg.pk: "open", outsider_leg.pk: "done"}


def test_an_agent_who_did_not_handle_the_call_is_not_found(client, reviewer, transferred, teammate_agent):
    weekly(transferred, transferred.agent, reviewer)
    client.force_login(reviewer)
    page = client.get(reverse("scoring:workspace", args=[transferred.pk]) + f"?agent={teammate_agent.pk}")
    assert page.status_code == 404
    assert not Evaluation.objects.exists()


# --- queue ---------------------------------------------------------------------------------------------


def test_queue_lists_one_row_per_leg_with_its_agent(
    client, reviewer, transferred, owner_agent, outsider_agent
):
    owner_leg = weekly(transferred, owner_agent, reviewer)
    outsider_leg = weekly(transferred, outsider_agent, reviewer)
    services.evaluation_start(call=transferred, author=reviewer, agent=outsider_agent)
    client.force_login(reviewer)

    response = client.get(reverse("scoring:queue"))

    rows = response.context["assignments"]
    assert [(a.pk, a.leg_agent_id, a.leg_sequence, a.leg_department, a.has_draft) for a in rows] == [
        (owner_leg.pk, owner_agent.pk, 0, "Billing", False),
        (outsider_leg.pk, outsider_agent.pk, 1, "Tech", True),
    ]
    html = response.content.decode()
    url = reverse("scoring:workspace", args=[transferred.pk])
    assert f'href="{url}?agent={owner_agent.pk}"' in html
    assert f'href="{url}?agent={outsider_agent.pk}"' in html
    cells = html.split('data-testid="queue-agent">')[1:]
    assert "Olive Owner" in cells[0] and "Billing · handled the call" in cells[0]
    assert "Otto Outsider" in cells[1] and "Tech · transfer #1" in cells[1]


def test_queue_page_asks_a_fixed_number_of_queries_whatever_the_legs(
    client, reviewer, transferred, owner_agent, outsider_agent, django_assert_num_queries
):
    weekly(transferred, owner_agent, reviewer)
    weekly(transferred, outsider_agent, reviewer)
    client.force_login(reviewer)
    # session, user, the reviewer's groups, the counts, the page of rows (legs annotated in the same
    # query), the calls' signals (2), the user's and the groups' permissions ("Assign calls…" button), the
    # nav's unread notice count.
    with django_assert_num_queries(10):
        client.get(reverse("scoring:queue"))
    for i in range(5):
        call = CallFactory(agent=owner_agent, channel="chat", started_at=MONDAY + timedelta(hours=i + 1))
        TransferFactory(call=call, sequence=1, from_agent=owner_agent, to_agent=outsider_agent)
        weekly(call, owner_agent, reviewer)
        weekly(call, outsider_agent, reviewer)
    with django_assert_num_queries(10):
        response = client.get(reverse("scoring:queue"))
    assert len(response.context["assignments"]) == 12


# --- permissions ---------------------------------------------------------------------------------------


def test_supervisors_see_the_legs_of_their_own_teams_agents_only(
    reviewer, supervisor, other_team, transferred, owner_agent, outsider_agent
):
    other_supervisor = UserFactory(username="sup2", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)
    owner_leg = weekly(transferred, owner_agent, reviewer)
    outsider_leg = weekly(transferred, outsider_agent, reviewer)

    assert list(selectors.assignment_list_for_user(supervisor)) == [owner_leg]
    assert list(selectors.assignment_list_for_user(other_supervisor)) == [outsider_leg]


def test_a_leg_evaluation_is_visible_to_the_legs_agent_and_supervisor_only(
    reviewer, supervisor, other_team, transferred, owner_agent, outsider_agent, scorecard
):
    other_supervisor = UserFactory(username="sup2", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)
    weekly(transferred, outsider_agent, reviewer)
    evaluation = submitted_evaluation(
        call=transferred,
        author=reviewer,
        scorecard=scorecard,
        agent=outsider_agent,
        values={"a": 1, "b": 4, "crit": 1, "res": 1},
    )

    def sees(user) -> bool:
        return selectors.evaluation_list_for_user(user).filter(pk=evaluation.pk).exists()

    assert (sees(outsider_agent.user), sees(other_supervisor)) == (True, True)
    assert (sees(owner_agent.user), sees(supervisor)) == (False, False)


def test_a_supervisor_assigns_only_their_own_agents_legs(
    reviewer, supervisor, other_team, transferred, owner_agent, outsider_agent
):
    other_supervisor = UserFactory(username="sup2", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)
    with pytest.raises(PermissionDenied):
        services.assignment_create(
            call=transferred, reviewer=reviewer, assigned_by=supervisor, agent=outsider_agent
        )
    assert not Assignment.objects.exists()

    # Without naming a leg, each supervisor gets the leg of their own agent.
    mine = services.assignment_create(call=transferred, reviewer=reviewer, assigned_by=supervisor)
    theirs = services.assignment_create(call=transferred, reviewer=reviewer, assigned_by=other_supervisor)
    assert (mine.agent, theirs.agent) == (owner_agent, outsider_agent)
