"""Permission matrix: every role × every scoring API endpoint and the calls read API, plus the selectors behind
them."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from calls.models import Call
from scoring import selectors, services
from scoring.models import Evaluation
from tests.factories import CallFactory, UserFactory
from tests.scoring.factories import (
    AssignmentFactory,
    expected_score,
    fill_evaluation,
    simple_scorecard,
    submitted_evaluation,
)

pytestmark = pytest.mark.django_db

VALUES = {"a": 1, "b": 3, "crit": 1, "res": 1}


@pytest.fixture
def world(owner_agent, teammate_agent, outsider_agent, supervisor, reviewer, admin_user, qa_lead, scorecard):
    owner_call = CallFactory(agent=owner_agent, external_id="CALL-OWNER")
    mate_call = CallFactory(agent=teammate_agent, external_id="CALL-MATE")
    out_call = CallFactory(agent=outsider_agent, external_id="CALL-OUT")
    draft_call = CallFactory(agent=outsider_agent, external_id="CALL-DRAFT")
    evaluations = SimpleNamespace(
        owner=submitted_evaluation(call=owner_call, author=qa_lead, scorecard=scorecard, values=VALUES),
        mate=submitted_evaluation(call=mate_call, author=qa_lead, scorecard=scorecard, values=VALUES),
        out=submitted_evaluation(call=out_call, author=qa_lead, scorecard=scorecard, values=VALUES),
        calibration=submitted_evaluation(
            call=owner_call, author=qa_lead, scorecard=scorecard, values=VALUES, kind="calibration"
        ),
        self_review=submitted_evaluation(
            call=owner_call, author=owner_agent.user, scorecard=scorecard, values=VALUES, kind="self_review"
        ),
        draft=services.evaluation_start(call=draft_call, author=qa_lead, scorecard=scorecard),
    )
    fill_evaluation(evaluations.draft, qa_lead, {"a": 0})
    owner_draft_self = services.self_evaluation_start(
        call=mate_call, user=teammate_agent.user, scorecard=scorecard
    )
    draft_scorecard = simple_scorecard(family="drafty", publish=False)
    assignment_team = AssignmentFactory(call=owner_call, reviewer=reviewer)
    assignment_other = AssignmentFactory(call=out_call, reviewer=qa_lead)
    users = {
        "owner": owner_agent.user,
        "teammate": teammate_agent.user,
        "outsider": outsider_agent.user,
        "reviewer": reviewer,
        "supervisor": supervisor,
        "admin": admin_user,
        "qa_lead": qa_lead,
    }
    return SimpleNamespace(
        users=users,
        ev=evaluations,
        teammate_self_draft=owner_draft_self,
        draft_scorecard=draft_scorecard,
        published_scorecards={scorecard.pk, selectors.Scorecard.objects.get(family="voice-qa").pk},
        assignments=SimpleNamespace(team=assignment_team, other=assignment_other),
    )


def visible_evaluations(world, role: str) -> set[int]:
    e = world.ev
    everything = {e.owner.pk, e.mate.pk, e.out.pk, e.calibration.pk, e.self_review.pk, e.draft.pk}
    return {
        "owner": {e.owner.pk, e.self_review.pk},
        "teammate": {e.mate.pk, world.teammate_self_draft.pk},  # their own self-review draft
        "outsider": {e.out.pk},
        # Submitted, not calibration (blind calibration), plus their own (none).
        "reviewer": {e.owner.pk, e.mate.pk, e.out.pk, e.self_review.pk},
        # Submitted evaluations of their team's agents, any kind.
        "supervisor": {e.owner.pk, e.mate.pk, e.calibration.pk, e.self_review.pk},
        "admin": everything | {world.teammate_self_draft.pk},
        "qa_lead": everything,
    }[role]


def visible_assignments(world, role: str) -> set[int]:
    a = world.assignments
    return {
        "owner": set(),
        "teammate": set(),
        "outsider": set(),
        "reviewer": {a.team.pk},
        "supervisor": {a.team.pk},  # their team's call
        "admin": {a.team.pk, a.other.pk},
        "qa_lead": {a.other.pk},
    }[role]


def visible_scorecards(world, role: str) -> set[int]:
    if role in {"admin", "qa_lead"}:
        return world.published_scorecards | {world.draft_scorecard.pk}
    return world.published_scorecards


ROLES = ["owner", "teammate", "outsider", "reviewer", "supervisor", "admin", "qa_lead"]


def all_ids(client, url: str) -> set[int]:
    ids = set()
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.json()
        ids |= {row["id"] for row in body["results"]}
        url = body["next"]
    return ids


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, world, role):
    client.force_login(world.users[role])
    every_evaluation = set(Evaluation.objects.values_list("pk", flat=True))
    every_scorecard = set(selectors.Scorecard.objects.values_list("pk", flat=True))
    every_assignment = {world.assignments.team.pk, world.assignments.other.pk}

    assert all_ids(client, "/api/evaluations/") == visible_evaluations(world, role)
    assert all_ids(client, "/api/scorecards/") == visible_scorecards(world, role)
    assert all_ids(client, "/api/assignments/") == visible_assignments(world, role)

    unauthorized_2xx = []
    for base, every, visible in (
        ("/api/evaluations/", every_evaluation, visible_evaluations(world, role)),
        ("/api/scorecards/", every_scorecard, visible_scorecards(world, role)),
        ("/api/assignments/", every_assignment, visible_assignments(world, role)),
    ):
        for pk in every:
            response = client.get(f"{base}{pk}/")
            if pk in visible:
                assert response.status_code == 200, (base, pk)
                assert response.json()["id"] == pk
            else:
                assert response.status_code == 404, (base, pk, response.status_code)
                if 200 <= response.status_code < 300:
                    unauthorized_2xx.append((base, pk))
    assert unauthorized_2xx == []


def visible_calls(world, role: str) -> set[int]:
    """The calls API's scope, as the calls list's: agents their own calls, supervisors their teams' agents'
    (the other supervisor: the outsider's), reviewers and admins every call."""
    calls = {evaluation.call for evaluation in (world.ev.owner, world.ev.mate, world.ev.out, world.ev.draft)}
    by_id = {call.external_id: call.pk for call in calls}
    everything = set(by_id.values())
    return {
        "owner": {by_id["CALL-OWNER"]},
        "teammate": {by_id["CALL-MATE"]},
        "outsider": {by_id["CALL-OUT"], by_id["CALL-DRAFT"]},
        "reviewer": everything,
        "supervisor": {by_id["CALL-OWNER"], by_id["CALL-MATE"]},
        "other_supervisor": {by_id["CALL-OUT"], by_id["CALL-DRAFT"]},
        "admin": everything,
        "qa_lead": everything,  # a reviewer
    }[role]


@pytest.mark.parametrize("role", [*ROLES, "other_supervisor"])
def test_calls_api_permission_matrix(client, world, other_supervisor, role):
    client.force_login(other_supervisor if role == "other_supervisor" else world.users[role])
    every_call = {e.call.pk for e in (world.ev.owner, world.ev.mate, world.ev.out, world.ev.draft)}
    visible = visible_calls(world, role)

    assert all_ids(client, "/api/calls/") == visible
    answers = {pk: client.get(f"/api/calls/{pk}/").status_code for pk in every_call}
    assert answers == {pk: 200 if pk in visible else 404 for pk in every_call}


# The read endpoints, each refused without credentials.
READ_API_URLS = [
    "/api/evaluations/",
    "/api/scorecards/",
    "/api/assignments/",
    "/api/evaluations/1/",
    "/api/calls/",
    "/api/calls/1/",
]


@pytest.mark.parametrize("url", READ_API_URLS)
def test_anonymous_gets_nothing(client, world, url):
    response = client.get(url)
    assert response.status_code in (401, 403)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_api_is_read_only(client, world, method):
    client.force_login(world.users["admin"])
    pk = world.ev.owner.pk
    response = getattr(client, method)(f"/api/evaluations/{pk}/", data={}, content_type="application/json")
    assert response.status_code == 405
    assert Evaluation.objects.filter(pk=pk, score=world.ev.owner.score).exists()
    call = world.ev.owner.call
    for url in ("/api/calls/", f"/api/calls/{call.pk}/"):
        response = getattr(client, method)(url, data={}, content_type="application/json")
        assert response.status_code == 405, url
    assert Call.objects.filter(pk=call.pk, external_id="CALL-OWNER", updated_at=call.updated_at).exists()


@pytest.mark.parametrize("role", ["owner", "teammate", "outsider"])
def test_agents_lists_contain_only_their_own(client, world, role):
    user = world.users[role]
    client.force_login(user)
    rows = client.get("/api/evaluations/").json()["results"]
    assert rows, "the agent should see at least one evaluation"
    assert {row["agent"]["id"] for row in rows} == {user.agent.pk}
    # Never someone else's draft, never a calibration.
    for row in rows:
        assert row["kind"] != "calibration"
        assert row["status"] == "submitted" or row["author"] == user.username


def test_detail_shows_answers_and_section_scores(client, world):
    client.force_login(world.users["owner"])
    body = client.get(f"/api/evaluations/{world.ev.owner.pk}/").json()
    # 100 × (1×1 + 3×3/4 + 2×1 + 1×1) / 7 = 89.2857…
    assert body["score"] == str(expected_score([(1, 1, 1), (3, 3, 4), (2, 1, 1), (1, 1, 1)])) == "89.29"
    assert [a["criterion"] for a in body["answers"]] == ["a", "b", "crit", "res", "unres"]
    assert body["answers"][4]["is_na"] is True
    assert [s["section"] for s in body["section_scores"]] == ["Basics", "Closing"]


def test_filters(client, world, owner_agent, team):
    client.force_login(world.users["admin"])
    e = world.ev

    def ids(query: str) -> set[int]:
        return all_ids(client, f"/api/evaluations/?{query}")

    assert ids(f"agent={owner_agent.pk}") == {e.owner.pk, e.calibration.pk, e.self_review.pk}
    assert ids(f"team={team.pk}&kind=review") == {e.owner.pk, e.mate.pk}
    assert ids("call=CALL-OUT") == {e.out.pk}
    assert ids("status=draft") == {e.draft.pk, world.teammate_self_draft.pk}
    assert ids("kind=self_review&status=submitted") == {e.self_review.pk}
    assert ids("family=simple&status=submitted") == {
        e.owner.pk,
        e.mate.pk,
        e.out.pk,
        e.calibration.pk,
        e.self_review.pk,
    }
    assert ids(f"scorecard={world.draft_scorecard.pk}") == set()
    today = timezone.localdate()
    submitted = {e.owner.pk, e.mate.pk, e.out.pk, e.calibration.pk, e.self_review.pk}
    assert ids(f"date_from={today}&date_to={today}") == submitted
    assert ids(f"date_from={today + dt.timedelta(days=1)}") == set()
    assert ids(f"date_to={today - dt.timedelta(days=1)}") == set()
    assert client.get("/api/evaluations/?date_from=yesterday").status_code == 400
    assert (
        client.get(f"/api/evaluations/?date_from={today}&date_to={today - dt.timedelta(days=1)}").status_code
        == 400
    )
    assert client.get("/api/evaluations/?kind=bogus").status_code == 400


def test_filters_never_widen_the_scope(client, world, outsider_agent):
    client.force_login(world.users["owner"])
    assert all_ids(client, f"/api/evaluations/?agent={outsider_agent.pk}") == set()
    assert all_ids(client, "/api/evaluations/?call=CALL-OUT") == set()
    assert all_ids(client, "/api/evaluations/?include_superseded=true") == {
        world.ev.owner.pk,
        world.ev.self_review.pk,
    }


def test_scorecard_api_returns_sections_and_criteria(client, world, voice_qa):
    client.force_login(world.users["owner"])
    body = client.get(f"/api/scorecards/{voice_qa.pk}/").json()
    assert body["family"] == "voice-qa" and body["status"] == "published"
    keys = [c["key"] for s in body["sections"] for c in s["criteria"]]
    assert keys == list(voice_qa.criteria.order_by("position").values_list("key", flat=True))
    compliance = next(c for s in body["sections"] for c in s["criteria"] if c["key"] == "compliance")
    assert compliance["is_critical"] is True and compliance["weight"] == "5.00"


def test_schema_documents_the_scoring_endpoints(client, world):
    client.force_login(world.users["admin"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (
        "/api/evaluations/",
        "/api/evaluations/{id}/",
        "/api/scorecards/",
        "/api/scorecards/{id}/",
        "/api/assignments/",
    ):
        assert path in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/evaluations/"]["get"]["parameters"]}
    assert {"agent", "team", "call", "date_from", "date_to", "scorecard", "kind", "status"} <= parameters


# --- selectors directly ----------------------------------------------------------------------------


def test_call_evaluable_by_user(world, owner_agent):
    call = world.ev.owner.call
    users = world.users
    assert selectors.call_evaluable_by_user(users["reviewer"], call) is True  # open assignment
    assert selectors.call_evaluable_by_user(users["reviewer"], world.ev.out.call) is False
    assert selectors.call_evaluable_by_user(users["qa_lead"], world.ev.mate.call) is True  # permission
    assert selectors.call_evaluable_by_user(users["admin"], world.ev.mate.call) is True
    assert selectors.call_evaluable_by_user(users["supervisor"], call) is False
    assert selectors.call_evaluable_by_user(users["owner"], call) is False


def test_drafts_are_only_for_their_author(world):
    draft = world.ev.draft
    for role in ("owner", "teammate", "outsider", "reviewer", "supervisor"):
        with pytest.raises(selectors.Http404):
            selectors.evaluation_get_for_user(world.users[role], pk=draft.pk)
        with pytest.raises(selectors.Http404):
            selectors.evaluation_draft_get_for_author(world.users[role], pk=draft.pk)
    assert selectors.evaluation_draft_get_for_author(world.users["qa_lead"], pk=draft.pk) == draft
    with pytest.raises(selectors.Http404):
        selectors.evaluation_draft_get_for_author(world.users["qa_lead"], pk=world.ev.owner.pk)


def test_supervisor_sees_each_evaluation_once_with_several_supervisors(world, team):
    team.supervisors.add(UserFactory(username="cosup", roles=["supervisor"]))
    ids = list(selectors.evaluation_list_for_user(world.users["supervisor"]).values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 4


def test_list_endpoints_do_not_query_per_row(client, world, scorecard, owner_agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.users["admin"])
    urls = ("/api/evaluations/", "/api/scorecards/", "/api/assignments/?status=all", "/api/calls/")

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    before = counts()
    qa_lead = world.users["qa_lead"]
    for i in range(5):
        call = CallFactory(agent=owner_agent, external_id=f"MORE-{i}")
        AssignmentFactory(call=call, reviewer=qa_lead, agent=owner_agent)
        submitted_evaluation(call=call, author=qa_lead, scorecard=scorecard, values=VALUES)
        simple_scorecard(family=f"more-{i}")
    assert counts() == before


@pytest.mark.parametrize("url", READ_API_URLS)
@pytest.mark.parametrize("credentials", [None, "Token 0123456789abcdef", "Bearer 0123456789abcdef"])
def test_missing_or_wrong_token_is_401_with_a_challenge(client, world, url, credentials):
    headers = {"HTTP_AUTHORIZATION": credentials} if credentials else {}
    response = client.get(url, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_refused_even_with_a_session(client, world):
    client.force_login(world.users["admin"])
    response = client.get("/api/evaluations/", HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "base", ["/api/evaluations/", "/api/assignments/", "/api/scorecards/", "/api/calls/"]
)
def test_a_non_numeric_id_is_404_not_500(client, world, base):
    client.force_login(world.users["admin"])
    response = client.get(f"{base}abc/")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_the_last_calendar_day_as_date_to_is_400_naming_the_field(client, world):
    client.force_login(world.users["admin"])
    response = client.get("/api/evaluations/?date_to=9999-12-31")
    assert response.status_code == 400
    assert set(response.json()) == {"date_to"}
    assert client.get("/api/evaluations/?date_from=0001-01-01&date_to=9999-12-30").status_code == 200
