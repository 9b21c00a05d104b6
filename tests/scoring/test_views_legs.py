"""QA per leg in the web UI and the permission scopes: a call owner_agent (team "Billing East") handled in
Billing and transferred (#1) to outsider_agent (team "Tech West") in Tech."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
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
    client, reviewer, transferred, owner_agent, outsider_agent, tech
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
    # The handling leg is not the reviewer's: listed, not linked (opening it would be refused).
    assert '<span class="leg-locked">Olive Owner (A-OWNER)</span>' in picker
    assert "· Billing · handled the call · not yours to evaluate" in picker
    assert f'href="?agent={owner_agent.pk}"' not in picker
    assert 'class="current">Otto Outsider (A-OUT)</a>' in picker and "· Tech · transfer #1</span>" in picker


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


# --- who may evaluate which leg: per leg, not per call ---------------------------------------------------

FULL = {"a": 1, "b": 4, "crit": 1, "res": 1}
REFUSED = (403, 403, 403, 403, 403)
# Page, answer autosave, feedback autosave, save (redirect), submit (redirect).
SCORED = (200, 200, 200, 302, 302)


def _grant_evaluate_any_call(user):
    user.user_permissions.add(Permission.objects.get(codename="evaluate_any_call"))
    return User.objects.get(pk=user.pk)  # a fresh object: has_perm caches the permissions it read


def _leg_requests(client, call, agent, scorecard) -> tuple[int, ...]:
    """Every workspace request on one leg, in the order a reviewer makes them, ending with the submit."""
    crit = criteria_by_key(scorecard)
    a = crit["a"]
    workspace = reverse("scoring:workspace", args=[call.pk])
    answers = {f"c{crit[key].pk}-value": str(value) for key, value in FULL.items()}
    return (
        client.get(workspace, {"agent": agent.pk}).status_code,
        client.post(
            reverse("scoring:workspace_answer", args=[call.pk]),
            {"criterion": a.pk, f"c{a.pk}-value": "1", "agent": agent.pk},
            headers=HX,
        ).status_code,
        client.post(
            reverse("scoring:workspace_summary", args=[call.pk]),
            {"summary": "Fine", "agent": agent.pk},
            headers=HX,
        ).status_code,
        client.post(workspace, {"action": "save", **answers, "agent": agent.pk}).status_code,
        client.post(workspace, {"action": "submit", **answers, "agent": agent.pk}).status_code,
    )


def _evaluations() -> list[tuple]:
    return list(
        Evaluation.objects.order_by("id").values_list("agent__employee_code", "author__username", "status")
    )


def test_a_reviewer_assigned_one_leg_scores_it_and_is_refused_the_other_leg(
    client, reviewer, transferred, owner_agent, outsider_agent, scorecard
):
    owner_leg = weekly(transferred, owner_agent, reviewer)
    client.force_login(reviewer)

    assert _leg_requests(client, transferred, outsider_agent, scorecard) == REFUSED
    assert not Evaluation.objects.exists()
    with pytest.raises(PermissionDenied):
        services.evaluation_start(call=transferred, author=reviewer, agent=outsider_agent)
    assert not Evaluation.objects.exists()

    assert _leg_requests(client, transferred, owner_agent, scorecard) == SCORED
    assert _evaluations() == [("A-OWNER", "reviewer", "submitted")]
    assert Evaluation.objects.get().assignment == owner_leg


@pytest.mark.parametrize("led", ["team", "other_team"])
def test_a_supervisor_who_may_evaluate_any_call_scores_only_their_teams_legs(
    client, request, led, transferred, owner_agent, outsider_agent, scorecard
):
    lead = UserFactory(username="lead", roles=["supervisor"])
    request.getfixturevalue(led).supervisors.add(lead)
    lead = _grant_evaluate_any_call(lead)
    mine, theirs = (owner_agent, outsider_agent) if led == "team" else (outsider_agent, owner_agent)
    client.force_login(lead)

    # Without ?agent= the page opens the leg they may evaluate (for other_team's lead, not the handling one).
    assert client.get(reverse("scoring:workspace", args=[transferred.pk])).context["ws"].agent == mine
    assert _leg_requests(client, transferred, theirs, scorecard) == REFUSED
    assert not Evaluation.objects.exists()
    assert _leg_requests(client, transferred, mine, scorecard) == SCORED
    assert _evaluations() == [(mine.employee_code, "lead", "submitted")]


def test_nobody_evaluates_their_own_leg(client, transferred, owner_agent, outsider_agent, scorecard):
    # A QA-wide reviewer who also takes calls, and even has their own leg in their queue.
    user = outsider_agent.user
    user.groups.add(Group.objects.get(name="reviewer"))
    user = _grant_evaluate_any_call(user)
    weekly(transferred, outsider_agent, user)
    client.force_login(user)

    assert client.get(reverse("scoring:workspace", args=[transferred.pk])).context["ws"].agent == owner_agent
    assert _leg_requests(client, transferred, outsider_agent, scorecard) == REFUSED
    assert not Evaluation.objects.exists()
    with pytest.raises(PermissionDenied):
        services.evaluation_start(call=transferred, author=user, agent=outsider_agent)
    assert _leg_requests(client, transferred, owner_agent, scorecard) == SCORED
    assert _evaluations() == [("A-OWNER", "outsider", "submitted")]


def test_each_source_of_the_right_to_evaluate_gives_its_own_legs(
    reviewer, qa_lead, admin_user, supervisor, other_team, transferred, owner_agent, outsider_agent
):
    other_reviewer = UserFactory(username="reviewer2", roles=["reviewer"])
    weekly(transferred, outsider_agent, reviewer)
    AssignmentFactory(call=transferred, reviewer=other_reviewer, agent=None)  # before 0007: the call's agent
    AssignmentFactory(call=transferred, reviewer=outsider_agent.user, agent=outsider_agent)  # their own leg
    other_supervisor = UserFactory(username="sup2", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)

    def legs(user) -> list[str]:
        return [
            agent.employee_code
            for agent in (owner_agent, outsider_agent)
            if selectors.leg_evaluable_by_user(user, transferred, agent)
        ]

    assert legs(reviewer) == ["A-OUT"]
    assert legs(other_reviewer) == ["A-OWNER"]
    assert legs(qa_lead) == ["A-OWNER", "A-OUT"]
    assert legs(admin_user) == ["A-OWNER", "A-OUT"]
    # A supervisor's role alone grants nothing (as before); with evaluate_any_call, their teams' legs.
    assert (legs(supervisor), legs(other_supervisor)) == ([], [])
    assert legs(_grant_evaluate_any_call(supervisor)) == ["A-OWNER"]
    assert legs(_grant_evaluate_any_call(other_supervisor)) == ["A-OUT"]
    assert (legs(owner_agent.user), legs(outsider_agent.user)) == ([], [])
    # The call page's Review button: some leg of the call is evaluable.
    assert selectors.call_evaluable_by_user(reviewer, transferred) is True
    assert selectors.call_evaluable_by_user(outsider_agent.user, transferred) is False
    assert selectors.call_evaluable_by_user(supervisor, transferred) is False


def test_opening_a_draft_of_the_second_leg_resumes_that_leg(
    client, reviewer, transferred, owner_agent, outsider_agent
):
    weekly(transferred, owner_agent, reviewer)  # the older assignment: the page's default leg
    weekly(transferred, outsider_agent, reviewer)
    draft = services.evaluation_start(call=transferred, author=reviewer, agent=outsider_agent)
    client.force_login(reviewer)

    response = client.get(reverse("scoring:evaluation_detail", args=[draft.pk]), follow=True)

    assert response.redirect_chain == [
        (reverse("scoring:workspace", args=[transferred.pk]) + f"?agent={outsider_agent.pk}", 302)
    ]
    assert (response.context["ws"].agent, response.context["ws"].draft) == (outsider_agent, draft)


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


# --- assign page: the leg picker -----------------------------------------------------------------------


def _three_leg_call(owner_agent, outsider_agent, teammate_agent, billing, tech, external_id="LEGS-3"):
    """Handled by owner (Billing), transferred (#1) to outsider (Tech), who sent it on (#2) to teammate
    (Billing again)."""
    call = CallFactory(
        external_id=external_id, agent=owner_agent, department=billing, channel="chat", started_at=MONDAY
    )
    TransferFactory(
        call=call,
        sequence=1,
        from_agent=owner_agent,
        from_department=billing,
        to_agent=outsider_agent,
        to_department=tech,
    )
    TransferFactory(
        call=call,
        sequence=2,
        from_agent=outsider_agent,
        from_department=tech,
        to_agent=teammate_agent,
        to_department=billing,
    )
    return call


def _picker(page, call):
    field = page.context["form"][f"leg-{call.pk}"]
    return [(value, label) for value, label in field.field.choices], field.value()


def test_assign_page_offers_every_leg_of_a_call_in_order_to_an_admin(
    client, admin_user, owner_agent, outsider_agent, teammate_agent, billing, tech
):
    call = _three_leg_call(owner_agent, outsider_agent, teammate_agent, billing, tech)
    client.force_login(admin_user)

    page = client.get(reverse("scoring:assign"))

    choices, selected = _picker(page, call)
    assert choices == [
        (owner_agent.pk, "1. Olive Owner (A-OWNER) · Billing · handled"),
        (outsider_agent.pk, "2. Otto Outsider (A-OUT) · Tech · transfer #1"),
        (teammate_agent.pk, "3. Tom Mate (A-MATE) · Billing · transfer #2"),
    ]
    assert selected == owner_agent.pk  # the handling agent's leg by default
    html = page.content.decode()
    assert f'<label class="visually-hidden" for="id_leg-{call.pk}">Leg of LEGS-3</label>' in html
    assert f'<select name="leg-{call.pk}" id="id_leg-{call.pk}">' in html
    assert (
        f'<option value="{owner_agent.pk}" selected>1. Olive Owner (A-OWNER) · Billing · handled</option>'
        in html
    )


def test_a_supervisor_is_offered_only_the_legs_of_their_teams_agents(
    client, supervisor, other_team, owner_agent, outsider_agent, teammate_agent, billing, tech
):
    other_supervisor = UserFactory(username="sup2", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)
    call = _three_leg_call(owner_agent, outsider_agent, teammate_agent, billing, tech)

    client.force_login(supervisor)
    assert _picker(client.get(reverse("scoring:assign")), call) == (
        [
            (owner_agent.pk, "1. Olive Owner (A-OWNER) · Billing · handled"),
            (teammate_agent.pk, "3. Tom Mate (A-MATE) · Billing · transfer #2"),
        ],
        owner_agent.pk,
    )
    client.force_login(other_supervisor)
    # Not the handling agent's supervisor: their own agent's leg comes preselected, and is the only one.
    assert _picker(client.get(reverse("scoring:assign")), call) == (
        [(outsider_agent.pk, "2. Otto Outsider (A-OUT) · Tech · transfer #1")],
        outsider_agent.pk,
    )


def test_the_picked_leg_is_assigned(client, admin_user, reviewer, transferred, outsider_agent):
    client.force_login(admin_user)

    response = client.post(
        reverse("scoring:assign"),
        {
            "reviewer": reviewer.pk,
            "purpose": "manual",
            "calls": [transferred.pk],
            f"leg-{transferred.pk}": outsider_agent.pk,
        },
    )

    assert response.status_code == 302
    assert list(Assignment.objects.values_list("call_id", "agent_id", "reviewer_id", "purpose")) == [
        (transferred.pk, outsider_agent.pk, reviewer.pk, "manual")
    ]


def test_without_a_picked_leg_the_default_leg_is_assigned(
    client, admin_user, reviewer, transferred, owner_agent
):
    client.force_login(admin_user)

    client.post(
        reverse("scoring:assign"), {"reviewer": reviewer.pk, "purpose": "manual", "calls": [transferred.pk]}
    )

    assert list(Assignment.objects.values_list("call_id", "agent_id")) == [(transferred.pk, owner_agent.pk)]


@pytest.mark.parametrize("forged", ["teammate", "999999", "abc"])
def test_a_forged_agent_id_is_refused_with_a_field_error(
    client, admin_user, reviewer, transferred, teammate_agent, forged
):
    value = teammate_agent.pk if forged == "teammate" else forged  # teammate did not handle the call
    client.force_login(admin_user)

    response = client.post(
        reverse("scoring:assign"),
        {
            "reviewer": reviewer.pk,
            "purpose": "manual",
            "calls": [transferred.pk],
            f"leg-{transferred.pk}": value,
        },
    )

    assert response.status_code == 422
    message = f"That agent did not handle a leg of call {transferred.external_id}: choose one of its legs."
    assert response.context["form"].errors == {f"leg-{transferred.pk}": [message]}
    assert message in response.content.decode()
    assert not Assignment.objects.exists()


def test_a_supervisor_cannot_assign_another_teams_leg_by_posting_its_agent(
    client, supervisor, reviewer, transferred, outsider_agent
):
    client.force_login(supervisor)

    response = client.post(
        reverse("scoring:assign"),
        {
            "reviewer": reviewer.pk,
            "purpose": "manual",
            "calls": [transferred.pk],
            f"leg-{transferred.pk}": outsider_agent.pk,
        },
    )

    assert response.status_code == 422
    assert response.context["form"].errors == {
        f"leg-{transferred.pk}": [
            f"You may not assign that leg of call {transferred.external_id}: its agent is not in one of your teams."
        ]
    }
    assert not Assignment.objects.exists()


def test_a_call_with_one_leg_queued_offers_the_next_leg(
    client, admin_user, reviewer, transferred, owner_agent, outsider_agent
):
    AssignmentFactory(call=transferred, agent=owner_agent, reviewer=reviewer)
    client.force_login(admin_user)

    page = client.get(reverse("scoring:assign"))

    assert _picker(page, transferred) == (
        [
            (owner_agent.pk, "1. Olive Owner (A-OWNER) · Billing · handled (in a queue)"),
            (outsider_agent.pk, "2. Otto Outsider (A-OUT) · Tech · transfer #1"),
        ],
        outsider_agent.pk,
    )
    row = next(c for c in page.context["candidates"] if c.pk == transferred.pk)
    assert (row.is_assigned, row.is_closed) == (True, False)
    assert (
        f'id="pick-{transferred.pk}" aria-label="Assign {transferred.external_id}">' in page.content.decode()
    )

    AssignmentFactory(call=transferred, agent=outsider_agent, reviewer=reviewer)
    page = client.get(reverse("scoring:assign"))
    row = next(c for c in page.context["candidates"] if c.pk == transferred.pk)
    assert (row.is_assigned, row.is_closed) == (True, True)
    assert (
        f'id="pick-{transferred.pk}" aria-label="Assign {transferred.external_id}" disabled>'
        in page.content.decode()
    )


def test_assigning_an_already_queued_leg_reports_it_and_still_assigns_the_others(
    client, admin_user, reviewer, transferred, owner_agent, outsider_agent
):
    AssignmentFactory(call=transferred, agent=outsider_agent, reviewer=reviewer)
    other = CallFactory(agent=owner_agent, channel="chat", external_id="OTHER-1", started_at=MONDAY)
    client.force_login(admin_user)

    response = client.post(
        reverse("scoring:assign"),
        {
            "reviewer": reviewer.pk,
            "purpose": "manual",
            "calls": [transferred.pk, other.pk],
            f"leg-{transferred.pk}": outsider_agent.pk,
        },
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "1 call assigned to reviewer.",
        f"{transferred.external_id}: This agent's leg of the call is already assigned for that purpose.",
    ]
    assert sorted(Assignment.objects.values_list("call_id", "agent_id")) == sorted(
        [(transferred.pk, outsider_agent.pk), (other.pk, owner_agent.pk)]
    )


# --- set-based permission checks on lists: the query count does not grow with the rows ------------------


def _transferred_calls(count, owner_agent, outsider_agent, start=0):
    calls = []
    for i in range(start, start + count):
        call = CallFactory(agent=owner_agent, channel="chat", started_at=MONDAY + timedelta(minutes=i))
        TransferFactory(call=call, sequence=1, from_agent=owner_agent, to_agent=outsider_agent)
        calls.append(call)
    return calls


@pytest.mark.parametrize("who", ["admin", "supervisor"])
def test_assign_page_and_bulk_assign_ask_as_many_queries_for_30_calls_as_for_3(
    client, admin_user, supervisor, reviewer, owner_agent, outsider_agent, django_assert_max_num_queries, who
):
    client.force_login(admin_user if who == "admin" else supervisor)
    url = reverse("scoring:assign")
    data = {"reviewer": reviewer.pk, "purpose": "manual"}
    few = _transferred_calls(3, owner_agent, outsider_agent)
    # Page: session, user, groups, (supervisor: permissions x2, led teams, own agent, led agents for the
    # filters,) calls, transfers, open legs, nav count, filter choices, reviewers. Post: the same reads,
    # the posted calls, the reviewer's groups, the live duplicates, one INSERT, the message storage.
    # Before the set-based checks a post cost 27 queries for 3 calls and 216 for 30 (admin), 43 and 340
    # (supervisor): several per call.
    page_budget, post_budget = {"admin": (12, 16), "supervisor": (17, 22)}[who]
    with django_assert_max_num_queries(page_budget) as page_few:
        client.get(url)
    with django_assert_max_num_queries(post_budget) as post_few:
        client.post(url, {**data, "calls": [c.pk for c in few]})
    assert Assignment.objects.count() == 3
    many = _transferred_calls(30, owner_agent, outsider_agent, start=3)
    with django_assert_max_num_queries(page_budget) as page_many:
        page = client.get(url)
    with django_assert_max_num_queries(post_budget) as post_many:
        client.post(
            url, {**data, "calls": [c.pk for c in many], **{f"leg-{c.pk}": owner_agent.pk for c in many}}
        )

    assert len(page.context["candidates"]) == 33
    assert Assignment.objects.filter(agent=owner_agent).count() == 33
    assert (len(page_many), len(post_many)) == (len(page_few), len(post_few))


def test_queue_and_api_list_ask_as_many_queries_for_30_legs_as_for_3(
    client, reviewer, owner_agent, outsider_agent, django_assert_max_num_queries
):
    client.force_login(reviewer)
    for call in _transferred_calls(2, owner_agent, outsider_agent):
        weekly(call, owner_agent, reviewer)
    weekly(call, outsider_agent, reviewer)
    client.get(reverse("scoring:queue"))

    # Queue: see test_queue_page_asks_a_fixed_number_of_queries_whatever_the_legs. API: session, user,
    # groups, count, the page of rows (legs' agents and calls joined in).
    with django_assert_max_num_queries(10) as queue_few:
        client.get(reverse("scoring:queue"))
    with django_assert_max_num_queries(5) as api_few:
        few = client.get("/api/assignments/").json()
    for call in _transferred_calls(15, owner_agent, outsider_agent, start=2):
        weekly(call, owner_agent, reviewer)
        weekly(call, outsider_agent, reviewer)
    with django_assert_max_num_queries(10) as queue_many:
        response = client.get(reverse("scoring:queue"))
    with django_assert_max_num_queries(5) as api_many:
        many = client.get("/api/assignments/").json()

    assert (len(response.context["assignments"]), _count(few), _count(many)) == (33, 3, 33)
    assert (len(queue_many), len(api_many)) == (len(queue_few), len(api_few))


def _count(payload):
    return payload["count"] if isinstance(payload, dict) else len(payload)


def test_the_assign_pages_list_offers_cancel_only_for_legs_the_user_may_assign(
    client, supervisor, reviewer, other_team, transferred, owner_agent
):
    mine = services.assignment_create(call=transferred, reviewer=reviewer, assigned_by=supervisor)
    client.force_login(supervisor)
    cancel = reverse("scoring:assignment_cancel", args=[mine.pk])
    page = client.get(reverse("scoring:assign"))
    assert [(a.pk, a.can_cancel) for a in page.context["recent"]] == [(mine.pk, True)]
    assert f'action="{cancel}"' in page.content.decode()

    owner_agent.team = other_team  # the agent moved: the assignment the supervisor made is no longer theirs
    owner_agent.save()
    page = client.get(reverse("scoring:assign"))
    assert [(a.pk, a.can_cancel) for a in page.context["recent"]] == [(mine.pk, False)]
    assert f'action="{cancel}"' not in page.content.decode()
    assert client.post(cancel).status_code == 403  # and the service refuses it
    mine.refresh_from_db()
    assert mine.status == "open"
