"""The evaluation export (/qa/evaluations.csv): one row per answer of each submitted evaluation, checked cell by cell
against hand-built evaluations (every column, N/A, a critical fail, a disputed review, a self-review, a calibration,
a transferred leg's department), times in the site's zone, the period's local edges, who sees which evaluations,
the filters and refused ones, CSV injection and a query count that does not grow with the rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Agent
from scoring import services
from scoring.legs import call_legs, leg_for_agent
from scoring.models import Answer, Evaluation
from tests.factories import AgentFactory, CallFactory, DepartmentFactory, TransferFactory, UserFactory
from tests.html_a11y import page_of
from tests.scoring.factories import AssignmentFactory, criteria_by_key, simple_scorecard, submitted_evaluation

PARIS = ZoneInfo("Europe/Paris")
URL = reverse("scoring:evaluation_export")
# Monday 16 to Sunday 22 November 2026 (local), as a custom period.
MONDAY = date(2026, 11, 16)
SUNDAY = date(2026, 11, 22)
PERIOD = {"period": "custom", "date_from": MONDAY.isoformat(), "date_to": SUNDAY.isoformat()}
HEADER = [
    "evaluation_id",
    "revision",
    "kind",
    "submitted_at",
    "call_external_id",
    "call_started_at",
    "channel",
    "agent_employee_code",
    "agent_name",
    "team",
    "department",
    "reviewer_username",
    "reviewer_name",
    "scorecard",
    "scorecard_version",
    "score",
    "critical_failed",
    "dispute_status",
    "section",
    "criterion_key",
    "criterion",
    "critical_criterion",
    "weight",
    "answer",
    "points_earned",
    "points_possible",
    "comment",
]
# The simple scorecard (tests/scoring/factories.py) in its order: section, key, question, critical, weight, scale
# maximum (None for yes/no).
CRITERIA = [
    ("Basics", "a", "A?", "false", "1.00", None),
    ("Basics", "b", "B?", "false", "3.00", 4),
    ("Closing", "crit", "Critical?", "true", "2.00", None),
    ("Closing", "res", "Resolved only?", "false", "1.00", None),
    ("Closing", "unres", "Unresolved only?", "false", "1.00", None),
]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Paris) time."""
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def submitted_at(evaluation: Evaluation, moment: datetime) -> Evaluation:
    # The services stamp "now"; the period's edges need chosen times.
    Evaluation.objects.filter(pk=evaluation.pk).update(submitted_at=moment)
    evaluation.refresh_from_db()
    return evaluation


def comment(evaluation: Evaluation, key: str, text: str) -> None:
    Answer.objects.filter(evaluation=evaluation, criterion__key=key).update(comment=text)


def expected(
    evaluation_line: list, answers: dict[str, tuple], comments: dict[str, str] | None = None
) -> list:
    """The rows of one evaluation: its own cells, then per criterion in scorecard order the criterion's cells and
    the answer (label, earned, possible) written by hand in `answers`. Every call here is resolved: the submission
    records "unres" as N/A with the service's note."""
    comments = {"unres": "Does not apply to this call.", **(comments or {})}
    return [
        [*evaluation_line, section, key, question, critical, weight, *answers[key], comments.get(key, "")]
        for section, key, question, critical, weight, _ in CRITERIA
    ]


def download(client, user, **query) -> list[list[str]]:
    client.force_login(user)
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == HEADER
    return rows[1:]


def ids(rows: list[list[str]]) -> list[int]:
    """The evaluations of the rows, in order, once each."""
    return list(dict.fromkeys(int(row[0]) for row in rows))


@pytest.fixture(autouse=True)
def paris(settings):
    settings.TIME_ZONE = "Europe/Paris"


@pytest.fixture
def world(team, other_team, owner_agent, teammate_agent, outsider_agent, reviewer, scorecard):
    """Evaluations chosen so each rule is decided by one of them (comments say which)."""
    reviewer.first_name, reviewer.last_name = "Rae", "Viewer"
    reviewer.save()
    calibrator = UserFactory(username="calibrator", first_name="Cal", last_name="Ibrator", roles=["reviewer"])
    billing = DepartmentFactory(name="Billing")
    tech = DepartmentFactory(name="Tech support")
    crit = criteria_by_key(scorecard)

    # The owner's call (resolved: "unres" is N/A by rule), reviewed, disputed, self-reviewed and calibrated.
    call1 = CallFactory(
        external_id="C-1", channel="chat", agent=owner_agent, department=billing, started_at=at(MONDAY, 9, 30)
    )
    AssignmentFactory(call=call1, reviewer=reviewer)
    review = submitted_evaluation(
        call=call1, author=reviewer, scorecard=scorecard, values={"a": 1, "b": "na", "crit": 1, "res": 1}
    )
    services.dispute_open(evaluation=review, user=owner_agent.user, items={crit["a"].pk: "I did greet"})
    # Midnight at the start of the period's Monday, local: in.
    review = submitted_at(review, at(MONDAY, 0, 0))
    comment(review, "a", '=HYPERLINK("http://x")')
    comment(review, "crit", "-2 for tone")
    comment(review, "res", "Fine")
    self_review = submitted_evaluation(
        call=call1,
        author=owner_agent.user,
        scorecard=scorecard,
        values={"a": 1, "b": 4, "crit": 1, "res": 1},
        kind="self_review",
    )
    self_review = submitted_at(self_review, at(date(2026, 11, 20), 18, 15))
    AssignmentFactory(call=call1, reviewer=calibrator, purpose="calibration")
    calibration = submitted_evaluation(
        call=call1,
        author=calibrator,
        scorecard=scorecard,
        values={"a": 0, "b": 4, "crit": 1, "res": 1},
        kind="calibration",
    )
    calibration = submitted_at(calibration, at(date(2026, 11, 18), 11))

    # A call the owner handled and transferred to the teammate in Tech support: the teammate's leg, critical fail,
    # submitted a minute before the period's end (local).
    call2 = CallFactory(
        external_id="C-2",
        channel="phone",
        agent=owner_agent,
        department=billing,
        started_at=at(SUNDAY, 22, 0),
    )
    TransferFactory(
        call=call2, sequence=1, from_agent=owner_agent, to_agent=teammate_agent, to_department=tech
    )
    AssignmentFactory(call=call2, reviewer=reviewer, agent=teammate_agent)
    failed = submitted_evaluation(
        call=call2,
        author=reviewer,
        scorecard=scorecard,
        agent=teammate_agent,
        values={"a": 1, "b": 2, "crit": 0, "res": 1},
    )
    failed = submitted_at(failed, at(SUNDAY, 23, 59))

    # The other team's agent: nobody of the owner's team sees it.
    call3 = CallFactory(
        external_id="C-3", channel="email", agent=outsider_agent, department=tech, started_at=at(MONDAY, 14)
    )
    AssignmentFactory(call=call3, reviewer=reviewer)
    outsider_review = submitted_evaluation(
        call=call3, author=reviewer, scorecard=scorecard, values={"a": 1, "b": 3, "crit": 1, "res": 1}
    )
    outsider_review = submitted_at(outsider_review, at(date(2026, 11, 17), 8, 5))

    # Outside the period (local): the minute before it starts and the minute it ends.
    for moment in (at(MONDAY - timedelta(days=1), 23, 59), at(SUNDAY + timedelta(days=1), 0, 0)):
        other_call = CallFactory(agent=owner_agent, started_at=moment - timedelta(hours=1))
        AssignmentFactory(call=other_call, reviewer=reviewer)
        outside = submitted_evaluation(
            call=other_call,
            author=reviewer,
            scorecard=scorecard,
            values={"a": 1, "b": 4, "crit": 1, "res": 1},
        )
        submitted_at(outside, moment)
    # A draft in the period: never exported, not even to its author.
    draft_call = CallFactory(agent=owner_agent, started_at=at(MONDAY, 11))
    AssignmentFactory(call=draft_call, reviewer=reviewer)
    draft = services.evaluation_start(
        call=draft_call, author=reviewer, agent=None, kind="review", scorecard=scorecard
    )
    services.evaluation_answer(evaluation=draft, author=reviewer, criterion=crit["a"], value=1)
    return {
        "review": review,
        "self_review": self_review,
        "calibration": calibration,
        "failed": failed,
        "outsider_review": outsider_review,
        "calibrator": calibrator,
        "draft": draft,
    }


def test_every_column_of_every_evaluation_in_the_period(client, admin_user, world):
    w = world
    rows = download(client, admin_user, **PERIOD)

    owner = ["A-OWNER", "Olive Owner", "Billing East", "Billing"]
    card = ["Simple", "1"]
    review = [
        w["review"].pk,
        "1",
        "review",
        "2026-11-16T00:00:00+01:00",
        "C-1",
        "2026-11-16T09:30:00+01:00",
        "chat",
        *owner,
        "reviewer",
        "Rae Viewer",
        *card,
        "100.00",
        "false",
        "open",
    ]
    outsider = [
        w["outsider_review"].pk,
        "1",
        "review",
        "2026-11-17T08:05:00+01:00",
        "C-3",
        "2026-11-16T14:00:00+01:00",
        "email",
        "A-OUT",
        "Otto Outsider",
        "Tech West",
        "Tech support",
        "reviewer",
        "Rae Viewer",
        *card,
        "89.29",
        "false",
        "",
    ]
    calibration = [
        w["calibration"].pk,
        "1",
        "calibration",
        "2026-11-18T11:00:00+01:00",
        "C-1",
        "2026-11-16T09:30:00+01:00",
        "chat",
        *owner,
        "calibrator",
        "Cal Ibrator",
        *card,
        "85.71",
        "false",
        "",
    ]
    self_review = [
        w["self_review"].pk,
        "1",
        "self_review",
        "2026-11-20T18:15:00+01:00",
        "C-1",
        "2026-11-16T09:30:00+01:00",
        "chat",
        *owner,
        "owner",
        "",
        *card,
        "100.00",
        "false",
        "",
    ]
    # The teammate's leg is in the department the transfer took the call to, not the call's.
    failed = [
        w["failed"].pk,
        "1",
        "review",
        "2026-11-22T23:59:00+01:00",
        "C-2",
        "2026-11-22T22:00:00+01:00",
        "phone",
        "A-MATE",
        "Tom Mate",
        "Billing East",
        "Tech support",
        "reviewer",
        "Rae Viewer",
        *card,
        "0.00",
        "true",
        "",
    ]
    yes, no, na = ("Yes", "1", "1"), ("No", "0", "1"), ("N/A", "", "")
    # Scores by hand (weights a 1, b 3, crit 2, res 1; N/A left out): review (1+2+1)/4 = 100; outsider
    # (1 + 3·3/4 + 2 + 1)/7 = 89.29; calibration (0 + 3 + 2 + 1)/7 = 85.71; the failed one 0 (critical "No").
    assert rows == [
        *expected(
            [str(v) for v in review],
            {"a": yes, "b": na, "crit": yes, "res": yes, "unres": na},
            # Formula-like comments get a leading apostrophe (CSV injection); others stay as typed.
            {"a": '\'=HYPERLINK("http://x")', "crit": "'-2 for tone", "res": "Fine"},
        ),
        *expected(
            [str(v) for v in outsider],
            {"a": yes, "b": ("3 / 4", "3", "4"), "crit": yes, "res": yes, "unres": na},
        ),
        *expected(
            [str(v) for v in calibration],
            {"a": no, "b": ("4 / 4", "4", "4"), "crit": yes, "res": yes, "unres": na},
        ),
        *expected(
            [str(v) for v in self_review],
            {"a": yes, "b": ("4 / 4", "4", "4"), "crit": yes, "res": yes, "unres": na},
        ),
        *expected(
            [str(v) for v in failed],
            {"a": yes, "b": ("2 / 4", "2", "4"), "crit": no, "res": yes, "unres": na},
        ),
    ]
    # The stored figures the rows were written from agree with the hand computation.
    assert [
        str(w[k].score) for k in ("review", "outsider_review", "calibration", "self_review", "failed")
    ] == ["100.00", "89.29", "85.71", "100.00", "0.00"]


def test_the_period_edges_are_local_days(client, admin_user, world, scorecard):
    # Saturday 21 to Sunday 22: only the failed review (23:59 Sunday local, 22:59 UTC).
    rows = download(client, admin_user, period="custom", date_from="2026-11-21", date_to="2026-11-22")
    assert ids(rows) == [world["failed"].pk]
    # Sunday 15 alone: the review at 23:59 local that day (22:59 UTC), not the one at 00:00 Monday (23:00 UTC
    # Sunday).
    rows = download(client, admin_user, period="custom", date_from="2026-11-15", date_to="2026-11-15")
    assert len(ids(rows)) == 1
    assert rows[0][3] == "2026-11-15T23:59:00+01:00"
    # Monday 23 alone: the review at 00:00 that day.
    rows = download(client, admin_user, period="custom", date_from="2026-11-23", date_to="2026-11-23")
    assert [row[3] for row in rows][:1] == ["2026-11-23T00:00:00+01:00"]


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin", ["review", "outsider_review", "calibration", "self_review", "failed"]),
        # Their teams' agents, every kind (the calibration of the owner included), not the other team's agent.
        ("supervisor", ["review", "calibration", "self_review", "failed"]),
        ("other_supervisor", ["outsider_review"]),
        # Every review and self-review, never another reviewer's calibration (blind calibration).
        ("reviewer", ["review", "outsider_review", "self_review", "failed"]),
        ("calibrator", ["review", "outsider_review", "calibration", "self_review", "failed"]),
        # Their own reviews and self-reviews, never a calibration of them, never a teammate's.
        ("owner", ["review", "self_review"]),
        ("teammate", ["failed"]),
        ("outsider", ["outsider_review"]),
    ],
)
def test_each_role_gets_the_evaluations_it_may_read(
    client,
    world,
    role,
    visible,
    admin_user,
    supervisor,
    other_supervisor,
    reviewer,
    owner_agent,
    teammate_agent,
    outsider_agent,
):
    users = {
        "admin": admin_user,
        "supervisor": supervisor,
        "other_supervisor": other_supervisor,
        "reviewer": reviewer,
        "calibrator": world["calibrator"],
        "owner": owner_agent.user,
        "teammate": teammate_agent.user,
        "outsider": outsider_agent.user,
    }
    rows = download(client, users[role], **PERIOD)
    assert ids(rows) == sorted(
        (world[key].pk for key in visible), key=lambda pk: Evaluation.objects.get(pk=pk).submitted_at
    )
    # Whole evaluations: every answer of each (five criteria on the simple scorecard).
    assert len(rows) == 5 * len(visible)


def test_the_draft_is_exported_to_nobody_not_even_its_author(client, reviewer, admin_user, world):
    # The evaluation pages show a draft to its author and to admins; the export never (it has no submission time,
    # so no period holds it, and the export reads submitted evaluations only).
    for user in (reviewer, admin_user):
        rows = download(client, user, **PERIOD)
        assert world["draft"].pk not in ids(rows)


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, world):
    response = client.get(URL, PERIOD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_filters_narrow_the_rows(client, admin_user, supervisor, world, team, teammate_agent, scorecard):
    w = world
    assert ids(download(client, admin_user, **PERIOD, team=team.pk)) == [
        w["review"].pk,
        w["calibration"].pk,
        w["self_review"].pk,
        w["failed"].pk,
    ]
    assert ids(download(client, supervisor, **PERIOD, agent=teammate_agent.pk)) == [w["failed"].pk]
    assert ids(download(client, admin_user, **PERIOD, kind="self_review")) == [w["self_review"].pk]
    assert ids(download(client, admin_user, **PERIOD, kind="calibration")) == [w["calibration"].pk]
    other_card = simple_scorecard("other")
    assert ids(download(client, admin_user, **PERIOD, scorecard=scorecard.pk)) == [
        w["review"].pk,
        w["outsider_review"].pk,
        w["calibration"].pk,
        w["self_review"].pk,
        w["failed"].pk,
    ]
    assert download(client, admin_user, **PERIOD, scorecard=other_card.pk) == []


def test_the_file_is_named_after_its_period(client, admin_user, world):
    client.force_login(admin_user)
    response = client.get(URL, PERIOD)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="evaluations-2026-11-16-2026-11-22.csv"'


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"team": "other"}, "team: Select a valid choice. {other} is not one of the available choices.\n"),
        (
            {"agent": "outsider"},
            "agent: Select a valid choice. That choice is not one of the available choices.\n",
        ),
        ({"kind": "draft"}, "kind: Select a valid choice. draft is not one of the available choices.\n"),
        (
            {"scorecard": "999999"},
            "scorecard: Select a valid choice. That choice is not one of the available choices.\n",
        ),
        (
            {"period": "custom", "date_from": "2026-11-22", "date_to": "2026-11-16"},
            "date_from: The range starts after it ends.\n",
        ),
    ],
)
def test_a_refused_filter_is_a_400_naming_it(
    client, supervisor, world, other_team, outsider_agent, query, message
):
    # A supervisor's choices are their teams and their teams' agents: the other team's are refused, not emptied.
    values = {"other": str(other_team.pk), "outsider": str(outsider_agent.pk)}
    query = {key: values.get(value, value) for key, value in query.items()}
    client.force_login(supervisor)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == message.format(**values)


def test_a_draft_scorecard_is_no_filter(client, admin_user, world, scorecard):
    draft = services.scorecard_new_version(scorecard=scorecard, user=admin_user)
    client.force_login(admin_user)
    response = client.get(URL, {**PERIOD, "scorecard": draft.pk})
    assert response.status_code == 400
    assert response.content.decode().startswith("scorecard: ")


def test_text_cells_that_look_like_formulas_are_neutralised(client, admin_user, reviewer, scorecard):
    team = AgentFactory(employee_code="+1-EVIL", name="@SUM(A1)", team__name="=cmd|' /C calc'!A0").team
    agent = Agent.objects.get(employee_code="+1-EVIL")
    call = CallFactory(external_id="-C-9", agent=agent, started_at=at(MONDAY, 8))
    AssignmentFactory(call=call, reviewer=reviewer)
    evaluation = submitted_evaluation(
        call=call, author=reviewer, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    submitted_at(evaluation, at(MONDAY, 9))
    comment(evaluation, "a", "\t=1+1")

    rows = download(client, admin_user, **PERIOD)

    first = dict(zip(HEADER, rows[0], strict=True))
    assert (first["call_external_id"], first["agent_employee_code"], first["agent_name"], first["team"]) == (
        "'-C-9",
        "'+1-EVIL",
        "'@SUM(A1)",
        "'=cmd|' /C calc'!A0",
    )
    assert first["comment"] == "'\t=1+1"
    assert team.name == "=cmd|' /C calc'!A0"


def _evaluations(count: int, *, reviewer, scorecard, agent) -> None:
    for n in range(count):
        call = CallFactory(agent=agent, started_at=at(MONDAY, 8) + timedelta(minutes=n))
        AssignmentFactory(call=call, reviewer=reviewer)
        evaluation = submitted_evaluation(
            call=call, author=reviewer, scorecard=scorecard, values={"a": 1, "b": "na", "crit": 1, "res": 1}
        )
        submitted_at(evaluation, at(MONDAY, 9) + timedelta(minutes=n))


# Per request: the session and its user, the user's groups (roles), the team choices, the agent filter's check,
# the user's own agent row (the scoping: an agent sees their own evaluations), then the export's one query (answers
# with their evaluations, calls, agents, teams, scorecards, authors and criteria; the leg's department and the
# dispute state as subqueries) through a server-side cursor.
QUERIES = 7


@pytest.mark.parametrize("count", [1, 30])
def test_the_query_count_does_not_grow_with_the_rows(
    client, supervisor, reviewer, scorecard, owner_agent, django_assert_num_queries, count
):
    _evaluations(count, reviewer=reviewer, scorecard=scorecard, agent=owner_agent)
    client.force_login(supervisor)
    with django_assert_num_queries(QUERIES):
        response = client.get(URL, {**PERIOD, "agent": owner_agent.pk, "kind": "review"})
        text = b"".join(response.streaming_content).decode()
    assert len(text.strip().splitlines()) == 1 + 5 * count


# --- where it is linked ------------------------------------------------------------------------------------


def _href_query(href: str) -> dict[str, str]:
    path, _, query = href.partition("?")
    assert path == URL
    return dict(parse_qsl(query))


def test_the_progress_page_links_the_export_of_its_period_and_team(client, supervisor, world, team):
    client.force_login(supervisor)
    response = client.get(reverse("scoring:progress"), {**PERIOD, "team": team.pk})
    page = page_of(response)

    link = page.one("a", data_testid="evaluation-export-link")
    assert link.attrs["href"] == f"{URL}?period=custom&date_from=2026-11-16&date_to=2026-11-22&team={team.pk}"
    w = world
    rows = download(client, supervisor, **_href_query(link.attrs["href"]))
    assert ids(rows) == [w["review"].pk, w["calibration"].pk, w["self_review"].pk, w["failed"].pk]
    # The narrower form sends the same period and team, and offers the page's agents (the supervisor's team's
    # active agents), a scorecard and a kind.
    form = page.one("form", aria_label="Evaluations CSV filters")
    assert form.attrs["action"] == URL
    hidden = [
        (i.attrs["name"], i.attrs["value"])
        for i in page.find_all("input", type="hidden")
        if i.attrs["name"] != "csrfmiddlewaretoken"  # the nav's log-out form
    ]
    assert hidden == [
        ("period", "custom"),
        ("date_from", "2026-11-16"),
        ("date_to", "2026-11-22"),
        ("team", str(team.pk)),
    ]
    select = re.search(r'<select name="agent"[^>]*>(.*?)</select>', response.content.decode(), re.S)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    assert options == [
        ("", "All agents"),
        (str(w["review"].agent_id), "Olive Owner (A-OWNER)"),
        (str(w["failed"].agent_id), "Tom Mate (A-MATE)"),
    ]
    assert page.one("select", name="kind").attrs["id"] == "export_kind"
    assert page.one("select", name="scorecard").attrs["id"] == "export_scorecard"


def test_a_named_period_is_linked_as_its_dates(client, admin_user, world):
    # "Last week" on the progress page: the link names that week's dates, so it holds the week the page showed
    # whenever it is followed (and no team: an admin's "all teams").
    client.force_login(admin_user)
    page = page_of(client.get(reverse("scoring:progress"), {"period": "last_week"}))
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    query = _href_query(page.one("a", data_testid="evaluation-export-link").attrs["href"])
    assert query == {
        "period": "custom",
        "date_from": (monday - timedelta(days=7)).isoformat(),
        "date_to": (monday - timedelta(days=1)).isoformat(),
    }


def test_refused_filters_on_the_progress_page_show_no_export(client, supervisor, world):
    client.force_login(supervisor)
    body = client.get(reverse("scoring:progress"), {**PERIOD, "date_from": "2026-11-23"}).content.decode()
    assert URL not in body


def test_my_qa_links_the_agents_own_export(client, owner_agent, world):
    client.force_login(owner_agent.user)
    page = page_of(client.get(reverse("scoring:me")))
    query = _href_query(page.one("a", data_testid="evaluation-export-link").attrs["href"])
    assert query == {"period": "last_90"}
    # The world's evaluations are in November 2026; "now" may be later: follow the link's rule over their dates.
    rows = download(client, owner_agent.user, **PERIOD)
    assert ids(rows) == [world["review"].pk, world["self_review"].pk]


def test_the_calibration_page_links_the_export_of_its_period_and_scorecard(
    client, reviewer, world, scorecard
):
    # Reviewers have no QA progress page: the calibration page is where they read QA figures.
    client.force_login(reviewer)
    page = page_of(client.get(reverse("scoring:calibration"), {**PERIOD, "scorecard": scorecard.pk}))
    query = _href_query(page.one("a", data_testid="evaluation-export-link").attrs["href"])
    assert query == {**PERIOD, "scorecard": str(scorecard.pk)}
    w = world
    assert ids(download(client, reviewer, **query)) == [
        w["review"].pk,
        w["outsider_review"].pk,
        w["self_review"].pk,
        w["failed"].pk,
    ]


# --- disputes and legs -------------------------------------------------------------------------------------


def test_an_adjusted_dispute_exports_the_revision_and_an_upheld_one_its_state(
    client, admin_user, supervisor, reviewer, owner_agent, teammate_agent, scorecard
):
    crit = criteria_by_key(scorecard)
    adjusted_call = CallFactory(agent=owner_agent, started_at=at(MONDAY, 8))
    AssignmentFactory(call=adjusted_call, reviewer=reviewer)
    original = submitted_evaluation(
        call=adjusted_call, author=reviewer, scorecard=scorecard, values={"a": 0, "b": 4, "crit": 1, "res": 1}
    )
    dispute = services.dispute_open(evaluation=original, user=owner_agent.user, items={crit["a"].pk: "I did"})
    services.dispute_resolve(
        dispute=dispute, user=supervisor, outcome="adjusted", note="Right", new_answers={crit["a"].pk: 1}
    )
    upheld_call = CallFactory(agent=teammate_agent, started_at=at(MONDAY, 8))
    AssignmentFactory(call=upheld_call, reviewer=reviewer)
    upheld = submitted_evaluation(
        call=upheld_call, author=reviewer, scorecard=scorecard, values={"a": 0, "b": 4, "crit": 1, "res": 1}
    )
    dispute = services.dispute_open(
        evaluation=upheld, user=teammate_agent.user, items={crit["a"].pk: "I did"}
    )
    services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="No")
    revision = Evaluation.objects.get(supersedes=original)
    # A revision keeps its original's submission time (so a review counts once, in its period).
    moment = original.submitted_at
    period = {
        "period": "custom",
        "date_from": str(timezone.localdate(moment)),
        "date_to": str(timezone.localdate(moment)),
    }

    rows = download(client, admin_user, **period)

    cells = {(int(row[0]), row[19]): dict(zip(HEADER, row, strict=True)) for row in rows}
    # The current revision only (the superseded original is history), its dispute "adjusted" and its new answer;
    # the upheld review keeps its answer and says so.
    assert ids(rows) == sorted(
        [revision.pk, upheld.pk], key=lambda pk: (Evaluation.objects.get(pk=pk).submitted_at, pk)
    )
    assert {k: cells[(revision.pk, "a")][k] for k in ("revision", "dispute_status", "answer", "score")} == {
        "revision": "2",
        "dispute_status": "adjusted",
        "answer": "Yes",
        "score": "100.00",
    }
    # Upheld: (0·1 + 3 + 2 + 1)/7 = 85.71
    assert {k: cells[(upheld.pk, "a")][k] for k in ("revision", "dispute_status", "answer", "score")} == {
        "revision": "1",
        "dispute_status": "upheld",
        "answer": "No",
        "score": "85.71",
    }


def test_the_department_is_the_evaluated_legs(client, admin_user, reviewer, scorecard, owner_agent, team):
    """Each leg shape of `scoring.legs` (handling, received, received twice, only transferred out, no department
    known), checked against `legs.call_legs`, the Python walk the workspace's leg picker uses."""
    sales, support, back_office = (DepartmentFactory(name=n) for n in ("Sales", "Support", "Back office"))
    first, second, lost = (AgentFactory(team=team) for _ in range(3))
    call = CallFactory(agent=owner_agent, department=sales, started_at=at(MONDAY, 8))
    TransferFactory(call=call, sequence=1, from_agent=owner_agent, to_agent=first, to_department=support)
    TransferFactory(call=call, sequence=2, from_agent=first, to_agent=second, to_department=None)
    # The record lacks the transfer that brought the call to `lost`, who passes it back to the first receiver.
    TransferFactory(
        call=call,
        sequence=3,
        from_agent=lost,
        to_agent=first,
        from_department=back_office,
        to_department=sales,
    )
    evaluated = {}
    for agent in (owner_agent, first, second, lost):
        AssignmentFactory(call=call, reviewer=reviewer, agent=agent)
        evaluation = submitted_evaluation(
            call=call,
            author=reviewer,
            scorecard=scorecard,
            agent=agent,
            values={"a": 1, "b": 4, "crit": 1, "res": 1},
        )
        evaluated[evaluation.pk] = agent
        submitted_at(evaluation, at(MONDAY, 9))

    rows = download(client, admin_user, **PERIOD)

    departments = {int(row[0]): row[10] for row in rows}
    legs = call_legs(call)
    expected_departments = {
        pk: (leg.department.name if (leg := leg_for_agent(legs, agent.pk)).department else "")
        for pk, agent in evaluated.items()
    }
    assert departments == expected_departments
    # Written out: handled in Sales, received in Support (and back later: the first leg counts), received with no
    # department known, transferred out of Back office.
    assert [departments[pk] for pk in evaluated] == ["Sales", "Support", "", "Back office"]
