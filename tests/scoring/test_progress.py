"""The QA progress page: each reviewer's workload and each agent's coverage in a period, checked against plain
Python over the same rows (legs from `scoring.legs.calls_legs`, Wilson intervals from scipy, medians from
`statistics`), the period's local edges, who sees which teams, a query count that does not grow with the rows,
escaping, refused filters and the CSV."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from scipy.stats import binomtest

from calls.models import Agent, Call
from scoring.analytics.selectors import Period
from scoring.legs import calls_legs
from scoring.models import Assignment, Evaluation
from scoring.progress import selectors
from scoring.progress.selectors import progress_target, qa_progress
from tests.factories import AgentFactory, CallFactory, TransferFactory, UserFactory
from tests.html_a11y import page_of
from tests.scoring.factories import AssignmentFactory

PARIS = ZoneInfo("Europe/Paris")
# Monday 16 to Sunday 22 November 2026, and "now" the Wednesday after.
MONDAY = date(2026, 11, 16)
SUNDAY = date(2026, 11, 22)
PERIOD = Period("custom", MONDAY, SUNDAY)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=PARIS)
PER_WEEK = 2
URL = reverse("scoring:progress")
CSV_URL = reverse("scoring:progress_csv")
QUERY = {"period": "custom", "date_from": MONDAY.isoformat(), "date_to": SUNDAY.isoformat()}


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A local (Paris) time."""
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def d(n: int) -> date:
    """The period's n-th day (0 = Monday 16)."""
    return MONDAY + timedelta(days=n)


def call(agent, started: datetime, **fields) -> Call:
    return CallFactory(agent=agent, started_at=started, channel="chat", **fields)


def assign(call, reviewer, *, created: datetime, agent=None, status="open", completed=None, purpose="manual"):
    """An assignment of the call's leg (the handling agent's unless told) made at `created` (auto_now_add)."""
    row = AssignmentFactory(
        call=call,
        reviewer=reviewer,
        agent=agent or call.agent,
        status=status,
        completed_at=completed,
        purpose=purpose,
        period=None,
    )
    Assignment.objects.filter(pk=row.pk).update(created_at=created)
    row.refresh_from_db()
    return row


def evaluation(call, author, scorecard, *, submitted: datetime | None, agent=None, **fields) -> Evaluation:
    """A submitted current review unless told (written directly: the figures read rows, not services)."""
    fields = {"kind": "review", "status": "submitted" if submitted else "draft", **fields}
    return Evaluation.objects.create(
        call=call,
        agent=agent or call.agent,
        author=author,
        scorecard=scorecard,
        submitted_at=submitted,
        **fields,
    )


@pytest.fixture(autouse=True)
def paris(settings):
    settings.TIME_ZONE = "Europe/Paris"
    settings.QA_SAMPLE_CALLS_PER_AGENT = PER_WEEK
    settings.QA_ASSIGNMENT_OVERDUE_DAYS = 7


@pytest.fixture
def world(team, owner_agent, teammate_agent, outsider_agent, reviewer, scorecard):
    """Rows chosen so each rule is decided by one of them (comments say which)."""
    r2 = UserFactory(username="rev2", first_name="Rita", last_name="Second", roles=["reviewer"])
    r3 = UserFactory(username="rev3", roles=["reviewer"])
    bea = AgentFactory(employee_code="A-BEA", name="Bea Behind", team=team)
    gone = AgentFactory(employee_code="A-GONE", name="Gina Gone", team=team, is_active=False)
    owner, mate = owner_agent, teammate_agent

    # Owner: reviewed through an assignment (made Monday 09:00, reviewed 48 h later)...
    c1 = call(owner, at(d(1), 10))
    a1 = assign(c1, reviewer, created=at(d(0), 9), status="done", completed=at(d(2), 9))
    evaluation(c1, reviewer, scorecard, submitted=at(d(2), 9), assignment=a1)
    # ... and a superseded revision of it (not current: never counted).
    evaluation(c1, reviewer, scorecard, submitted=at(d(2), 8), is_current=False)
    # Reviewed without an assignment, at 23:59 local on the period's Sunday (in), and at 00:00 the Monday after
    # (out of the reviews, but its leg is reviewed).
    c2 = call(owner, at(d(2), 10))
    evaluation(c2, r2, scorecard, submitted=at(d(6), 23, 59))
    c3 = call(owner, at(d(3), 10))
    evaluation(c3, r2, scorecard, submitted=at(d(7), 0, 0))
    # Open, assigned Friday (not overdue on NOW), with a draft (not counted).
    c4 = call(owner, at(d(4), 10))
    assign(c4, reviewer, created=at(d(4), 10))
    evaluation(c4, reviewer, scorecard, submitted=None)
    # Self-review and calibration: neither is a review; the calibration counts apart for its author.
    c5 = call(owner, at(d(5), 10))
    evaluation(c5, owner.user, scorecard, submitted=at(d(5), 11), kind="self_review")
    evaluation(c5, r2, scorecard, submitted=at(d(5), 12), kind="calibration")
    # A call from before the period: open since 3 November (overdue), and another assigned 9 November, reviewed
    # in the period (8 days later): a review received in the period, but not a leg of it.
    old = call(owner, at(date(2026, 11, 2), 10))
    assign(old, reviewer, created=at(date(2026, 11, 3), 10))
    old2 = call(owner, at(date(2026, 11, 2), 11))
    a_old2 = assign(old2, reviewer, created=at(date(2026, 11, 9), 10), status="done", completed=at(d(1), 10))
    evaluation(old2, reviewer, scorecard, submitted=at(d(1), 10), assignment=a_old2)
    # Teammate: handles a call at 00:00 Monday (in) transferred to the owner (the owner's leg is reviewed, the
    # teammate's not); one at 23:59 on the Sunday before (out) and one at 23:59 on the period's Sunday (in).
    c6 = call(mate, at(d(0), 0, 0))
    TransferFactory(call=c6, sequence=1, from_agent=mate, to_agent=owner)
    evaluation(c6, reviewer, scorecard, submitted=at(d(3), 15), agent=owner)
    assign(c6, r2, agent=mate, created=at(d(0), 10), status="cancelled", completed=at(d(1), 10))
    call(mate, at(d(-1), 23, 59))
    call(mate, at(d(6), 23, 59))
    # Bea: one review (behind a target of 2), through an assignment of 24 hours.
    c10 = call(bea, at(d(2), 9))
    a10 = assign(c10, r2, created=at(d(1), 12), status="done", completed=at(d(2), 12))
    evaluation(c10, r2, scorecard, submitted=at(d(2), 12), assignment=a10)
    # An inactive agent of the team: in nobody's figures.
    c9 = call(gone, at(d(2), 10))
    assign(c9, reviewer, created=at(d(2), 10))
    evaluation(c9, reviewer, scorecard, submitted=at(d(2), 11))
    # The other team: only the admin (and its own supervisor) see it.
    c8 = call(outsider_agent, at(d(1), 10))
    assign(c8, r3, created=at(d(1), 11))
    evaluation(c8, r3, scorecard, submitted=at(d(2), 10))
    return {"r2": r2, "r3": r3, "bea": bea, "gone": gone}


# --- the independent computation --------------------------------------------------------------------------


def wilson(k: int, n: int) -> tuple[float, float, float]:
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * k / n, 100 * interval.low, 100 * interval.high


def expected(team_ids, period=PERIOD, now=NOW):
    """The page's figures by plain Python over every row (`team_ids` None: every team)."""
    start = datetime.combine(period.date_from, time.min, tzinfo=PARIS)
    end = datetime.combine(period.date_to + timedelta(days=1), time.min, tzinfo=PARIS)
    agents = [a for a in Agent.objects.all() if a.is_active and (team_ids is None or a.team_id in team_ids)]
    ids = {a.pk for a in agents}
    evaluations = list(Evaluation.objects.select_related("assignment"))
    current = [e for e in evaluations if e.status == "submitted" and e.is_current]
    in_period = [
        e
        for e in current
        if start <= e.submitted_at < end and e.agent_id in ids and e.kind in ("review", "calibration")
    ]
    reviews = [e for e in in_period if e.kind == "review"]
    calls = list(
        Call.objects.filter(started_at__gte=start, started_at__lt=end).select_related("agent", "department")
    )
    legs = [(call_id, leg.agent.pk) for call_id, of_call in calls_legs(calls).items() for leg in of_call]
    reviewed = {(e.call_id, e.agent_id) for e in current if e.kind == "review"}
    days = (period.date_to - period.date_from).days + 1
    target = -(-PER_WEEK * days // 7)
    per_agent = {}
    for a in agents:
        mine = [leg for leg in legs if leg[1] == a.pk]
        got = sum(1 for e in reviews if e.agent_id == a.pk)
        per_agent[a.pk] = {
            "reviews": got,
            "target": target,
            "status": "none" if got == 0 else ("met" if got >= target else "behind"),
            "legs": len(mine),
            "reviewed_legs": sum(1 for leg in mine if leg in reviewed),
        }
    assignments = [
        x
        for x in Assignment.objects.select_related("call")
        if (x.agent_id if x.agent_id is not None else x.call.agent_id) in ids
    ]
    overdue_before = now - timedelta(days=7)
    people = {}
    for x in assignments:
        made = start <= x.created_at < end
        closed = x.completed_at is not None and start <= x.completed_at < end
        if not (x.status == "open" or made or closed):
            continue
        row = people.setdefault(x.reviewer_id, {})
        row["open_now"] = row.get("open_now", 0) + (x.status == "open")
        row["overdue"] = row.get("overdue", 0) + (x.status == "open" and x.created_at < overdue_before)
        row["assigned"] = row.get("assigned", 0) + made
        row["completed"] = row.get("completed", 0) + (closed and x.status == "done")
        row["cancelled"] = row.get("cancelled", 0) + (closed and x.status == "cancelled")
    for e in in_period:
        row = people.setdefault(e.author_id, {})
        row["reviews"] = row.get("reviews", 0) + (e.kind == "review")
        row["calibrations"] = row.get("calibrations", 0) + (e.kind == "calibration")
    for author_id, row in people.items():
        durations = [
            (e.submitted_at - e.assignment.created_at).total_seconds()
            for e in reviews
            if e.author_id == author_id and e.assignment is not None
        ]
        row["timed_reviews"] = len(durations)
        row["median"] = statistics.median(durations) if durations else None
    return per_agent, people


REVIEWER_FIELDS = ("open_now", "overdue", "assigned", "completed", "cancelled", "reviews", "calibrations")


def assert_matches(progress, team_ids):
    per_agent, people = expected(team_ids)
    assert {a.agent_id for a in progress.agents} == set(per_agent)
    for a in progress.agents:
        want = per_agent[a.agent_id]
        got = {key: getattr(a, key) for key in want}
        assert got == want, a.name
        if want["legs"]:
            assert (a.share.percent, a.share.low, a.share.high) == pytest.approx(
                wilson(want["reviewed_legs"], want["legs"]), abs=1e-9
            )
        else:
            assert a.share.percent is None
    assert {r.reviewer_id for r in progress.reviewers} == set(people)
    for r in progress.reviewers:
        want = people[r.reviewer_id]
        assert {key: getattr(r, key) for key in REVIEWER_FIELDS} == {
            key: want.get(key, 0) for key in REVIEWER_FIELDS
        }
        assert r.timed_reviews == want["timed_reviews"]
        if want["median"] is None:
            assert r.median_to_review is None
        else:
            assert r.median_to_review.total_seconds() == pytest.approx(want["median"])
    reviews = sum(w["reviews"] for w in per_agent.values())
    target = sum(w["target"] for w in per_agent.values())
    totals = progress.totals
    assert (totals.reviews, totals.target) == (reviews, target)
    assert totals.percent_of_target == pytest.approx(100 * reviews / target)
    assert totals.agents_behind == sum(1 for w in per_agent.values() if w["reviews"] < w["target"])
    assert totals.agents_without_reviews == sum(1 for w in per_agent.values() if w["reviews"] == 0)
    assert totals.open_now == sum(p.get("open_now", 0) for p in people.values())
    assert totals.overdue == sum(p.get("overdue", 0) for p in people.values())


# --- figures ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_supervisors_figures_match_plain_python_over_the_rows(world, team, supervisor):
    progress = qa_progress(period=PERIOD, team_ids=[team.pk], now=NOW)
    assert_matches(progress, [team.pk])


@pytest.mark.django_db
def test_the_figures_by_hand(world, team, owner_agent, teammate_agent, reviewer):
    """The same world, the numbers written out (what each row of the world decides)."""
    progress = qa_progress(period=PERIOD, team_ids=[team.pk], now=NOW)
    by_agent = {a.agent_id: a for a in progress.agents}
    owner, mate, bea = by_agent[owner_agent.pk], by_agent[teammate_agent.pk], by_agent[world["bea"].pk]
    # c1, the Sunday 23:59 one, c6 (the owner's received leg) and the old call's: 4; target 2 a week.
    assert (owner.reviews, owner.target, owner.status) == (4, 2, "met")
    # Legs c1 to c5 and the leg received on c6; reviewed: c1, c2, c3 (reviewed after the period), c6.
    assert (owner.legs, owner.reviewed_legs) == (6, 4)
    assert (mate.reviews, mate.status, mate.legs, mate.reviewed_legs) == (0, "none", 2, 0)
    assert (bea.reviews, bea.status) == (1, "behind")
    # No reviews first, then behind, then met; the inactive agent nowhere.
    assert [a.agent_id for a in progress.agents] == [teammate_agent.pk, world["bea"].pk, owner_agent.pk]
    rows = {r.reviewer_id: r for r in progress.reviewers}
    first = rows[reviewer.pk]
    # Open: c4 (Friday) and the old call (3 November: overdue); done c1 and old2; reviews c1, old2 and c6.
    assert (first.open_now, first.overdue, first.assigned, first.completed, first.reviews) == (2, 1, 2, 2, 3)
    # From assignment to review: 48 h (c1) and 8 days (old2): median 5 days.
    assert first.median_to_review == timedelta(days=5)
    second = rows[world["r2"].pk]
    assert second.name == "Rita Second"
    assert (second.cancelled, second.reviews, second.calibrations, second.timed_reviews) == (1, 2, 1, 1)
    assert second.median_to_review == timedelta(hours=24)
    assert world["r3"].pk not in rows
    assert (progress.totals.reviews, progress.totals.target, progress.totals.agents_behind) == (5, 6, 2)
    assert progress.totals.percent_of_target == pytest.approx(500 / 6)
    assert (progress.totals.open_now, progress.totals.overdue) == (2, 1)


@pytest.mark.django_db
def test_an_admins_all_teams_include_the_other_team(world, owner_agent, outsider_agent):
    progress = qa_progress(period=PERIOD, team_ids=None, now=NOW)
    assert_matches(progress, None)
    assert outsider_agent.pk in {a.agent_id for a in progress.agents}
    assert world["r3"].pk in {r.reviewer_id for r in progress.reviewers}


@pytest.mark.django_db
def test_the_sqlite_fallback_gives_the_same_medians(world, team, monkeypatch):
    """The embedded SQLite demo has no percentile_cont: the same figures come from the Python percentile."""
    on_postgres = qa_progress(period=PERIOD, team_ids=None, now=NOW)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    in_python = qa_progress(period=PERIOD, team_ids=None, now=NOW)
    assert in_python.reviewers == on_postgres.reviewers
    assert in_python.agents == on_postgres.agents


@pytest.mark.parametrize(
    ("per_week", "days", "target"), [(2, 7, 2), (2, 10, 3), (3, 1, 1), (3, 3, 2), (3, 14, 6), (0, 30, 0)]
)
def test_the_target_is_the_weekly_one_scaled_to_the_days_and_rounded_up(per_week, days, target):
    assert progress_target(per_week, days) == target


@pytest.mark.django_db
def test_a_review_at_2359_on_sunday_is_in_the_week_and_one_at_0000_monday_in_the_next(
    world, team, owner_agent, teammate_agent
):
    """Local days, as the weekly sample's weeks: the owner's Sunday 23:59 review counts in its week, the
    Monday 00:00 one in the next (with nothing else of the next week)."""
    week = qa_progress(period=PERIOD, team_ids=[team.pk], now=NOW)
    after = qa_progress(period=Period("custom", d(7), d(13)), team_ids=[team.pk], now=NOW)
    before = qa_progress(period=Period("custom", d(-7), d(-1)), team_ids=[team.pk], now=NOW)
    reviews = lambda p: {a.agent_id: a.reviews for a in p.agents}[owner_agent.pk]  # noqa: E731
    assert (reviews(before), reviews(week), reviews(after)) == (0, 4, 1)
    # The call started at 23:59 on the Sunday before is a leg of that week, not of this one.
    mate = lambda p: {a.agent_id: a.legs for a in p.agents}[teammate_agent.pk]  # noqa: E731
    assert mate(before) == 1 and mate(week) == 2


@pytest.mark.django_db
def test_this_week_is_the_default_and_starts_on_monday(client, supervisor, world):
    client.force_login(supervisor)
    response = client.get(URL)
    period = response.context["progress"].period
    assert period.key == "this_week"
    assert period.date_from.weekday() == 0
    assert period.date_to >= period.date_from


# --- who sees what ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_supervisor_sees_only_their_teams(
    client, world, supervisor, other_supervisor, outsider_agent, team
):
    client.force_login(supervisor)
    response = client.get(URL, QUERY)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Olive Owner" in body and "Otto Outsider" not in body and "Gina Gone" not in body
    assert [t.name for t in response.context["form"].teams] == [team.name]
    client.force_login(other_supervisor)
    body = client.get(URL, QUERY).content.decode()
    assert "Otto Outsider" in body and "Olive Owner" not in body
    # Another team's id is not a choice: refused (the page then shows all of the user's own teams).
    client.force_login(supervisor)
    response = client.get(URL, {**QUERY, "team": outsider_agent.team_id})
    assert response.context["form"].errors["team"]
    assert "Otto Outsider" not in response.content.decode()
    assert client.get(CSV_URL, {**QUERY, "team": outsider_agent.team_id}).status_code == 400


@pytest.mark.django_db
def test_an_admin_sees_every_team_and_may_pick_one(client, world, admin_user, outsider_agent, other_team):
    client.force_login(admin_user)
    body = client.get(URL, QUERY).content.decode()
    assert "Otto Outsider" in body and "Olive Owner" in body
    assert "All teams" in body
    body = client.get(URL, {**QUERY, "team": other_team.pk}).content.decode()
    assert "Otto Outsider" in body and "Olive Owner" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "reviewer"])
def test_agents_and_reviewers_get_403_and_no_nav_link(client, who, owner_agent, reviewer):
    client.force_login(owner_agent.user if who == "owner" else reviewer)
    assert client.get(URL).status_code == 403
    assert client.get(CSV_URL).status_code == 403
    assert f'href="{URL}"' not in client.get(reverse("scoring:notices")).content.decode()


@pytest.mark.django_db
def test_the_nav_links_the_page_for_supervisors(client, supervisor):
    client.force_login(supervisor)
    assert f'<a href="{URL}">QA progress</a>' in client.get(reverse("scoring:notices")).content.decode()


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client):
    assert client.get(URL).status_code == 302


# --- the page ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_the_figures_and_escapes_names(client, world, team, supervisor, owner_agent):
    AgentFactory(employee_code="<i>X</i>", name="<b>Bold</b>", team=team)
    evil = UserFactory(username="evil", first_name="<script>", last_name="x", roles=["reviewer"])
    assign(call(Agent.objects.get(name="<b>Bold</b>"), at(d(1))), evil, created=at(d(1)))
    client.force_login(supervisor)
    response = client.get(URL, QUERY)
    body = response.content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt;" in body and "<b>Bold</b>" not in body
    assert "&lt;i&gt;X&lt;/i&gt;" in body
    assert "&lt;script&gt; x" in body and "<script> x" not in body
    page = page_of(response)
    totals = {e.attrs["data-total"]: e.text for e in page.find_all("dd") if "data-total" in e.attrs}
    # Five reviews of 4 agents × 2.
    assert totals["reviews"] == "5"
    assert totals["target"].startswith("8")
    assert totals["percent"] == "62.5%"
    assert totals["behind"].startswith("3")
    # Open now: the reviewer's two and evil's one; overdue as of the real now (the page has no other).
    _, people = expected([team.pk], now=timezone.now())
    assert totals["open"] == "3now"
    assert totals["overdue"] == f"{sum(p.get('overdue', 0) for p in people.values())}open over 7 days"
    rows = page.find_all("tr")
    agent_rows = [r for r in rows if "data-agent" in r.attrs]
    owner = next(r for r in agent_rows if "Olive Owner" in r.text)
    low, high = wilson(4, 6)[1:]
    assert f"4 of 6 66.7% {low:.1f} to {high:.1f}" in owner.text
    assert "No reviews yet" in agent_rows[0].text
    assert f'<a href="{reverse("analytics:agent", args=[owner_agent.pk])}">Olive Owner</a>' in body
    rita = next(r for r in rows if "data-reviewer" in r.attrs and "Rita Second" in r.text)
    # Assigned 2 (one cancelled, one done), 2 reviews, 1 calibration, 24 hours from assignment to review.
    assert rita.text == "Rita Second 0 0 2 1 1 2 1 1 d 0 h (n = 1)"


@pytest.mark.django_db
def test_an_invalid_filter_shows_the_error_and_this_weeks_figures(client, supervisor, world):
    client.force_login(supervisor)
    response = client.get(URL, {"period": "custom", "date_from": "2026-11-22", "date_to": "2026-11-16"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "The range starts after it ends." in body
    assert response.context["progress"].period.key == "this_week"
    assert "Download the agent coverage" not in body
    for query in ({"period": "nonsense"}, {"date_from": "not-a-date", "period": "custom"}, {"team": "x"}):
        assert client.get(URL, query).status_code == 200
    refused = client.get(CSV_URL, {"period": "custom", "date_from": "2026-11-22", "date_to": "2026-11-16"})
    assert refused.status_code == 400
    assert refused.content.decode() == "date_from: The range starts after it ends.\n"


@pytest.mark.django_db
def test_htmx_filters_swap_only_the_results(client, supervisor, world):
    client.force_login(supervisor)
    response = client.get(URL, QUERY, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<h1>" not in body and 'data-testid="progress-agents"' in body


@pytest.mark.django_db
def test_the_csv_lists_the_agent_table_and_neutralises_formulas(client, supervisor, world, team):
    AgentFactory(employee_code="A-EQ", name='=HYPERLINK("http://x","y")', team=team)
    client.force_login(supervisor)
    response = client.get(CSV_URL, QUERY)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="qa-coverage-2026-11-16-2026-11-22.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["agent", "employee_code", "team", "reviews", "target", "status"]
    by_code = {row[1]: row for row in rows[1:]}
    assert by_code["A-EQ"][0] == '\'=HYPERLINK("http://x","y")'
    percent, low, high = wilson(4, 6)
    assert by_code["A-OWNER"][3:] == [
        "4",
        "2",
        "met",
        "6",
        "4",
        str(round(percent, 1)),
        str(round(low, 1)),
        str(round(high, 1)),
    ]
    assert by_code["A-MATE"][3:9] == ["0", "2", "none", "2", "0", "0.0"]
    # No reviews first, as on the page.
    assert [row[5] for row in rows[1:]][:2] == ["none", "none"]


# --- query count ------------------------------------------------------------------------------------------


def _grow(team, reviewer, scorecard, n: int) -> None:
    """n more agents, each with two legs in the period, an open assignment and a review."""
    for _ in range(n):
        agent = AgentFactory(team=team)
        first = call(agent, at(d(1)))
        other = call(agent, at(d(2)))
        TransferFactory(call=other, sequence=1, from_agent=agent, to_agent=AgentFactory(team=team))
        assign(first, reviewer, created=at(d(1), 13))
        person = UserFactory(roles=["reviewer"])
        a = assign(other, person, created=at(d(2), 13), status="done", completed=at(d(3)))
        evaluation(other, person, scorecard, submitted=at(d(3)), assignment=a)


@pytest.mark.django_db
def test_the_page_asks_the_same_queries_for_few_rows_as_for_many(
    client, team, supervisor, reviewer, scorecard, django_assert_num_queries
):
    client.force_login(supervisor)
    _grow(team, reviewer, scorecard, 1)
    # session, user, roles, notice count (nav), teams, agents with their reviews, legs, assignments, evaluations,
    # and the scorecards of the evaluation export's filter
    with django_assert_num_queries(10):
        assert client.get(URL, QUERY).status_code == 200
    _grow(team, reviewer, scorecard, 12)
    with django_assert_num_queries(10):
        response = client.get(URL, QUERY)
    assert len(response.context["progress"].agents) == 13 * 2
    assert len(response.context["progress"].reviewers) == 1 + 13
    # The same less the nav's notice count and the export's scorecards.
    with django_assert_num_queries(8):
        assert client.get(CSV_URL, QUERY).status_code == 200


@pytest.mark.django_db
def test_the_selector_alone_asks_four_queries(team, reviewer, scorecard, django_assert_num_queries):
    _grow(team, reviewer, scorecard, 5)
    with django_assert_num_queries(4):
        qa_progress(period=PERIOD, team_ids=[team.pk], now=NOW)


@pytest.mark.django_db
def test_teams_for_user_refuses_agents_and_reviewers(owner_agent, reviewer):
    from django.core.exceptions import PermissionDenied

    for user in (owner_agent.user, reviewer):
        with pytest.raises(PermissionDenied):
            selectors.progress_teams_for_user(user)
