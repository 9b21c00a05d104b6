"""Follow-up insights (/followups/insights/): every figure against an independent computation over hand-built
cases, scoping (the board's), period boundaries, the query count, the CSV and its refusals, the htmx partial."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta

import numpy
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from scipy.stats import binomtest

from scoring.analytics.selectors import Period
from scoring.followups import insights
from scoring.followups.models import ContactAttempt, FollowUpCase, RootCause
from tests.factories import DepartmentFactory
from tests.followups.conftest import make_detractor

pytestmark = pytest.mark.django_db
S = FollowUpCase.Status

DAY_1 = date(2026, 11, 2)
DAY_7 = date(2026, 11, 8)
QUERY = {"period": "custom", "date_from": DAY_1.isoformat(), "date_to": DAY_7.isoformat()}
PERIOD = Period("custom", DAY_1, DAY_7)
URL = reverse("followups:insights")
CSV_URL = reverse("followups:insights-csv")


def at(day: int, hour: float = 0) -> datetime:
    """Local time on day `day` of the period (1 = its first day); day 8 is the day after it."""
    start = datetime.combine(
        DAY_1 + timedelta(days=day - 1), time.min, tzinfo=timezone.get_current_timezone()
    )
    return start + timedelta(hours=hour)


def closed_case(agent, *, created, closed, due, cause, outcome, attempts=(), department=None):
    """A detractor's case, closed as given, with contact attempts at the given times (after creation)."""
    case = make_detractor(agent=agent, **({"department": department} if department else {}))
    FollowUpCase.objects.filter(pk=case.pk).update(
        status=S.CLOSED,
        created_at=created,
        due_at=due,
        closed_at=closed,
        outcome=outcome,
        root_cause=RootCause.objects.get(code=cause),
    )
    for moment in attempts:
        ContactAttempt.objects.create(case=case, at=moment, channel="phone")
    return case


def open_case(agent, *, due, status=S.OPEN):
    case = make_detractor(agent=agent)
    extra = {"sla_paused_at": due - timedelta(hours=1)} if status == S.WAITING else {}
    FollowUpCase.objects.filter(pk=case.pk).update(status=status, due_at=due, **extra)
    return case


@pytest.fixture
def world(owner_agent, teammate_agent, outsider_agent, other_supervisor):
    tech = DepartmentFactory(name="Tech support")
    h = timedelta(hours=1)
    cases = {
        # The supervisor's teams (owner and teammate), closed in the period.
        "quick": closed_case(
            owner_agent,
            created=at(1, 9),
            closed=at(1, 13),
            due=at(2, 9),
            cause="process-policy",
            outcome="resolved",
            attempts=[at(1, 11), at(1, 10)],
        ),
        "late": closed_case(
            owner_agent,
            created=at(2, 10),
            closed=at(4, 10),
            due=at(3, 10),
            cause="process-policy",
            outcome="explained",
            attempts=[at(2, 10) + 30 * h],
        ),
        "fast": closed_case(
            teammate_agent,
            created=at(3, 8),
            closed=at(3, 8.5),
            due=at(4, 8),
            cause="wait-time",
            outcome="resolved",
            attempts=[at(3, 8) + timedelta(minutes=10)],
        ),
        "no_attempt": closed_case(
            teammate_agent,
            created=at(5),
            closed=at(5, 6),
            due=at(6),
            cause="process-policy",
            outcome="goodwill",
            department=tech,
        ),
        # Closed exactly at its due time: within the SLA.
        "on_the_dot": closed_case(
            owner_agent,
            created=at(6, 12),
            closed=at(7, 12),
            due=at(7, 12),
            cause="billing-error",
            outcome="unreachable",
            attempts=[at(6, 14)],
        ),
        # Out of the period: a second before it starts, and at the first instant after it ends.
        "before": closed_case(
            owner_agent,
            created=at(0, 1),
            closed=at(1) - timedelta(seconds=1),
            due=at(2),
            cause="wait-time",
            outcome="resolved",
        ),
        "after": closed_case(
            owner_agent, created=at(7, 1), closed=at(8), due=at(9), cause="wait-time", outcome="resolved"
        ),
        # Another team's, in the period.
        "foreign": closed_case(
            outsider_agent,
            created=at(2),
            closed=at(2, 5),
            due=at(3),
            cause="agent-attitude",
            outcome="declined",
            attempts=[at(2, 1)],
        ),
        # Open past a due time in the period (counted), due before it, waiting on the customer, and another
        # team's.
        "overdue": open_case(owner_agent, due=at(4)),
        "overdue_before": open_case(owner_agent, due=at(0)),
        "waiting": open_case(teammate_agent, due=at(5), status=S.WAITING),
        "foreign_overdue": open_case(outsider_agent, due=at(6)),
    }
    return cases


def wilson(successes: int, n: int) -> tuple[float, float, float]:
    ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * successes / n, 100 * ci.low, 100 * ci.high


def assert_share(share, successes: int, n: int) -> None:
    percent, low, high = wilson(successes, n)
    assert share.n == n
    assert share.percent == pytest.approx(percent)
    assert share.low == pytest.approx(low, abs=1e-9)
    assert share.high == pytest.approx(high, abs=1e-9)


def hours(*values: float) -> list[float]:
    return [v * 3600 for v in values]


def test_supervisor_figures_match_an_independent_computation(client, supervisor, world):
    client.force_login(supervisor)
    response = client.get(URL, QUERY)
    assert response.status_code == 200
    data = response.context["insights"]

    # quick, late, fast, no_attempt, on_the_dot: "before", "after" and the other team's are out.
    assert data["closed"] == 5
    assert data["within_sla_cases"] == 4  # all but "late"; on the dot counts as within
    assert_share(data["within_sla"], 4, 5)
    assert data["open_overdue"] == 1

    causes = [(r.label, r.cases) for r in data["root_causes"]]
    # Most cases first, ties in the managed list's order (wait time 50, billing error 70).
    assert causes == [("Process or policy", 3), ("Long wait time", 1), ("Billing error", 1)]
    for row, count in zip(data["root_causes"], [3, 1, 1], strict=True):
        assert_share(row.share, count, 5)
    assert [r.cumulative_percent for r in data["root_causes"]] == pytest.approx([60.0, 80.0, 100.0])

    outcomes = {r.key: r.cases for r in data["outcomes"]}
    assert outcomes == {
        "resolved": 2,
        "explained": 1,
        "goodwill": 1,
        "not_resolved": 0,
        "unreachable": 1,
        "declined": 0,
    }
    assert_share(next(r for r in data["outcomes"] if r.key == "resolved").share, 2, 5)
    assert next(r for r in data["outcomes"] if r.key == "declined").share.percent == 0.0

    to_close = hours(4, 48, 0.5, 6, 24)
    assert data["to_close"].n == 5
    assert data["to_close"].median.total_seconds() == pytest.approx(
        numpy.percentile(to_close, 50, method="linear")
    )
    assert data["to_close"].p90.total_seconds() == pytest.approx(
        numpy.percentile(to_close, 90, method="linear")
    )
    # The first of each case's attempts; "no_attempt" has none.
    to_attempt = hours(1, 30, 10 / 60, 2)
    assert data["to_first_attempt"].n == 4
    assert data["to_first_attempt"].median.total_seconds() == pytest.approx(
        numpy.percentile(to_attempt, 50, method="linear")
    )
    assert data["to_first_attempt"].p90.total_seconds() == pytest.approx(
        numpy.percentile(to_attempt, 90, method="linear")
    )

    matrix = data["by_department"]
    billing = world["quick"].call.department.name
    assert matrix["departments"] == [billing, "Tech support"]
    assert [(r["root_cause"], r["cells"], r["total"]) for r in matrix["rows"]] == [
        ("Process or policy", [2, 1], 3),
        ("Long wait time", [1, 0], 1),
        ("Billing error", [1, 0], 1),
    ]
    assert matrix["totals"] == [4, 1] and matrix["total"] == 5


def test_the_page_shows_the_figures(client, supervisor, world):
    client.force_login(supervisor)
    body = client.get(URL, QUERY).text
    assert "<h1>Follow-up insights</h1>" in body
    assert "Process or policy" in body and "3 (60.0%)" in body
    assert "Agent attitude" not in body  # the other team's root cause
    assert "80.0%" in body  # closed within SLA
    assert 'href="/followups/insights/root-causes.csv?' in body
    # One Pareto bar per root cause, each a <meter> against the most frequent one (3, 1, 1 cases): no style
    # attribute for its length, which the CSP refuses.
    assert re.findall(r'<meter class="pareto-bar"[^>]*>', body) == [
        f'<meter class="pareto-bar" aria-hidden="true" min="0" max="3" value="{cases}">'
        for cases in (3, 1, 1)
    ]
    assert " style=" not in body


def test_admin_sees_every_team_and_can_narrow_to_one(client, admin_user, world, other_team):
    client.force_login(admin_user)
    data = client.get(URL, QUERY).context["insights"]
    assert data["closed"] == 6
    assert data["open_overdue"] == 2
    assert ("Agent attitude or empathy", 1) in [(r.label, r.cases) for r in data["root_causes"]]

    narrowed = client.get(URL, {**QUERY, "team": other_team.pk}).context["insights"]
    assert [(r.label, r.cases) for r in narrowed["root_causes"]] == [("Agent attitude or empathy", 1)]
    assert narrowed["open_overdue"] == 1
    assert_share(narrowed["within_sla"], 1, 1)


def test_a_supervisor_never_sees_another_teams_cases(
    client, supervisor, other_supervisor, world, other_team, team
):
    client.force_login(other_supervisor)
    data = client.get(URL, QUERY).context["insights"]
    assert [(r.label, r.cases) for r in data["root_causes"]] == [("Agent attitude or empathy", 1)]
    assert data["open_overdue"] == 1

    # Asking for a team they do not lead is a form error, and the figures stay their own.
    client.force_login(supervisor)
    response = client.get(URL, {**QUERY, "team": other_team.pk})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "team": [f"Select a valid choice. {other_team.pk} is not one of the available choices."]
    }
    assert "Please correct the errors below." in response.text
    assert "root-causes.csv" not in response.text  # no download of figures for filters it refused
    labels = [r.label for r in response.context["insights"]["root_causes"]]
    assert "Agent attitude or empathy" not in labels


def test_a_team_filter_keeps_that_teams_cases(client, supervisor, world, team):
    client.force_login(supervisor)
    data = client.get(URL, {**QUERY, "team": team.pk}).context["insights"]
    assert data["closed"] == 5


@pytest.mark.parametrize("role", ["agent", "reviewer"])
def test_agents_and_reviewers_are_refused(client, role, owner_agent, reviewer, world):
    user = owner_agent.user if role == "agent" else reviewer
    client.force_login(user)
    assert client.get(URL, QUERY).status_code == 403
    assert client.get(CSV_URL, QUERY).status_code == 403


def test_role_matrix(world, supervisor, other_supervisor, admin_user, owner_agent, reviewer):
    """Every role on both URLs: only supervisors and admins succeed; anonymous users go to the login page."""
    users = {
        "anonymous": None,
        "agent": owner_agent.user,
        "reviewer": reviewer,
        "supervisor": supervisor,
        "other_supervisor": other_supervisor,
        "admin": admin_user,
    }
    allowed = {"supervisor", "other_supervisor", "admin"}
    found = {}
    for role, user in users.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        for url in (URL, CSV_URL):
            response = client.get(url, QUERY)
            found[(role, url)] = response.status_code
            if role == "anonymous":
                assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert found == {
        (role, url): (302 if role == "anonymous" else 200 if role in allowed else 403)
        for role in users
        for url in (URL, CSV_URL)
    }


def test_period_boundaries(supervisor, world):
    before_only = insights.followup_insights(
        supervisor, period=Period("custom", date(2026, 11, 1), date(2026, 11, 1)), team_ids=None
    )
    assert [(r.label, r.cases) for r in before_only["root_causes"]] == [("Long wait time", 1)]
    after_only = insights.followup_insights(
        supervisor, period=Period("custom", date(2026, 11, 9), date(2026, 11, 9)), team_ids=None
    )
    assert [(r.label, r.cases) for r in after_only["root_causes"]] == [("Long wait time", 1)]
    first_day = insights.followup_insights(supervisor, period=Period("custom", DAY_1, DAY_1), team_ids=None)
    assert first_day["closed"] == 1  # "quick"; "before" closed a second earlier


def test_an_empty_period_has_no_figures(client, supervisor, world):
    client.force_login(supervisor)
    response = client.get(URL, {"period": "custom", "date_from": "2025-01-01", "date_to": "2025-01-31"})
    data = response.context["insights"]
    assert data["closed"] == 0 and data["root_causes"] == []
    assert data["within_sla"].percent is None
    assert (data["to_close"].n, data["to_close"].median, data["to_close"].p90) == (0, None, None)
    assert "No case was closed in this period." in response.text


def test_the_query_count_does_not_grow_with_the_cases(
    client, supervisor, world, owner_agent, django_assert_num_queries
):
    client.force_login(supervisor)
    # Session, user, roles, the user's teams, the five figure queries (counts, root causes, outcomes, root
    # cause × department, durations), the nav's unread notices.
    with django_assert_num_queries(10):
        client.get(URL, QUERY)
    for day in range(1, 6):
        closed_case(
            owner_agent,
            created=at(day),
            closed=at(day, 2),
            due=at(day, 3),
            cause="other",
            outcome="resolved",
            attempts=[at(day, 1)],
            department=DepartmentFactory(name=f"Extra {day}"),
        )
    with django_assert_num_queries(10):
        assert client.get(URL, QUERY).context["insights"]["closed"] == 10


def test_sqlite_fallback_gives_the_same_durations(supervisor, world, monkeypatch):
    """The embedded SQLite demo has no percentile_cont: the same figures come from the Python percentile."""
    on_postgres = insights.followup_insights(supervisor, period=PERIOD, team_ids=None)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    in_python = insights.followup_insights(supervisor, period=PERIOD, team_ids=None)
    for key in ("to_close", "to_first_attempt"):
        assert in_python[key].n == on_postgres[key].n
        assert in_python[key].median.total_seconds() == pytest.approx(on_postgres[key].median.total_seconds())
        assert in_python[key].p90.total_seconds() == pytest.approx(on_postgres[key].p90.total_seconds())


def test_csv_has_the_root_cause_rows_and_neutralises_formulas(client, supervisor, world, owner_agent):
    RootCause.objects.create(code="injected", name='=HYPERLINK("http://x","click")')
    closed_case(owner_agent, created=at(3), closed=at(3, 1), due=at(4), cause="injected", outcome="resolved")
    client.force_login(supervisor)
    response = client.get(CSV_URL, QUERY)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="followup-root-causes-2026-11-02-2026-11-08.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))

    def r(label, count, cumulative):
        percent, low, high = wilson(count, 6)
        return [
            label,
            str(count),
            str(round(percent, 1)),
            str(round(low, 1)),
            str(round(high, 1)),
            str(cumulative),
        ]

    assert rows == [
        ["root_cause", "cases", "share", "share_low", "share_high", "cumulative_share"],
        r("Process or policy", 3, 50.0),
        r("Long wait time", 1, 66.7),
        r("Billing error", 1, 83.3),
        # Last of the ties (a new root cause's position is 100); neutralised with an apostrophe.
        r('\'=HYPERLINK("http://x","click")', 1, 100.0),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"period": "custom", "date_from": "2026-11-08", "date_to": "2026-11-02"},
            "date_from: The range starts after it ends.\n",
        ),
        (
            {**QUERY, "period": "decade"},
            "period: Select a valid choice. decade is not one of the available choices.\n",
        ),
        (
            {**QUERY, "date_from": "yesterday"},
            "date_from: Enter a valid date.\n",
        ),
    ],
)
def test_a_bad_filter_gives_400_on_the_csv(client, supervisor, world, query, expected):
    client.force_login(supervisor)
    response = client.get(CSV_URL, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == expected


def test_a_foreign_team_gives_400_on_the_csv(client, supervisor, world, other_team):
    client.force_login(supervisor)
    response = client.get(CSV_URL, {**QUERY, "team": other_team.pk})
    assert response.status_code == 400
    assert (
        response.content.decode()
        == f"team: Select a valid choice. {other_team.pk} is not one of the available choices.\n"
    )


def test_htmx_filtering_returns_only_the_results(client, supervisor, world):
    client.force_login(supervisor)
    full = client.get(URL, QUERY)
    partial = client.get(URL, QUERY, headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in partial.text
    assert "Process or policy" in partial.text and 'aria-label="Filters"' not in partial.text


def test_linked_from_the_board_and_the_analytics_pages(client, supervisor, reviewer, world):
    client.force_login(supervisor)
    assert f'href="{URL}"' in client.get(reverse("followups:board")).text
    assert f'href="{URL}"' in client.get(reverse("analytics:teams")).text
    # Reviewers see the analytics pages but may not open the insights: no link for them.
    client.force_login(reviewer)
    assert f'href="{URL}"' not in client.get(reverse("analytics:teams")).text
    assert f'href="{URL}"' not in client.get(reverse("followups:board")).text


def test_the_demo_history_reads_true_on_the_page(admin_user, owner_agent, monkeypatch):
    """The demo records its old answers today, dated in the past; the cases it closes are opened as the
    answers came in, so their times to first attempt and to close are the worked times (never negative)."""
    from scoring.followups import tasks
    from scoring.followups.demo import seed_followups

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
    seed_followups(seed=7, now=now)
    cases = FollowUpCase.objects.filter(pk__in=[c.pk for c in old]).select_related("response")
    assert all(c.created_at == c.response.received_at for c in cases)
    data = insights.followup_insights(
        admin_user, period=Period("custom", (now - timedelta(days=30)).date(), now.date()), team_ids=None
    )
    assert data["closed"] == 6 and sum(r.cases for r in data["root_causes"]) == 6
    to_close = sorted((c.closed_at - c.created_at).total_seconds() for c in cases)
    assert to_close[0] > 0
    assert data["to_close"].median.total_seconds() == pytest.approx(
        numpy.percentile(to_close, 50, method="linear")
    )
    assert data["to_first_attempt"].n == 6 and data["to_first_attempt"].median > timedelta(0)
