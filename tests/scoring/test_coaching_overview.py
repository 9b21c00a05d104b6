"""The supervisors' coaching overview: which sessions are due a follow-up, await the agent's acknowledgement or
are recent, who sees which, and a query count that does not grow with the sessions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring.coaching.selectors import coaching_overview_for_user
from scoring.models import CoachingSession
from tests.factories import AgentFactory, UserFactory
from tests.scoring.factories import criteria_by_key

TODAY = date(2026, 9, 1)


def session(agent, coach, held_on, *, follow_up_on=None, acknowledged=False, criteria=()):
    created = datetime.combine(held_on, time(12), tzinfo=UTC)
    row = CoachingSession.objects.create(
        agent=agent,
        coach=coach,
        held_on=held_on,
        notes="Talked it through.",
        follow_up_on=follow_up_on,
        created_at=created,
        acknowledged_at=created + timedelta(hours=1) if acknowledged else None,
    )
    row.focus_criteria.set(criteria)
    return row


def ids(rows) -> list[int]:
    return [row.pk for row in rows]


@pytest.fixture
def sessions(team, owner_agent, teammate_agent, outsider_agent, supervisor, admin_user):
    """Sessions chosen so each rule of the three groups is decided by one of them (days before TODAY)."""
    no_login = AgentFactory(employee_code="A-NOLOGIN", name="Nora Nologin", team=team, user=None)
    day = lambda n: TODAY - timedelta(days=n)  # noqa: E731
    rows = {
        # Owner: an old session whose follow-up passed, but the owner has been coached since (superseded)...
        "owner_superseded": session(owner_agent, supervisor, day(20), follow_up_on=day(5), acknowledged=True),
        # ... by this one, whose follow-up is tomorrow: not due yet.
        "owner_tomorrow": session(owner_agent, supervisor, day(3), follow_up_on=day(-1)),
        # Teammate: follow-up today (due), and another agent's session with no follow-up date at all.
        "mate_today": session(teammate_agent, admin_user, day(10), follow_up_on=TODAY, acknowledged=True),
        # No login: cannot acknowledge, so never "awaiting"; 100 days ago, so not recent; follow-up long past.
        "nologin_old": session(no_login, supervisor, day(100), follow_up_on=day(95)),
        # Outside the supervisor's teams: due, but only the admin sees it.
        "outsider_due": session(outsider_agent, admin_user, day(30), follow_up_on=day(1), acknowledged=True),
        # Exactly 90 days ago counting today (the oldest recent day), and one day older.
        "outsider_day_89": session(outsider_agent, admin_user, day(89), acknowledged=True),
        "outsider_day_90": session(outsider_agent, admin_user, day(90), acknowledged=True),
    }
    # Two sessions of one agent on the same day, both with a due follow-up: the one recorded later is the
    # later session, so only it is due.
    tied = AgentFactory(employee_code="A-TIED", name="Tia Tied", team=team, user=UserFactory(roles=["agent"]))
    rows["tied_first"] = session(tied, supervisor, day(7), follow_up_on=day(2), acknowledged=True)
    rows["tied_second"] = session(tied, supervisor, day(7), follow_up_on=day(2), acknowledged=True)
    return rows


@pytest.mark.django_db
def test_the_groups_of_a_supervisor_follow_the_definitions(sessions, supervisor):
    overview = coaching_overview_for_user(supervisor, today=TODAY)
    s = sessions
    # Due: follow-up on or before today and no later session of the agent; earliest follow-up first.
    assert ids(overview.follow_up_due) == [s["nologin_old"].pk, s["tied_second"].pk, s["mate_today"].pk]
    # Awaiting: not acknowledged and the agent has a login; oldest first.
    assert ids(overview.awaiting_acknowledgement) == [s["owner_tomorrow"].pk]
    # Recent: held 2026-06-04 (today - 89) to today, newest first (same day: later recorded first).
    assert overview.recent_from == date(2026, 6, 4)
    assert ids(overview.recent) == [
        s["owner_tomorrow"].pk,
        s["tied_second"].pk,
        s["tied_first"].pk,
        s["mate_today"].pk,
        s["owner_superseded"].pk,
    ]


@pytest.mark.django_db
def test_an_admin_sees_every_team_and_the_90_day_edge(sessions, admin_user):
    overview = coaching_overview_for_user(admin_user, today=TODAY)
    s = sessions
    assert ids(overview.follow_up_due) == [
        s["nologin_old"].pk,  # follow-up 95 days ago
        s["tied_second"].pk,  # 2 days ago
        s["outsider_due"].pk,  # yesterday (the outsider's other sessions are older)
        s["mate_today"].pk,  # today
    ]
    assert s["outsider_day_89"].pk in ids(overview.recent)
    assert s["outsider_day_90"].pk not in ids(overview.recent)


@pytest.mark.django_db
def test_a_follow_up_is_due_from_its_day_until_the_agent_is_coached_again(teammate_agent, supervisor):
    first = session(teammate_agent, supervisor, TODAY - timedelta(days=14), follow_up_on=TODAY)
    assert ids(coaching_overview_for_user(supervisor, today=TODAY - timedelta(days=1)).follow_up_due) == []
    assert ids(coaching_overview_for_user(supervisor, today=TODAY).follow_up_due) == [first.pk]
    assert ids(coaching_overview_for_user(supervisor, today=TODAY + timedelta(days=30)).follow_up_due) == [
        first.pk
    ]
    session(teammate_agent, supervisor, TODAY + timedelta(days=2))
    assert ids(coaching_overview_for_user(supervisor, today=TODAY + timedelta(days=30)).follow_up_due) == []


@pytest.mark.django_db
def test_the_other_teams_supervisor_sees_none_of_them(sessions):
    other = UserFactory(username="nobody-sup", roles=["supervisor"])
    overview = coaching_overview_for_user(other, today=TODAY)
    assert (overview.follow_up_due, overview.awaiting_acknowledgement, overview.recent) == ([], [], [])


@pytest.mark.django_db
def test_the_page_lists_the_groups_with_links_and_escapes_names(
    client, team, supervisor, scorecard, django_assert_num_queries
):
    today = timezone.localdate()
    crit = criteria_by_key(scorecard)
    agent = AgentFactory(
        employee_code="A-X", name="<b>Bold</b>", team=team, user=UserFactory(roles=["agent"])
    )
    due = session(agent, supervisor, today - timedelta(days=5), follow_up_on=today, criteria=[crit["a"]])
    client.force_login(supervisor)
    response = client.get(reverse("scoring:coaching_overview"))
    assert response.status_code == 200
    body = response.content.decode()
    link = f'href="{reverse("scoring:coaching_detail", args=[due.pk])}"'
    # Due, awaiting (the agent has not acknowledged) and recent: three links to the one session.
    assert body.count(link) == 3
    assert "&lt;b&gt;Bold&lt;/b&gt;" in body and "<b>Bold</b>" not in body
    assert crit["a"].question in body
    assert f'<a href="{reverse("scoring:coaching_overview")}">Coaching</a>' in body


@pytest.mark.django_db
def test_the_page_asks_the_same_queries_for_one_session_as_for_twelve(
    client, team, supervisor, scorecard, django_assert_num_queries
):
    today = timezone.localdate()
    crit = criteria_by_key(scorecard)
    client.force_login(supervisor)
    agent = AgentFactory(team=team, user=UserFactory(roles=["agent"]))
    session(agent, supervisor, today - timedelta(days=3), follow_up_on=today, criteria=[crit["a"]])
    # session, user, roles, notice count (nav), sessions, their focus criteria
    with django_assert_num_queries(6):
        assert client.get(reverse("scoring:coaching_overview")).status_code == 200
    for n in range(11):
        other = AgentFactory(team=team, user=UserFactory(roles=["agent"]))
        session(
            other,
            supervisor,
            today - timedelta(days=n),
            follow_up_on=today,
            criteria=[crit["a"], crit["b"]],
        )
    with django_assert_num_queries(6):
        response = client.get(reverse("scoring:coaching_overview"))
    # Each session is due, awaiting and recent: three links apiece.
    assert len(re.findall(r'href="/qa/coaching/\d+/"', response.content.decode())) == 12 * 3


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "reviewer"])
def test_agents_and_reviewers_get_403_and_no_nav_link(client, who, owner_agent, reviewer):
    user = owner_agent.user if who == "owner" else reviewer
    client.force_login(user)
    assert client.get(reverse("scoring:coaching_overview")).status_code == 403
    page = client.get(reverse("scoring:notices")).content.decode()
    assert f'href="{reverse("scoring:coaching_overview")}"' not in page
