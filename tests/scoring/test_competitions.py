"""Competitions: standings are the leaderboard's rows for the contest's teams and days (checked against
leaderboard() itself and one shrunk score by hand), period clipping, ties, the unranked, constraints, the form,
permissions per role, escaping, query counts, and the demo's two contests."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from calls.rollups import agent_day_stats_refresh
from scoring.analytics.selectors import Period, leaderboard
from scoring.competitions import selectors
from scoring.competitions.models import Competition
from scoring.competitions.selectors import competition_standings
from scoring.competitions.services import competition_create
from tests.analytics.helpers import at, make_evaluation, make_response, make_scorecard
from tests.factories import AgentFactory, CallFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

JUNE_1, JUNE_30 = date(2026, 6, 1), date(2026, 6, 30)


def refresh():
    agent_day_stats_refresh(date_from=date(2026, 5, 1), date_to=date(2026, 7, 31))


def give(card, agent, scores, *, day=10, nps=()):
    """One evaluated call per score on June `day`, and one surveyed call per NPS answer."""
    for i, score in enumerate(scores):
        call = CallFactory(agent=agent, started_at=at(day, 8 + i % 10))
        make_evaluation(card, call=call, score=score)
    for answer in nps:
        make_response(call=CallFactory(agent=agent, started_at=at(day, 20)), score=answer)


def contest(*teams, name="June sprint", metric="qa", starts_on=JUNE_1, ends_on=JUNE_30, by=None):
    competition = Competition.objects.create(
        name=name,
        metric=metric,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=by or UserFactory(username=f"creator-{Competition.objects.count()}"),
    )
    competition.teams.set(teams)
    return competition


@pytest.fixture
def world(team, other_team, owner_agent, teammate_agent, outsider_agent):
    """Billing East: owner (6 reviews, strong), teammate (5, weaker), Nell Newbie (3: 2 short of the
    minimum of 5), Quiet Quinn (active, nothing in June); Tech West: the outsider (6, near perfect)."""
    card = make_scorecard()
    give(card, owner_agent, [90, 80, 100, 70, 85, 95])
    give(card, teammate_agent, [60, 75, 65, 80, 70])
    newbie = AgentFactory(employee_code="A-NEW", name="Nell Newbie", team=team)
    give(card, newbie, [99, 98, 97])
    quiet = AgentFactory(employee_code="A-QUIET", name="Quiet Quinn", team=team)
    give(card, outsider_agent, [99, 98, 97, 96, 95, 94])
    refresh()
    return {"card": card, "newbie": newbie, "quiet": quiet}


def ranks(rows):
    return {row["agent_id"]: row["rank"] for row in rows}


# --- standings against the leaderboard -----------------------------------------------------------------


def test_standings_are_the_leaderboards_ranks_for_the_same_teams_and_period(
    world, team, other_team, owner_agent, teammate_agent, outsider_agent
):
    competition = contest(team, other_team)
    standings = competition_standings(competition, today=date(2026, 7, 5))
    board = leaderboard(team_ids=sorted([team.pk, other_team.pk]), period=Period("custom", JUNE_1, JUNE_30))
    ranked_on_board = {r["agent_id"]: r["rank"] for r in board["rows"] if r["is_ranked"]}
    assert ranks(standings.rows) == ranked_on_board
    # The board's own order: the outsider's near-perfect six beat the owner's, the teammate last.
    assert [r["agent_id"] for r in standings.rows] == [outsider_agent.pk, owner_agent.pk, teammate_agent.pk]
    assert [r["rank"] for r in standings.rows] == [1, 2, 3]
    for row in standings.rows:
        on_board = next(r for r in board["rows"] if r["agent_id"] == row["agent_id"])
        assert (row["qa_shrunk"], row["qa_lower"], row["score"]) == (
            on_board["qa_shrunk"],
            on_board["qa_lower"],
            on_board["qa_shrunk"],
        )


def test_one_shrunk_score_by_hand(world, team, owner_agent, settings):
    # A fixed prior weight k = 10: the owner's fair score is (Σx + k·team mean) / (n + k), with the team mean
    # over every Billing East review of June (owner 6, teammate 5, newbie 3).
    settings.ANALYTICS_SHRINKAGE_K_ESTIMATE = False
    settings.ANALYTICS_SHRINKAGE_K = 10
    team_scores = [90, 80, 100, 70, 85, 95] + [60, 75, 65, 80, 70] + [99, 98, 97]
    team_mean = sum(team_scores) / len(team_scores)
    expected = (520 + 10 * team_mean) / (6 + 10)
    standings = competition_standings(contest(team), today=date(2026, 7, 1))
    owner = next(r for r in standings.rows if r["agent_id"] == owner_agent.pk)
    assert owner["score"] == pytest.approx(expected, abs=1e-9)
    assert round(expected, 4) == 84.4643  # (520 + 10 · 1164/14) / 16 = (520 + 831.4286) / 16, by hand


def test_inactive_agents_are_left_out_and_the_ranks_close_up(world, team, owner_agent, teammate_agent):
    owner_agent.is_active = False
    owner_agent.save()
    standings = competition_standings(contest(team), today=date(2026, 7, 1))
    assert ranks(standings.rows) == {teammate_agent.pk: 1}
    board = leaderboard(team_ids=[team.pk], period=Period("custom", JUNE_1, JUNE_30))
    assert {r["agent_id"]: r["rank"] for r in board["rows"] if r["is_ranked"]} == {
        owner_agent.pk: 1,
        teammate_agent.pk: 2,
    }


# --- period and status ---------------------------------------------------------------------------------


def test_upcoming_contest_has_no_rows(world, team):
    standings = competition_standings(contest(team), today=date(2026, 5, 31))
    assert (standings.status, standings.period, standings.rows, standings.unranked) == (
        "upcoming",
        None,
        [],
        [],
    )
    assert standings.winners == []


def test_running_contest_counts_up_to_today_and_finished_the_whole_period(
    world, team, owner_agent, teammate_agent, settings
):
    # A fixed prior weight: with the estimated one these few agents pool fully (all tie), see the tie test.
    settings.ANALYTICS_SHRINKAGE_K_ESTIMATE = False
    card = world["card"]
    # After June 15: the teammate's ten perfect late reviews, and one after the contest (July 2) for the owner.
    give(card, teammate_agent, [100] * 10, day=20)
    late = CallFactory(agent=owner_agent, started_at=at(30, 12) + timedelta(days=2))
    make_evaluation(card, call=late, score=0)
    refresh()
    competition = contest(team)

    running = competition_standings(competition, today=date(2026, 6, 15))
    assert (running.status, running.days_left) == ("running", 16)
    assert (running.period.date_from, running.period.date_to) == (JUNE_1, date(2026, 6, 15))
    first_half = leaderboard(team_ids=[team.pk], period=Period("custom", JUNE_1, date(2026, 6, 15)))
    assert ranks(running.rows) == {r["agent_id"]: r["rank"] for r in first_half["rows"] if r["is_ranked"]}
    assert ranks(running.rows) == {owner_agent.pk: 1, teammate_agent.pk: 2}
    assert next(r for r in running.rows if r["agent_id"] == teammate_agent.pk)["evaluations"] == 5
    assert [r["agent_id"] for r in running.leaders] == [owner_agent.pk]
    assert running.winners == []  # nobody wins before the end

    last_day = competition_standings(competition, today=JUNE_30)
    assert (last_day.status, last_day.days_left) == ("running", 1)

    finished = competition_standings(competition, today=date(2026, 7, 5))
    assert (finished.status, finished.days_left, finished.period.date_to) == ("finished", None, JUNE_30)
    whole = leaderboard(team_ids=[team.pk], period=Period("custom", JUNE_1, JUNE_30))
    assert ranks(finished.rows) == {r["agent_id"]: r["rank"] for r in whole["rows"] if r["is_ranked"]}
    by_agent = {r["agent_id"]: r for r in finished.rows}
    assert by_agent[teammate_agent.pk]["evaluations"] == 15
    assert by_agent[owner_agent.pk]["evaluations"] == 6  # the July 2 review is outside the contest
    assert [r["agent_id"] for r in finished.winners] == [teammate_agent.pk]


def test_ties_share_rank_one_and_both_win(team):
    card = make_scorecard()
    twins = [AgentFactory(team=team, name=name) for name in ("Ada Twin", "Bea Twin")]
    third = AgentFactory(team=team, name="Cy Third")
    for agent in twins:
        give(card, agent, [90, 80, 85, 95, 70])
    give(card, third, [60, 65, 70, 55, 50])
    refresh()
    standings = competition_standings(contest(team), today=date(2026, 7, 1))
    assert [(r["name"], r["rank"]) for r in standings.rows] == [
        ("Ada Twin", 1),
        ("Bea Twin", 1),
        ("Cy Third", 3),
    ]
    assert [r["name"] for r in standings.winners] == ["Ada Twin", "Bea Twin"]


def test_unranked_agents_are_apart_with_what_they_still_need(world, team, owner_agent, teammate_agent):
    standings = competition_standings(contest(team), today=date(2026, 7, 1))
    assert ranks(standings.rows) == {owner_agent.pk: 1, teammate_agent.pk: 2}
    assert [(r["name"], r["needed"]) for r in standings.unranked] == [("Nell Newbie", 2), ("Quiet Quinn", 5)]
    assert (standings.minimum, standings.unit) == (5, "evaluations")


def test_nps_contest_ranks_by_the_lower_bound_of_the_interval(team, settings):
    settings.ANALYTICS_MIN_RESPONSES = 4
    card = make_scorecard()
    steady = AgentFactory(team=team, name="Steady")  # NPS 75 over 40 answers (30 promoters, 10 passives)
    lucky = AgentFactory(team=team, name="Lucky")  # NPS 80 over 5 answers: the higher NPS, a wide interval
    few = AgentFactory(team=team, name="Few")  # 3 answers: 1 short
    give(card, steady, [], nps=[10] * 30 + [8] * 10)
    give(card, lucky, [], nps=[10] * 4 + [7])
    give(card, few, [], nps=[10, 10, 10])
    refresh()
    standings = competition_standings(contest(team, metric="nps"), today=date(2026, 7, 1))
    # Lower bounds by hand: NPS − 1.96 · 100 · sqrt((p + d − (p − d)²) / n).
    z = 1.959963984540054
    steady_low = 75 - z * 100 * ((0.75 - 0.75**2) / 40) ** 0.5
    lucky_low = 80 - z * 100 * ((0.8 - 0.8**2) / 5) ** 0.5
    assert (round(steady_low, 2), round(lucky_low, 2)) == (61.58, 44.94)
    assert [(r["name"], r["rank"]) for r in standings.rows] == [("Steady", 1), ("Lucky", 2)]
    by_name = {r["name"]: r for r in standings.rows}
    assert (by_name["Steady"]["score"], by_name["Lucky"]["score"]) == (
        pytest.approx(75.0),
        pytest.approx(80.0),
    )
    assert by_name["Steady"]["score_low"] == pytest.approx(steady_low)
    assert by_name["Lucky"]["score_low"] == pytest.approx(lucky_low)
    assert [(r["name"], r["needed"]) for r in standings.unranked] == [("Few", 1)]
    assert standings.unit == "responses"


def test_a_high_mean_on_few_noisy_reviews_ranks_below_a_steady_one(team, settings):
    # The leaderboard's ranking, not the mean's: with k = 10, Flashy (mean 92 over 5) has the higher mean and
    # the higher shrunk score, Steady (90 over 30) the higher lower bound, and the lower bound ranks.
    settings.ANALYTICS_SHRINKAGE_K_ESTIMATE = False
    settings.ANALYTICS_SHRINKAGE_K = 10
    card = make_scorecard()
    flashy = AgentFactory(team=team, name="Flashy")
    steady = AgentFactory(team=team, name="Steady")
    give(card, flashy, [100, 100, 100, 60, 100])
    give(card, steady, [90] * 30)
    refresh()
    team_mean = (460 + 2700) / 35
    within = (4 * 100**2 + 60**2 - 460**2 / 5) / (35 - 2)  # pooled within-agent variance (Steady's is 0)
    z = 1.959963984540054
    flashy_shrunk, steady_shrunk = (460 + 10 * team_mean) / 15, (2700 + 10 * team_mean) / 40
    flashy_low = flashy_shrunk - z * (within / 15) ** 0.5
    steady_low = steady_shrunk - z * (within / 40) ** 0.5
    assert flashy_shrunk > steady_shrunk and steady_low > flashy_low
    standings = competition_standings(contest(team), today=date(2026, 7, 1))
    assert [(r["name"], r["rank"]) for r in standings.rows] == [("Steady", 1), ("Flashy", 2)]
    by_name = {r["name"]: r for r in standings.rows}
    assert by_name["Steady"]["score_low"] == pytest.approx(steady_low)
    assert by_name["Flashy"]["score"] == pytest.approx(flashy_shrunk)
    board = leaderboard(team_ids=[team.pk], period=Period("custom", JUNE_1, JUNE_30))
    assert ranks(standings.rows) == {r["agent_id"]: r["rank"] for r in board["rows"] if r["is_ranked"]}
    assert {flashy.pk, steady.pk} == set(ranks(standings.rows))


# --- database constraints and the service --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "starts_on", "ends_on", "constraint"),
    [
        ("Backwards", JUNE_30, JUNE_1, "competition_ends_after_start"),
        ("Too long", JUNE_1, JUNE_1 + timedelta(days=92), "competition_at_most_92_days"),
        ("   ", JUNE_1, JUNE_30, "competition_has_name"),
    ],
)
def test_database_refuses_bad_competitions(admin_user, name, starts_on, ends_on, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Competition.objects.create(name=name, starts_on=starts_on, ends_on=ends_on, created_by=admin_user)
    assert Competition.objects.count() == 0


def test_92_days_is_the_longest_allowed(admin_user):
    competition = Competition.objects.create(
        name="Quarter", starts_on=JUNE_1, ends_on=JUNE_1 + timedelta(days=91), created_by=admin_user
    )
    assert competition.days == 92


def test_service_refuses_teams_the_supervisor_does_not_lead(supervisor, team, other_team):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        competition_create(
            name="Mine and theirs",
            metric="qa",
            teams=[team, other_team],
            starts_on=JUNE_1,
            ends_on=JUNE_30,
            created_by=supervisor,
        )
    assert Competition.objects.count() == 0


# --- the form ------------------------------------------------------------------------------------------


def _post(client, user, **overrides):
    today = timezone.localdate()
    data = {
        "name": "Sprint",
        "description": "",
        "metric": "qa",
        "teams": [],
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=13)).isoformat(),
        **overrides,
    }
    client.force_login(user)
    return client.post(reverse("competitions:new"), data)


def test_supervisor_creates_a_contest_of_their_team(client, supervisor, team):
    response = _post(client, supervisor, teams=[team.pk], name="  Two-week sprint ")
    competition = Competition.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("competitions:detail", args=[competition.pk])
    assert (competition.name, competition.created_by, list(competition.teams.all())) == (
        "Two-week sprint",
        supervisor,
        [team],
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "  "}, "name", "This field is required."),
        ({"ends_on": "2000-01-01", "starts_on": "2000-01-05"}, "ends_on", "cannot have ended already"),
        ({"starts_on": "2099-01-10", "ends_on": "2099-01-05"}, "ends_on", "cannot end before it starts"),
        ({"starts_on": "2099-01-01", "ends_on": "2099-04-03"}, "ends_on", "at most 92 days"),
        ({"teams": []}, "teams", "This field is required."),
        ({"metric": "aht"}, "metric", "Select a valid choice."),
    ],
)
def test_form_errors_name_the_field(client, supervisor, team, overrides, field, message):
    response = _post(client, supervisor, **{"teams": [team.pk], **overrides})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert message in response.text.replace("&#x27;", "'")
    assert Competition.objects.count() == 0


def test_supervisor_cannot_pick_another_supervisors_team(client, supervisor, team, other_team):
    response = _post(client, supervisor, teams=[team.pk, other_team.pk])
    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["teams"]
    assert Competition.objects.count() == 0


def test_admin_may_pick_any_team(client, admin_user, team, other_team):
    response = _post(client, admin_user, teams=[team.pk, other_team.pk])
    assert response.status_code == 302
    assert set(Competition.objects.get().teams.all()) == {team, other_team}


# --- permissions ---------------------------------------------------------------------------------------


@pytest.fixture
def contests(world, team, other_team, admin_user):
    return {
        "east": contest(team, name="East only", by=admin_user),
        "west": contest(other_team, name="West only", by=admin_user),
        "both": contest(team, other_team, name="East v West", by=admin_user),
    }


@pytest.mark.parametrize(
    ("role", "listed"),
    [
        ("owner", {"East only", "East v West"}),
        ("outsider", {"West only", "East v West"}),
        ("supervisor", {"East only", "East v West"}),
        ("other_supervisor", {"West only", "East v West"}),
        ("admin", {"East only", "West only", "East v West"}),
    ],
)
def test_list_shows_the_contests_of_the_users_teams(client, contests, role, listed, request):
    user = {
        "owner": lambda: request.getfixturevalue("owner_agent").user,
        "outsider": lambda: request.getfixturevalue("outsider_agent").user,
        "supervisor": lambda: request.getfixturevalue("supervisor"),
        "other_supervisor": lambda: request.getfixturevalue("other_supervisor"),
        "admin": lambda: request.getfixturevalue("admin_user"),
    }[role]()
    client.force_login(user)
    response = client.get(reverse("competitions:list"))
    assert response.status_code == 200
    assert {e["competition"].name for e in response.context["entries"]} == listed
    for competition in contests.values():
        status = 200 if competition.name in listed else 404
        assert client.get(reverse("competitions:detail", args=[competition.pk])).status_code == status


def test_reviewer_gets_403_everywhere_and_anonymous_the_login(client, contests, reviewer):
    urls = [
        reverse("competitions:list"),
        reverse("competitions:new"),
        reverse("competitions:detail", args=[contests["both"].pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302
        assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(reviewer)
    assert [client.get(url).status_code for url in urls] == [403, 403, 403]


def test_agents_may_not_open_the_form(client, owner_agent):
    client.force_login(owner_agent.user)
    assert client.get(reverse("competitions:new")).status_code == 403
    assert _post(client, owner_agent.user, teams=[owner_agent.team_id]).status_code == 403
    assert Competition.objects.count() == 0


def test_agent_sees_only_their_own_position_and_the_leaders_score(
    client, contests, owner_agent, teammate_agent, outsider_agent
):
    client.force_login(owner_agent.user)
    response = client.get(reverse("competitions:detail", args=[contests["both"].pk]))
    html = response.text
    mine = response.context["view"]["mine"]
    assert (mine["agent_id"], mine["rank"]) == (owner_agent.pk, 2)
    assert "Rank <strong>2</strong> of 3 ranked" in html
    outsider_score = response.context["standings"].rows[0]["qa_shrunk"]
    assert f"Winning score: {outsider_score:.1f}" in html
    # No other agent's row or name: not the teammate, not the leader, not the unranked.
    for name in (teammate_agent.name, outsider_agent.name, "Nell Newbie", "Quiet Quinn"):
        assert name not in html
    assert 'data-testid="standings"' not in html


def test_agent_below_the_minimum_reads_what_they_need(client, contests, world, team):
    newbie = world["newbie"]
    newbie.user = UserFactory(username="newbie", roles=["agent"])
    newbie.save()
    client.force_login(newbie.user)
    html = client.get(reverse("competitions:detail", args=[contests["east"].pk])).text
    assert "Not ranked yet: 2 more evaluations to be ranked." in html


def test_supervisor_sees_names_of_their_teams_only(client, contests, supervisor, owner_agent, outsider_agent):
    client.force_login(supervisor)
    response = client.get(reverse("competitions:detail", args=[contests["both"].pk]))
    html = response.text
    assert owner_agent.name in html and "Nell Newbie: " not in html
    assert "Nell Newbie (Billing East): 2 more evaluations to be ranked" in html
    assert "Quiet Quinn (Billing East): 5 more evaluations to be ranked" in html
    assert outsider_agent.name not in html
    assert "An agent of Tech West" in html
    assert f'data-agent="{outsider_agent.pk}"' not in html


def test_admin_sees_every_row_and_the_winner(client, contests, admin_user, outsider_agent, owner_agent):
    client.force_login(admin_user)
    html = client.get(reverse("competitions:detail", args=[contests["both"].pk])).text
    assert f'data-agent="{outsider_agent.pk}"' in html and f'data-agent="{owner_agent.pk}"' in html
    assert "Winner:</strong>\n  Otto Outsider (Tech West," in html


def test_names_are_escaped(client, contests, admin_user, owner_agent):
    owner_agent.name = "<script>alert(1)</script>"
    owner_agent.save()
    contests["both"].name = "<b>Bold</b> & co"
    contests["both"].save()
    client.force_login(admin_user)
    html = client.get(reverse("competitions:detail", args=[contests["both"].pk])).text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in html
    listing = client.get(reverse("competitions:list")).text
    assert "<b>Bold</b>" not in listing and "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in listing


def test_list_puts_running_first_then_upcoming_then_finished(client, admin_user, team):
    today = timezone.localdate()
    contest(team, name="Old", starts_on=today - timedelta(days=40), ends_on=today - timedelta(days=30))
    contest(team, name="Recent", starts_on=today - timedelta(days=20), ends_on=today - timedelta(days=1))
    contest(team, name="Later", starts_on=today + timedelta(days=10), ends_on=today + timedelta(days=20))
    contest(team, name="Soon", starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=20))
    contest(team, name="Now", starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=4))
    client.force_login(admin_user)
    response = client.get(reverse("competitions:list"))
    assert [e["competition"].name for e in response.context["entries"]] == [
        "Now",
        "Soon",
        "Later",
        "Recent",
        "Old",
    ]
    assert "Running · 5 days left" in response.text


# --- queries -------------------------------------------------------------------------------------------


# session, user, roles, (supervisor: led teams; agent: their agent record), contest, its teams, participants,
# the leaderboard's six (agents, call sums, score sums, previous score sums, sections, overdue follow-ups),
# (admin and supervisor: the viewer's agent record), the nav's unread notices.
QUERIES = {"admin": 14, "supervisor": 15, "agent": 14}


@pytest.mark.parametrize("role", sorted(QUERIES))
@pytest.mark.parametrize("agents", [3, 30])
def test_standings_page_query_count_does_not_grow_with_agents(
    client, admin_user, supervisor, owner_agent, team, agents, role, django_assert_num_queries
):
    card = make_scorecard()
    for _ in range(agents):
        give(card, AgentFactory(team=team), [80, 90, 70, 85, 75])
    refresh()
    competition = contest(team)
    client.force_login({"admin": admin_user, "supervisor": supervisor, "agent": owner_agent.user}[role])
    with django_assert_num_queries(QUERIES[role]):
        response = client.get(reverse("competitions:detail", args=[competition.pk]))
    if role == "agent":
        assert 'data-agent="' not in response.text
        assert "Not ranked yet: 5 more evaluations to be ranked." in response.text
    else:
        assert response.text.count('data-agent="') == agents + 1  # the owner is among the unranked


@pytest.mark.parametrize("contests_count", [2, 12])
def test_list_query_count_does_not_grow_with_contests(
    client, supervisor, team, contests_count, django_assert_num_queries
):
    other = TeamFactory(name="Another")
    for i in range(contests_count):
        contest(team, other, name=f"C{i}")
    client.force_login(supervisor)
    with django_assert_num_queries(7):
        response = client.get(reverse("competitions:list"))
    assert response.text.count("data-competition=") == contests_count


# --- the demo ------------------------------------------------------------------------------------------


def test_seed_demo_adds_a_running_and_a_finished_contest_once():
    options = {"calls": 800, "agents": 4, "days": 21, "seed": 5, "end_date": timezone.localdate()}
    call_command("seed_demo", stdout=StringIO(), **options)
    today = timezone.localdate()
    statuses = sorted(selectors.competition_status(c, today=today)[0] for c in Competition.objects.all())
    assert statuses == ["finished", "running"]
    finished = next(c for c in Competition.objects.all() if c.ends_on < today)
    assert competition_standings(finished, today=today).winners != []
    call_command("seed_demo", stdout=StringIO(), **options)
    assert Competition.objects.count() == 2


# --- cancelling ----------------------------------------------------------------------------------------


def _running(*teams, by):
    today = timezone.localdate()
    return contest(*teams, starts_on=today - timedelta(days=2), ends_on=today + timedelta(days=5), by=by)


def test_supervisor_cancels_a_running_contest_of_their_team(client, supervisor, team, owner_agent):
    competition = _running(team, by=supervisor)
    client.force_login(supervisor)
    page = client.get(reverse("competitions:detail", args=[competition.pk])).text
    assert 'data-testid="cancel-competition"' in page
    response = client.post(reverse("competitions:cancel", args=[competition.pk]))
    assert response.status_code == 302
    competition.refresh_from_db()
    assert competition.cancelled_by == supervisor and competition.cancelled_at is not None
    standings = competition_standings(competition, today=timezone.localdate())
    assert (standings.status, standings.period, standings.rows, standings.unranked) == (
        "cancelled",
        None,
        [],
        [],
    )
    # Its agent sees it cancelled, with no position.
    client.force_login(owner_agent.user)
    html = client.get(reverse("competitions:detail", args=[competition.pk])).text
    assert "Cancelled on" in html and 'data-testid="my-position"' not in html
    assert 'data-testid="cancel-competition"' not in html


def test_cancelled_contests_are_listed_last(client, admin_user, team):
    today = timezone.localdate()
    old = contest(team, name="Old", starts_on=today - timedelta(days=40), ends_on=today - timedelta(days=30))
    called_off = _running(team, by=admin_user)
    Competition.objects.filter(pk=called_off.pk).update(
        name="Called off", cancelled_at=timezone.now(), cancelled_by=admin_user
    )
    client.force_login(admin_user)
    response = client.get(reverse("competitions:list"))
    assert [e["competition"].name for e in response.context["entries"]] == [old.name, "Called off"]
    assert "Cancelled" in response.text


@pytest.mark.parametrize(
    ("who", "status"),
    [("cross-team supervisor", 403), ("agent", 403), ("other_supervisor", 404), ("reviewer", 403)],
)
def test_only_managers_of_every_team_may_cancel(
    client, who, status, supervisor, other_supervisor, owner_agent, reviewer, admin_user, team, other_team
):
    # An admin's contest of both teams: Billing East's supervisor leads only one of them.
    competition = (
        _running(team, other_team, by=admin_user)
        if who != "other_supervisor"
        else _running(team, by=admin_user)
    )
    user = {
        "cross-team supervisor": supervisor,
        "agent": owner_agent.user,
        "other_supervisor": other_supervisor,
        "reviewer": reviewer,
    }[who]
    client.force_login(user)
    assert client.post(reverse("competitions:cancel", args=[competition.pk])).status_code == status
    competition.refresh_from_db()
    assert (competition.cancelled_at, competition.cancelled_by) == (None, None)
    if who == "cross-team supervisor":
        assert (
            'data-testid="cancel-competition"'
            not in client.get(reverse("competitions:detail", args=[competition.pk])).text
        )


def test_a_finished_contest_cannot_be_cancelled_nor_one_twice(client, admin_user, team):
    today = timezone.localdate()
    finished = contest(
        team, starts_on=today - timedelta(days=9), ends_on=today - timedelta(days=1), by=admin_user
    )
    client.force_login(admin_user)
    response = client.post(reverse("competitions:cancel", args=[finished.pk]), follow=True)
    assert "A finished competition stands: it can no longer be cancelled." in response.text
    finished.refresh_from_db()
    assert finished.cancelled_at is None
    running = _running(team, by=admin_user)
    client.post(reverse("competitions:cancel", args=[running.pk]))
    first = Competition.objects.get(pk=running.pk).cancelled_at
    response = client.post(reverse("competitions:cancel", args=[running.pk]), follow=True)
    assert "This competition was already cancelled." in response.text
    assert Competition.objects.get(pk=running.pk).cancelled_at == first
    assert client.get(reverse("competitions:cancel", args=[running.pk])).status_code == 405


def test_database_refuses_a_cancellation_by_nobody(admin_user):
    with pytest.raises(IntegrityError, match="competition_cancelled_by_someone"), transaction.atomic():
        Competition.objects.create(
            name="Half", starts_on=JUNE_1, ends_on=JUNE_30, created_by=admin_user, cancelled_at=timezone.now()
        )
