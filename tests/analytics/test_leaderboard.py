"""Leaderboard figures against an independent computation, fair ranking, permissions, CSV, API, queries."""

import csv
import importlib
import io
import math
import re
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from scipy.stats import f_oneway, norm

from calls.models import Team
from calls.rollups import agent_day_stats_refresh
from scoring.analytics.selectors import Period, leaderboard, team_figures
from scoring.followups.models import FollowUpCase
from tests.analytics.helpers import at, expected_satisfaction, make_evaluation, make_response, make_scorecard
from tests.factories import AgentFactory, CallFactory, EscalationFactory, TeamFactory, TransferFactory
from tests.followups.conftest import make_detractor

JUNE = Period("custom", date(2026, 6, 1), date(2026, 6, 30))
QUERY = {"period": "custom", "date_from": "2026-06-01", "date_to": "2026-06-30"}
Z = norm.ppf(0.975)


def refresh():
    agent_day_stats_refresh(date_from=date(2026, 4, 1), date_to=date(2026, 7, 31))


def give(card, agent, scores, *, day=10, nps=(), transferred=0, escalated=0, unresolved=0):
    """One call per evaluation score (plus extra calls for NPS answers), all on June `day`."""
    calls = []
    for i, score in enumerate(scores):
        call = CallFactory(
            agent=agent, started_at=at(day, 8 + i % 10), talk_seconds=100 + i, is_resolved=i >= unresolved
        )
        make_evaluation(card, call=call, score=score, sections={"Greeting": min(100, score + 5)})
        calls.append(call)
    for answer in nps:
        call = CallFactory(agent=agent, started_at=at(day, 20))
        make_response(call=call, score=answer)
        calls.append(call)
    for call in calls[:transferred]:
        TransferFactory(call=call, sequence=1)
    for call in calls[:escalated]:
        EscalationFactory(call=call)
    return calls


@pytest.fixture
def board_world(team, other_team, supervisor, owner_agent, teammate_agent, outsider_agent):
    card = make_scorecard()
    give(
        card,
        owner_agent,
        [90, 80, 100, 70, 85, 95],
        nps=[10, 9, 8, 3, 10],
        transferred=2,
        escalated=1,
        unresolved=1,
    )
    give(card, teammate_agent, [60, 75, 65, 80, 70], nps=[6, 7, 10], transferred=1)
    give(card, outsider_agent, [99, 98, 97, 96, 95, 94], nps=[10])
    # May (the previous period of the same length): the teammate was ahead of the owner.
    may_owner = [
        CallFactory(agent=owner_agent, started_at=at(1, 8).replace(month=5, day=20)) for _ in range(5)
    ]
    may_mate = [
        CallFactory(agent=teammate_agent, started_at=at(1, 8).replace(month=5, day=20)) for _ in range(5)
    ]
    for call in may_owner:
        make_evaluation(card, call=call, score=50)
    for call in may_mate:
        make_evaluation(card, call=call, score=90)
    refresh()
    return card


def moments_k(groups: list[list[float]]) -> float:
    """The shrinkage prior weight k = σ²_within / τ²_between from scipy's one-way ANOVA F statistic:
    τ² = (MSB − MSW) / n0 gives k = n0 / (F − 1), with n0 = (N − Σn²/N) / (m − 1)."""
    total = sum(len(g) for g in groups)
    n0 = (total - sum(len(g) ** 2 for g in groups) / total) / (len(groups) - 1)
    return n0 / (f_oneway(*groups).statistic - 1)


def independent(agent, team_agents, k, min_n):
    """Plain-Python figures for one agent from the raw rows (June, call-start days); k=None: estimated."""
    from scoring.models import Evaluation
    from scoring.surveys.models import SurveyResponse

    def evals(a):
        return [
            float(e.score)
            for e in Evaluation.objects.filter(
                agent=a, kind="review", is_current=True, status="submitted", call__started_at__month=6
            )
        ]

    mine = evals(agent)
    if k is None:
        k = moments_k([evals(a) for a in team_agents])
    team_scores = [s for a in team_agents for s in evals(a)]
    team_mean = sum(team_scores) / len(team_scores)
    shrunk = (sum(mine) + k * team_mean) / (len(mine) + k)
    within = [(s - sum(evals(a)) / len(evals(a))) ** 2 for a in team_agents for s in evals(a)]
    within_var = sum(within) / (len(team_scores) - len(team_agents))
    lower = shrunk - Z * math.sqrt(within_var / (len(mine) + k))
    answers = [r.score for r in SurveyResponse.objects.filter(credits__agent=agent, credits__is_primary=True)]
    n = len(answers)
    p = sum(a >= 9 for a in answers) / n
    d = sum(a <= 6 for a in answers) / n
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / n)
    calls = list(agent.calls.filter(started_at__month=6))
    # FCR over identified callers' calls (each factory call has its own customer: no repeat contact).
    identified = [c for c in calls if c.customer_id is not None]
    return {
        "qa_mean": sum(mine) / len(mine),
        "qa_shrunk": shrunk,
        "qa_lower": lower,
        "evaluations": len(mine),
        "nps": 100 * (p - d),
        "nps_low": max(-100, 100 * (p - d) - Z * se),
        "nps_high": min(100, 100 * (p - d) + Z * se),
        "responses": n,
        "calls": len(calls),
        "average_handle_seconds": sum(c.talk_seconds + c.hold_seconds + c.wrap_seconds for c in calls)
        / len(calls),
        "transfer_rate": sum(c.transfers.exists() for c in calls) / len(calls),
        "escalation_rate": sum(c.escalations.exists() for c in calls) / len(calls),
        "identified_calls": len(identified),
        "fcr_rate": sum(c.is_resolved and not c.transfers.exists() for c in identified) / len(identified),
        "is_ranked": len(mine) >= min_n,
    }


def test_leaderboard_figures_match_an_independent_computation(
    board_world, team, owner_agent, teammate_agent, settings
):
    board = leaderboard(team_ids=[team.pk], period=JUNE)
    rows = {r["agent_id"]: r for r in board["rows"]}
    assert set(rows) == {owner_agent.pk, teammate_agent.pk}
    for agent in (owner_agent, teammate_agent):
        expected = independent(agent, [owner_agent, teammate_agent], None, settings.ANALYTICS_MIN_EVALUATIONS)
        for key, value in expected.items():
            assert rows[agent.pk][key] == pytest.approx(value, abs=1e-9), key
        assert rows[agent.pk]["shrinkage_k_is_estimated"] is True
    # F ≈ 8.18 for these two agents: k = n0 / (F − 1) ≈ 0.76, far below the fallback constant of 10.
    assert rows[owner_agent.pk]["shrinkage_k"] == pytest.approx(
        moments_k([[90, 80, 100, 70, 85, 95], [60, 75, 65, 80, 70]])
    )
    # With estimation off, the documented constant is used.
    settings.ANALYTICS_SHRINKAGE_K_ESTIMATE = False
    rows = {r["agent_id"]: r for r in leaderboard(team_ids=[team.pk], period=JUNE)["rows"]}
    for agent in (owner_agent, teammate_agent):
        expected = independent(
            agent,
            [owner_agent, teammate_agent],
            settings.ANALYTICS_SHRINKAGE_K,
            settings.ANALYTICS_MIN_EVALUATIONS,
        )
        for key in ("qa_shrunk", "qa_lower"):
            assert rows[agent.pk][key] == pytest.approx(expected[key], abs=1e-9), key
    # Hand-checked anchors of the fixed dataset.
    owner = rows[owner_agent.pk]
    assert owner["qa_mean"] == pytest.approx(520 / 6)
    assert (owner["evaluations"], owner["responses"], owner["nps"]) == (6, 5, 40.0)
    assert owner["sections"] == [pytest.approx((95 + 85 + 100 + 75 + 90 + 100) / 6)]
    assert board["section_titles"] == ["Greeting"]


def test_open_overdue_follow_ups_are_shown_beside_those_closed_in_sla(
    client, board_world, team, supervisor, owner_agent, teammate_agent
):
    """Closed-within-SLA over closed cases alone reads as perfect while the late cases are still open: the
    open overdue ones of the period's calls are counted beside it, per agent and per team."""
    importlib.import_module("scoring.followups.migrations.0002_defaults").create_defaults(apps, None)
    late = make_detractor(agent=owner_agent, started_at=at(12, 9))
    not_yet = make_detractor(agent=teammate_agent, started_at=at(12, 10))
    FollowUpCase.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    FollowUpCase.objects.filter(pk=not_yet.pk).update(due_at=timezone.now() + timedelta(hours=2))
    expected = {
        agent.pk: FollowUpCase.objects.filter(
            status="open",
            due_at__lte=timezone.now(),
            response__call__started_at__month=6,
            response__credits__is_primary=True,
            response__credits__agent=agent,
        ).count()
        for agent in (owner_agent, teammate_agent)
    }
    assert sorted(expected.values()) == [0, 1]

    rows = {r["agent_id"]: r for r in leaderboard(team_ids=[team.pk], period=JUNE)["rows"]}
    teams = team_figures(team_ids=[team.pk], period=JUNE)

    assert {pk: rows[pk]["followups_open_overdue"] for pk in expected} == expected
    assert [t["followups_open_overdue"] for t in teams] == [1]
    client.force_login(supervisor)
    page = client.get(reverse("analytics:leaderboard"), QUERY)
    assert page.text.count("+1 overdue") == 1
    api = client.get(reverse("analytics:api-leaderboard"), QUERY).json()["results"]
    assert {r["agent_id"]: r["followups_open_overdue"] for r in api} == expected
    exported = csv.DictReader(io.StringIO(client.get(reverse("analytics:leaderboard-csv"), QUERY).text))
    assert {row["employee_code"]: row["followups_open_overdue"] for row in exported} == {
        owner_agent.employee_code: "1",
        teammate_agent.employee_code: "0",
    }


def test_ranks_and_movement_since_the_previous_period(board_world, team, owner_agent, teammate_agent):
    rows = {r["agent_id"]: r for r in leaderboard(team_ids=[team.pk], period=JUNE)["rows"]}
    assert (rows[owner_agent.pk]["rank"], rows[teammate_agent.pk]["rank"]) == (1, 2)
    assert (rows[owner_agent.pk]["previous_rank"], rows[teammate_agent.pk]["previous_rank"]) == (2, 1)
    assert (rows[owner_agent.pk]["movement"], rows[teammate_agent.pk]["movement"]) == (1, -1)


def test_two_perfect_evaluations_do_not_outrank_two_hundred_at_95(db, settings):
    team = TeamFactory(name="Fairness")
    card = make_scorecard()
    lucky, steady, others = AgentFactory(team=team), AgentFactory(team=team), AgentFactory(team=team)
    give(card, lucky, [100, 100])
    give(card, steady, [90, 100] * 100)  # mean 95 over 200
    give(card, others, [80] * 10)
    refresh()
    rows = {r["agent_id"]: r for r in leaderboard(team_ids=[team.pk], period=JUNE)["rows"]}
    assert rows[lucky.pk]["is_ranked"] is False and rows[lucky.pk]["rank"] is None  # below the minimum sample
    assert rows[steady.pk]["rank"] == 1
    # Even with no minimum sample, shrinkage + the lower bound keep the 2-evaluation agent below.
    settings.ANALYTICS_MIN_EVALUATIONS = 1
    rows = {r["agent_id"]: r for r in leaderboard(team_ids=[team.pk], period=JUNE)["rows"]}
    assert rows[lucky.pk]["qa_mean"] == 100.0
    assert rows[steady.pk]["rank"] < rows[lucky.pk]["rank"]


def test_a_team_whose_agents_differ_no_more_than_noise_is_pooled_fully(client, team, supervisor, settings):
    """Means 81.7, 78.3 and 80 against a within-agent variance of 272: τ² ≤ 0, so k is infinite and every
    fair score is the team mean (the agents tie) instead of falling back to the constant k = 10."""
    settings.ANALYTICS_MIN_EVALUATIONS = 1
    card = make_scorecard()
    agents = [AgentFactory(team=team) for _ in range(3)]
    for agent, scores in zip(agents, ([60, 100, 85], [100, 60, 75], [80, 80, 80]), strict=True):
        give(card, agent, scores)
    refresh()

    rows = {r["agent_id"]: r for r in leaderboard(team_ids=[team.pk], period=JUNE)["rows"]}

    assert [rows[a.pk]["qa_mean"] for a in agents] == [pytest.approx(245 / 3), pytest.approx(235 / 3), 80.0]
    assert [(rows[a.pk]["qa_shrunk"], rows[a.pk]["qa_lower"], rows[a.pk]["rank"]) for a in agents] == [
        (80.0, 80.0, 1)
    ] * 3
    assert moments_k([[60, 100, 85], [100, 60, 75], [80, 80, 80]]) < 0  # τ² < 0: no finite estimate
    client.force_login(supervisor)
    api = client.get(reverse("analytics:api-leaderboard"), QUERY).json()["results"]
    assert {r["shrinkage_k"] for r in api} == {None}


def test_supervisor_sees_only_their_teams_even_when_asking_for_another(
    client, board_world, supervisor, other_team
):
    client.force_login(supervisor)
    page = client.get(reverse("analytics:leaderboard"), QUERY)
    assert page.status_code == 200
    assert "Olive Owner" in page.text and "Tom Mate" in page.text and "Otto Outsider" not in page.text
    foreign = client.get(reverse("analytics:leaderboard"), {**QUERY, "team": other_team.pk})
    assert "Otto Outsider" not in foreign.text
    api = client.get(reverse("analytics:api-leaderboard"), {**QUERY, "team": other_team.pk})
    assert api.status_code == 400
    api = client.get(reverse("analytics:api-leaderboard"), QUERY)
    assert sorted(r["name"] for r in api.json()["results"]) == ["Olive Owner", "Tom Mate"]


def test_agents_cannot_open_leaderboards_or_the_api(client, board_world, owner_agent):
    client.force_login(owner_agent.user)
    for name in (
        "analytics:leaderboard",
        "analytics:leaderboard-csv",
        "analytics:api-leaderboard",
        "analytics:teams",
        "analytics:drivers",
        "analytics:transfers",
    ):
        assert client.get(reverse(name), QUERY).status_code == 403, name


def test_htmx_request_gets_only_the_results_partial(client, board_world, supervisor):
    client.force_login(supervisor)
    full = client.get(reverse("analytics:leaderboard"), QUERY)
    partial = client.get(
        reverse("analytics:leaderboard"), {**QUERY, "sort": "nps", "dir": "desc"}, HTTP_HX_REQUEST="true"
    )
    assert "<html" in full.text and "<html" not in partial.text
    assert partial.text.index("Olive Owner") < partial.text.index("Tom Mate")  # NPS 40 before −0
    ascending = client.get(
        reverse("analytics:leaderboard"), {**QUERY, "sort": "nps", "dir": "asc"}, HTTP_HX_REQUEST="true"
    )
    assert ascending.text.index("Tom Mate") < ascending.text.index("Olive Owner")


def test_csv_export_neutralises_formulas(client, board_world, supervisor, owner_agent, teammate_agent):
    owner_agent.name = '=HYPERLINK("http://evil","x")'
    owner_agent.save()
    teammate_agent.name = "@SUM(A1)"
    teammate_agent.save()
    client.force_login(supervisor)
    response = client.get(reverse("analytics:leaderboard-csv"), QUERY)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(r["agent"] for r in rows) == ['\'=HYPERLINK("http://evil","x")', "'@SUM(A1)"]
    owner = next(r for r in rows if r["agent"].startswith("'="))
    assert (owner["rank"], owner["evaluations"], owner["nps"]) == ("1", "6", "40.0")


@pytest.mark.parametrize("agents", [3, 30])
def test_leaderboard_query_count_does_not_grow_with_agents(
    client, supervisor, team, agents, django_assert_num_queries
):
    card = make_scorecard()
    for _ in range(agents):
        give(card, AgentFactory(team=team), [80, 90], nps=[9])
    refresh()
    client.force_login(supervisor)
    # 10 for the page, + 1: the nav's unread notice count (scoring.notices.context_processors).
    # Exactly, not at most: the CSAT / CES columns ride on the score sums' GROUP BY, no query of their own.
    with django_assert_num_queries(11):
        response = client.get(reverse("analytics:leaderboard"), QUERY)
    assert response.text.count('data-agent="') == agents


def test_leaderboard_pages_keep_ranks_over_every_agent(client, supervisor, team, settings):
    settings.ANALYTICS_LEADERBOARD_PAGE_SIZE = 5
    card = make_scorecard()
    agents = [AgentFactory(team=team, name=f"Paged {i:02d}") for i in range(12)]
    for i, agent in enumerate(agents):
        give(card, agent, [40 + 5 * i] * 6)  # agent 11 best, agent 0 worst
    refresh()
    client.force_login(supervisor)
    expected = {r["agent_id"]: r["rank"] for r in leaderboard(team_ids=[team.pk], period=JUNE)["rows"]}
    seen = {}
    for page in (1, 2, 3):
        response = client.get(reverse("analytics:leaderboard"), {**QUERY, "page": page})
        text = response.text
        shown = [int(part.split('"')[0]) for part in text.split('data-agent="')[1:]]
        assert len(shown) == (5 if page < 3 else 2)
        seen.update(dict.fromkeys(shown, page))
        assert f"Page {page} of 3 · 12 results" in text
    assert set(seen) == set(expected)
    assert seen[agents[11].pk] == 1 and seen[agents[0].pk] == 3  # rank 1 on page 1, rank 12 on page 3
    assert expected[agents[11].pk] == 1 and expected[agents[0].pk] == 12
    # Sorting links and agent links drop the page number; the next-page link keeps the filters and sort.
    second = client.get(reverse("analytics:leaderboard"), {**QUERY, "sort": "name", "page": 2}).text
    assert "page=2&amp;sort" not in second and "&amp;page=2" not in second.split("<nav")[0]
    assert 'rel="next"' in second and "sort=name&amp;page=3" in second


def satisfaction(agent) -> dict:
    """CSAT / CES from the raw responses: primary credits of the agent, calls started in June."""
    from scoring.surveys.models import SurveyResponse

    return expected_satisfaction(
        SurveyResponse.objects.filter(
            credits__agent=agent, credits__is_primary=True, call__started_at__month=6
        )
    )


def _cell(html: str, agent_id: int, kind: str) -> str:
    row = re.search(rf'<tr[^>]*data-agent="{agent_id}">(.*?)</tr>', html, re.S).group(1)
    return re.sub(r"<[^>]+>", "", re.search(rf'<td class="num {kind}"[^>]*>(.*?)</td>', row, re.S).group(1))


def test_csat_and_ces_are_shown_per_agent_without_changing_the_ranking(
    client, board_world, team, supervisor, owner_agent, teammate_agent
):
    before = leaderboard(team_ids=[team.pk], period=JUNE)["rows"]
    # The owner's June answers (some answer only one of the two questions) ...
    for csat, ces in [(5, 2), (4, None), (2, 6), (None, 1), (3, 3), (4, 2)]:
        make_response(call=CallFactory(agent=owner_agent, started_at=at(12, 9)), score=8, csat=csat, ces=ces)
    # ... not a secondary credit (the teammate's leg of the owner's call), nor a May call.
    make_response(
        call=CallFactory(agent=owner_agent, started_at=at(13, 9)),
        score=9,
        csat=1,
        ces=7,
        others=[teammate_agent],
    )
    make_response(
        call=CallFactory(agent=owner_agent, started_at=at(1, 8).replace(month=5, day=20)),
        score=9,
        csat=1,
        ces=7,
    )
    refresh()

    after = leaderboard(team_ids=[team.pk], period=JUNE)["rows"]
    assert [(r["agent_id"], r["rank"], r["qa_lower"]) for r in after] == [
        (r["agent_id"], r["rank"], r["qa_lower"]) for r in before
    ]
    rows = {r["agent_id"]: r for r in after}
    for agent in (owner_agent, teammate_agent):
        for key, value in satisfaction(agent).items():
            assert rows[agent.pk][key] == (None if value is None else pytest.approx(value, abs=1e-9)), key
    # Hand-checked anchors: the owner's CSAT is 3 of 6 answers at 4–5 (the June 13 answer counts: the owner's
    # primary leg), CES (2 + 6 + 1 + 3 + 2 + 7) / 6 = 3.5; the teammate has NPS answers but no CSAT / CES ones.
    owner, mate = rows[owner_agent.pk], rows[teammate_agent.pk]
    assert (owner["csat_answers"], owner["csat"], owner["ces_answers"], owner["ces"]) == (
        6,
        50.0,
        6,
        3.5,
    )
    assert (mate["responses"], mate["csat_answers"], mate["csat"], mate["ces_answers"], mate["ces"]) == (
        3,
        0,
        None,
        0,
        None,
    )

    client.force_login(supervisor)
    page = client.get(reverse("analytics:leaderboard"), QUERY).text
    assert _cell(page, owner_agent.pk, "csat") == "50.0% (n=6)"
    assert _cell(page, owner_agent.pk, "ces") == "3.50 (n=6)"
    assert _cell(page, teammate_agent.pk, "csat") == _cell(page, teammate_agent.pk, "ces") == "—"

    exported = list(csv.DictReader(io.StringIO(client.get(reverse("analytics:leaderboard-csv"), QUERY).text)))
    by_agent = {r["agent"]: r for r in exported}
    assert [by_agent[owner_agent.name][k] for k in ("csat", "csat_answers", "ces", "ces_answers")] == [
        "50.0",
        "6",
        "3.5",
        "6",
    ]
    assert [by_agent[teammate_agent.name][k] for k in ("csat", "csat_answers", "ces", "ces_answers")] == [
        "",
        "0",
        "",
        "0",
    ]

    results = {
        r["agent_id"]: r for r in client.get(reverse("analytics:api-leaderboard"), QUERY).json()["results"]
    }
    for agent in (owner_agent, teammate_agent):
        for key, value in satisfaction(agent).items():
            assert results[agent.pk][key] == (None if value is None else pytest.approx(value, abs=1e-9)), key


# --- CSV: an invalid filter is refused, a valid one unchanged ----------------------------------------------

CSV_HEADER = (
    "rank,movement,agent,employee_code,team,calls,identified_calls,average_handle_seconds,fcr_rate,transfer_rate,"
    "escalation_rate,qa_mean,qa_shrunk,evaluations,nps,nps_low,nps_high,responses,csat,csat_answers,ces,"
    "ces_answers,followups_closed,followups_closed_within_sla,followups_open_overdue,section: Greeting"
)


def test_a_valid_csv_export_is_the_same_file_as_before_invalid_filters_were_refused(
    client, board_world, supervisor, team, owner_agent, teammate_agent, settings
):
    """The rows are those the export gave for this query before invalid filters were refused (byte for byte),
    and each figure in them is the independent computation's, rounded as the file rounds."""
    rows = {
        "owner": "1,1,Olive Owner,A-OWNER,Billing East,11,11,192.3,0.8182,0.1818,0.0909,86.67,85.82,6,40.0,-30.1,"
        "100.0,5,,0,,0,0,0,0,90.83",
        "mate": "2,-1,Tom Mate,A-MATE,Billing East,8,8,176.2,0.875,0.125,0.0,70.0,71.2,5,0.0,-92.4,92.4,3,,0,,0,0,0,0,"
        "75.0",
    }
    # The figures behind those rows, from the raw calls, evaluations and answers.
    sections = {
        owner_agent.pk: (95 + 85 + 100 + 75 + 90 + 100) / 6,
        teammate_agent.pk: (65 + 80 + 70 + 85 + 75) / 5,
    }
    for key, agent, (rank, movement) in (("owner", owner_agent, (1, 1)), ("mate", teammate_agent, (2, -1))):
        e = independent(agent, [owner_agent, teammate_agent], None, settings.ANALYTICS_MIN_EVALUATIONS)
        computed = [rank, movement, agent.name, agent.employee_code, "Billing East", e["calls"]]
        computed += [e["identified_calls"], round(e["average_handle_seconds"], 1)]
        computed += [round(e[k], 4) for k in ("fcr_rate", "transfer_rate", "escalation_rate")]
        computed += [round(e["qa_mean"], 2), round(e["qa_shrunk"], 2), e["evaluations"]]
        computed += [round(float(e[k]), 1) for k in ("nps", "nps_low", "nps_high")] + [e["responses"]]
        computed += ["", 0, "", 0, 0, 0, 0, round(sections[agent.pk], 2)]  # no CSAT / CES, no follow-ups
        assert ",".join(str(v) for v in computed) == rows[key], key
    client.force_login(supervisor)

    for query, order in (
        (QUERY, ["owner", "mate"]),
        ({**QUERY, "team": team.pk, "sort": "nps", "dir": "desc"}, ["owner", "mate"]),
        ({**QUERY, "sort": "rank", "dir": "desc"}, ["mate", "owner"]),  # no unranked agent: plainly reversed
    ):
        response = client.get(reverse("analytics:leaderboard-csv"), query)

        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert (
            response["Content-Disposition"] == 'attachment; filename="leaderboard-2026-06-01-2026-06-30.csv"'
        )
        assert response.content.decode() == "".join(
            f"{line}\r\n" for line in [CSV_HEADER, *map(rows.get, order)]
        )


def test_a_csv_without_filters_is_still_the_default_period(client, board_world, supervisor):
    """No query string at all is not an invalid form: the link from a fresh page gives the last 30 days."""
    client.force_login(supervisor)
    today = timezone.localdate()

    response = client.get(reverse("analytics:leaderboard-csv"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="leaderboard-{today - timedelta(days=29)}-{today}.csv"'
    )
    assert response.content.decode() == CSV_HEADER.rsplit(",", 1)[0] + "\r\n"  # June is not in it


def _bad_filters(other_team):
    """(query, the CSV's expected body) for each kind of invalid filter, then several at once."""
    unknown = Team.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1  # no such team
    return [
        (
            {"sort": "csat_low"},
            "sort: Select a valid choice. csat_low is not one of the available choices.\n",
        ),
        ({"dir": "down"}, "dir: Select a valid choice. down is not one of the available choices.\n"),
        (
            {"period": "forever"},
            "period: Select a valid choice. forever is not one of the available choices.\n",
        ),
        (
            {"date_from": "2026-06-30", "date_to": "2026-06-01"},
            "date_from: The range starts after it ends.\n",
        ),
        (
            {"date_from": "2026-06-31"},
            "date_from: Enter a valid date.\n",
        ),
        (
            {"date_from": "2025-01-01", "date_to": "2026-06-30"},
            "date_to: A custom range is at most 366 days.\n",
        ),
        ({"team": unknown}, f"team: Select a valid choice. {unknown} is not one of the available choices.\n"),
        (  # a team that exists, led by someone else
            {"team": other_team.pk},
            f"team: Select a valid choice. {other_team.pk} is not one of the available choices.\n",
        ),
        ({"team": "east"}, "team: Select a valid choice. east is not one of the available choices.\n"),
        (
            {"team": other_team.pk, "sort": "rnak", "dir": "desc", "date_to": "2026-05-01"},
            f"team: Select a valid choice. {other_team.pk} is not one of the available choices.\n"
            "sort: Select a valid choice. rnak is not one of the available choices.\n"
            "date_from: The range starts after it ends.\n",
        ),
        (  # a value with a line break of its own cannot add a line that reads as another field's error
            {"sort": "x\nteam: fine"},
            "sort: Select a valid choice. x team: fine is not one of the available choices.\n",
        ),
    ]


def test_the_csv_refuses_each_invalid_filter_with_400_naming_the_field(
    client, board_world, supervisor, other_team
):
    """Before, the file held the default filters' figures (the last 30 days, all the supervisor's teams) under
    a name that looked like an answer. Now: 400, one `field: message` line per error, as the API's 400 says."""
    client.force_login(supervisor)
    for bad, body in _bad_filters(other_team):
        query = {**QUERY, **bad}

        response = client.get(reverse("analytics:leaderboard-csv"), query)

        assert (response.status_code, response["Content-Type"], response.content.decode()) == (
            400,
            "text/plain; charset=utf-8",
            body,
        ), bad
        assert "Content-Disposition" not in response
        api = client.get(reverse("analytics:api-leaderboard"), query)
        assert api.status_code == 400
        api_lines = [f"{field}: {' '.join(m.splitlines())}" for field, ms in api.json().items() for m in ms]
        assert body.splitlines() == api_lines, bad
    # The page keeps showing the default figures beside the error message (it can: the message is on screen).
    page = client.get(reverse("analytics:leaderboard"), {**QUERY, "sort": "csat_low"})
    assert page.status_code == 200 and "Sort: Select a valid choice." in page.text


# --- rank descending: unranked agents last ------------------------------------------------------------------


@pytest.fixture
def unranked_world(team, supervisor):
    """Four ranked agents with six evaluations each and the same spread (so their fair ranks follow their means:
    the same n, k and team mean shrink each alike, and the lower bound is the same distance below), and three
    unranked ones below the minimum of five: two evaluations at 100 (the best mean), one at 50, none at all."""
    card = make_scorecard()
    ranked = {}
    for name, base in (("Rita Fourth", 65), ("Bob First", 95), ("Nell Third", 75), ("Gus Second", 85)):
        ranked[name] = AgentFactory(team=team, name=name, employee_code=f"R-{name[:3].upper()}")
        give(card, ranked[name], [base + d for d in (1, -1, 3, -3, 0, 2)])
    unranked = {
        "Zoe Few": AgentFactory(team=team, name="Zoe Few", employee_code="U-ZOE"),
        "Ann Few": AgentFactory(team=team, name="Ann Few", employee_code="U-ANN"),
        "Carl Calls": AgentFactory(team=team, name="Carl Calls", employee_code="U-CARL"),
    }
    give(card, unranked["Zoe Few"], [50])
    give(card, unranked["Ann Few"], [100, 100])
    CallFactory(agent=unranked["Carl Calls"], started_at=at(10, 9))  # calls but no evaluation
    refresh()
    return {"ranked": ranked, "unranked": unranked}


BEST_FIRST = ["Bob First", "Gus Second", "Nell Third", "Rita Fourth"]
UNRANKED_BY_NAME = ["Ann Few", "Carl Calls", "Zoe Few"]


@pytest.mark.parametrize(
    ("descending", "expected"),
    [(False, BEST_FIRST + UNRANKED_BY_NAME), (True, BEST_FIRST[::-1] + UNRANKED_BY_NAME)],
)
def test_unranked_agents_come_last_by_rank_in_both_directions(unranked_world, team, descending, expected):
    agents = unranked_world["ranked"] | unranked_world["unranked"]

    rows = leaderboard(team_ids=[team.pk], period=JUNE, sort="rank", descending=descending)["rows"]

    assert [r["agent_id"] for r in rows] == [agents[name].pk for name in expected]
    ranks = {r["agent_id"]: r["rank"] for r in rows}
    assert [ranks[agents[name].pk] for name in BEST_FIRST] == [1, 2, 3, 4]
    assert [ranks[agents[name].pk] for name in UNRANKED_BY_NAME] == [None, None, None]


def test_page_csv_and_api_sort_by_rank_descending_alike_with_unranked_agents_last(
    client, unranked_world, supervisor, team, django_assert_num_queries
):
    agents = unranked_world["ranked"] | unranked_world["unranked"]
    expected = BEST_FIRST[::-1] + UNRANKED_BY_NAME
    rank = {name: str(number) for number, name in enumerate(BEST_FIRST, start=1)}
    query = {**QUERY, "sort": "rank", "dir": "desc"}
    client.force_login(supervisor)

    # The same 11 queries as the unsorted page (test_leaderboard_query_count_does_not_grow_with_agents).
    with django_assert_num_queries(11):
        html = client.get(reverse("analytics:leaderboard"), query).text
    shown = [int(pk) for pk in re.findall(r'data-agent="(\d+)"', html)]
    assert shown == [agents[name].pk for name in expected]
    cells = [
        re.sub(
            r"<[^>]+>",
            "",
            re.search(rf'data-agent="{agents[name].pk}">\s*<td class="num">(.*?)</td>', html, re.S)[1],
        )
        for name in expected
    ]
    assert cells == ["4", "3", "2", "1", "—", "—", "—"]
    assert re.search(r'<tr class="unranked muted" data-agent="(\d+)"', html)[1] == str(agents["Ann Few"].pk)

    exported = list(csv.DictReader(io.StringIO(client.get(reverse("analytics:leaderboard-csv"), query).text)))
    assert [(r["agent"], r["rank"]) for r in exported] == [(name, rank.get(name, "")) for name in expected]

    results = client.get(reverse("analytics:api-leaderboard"), query).json()["results"]
    assert [(r["name"], r["rank"], r["is_ranked"]) for r in results] == [
        (name, int(rank[name]) if name in rank else None, name in rank) for name in expected
    ]
