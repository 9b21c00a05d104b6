"""CSAT and CES (the optional survey answers) per team on the teams page, and as sort keys of the leaderboard:
figures against an independent computation on the raw answers (scipy), dashes without answers, sorting that
changes the order but never the fair rank, missing answers last both ways, a bad sort named, query counts."""

import csv
import io
import re
from datetime import date

import pytest
from django.urls import reverse

from calls.rollups import agent_day_stats_refresh
from scoring.analytics.selectors import Period, leaderboard, team_figures
from scoring.surveys.models import SurveyResponse
from tests.analytics.helpers import at, expected_satisfaction, make_evaluation, make_response, make_scorecard
from tests.factories import AgentFactory, CallFactory, TeamFactory

JUNE = Period("custom", date(2026, 6, 1), date(2026, 6, 30))
QUERY = {"period": "custom", "date_from": "2026-06-01", "date_to": "2026-06-30"}

# Per agent of the supervisor's first team: six QA scores (the fair rank: Dan, Olive, Cara, Tom, as the means
# with equal sample sizes) and the June (CSAT, CES) answers, None where the customer skipped the question.
QA = {
    "dan": [96, 94, 98, 92, 95, 97],
    "owner": [86, 84, 88, 82, 85, 87],
    "cara": [76, 74, 78, 72, 75, 77],
    "mate": [66, 64, 68, 62, 65, 67],
}
ANSWERS = {
    "owner": [(5, 2), (4, 6), (2, None), (3, 3)],  # CSAT 2 of 4 = 50 %, CES (2 + 6 + 3) / 3
    "mate": [(5, 1), (5, None), (4, 2)],  # CSAT 100 %, CES 1.5
    "cara": [(1, 7), (2, 6), (4, 5), (None, 6)],  # CSAT 1 of 3, CES 6
    "dan": [(None, None), (None, None)],  # NPS answers only: no CSAT / CES
}


def team_responses(team):
    """The raw responses a team's figures are made of: primary credit to one of its agents, June calls."""
    return SurveyResponse.objects.filter(
        credits__agent__team=team, credits__is_primary=True, call__started_at__month=6
    )


@pytest.fixture
def sat_world(team, other_team, supervisor, owner_agent, teammate_agent, outsider_agent):
    quiet = TeamFactory(name="Quiet North")
    for led in (other_team, quiet):
        led.supervisors.add(supervisor)
    agents = {
        "owner": owner_agent,
        "mate": teammate_agent,
        "cara": AgentFactory(team=team, name="Cara Third", employee_code="A-CARA"),
        "dan": AgentFactory(team=team, name="Dan None", employee_code="A-DAN"),
    }
    card = make_scorecard()
    for key, agent in agents.items():
        for i, score in enumerate(QA[key]):
            call = CallFactory(agent=agent, started_at=at(3 + i))
            make_evaluation(card, call=call, score=score)
        for i, (csat, ces) in enumerate(ANSWERS[key]):
            call = CallFactory(agent=agent, started_at=at(12 + i, 9))
            make_response(call=call, score=8, csat=csat, ces=ces)
    # Not counted for the first team: a May answer, and a June one whose primary agent is in another team
    # (the owner only took a later leg: a secondary credit).
    make_response(
        call=CallFactory(agent=owner_agent, started_at=at(20).replace(month=5)), score=9, csat=1, ces=7
    )
    make_response(
        call=CallFactory(agent=outsider_agent, started_at=at(15)),
        score=9,
        csat=5,
        ces=4,
        others=[owner_agent],
    )
    # The quiet team has calls and NPS answers, but nobody answered the optional questions.
    make_response(
        call=CallFactory(agent=AgentFactory(team=quiet, name="Quinn Quiet"), started_at=at(9)), score=3
    )
    agent_day_stats_refresh(date_from=date(2026, 4, 1), date_to=date(2026, 7, 31))
    return {"agents": agents, "quiet": quiet}


def _strip(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _cells(html: str, attribute: str, pk: int) -> dict[str, str]:
    """The text of a table row's CSAT / CES cells (tags dropped), by their class."""
    row = re.search(rf'<tr[^>]*{attribute}="{pk}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return {
        kind: _strip(cell)
        for kind, cell in re.findall(r'<td class="num (csat|csat-ci|ces|ces-ci)"[^>]*>(.*?)</td>', row, re.S)
    }


# --- teams page -----------------------------------------------------------------------------------------


def test_team_csat_and_ces_match_scipy_on_the_raw_answers(sat_world, team, other_team):
    rows = {
        r["team_id"]: r
        for r in team_figures(team_ids=[team.pk, other_team.pk, sat_world["quiet"].pk], period=JUNE)
    }

    for each in (team, other_team, sat_world["quiet"]):
        for key, value in expected_satisfaction(team_responses(each)).items():
            assert rows[each.pk][key] == (None if value is None else pytest.approx(value, abs=1e-9)), (
                each,
                key,
            )
    # Hand-checked anchors: the first team's CSAT is 2 + 3 + 1 = 6 satisfied of 4 + 3 + 3 = 10 answers; its CES
    # (11 + 3 + 24) / 9. The other team has the one answer of each (whose call the owner also took a leg of).
    first, other, quiet = rows[team.pk], rows[other_team.pk], rows[sat_world["quiet"].pk]
    assert (first["csat_answers"], first["csat_satisfied"], first["csat"]) == (10, 6, 60.0)
    assert (first["ces_answers"], first["ces"]) == (9, pytest.approx(38 / 9))
    assert (other["csat_answers"], other["csat"], other["ces_answers"], other["ces"]) == (1, 100.0, 1, 4.0)
    assert (other["ces_low"], other["ces_high"]) == (None, None)  # a t-interval needs two answers
    assert (quiet["responses"], quiet["csat_answers"], quiet["csat"], quiet["ces_answers"], quiet["ces"]) == (
        1,
        0,
        None,
        0,
        None,
    )


def test_teams_page_shows_csat_and_ces_with_intervals_and_dashes_without_answers(
    client, sat_world, supervisor, team, other_team
):
    client.force_login(supervisor)
    html = client.get(reverse("analytics:teams"), QUERY).text

    first = expected_satisfaction(team_responses(team))
    assert _cells(html, "data-team", team.pk) == {
        "csat": "60.0% (n=10)",
        "csat-ci": f"{first['csat_low']:.1f} to {first['csat_high']:.1f} small n",
        "ces": f"{38 / 9:.2f} (n=9)",
        "ces-ci": f"{first['ces_low']:.2f} to {first['ces_high']:.2f} small n",
    }
    other = expected_satisfaction(team_responses(other_team))
    assert _cells(html, "data-team", other_team.pk) == {
        "csat": "100.0% (n=1)",
        "csat-ci": f"{other['csat_low']:.1f} to 100.0 small n",
        "ces": "4.00 (n=1)",
        "ces-ci": "—",
    }
    # No answers: dashes, not 0 % or 0.00, while the team's NPS is still shown.
    assert _cells(html, "data-team", sat_world["quiet"].pk) == dict.fromkeys(
        ("csat", "csat-ci", "ces", "ces-ci"), "—"
    )
    assert '<th scope="col" class="num"><abbr title="Customer satisfaction' in html


@pytest.mark.parametrize("teams", [1, 4])
def test_teams_page_query_count_does_not_grow_with_teams(
    client, supervisor, team, teams, django_assert_num_queries
):
    card = make_scorecard()
    for number in range(teams):
        led = team if number == 0 else TeamFactory(name=f"Team {number}")
        led.supervisors.add(supervisor)
        agent = AgentFactory(team=led)
        call = CallFactory(agent=agent, started_at=at(10))
        make_evaluation(card, call=call, score=80)
        make_response(call=call, score=9, csat=4, ces=2)
    agent_day_stats_refresh(date_from=date(2026, 5, 1), date_to=date(2026, 7, 31))
    client.force_login(supervisor)
    # As before CSAT / CES (10): session, user, the user's roles, the filter's teams, the department trend, the
    # team figures (call sums, score sums, open overdue follow-ups, teams) and the nav's unread notice count.
    # The CSAT / CES sums ride on the score sums' GROUP BY: no query of their own.
    with django_assert_num_queries(10):
        response = client.get(reverse("analytics:teams"), QUERY)
    assert response.text.count('data-team="') == teams


# --- leaderboard: sorting by CSAT and CES ------------------------------------------------------------------


def _expected_order(agents: dict, key: str, descending: bool) -> list[int]:
    """Agent ids by the figure computed from the raw answers, agents without answers last (either way)."""
    figures = {
        agent.pk: expected_satisfaction(
            SurveyResponse.objects.filter(
                credits__agent=agent, credits__is_primary=True, call__started_at__month=6
            )
        )[key]
        for agent in agents.values()
    }
    answered = sorted((pk for pk in figures if figures[pk] is not None), key=figures.get, reverse=descending)
    return answered + [pk for pk in figures if figures[pk] is None]


@pytest.mark.parametrize("key", ["csat", "ces"])
@pytest.mark.parametrize("descending", [False, True])
def test_leaderboard_sorts_by_csat_and_ces_with_agents_without_answers_last(sat_world, team, key, descending):
    agents = sat_world["agents"]
    ranked = leaderboard(team_ids=[team.pk], period=JUNE)["rows"]

    rows = leaderboard(team_ids=[team.pk], period=JUNE, sort=key, descending=descending)["rows"]

    assert [r["agent_id"] for r in rows] == _expected_order(agents, key, descending)
    # Hand-checked: CSAT Cara 33 %, Olive 50 %, Tom 100 %; CES Tom 1.5, Olive 3.67, Cara 6; Dan answered neither.
    names = {"csat": ["cara", "owner", "mate"], "ces": ["mate", "owner", "cara"]}[key]
    if descending:
        names = names[::-1]
    assert [r["agent_id"] for r in rows] == [agents[n].pk for n in [*names, "dan"]]
    # Sorting moves rows, never ranks: the fair rank (Dan, Olive, Cara, Tom by QA) stays each agent's own.
    assert (
        {r["agent_id"]: r["rank"] for r in rows}
        == {r["agent_id"]: r["rank"] for r in ranked}
        == {agents[n].pk: rank for rank, n in enumerate(["dan", "owner", "cara", "mate"], start=1)}
    )


def test_page_csv_and_api_sort_by_csat_alike_keeping_each_agents_rank(
    client, sat_world, supervisor, team, django_assert_num_queries
):
    agents = sat_world["agents"]
    rank = {agents[n].pk: r for r, n in enumerate(["dan", "owner", "cara", "mate"], start=1)}
    expected = [agents[n].pk for n in ("mate", "owner", "cara", "dan")]  # CSAT 100, 50, 33 %, no answers
    query = {**QUERY, "team": team.pk, "sort": "csat", "dir": "desc"}
    client.force_login(supervisor)

    # The same 11 queries as the unsorted page: the sort is over the rows the page already has.
    with django_assert_num_queries(11):
        html = client.get(reverse("analytics:leaderboard"), query).text
    shown = [int(pk) for pk in re.findall(r'data-agent="(\d+)"', html)]
    assert shown == expected
    ranks = [
        _strip(re.search(rf'data-agent="{pk}">\s*<td class="num">(.*?)</td>', html, re.S).group(1))
        for pk in shown
    ]
    assert ranks == [str(rank[pk]) for pk in shown]
    header = re.search(r'<th scope="col" class="num" aria-sort="(\w+)"><a [^>]*data-sort="csat">', html)
    assert header.group(1) == "descending"
    assert 'aria-sort="none"><a href="?' in html and "sort=ces&amp;dir=asc" in html
    # The active column's link turns the order round; the CES header's starts ascending.
    assert f"team={team.pk}&amp;sort=csat&amp;dir=asc" in html

    exported = list(csv.DictReader(io.StringIO(client.get(reverse("analytics:leaderboard-csv"), query).text)))
    by_code = {a.employee_code: a.pk for a in agents.values()}
    assert [by_code[r["employee_code"]] for r in exported] == expected
    assert [r["rank"] for r in exported] == [str(rank[pk]) for pk in expected]
    assert [r["csat"] for r in exported] == ["100.0", "50.0", "33.3", ""]

    results = client.get(reverse("analytics:api-leaderboard"), query).json()["results"]
    assert [(r["agent_id"], r["rank"]) for r in results] == [(pk, rank[pk]) for pk in expected]


def test_an_unknown_sort_is_named_on_the_page_and_refused_by_the_api(client, sat_world, supervisor):
    client.force_login(supervisor)
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get(reverse("analytics:leaderboard"), {**QUERY, "sort": "csat_low"}, headers=headers)
        assert page.status_code == 200
        assert "Sort: Select a valid choice. csat_low is not one of the available choices." in page.text
    api = client.get(reverse("analytics:api-leaderboard"), {**QUERY, "sort": "csat_low"})
    assert api.status_code == 400
    assert api.json() == {"sort": ["Select a valid choice. csat_low is not one of the available choices."]}
