"""Agent page, teams, NPS drivers and transfers: permissions and figures against independent computations."""

import math
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from scipy.stats import norm, pearsonr, spearmanr

from calls.rollups import agent_day_stats_refresh
from scoring.analytics.metrics import correlation_interval, nps_difference
from scoring.analytics.selectors import Period, agent_overview, nps_drivers, team_figures, transfer_analysis
from tests.analytics.helpers import at, make_evaluation, make_response, make_scorecard
from tests.factories import CallFactory, DepartmentFactory, EscalationFactory, TransferFactory

JUNE = Period("custom", date(2026, 6, 1), date(2026, 6, 30))
QUERY = {"period": "custom", "date_from": "2026-06-01", "date_to": "2026-06-30"}
Z = norm.ppf(0.975)

# (QA score, greet passed?, 0–10 answer, transfers, escalated, resolved)
ROWS = [
    (95, 1, 10, 0, False, True),
    (90, 1, 9, 0, False, True),
    (85, 1, 10, 1, False, True),
    (70, 0, 6, 0, True, False),
    (60, 0, 3, 2, False, False),
    (88, 1, 8, 0, False, True),
    (40, 0, 2, 3, True, False),
    (75, 1, 7, 1, False, True),
    (99, 1, 9, 0, False, True),
    (55, 0, 9, 0, False, True),
]


@pytest.fixture
def surveyed(team, owner_agent, teammate_agent, outsider_agent):
    card = make_scorecard()
    billing, tech = DepartmentFactory(name="Billing"), DepartmentFactory(name="Tech")
    for i, (qa, greet, answer, transfers, escalated, resolved) in enumerate(ROWS):
        agent = owner_agent if i % 2 == 0 else teammate_agent
        call = CallFactory(agent=agent, department=billing, started_at=at(2 + i), is_resolved=resolved)
        make_evaluation(card, call=call, score=qa, answers={"greet": greet, "close": None, "solve": 2})
        make_response(call=call, score=answer)
        for seq in range(1, transfers + 1):
            TransferFactory(
                call=call, sequence=seq, from_department=billing, to_department=tech, reason="tech issue"
            )
        if escalated:
            EscalationFactory(call=call)
    outsider_call = CallFactory(agent=outsider_agent, started_at=at(5))
    make_evaluation(card, call=outsider_call, score=10, answers={"greet": 0})
    make_response(call=outsider_call, score=10)
    agent_day_stats_refresh(date_from=date(2026, 5, 1), date_to=date(2026, 7, 31))
    return card


def nps_of(answers):
    n = len(answers)
    p, d = sum(a >= 9 for a in answers) / n, sum(a <= 6 for a in answers) / n
    return 100 * (p - d), 100 * math.sqrt((p + d - (p - d) ** 2) / n), n


def test_criterion_drivers_match_an_independent_computation(surveyed, team):
    drivers = nps_drivers(team_ids=[team.pk], period=JUNE)
    greet = next(c for c in drivers["criteria"] if c["key"] == "greet")["difference"]
    passed = [r[2] for r in ROWS if r[1]]
    failed = [r[2] for r in ROWS if not r[1]]
    (nps_p, se_p, n_p), (nps_f, se_f, n_f) = nps_of(passed), nps_of(failed)
    assert (greet.n_a, greet.n_b) == (n_p, n_f) == (6, 4)
    assert greet.difference == pytest.approx(nps_p - nps_f)
    half = Z * math.sqrt(se_p**2 + se_f**2)
    assert (greet.low, greet.high) == (
        pytest.approx(nps_p - nps_f - half),
        pytest.approx(nps_p - nps_f + half),
    )
    assert greet.is_small_sample  # 6 and 4 responses: the page says it cannot conclude
    # "solve" was always passed: nothing to compare; N/A "close" answers are left out entirely.
    keys = [c["key"] for c in drivers["criteria"]]
    assert "close" not in keys and keys[-1] == "solve"


def test_nps_by_call_factor_matches_an_independent_computation(surveyed, team):
    factors = dict(nps_drivers(team_ids=[team.pk], period=JUNE)["factors"])
    by_transfers = {r["level"]: r for r in factors["Number of transfers"]}
    for level, test in {
        "0": lambda t: t == 0,
        "1": lambda t: t == 1,
        "2": lambda t: t == 2,
        "3+": lambda t: t >= 3,
    }.items():
        answers = [r[2] for r in ROWS if test(r[3])]
        assert by_transfers[level]["nps"] == pytest.approx(nps_of(answers)[0])
        assert by_transfers[level]["responses"] == len(answers)
    escalated = {r["level"]: r["nps"] for r in factors["Escalated"]}
    assert escalated["yes"] == pytest.approx(nps_of([r[2] for r in ROWS if r[4]])[0])
    fcr = {r["level"]: r["responses"] for r in factors["First-contact resolution"]}
    assert fcr["yes"] == sum(1 for r in ROWS if r[5] and r[3] == 0)


def test_correlation_matches_scipy(surveyed, team):
    drivers = nps_drivers(team_ids=[team.pk], period=JUNE)
    qa, answers = [r[0] for r in ROWS], [r[2] for r in ROWS]
    reference = pearsonr(qa, answers)
    low, high = reference.confidence_interval(0.95)
    assert drivers["pearson"].n == 10
    assert drivers["pearson"].r == pytest.approx(reference.statistic)
    assert (drivers["pearson"].low, drivers["pearson"].high) == (pytest.approx(low), pytest.approx(high))
    rho = spearmanr(qa, answers).statistic
    assert drivers["spearman"].r == pytest.approx(rho)
    # Spearman's rho: Fisher's z with the variance 1.06 / (n − 3) of Fieller, Hartley & Pearson (1957).
    half = norm.ppf(0.975) * math.sqrt(1.06 / (10 - 3))
    assert (drivers["spearman"].low, drivers["spearman"].high) == (
        pytest.approx(math.tanh(math.atanh(rho) - half)),
        pytest.approx(math.tanh(math.atanh(rho) + half)),
    )


def test_metrics_edge_cases():
    assert correlation_interval(None, 2).low is None
    empty = nps_difference((0, 0, 0), (1, 0, 0))
    assert empty.difference is None and empty.is_small_sample


def test_agent_overview_rates_vs_team(surveyed, owner_agent):
    overview = agent_overview(agent=owner_agent, period=JUNE)
    mine = [r for i, r in enumerate(ROWS) if i % 2 == 0]
    assert overview["rates"]["transfer_rate"] == pytest.approx(sum(r[3] > 0 for r in mine) / len(mine))
    assert overview["rates"]["team_escalation_rate"] == pytest.approx(sum(r[4] for r in ROWS) / len(ROWS))
    greet = next(c for c in overview["criteria"] if c["key"] == "greet")
    assert (greet["answered"], greet["passed"]) == (5, sum(r[1] for r in mine))
    assert (greet["team_answered"], greet["team_passed"]) == (10, 6)  # the outsider's team is not mixed in
    assert sum(w["evaluations"] for w in overview["weeks"]) == 5
    assert sum(w["team_evaluations"] for w in overview["weeks"]) == 10


# (CSAT, CES) answers per call, None = question skipped: owner gets the even rows, the teammate the odd ones.
COMPANIONS = [
    (5, 7),
    (4, None),
    (2, 3),
    (None, 6),
    (5, 5),
    (1, 1),
    (4, 6),
    (3, None),
    (None, None),
    (5, 7),
    (4, 2),
]


def test_agent_csat_and_ces_vs_team_match_scipy_and_show_on_the_page(
    client, team, owner_agent, teammate_agent, outsider_agent
):
    from scipy.stats import binomtest, sem, t

    for i, (csat, ces) in enumerate(COMPANIONS):
        agent = owner_agent if i % 2 == 0 else teammate_agent
        make_response(call=CallFactory(agent=agent, started_at=at(2 + i)), score=8, csat=csat, ces=ces)
    # Another team's answers and an answer outside the period are not counted.
    make_response(call=CallFactory(agent=outsider_agent, started_at=at(5)), score=9, csat=1, ces=1)
    make_response(call=CallFactory(agent=owner_agent, started_at=at(2) - timedelta(days=40)), score=9, csat=1)
    agent_day_stats_refresh(date_from=date(2026, 4, 1), date_to=date(2026, 7, 31))

    satisfaction = agent_overview(agent=owner_agent, period=JUNE)["satisfaction"]

    def expected_csat(answers):
        satisfied = sum(a >= 4 for a in answers)
        ci = binomtest(satisfied, len(answers)).proportion_ci(method="wilson")
        return len(answers), 100 * satisfied / len(answers), 100 * ci.low, 100 * ci.high

    def expected_ces(answers):
        mean = sum(answers) / len(answers)
        low, high = t.interval(0.95, len(answers) - 1, loc=mean, scale=sem(answers))
        return len(answers), mean, max(1, low), min(7, high)

    mine = [row for i, row in enumerate(COMPANIONS) if i % 2 == 0]
    for key, rows in (("csat", mine), ("team_csat", COMPANIONS)):
        got = satisfaction[key]
        assert (got.n, got.percent, got.low, got.high) == pytest.approx(
            expected_csat([c for c, _ in rows if c is not None])
        )
    for key, rows in (("ces", mine), ("team_ces", COMPANIONS)):
        got = satisfaction[key]
        assert (got.n, got.mean, got.low, got.high) == pytest.approx(
            expected_ces([e for _, e in rows if e is not None])
        )

    client.force_login(owner_agent.user)
    html = client.get(reverse("analytics:agent", args=[owner_agent.pk]), QUERY).content.decode()
    n, percent, low, high = expected_csat([c for c, _ in mine if c is not None])
    team_n, team_percent, _low, _high = expected_csat([c for c, _ in COMPANIONS if c is not None])
    assert (
        f'<tr><th scope="row">CSAT</th><td class="num">{percent:.1f}%</td><td class="num">{low:.1f} to {high:.1f}</td>'
        f'<td class="num">{n}</td><td class="num">{team_percent:.1f}%</td><td class="num">{team_n}</td></tr>'
    ) in html
    n, mean, low, high = expected_ces([e for _, e in mine if e is not None])
    assert (
        f'<tr><th scope="row">CES</th><td class="num">{mean:.2f}</td><td class="num">{low:.2f} to {high:.2f}</td>'
        in html
    )


def test_agent_sees_own_page_without_other_agents_names(client, surveyed, owner_agent, teammate_agent):
    client.force_login(owner_agent.user)
    page = client.get(reverse("analytics:agent", args=[owner_agent.pk]), QUERY)
    assert page.status_code == 200
    assert "Olive Owner" in page.text and "Tom Mate" not in page.text and "A-MATE" not in page.text
    assert 'id="agent-chart-data"' in page.text
    assert client.get(reverse("analytics:agent", args=[teammate_agent.pk])).status_code == 404


def test_supervisor_opens_own_team_agents_but_not_others(
    client, surveyed, supervisor, owner_agent, outsider_agent
):
    client.force_login(supervisor)
    assert client.get(reverse("analytics:agent", args=[owner_agent.pk]), QUERY).status_code == 200
    assert client.get(reverse("analytics:agent", args=[outsider_agent.pk])).status_code == 404


def test_transfer_paths_and_team_figures(surveyed, team):
    analysis = transfer_analysis(team_ids=[team.pk], period=JUNE)
    (path,) = analysis["paths"]
    transferred = [r for r in ROWS if r[3] > 0]
    assert (path["from_department"], path["to_department"], path["calls"]) == (
        "Billing",
        "Tech",
        len(transferred),
    )
    assert path["share"] == pytest.approx(len(transferred) / len(ROWS))
    assert path["nps"] == pytest.approx(nps_of([r[2] for r in transferred])[0])
    assert analysis["transfer_reasons"] == [
        {"kind": "transfer", "reason": "tech issue", "calls": len(transferred)}
    ]
    (row,) = team_figures(team_ids=[team.pk], period=JUNE)
    assert row["calls"] == 10 and row["nps"] == pytest.approx(nps_of([r[2] for r in ROWS])[0])
    assert row["qa_mean"] == pytest.approx(sum(r[0] for r in ROWS) / 10)


def test_pages_render_for_a_supervisor(client, surveyed, supervisor):
    client.force_login(supervisor)
    for name in ("analytics:teams", "analytics:drivers", "analytics:transfers"):
        response = client.get(reverse(name), QUERY)
        assert response.status_code == 200, name
        assert "Otto Outsider" not in response.text
    drivers = client.get(reverse("analytics:drivers"), QUERY)
    assert "Sample too small to conclude" in drivers.text


def test_agent_page_compares_with_the_chosen_team(client, surveyed, supervisor, other_team, owner_agent):
    other_team.supervisors.add(supervisor)
    mine = [r for i, r in enumerate(ROWS) if i % 2 == 0]
    own = agent_overview(agent=owner_agent, period=JUNE)
    other = agent_overview(agent=owner_agent, period=JUNE, team=other_team)
    # Own team: 10 calls; the other team: its one call plus this agent's five.
    assert (own["rates"]["team_calls"], other["rates"]["team_calls"]) == (10, 1 + len(mine))
    assert other["rates"]["calls"] == own["rates"]["calls"] == len(mine)
    greet = next(c for c in other["criteria"] if c["key"] == "greet")
    assert (greet["team_answered"], greet["team_passed"]) == (1 + len(mine), sum(r[1] for r in mine))
    client.force_login(supervisor)
    page = client.get(reverse("analytics:agent", args=[owner_agent.pk]), {**QUERY, "team": other_team.pk})
    assert page.status_code == 200
    assert "Team figures are totals of Tech West" in page.text
    default = client.get(reverse("analytics:agent", args=[owner_agent.pk]), QUERY)
    assert "Team figures are totals of Billing East" in default.text


def test_an_agent_cannot_compare_with_a_team_they_may_not_see(client, surveyed, owner_agent, other_team):
    client.force_login(owner_agent.user)
    page = client.get(reverse("analytics:agent", args=[owner_agent.pk]), {**QUERY, "team": other_team.pk})
    assert page.status_code == 200
    assert "Tech West" not in page.text and "Otto Outsider" not in page.text
    assert "Team figures are totals of Billing East" in page.text


def test_leaderboard_links_carry_the_period_and_team_to_agent_pages(
    client, surveyed, supervisor, team, owner_agent
):
    client.force_login(supervisor)
    page = client.get(reverse("analytics:leaderboard"), {**QUERY, "team": team.pk, "sort": "nps"})
    link = reverse("analytics:agent", args=[owner_agent.pk])
    assert (
        f'href="{link}?period=custom&amp;date_from=2026-06-01&amp;date_to=2026-06-30&amp;team={team.pk}"'
        in page.text
    )


def test_main_navigation_links_analytics_for_supervisors_only(client, surveyed, supervisor, owner_agent):
    link = f'<a href="{reverse("analytics:leaderboard")}">Analytics</a>'
    client.force_login(supervisor)
    assert link in client.get(reverse("calls:list")).text
    client.force_login(owner_agent.user)
    assert link not in client.get(reverse("calls:list")).text


def test_transfer_page_labels_the_resolution_rate_as_not_fcr(client, surveyed, supervisor):
    client.force_login(supervisor)
    page = client.get(reverse("analytics:transfers"), QUERY)
    assert "Resolved (not FCR)" in page.text


def test_an_agent_reaches_their_own_page_from_the_navigation(
    client, surveyed, owner_agent, teammate_agent, outsider_agent
):
    client.force_login(owner_agent.user)
    link = f'<a href="{reverse("analytics:me")}">My analytics</a>'
    assert link in client.get(reverse("calls:list")).text
    response = client.get(reverse("analytics:me"), QUERY, follow=True)
    assert response.redirect_chain == [
        (f"{reverse('analytics:agent', args=[owner_agent.pk])}?{urlencode(QUERY)}", 302)
    ]
    assert response.status_code == 200
    assert "Olive Owner" in response.text
    for other in (teammate_agent, outsider_agent):
        assert other.name not in response.text and other.employee_code not in response.text
    assert 'id="agent-chart-data"' in response.text


def test_my_analytics_is_only_for_logins_linked_to_an_agent(client, surveyed, supervisor):
    client.force_login(supervisor)
    assert "My analytics" not in client.get(reverse("calls:list")).text
    assert client.get(reverse("analytics:me")).status_code == 404


@pytest.mark.parametrize(
    "dates", [("0001-01-01", "0001-01-02"), ("0001-01-01", "0001-01-01"), ("0001-12-01", "0001-12-31")]
)
def test_leaderboard_api_refuses_a_custom_range_at_the_calendar_edges_with_400(client, supervisor, dates):
    client.force_login(supervisor)
    query = urlencode({"period": "custom", "date_from": dates[0], "date_to": dates[1]})
    response = client.get(f"/analytics/api/leaderboard/?{query}")
    assert (response.status_code, response.json()) == (
        400,
        {"date_from": ["A custom range starts on 0002-01-01 or later."]},
    )


@pytest.mark.parametrize("dates", [("9999-12-31", "9999-12-31"), ("9999-06-01", "9999-12-31")])
def test_a_custom_range_ending_on_the_last_calendar_day_is_refused_not_a_server_error(
    client, supervisor, dates
):
    # A day's range ends where the next day starts: after 9999-12-31 there is none (500 on the API and pages).
    client.force_login(supervisor)
    query = {"period": "custom", "date_from": dates[0], "date_to": dates[1]}

    api = client.get("/analytics/api/leaderboard/", query)
    drivers = client.get(reverse("analytics:drivers"), query)
    last_day = client.get(
        "/analytics/api/leaderboard/", {**query, "date_to": "9999-12-30", "date_from": "9999-12-30"}
    )

    assert (api.status_code, api.json()) == (
        400,
        {"date_to": ["A custom range ends on 9999-12-30 or earlier."]},
    )
    assert drivers.status_code == 200
    assert "A custom range ends on 9999-12-30 or earlier." in drivers.text
    assert (last_day.status_code, last_day.json()) == (
        200,
        {"date_from": "9999-12-30", "date_to": "9999-12-30", "results": []},
    )


def test_agent_page_recent_evaluations_are_reviews_only(client, surveyed, owner_agent):
    """Self-reviews and calibration scores are not QA results: the rollups behind the page's QA chart
    leave them out, and so must the "Recent evaluations" list next to it."""
    call = CallFactory(agent=owner_agent, started_at=at(20))
    review = make_evaluation(surveyed, call=call, score=61.5)
    make_evaluation(surveyed, call=call, score=97.25, kind="self_review")
    make_evaluation(surveyed, call=call, score=13.75, kind="calibration")
    client.force_login(owner_agent.user)
    page = client.get(reverse("analytics:agent", args=[owner_agent.pk]), QUERY)
    assert page.status_code == 200
    recent = list(page.context["evaluations"])
    assert review in recent
    assert {evaluation.kind for evaluation in recent} == {"review"}
    assert "97.25" not in page.text and "13.75" not in page.text


@pytest.mark.parametrize("name", ["leaderboard", "teams", "drivers", "transfers"])
def test_an_invalid_period_is_reported_on_an_htmx_filter_change_too(client, supervisor, name):
    """htmx swaps only #results: the error must be inside it, or the page silently shows the default
    period while the filters say otherwise."""
    client.force_login(supervisor)
    query = {"period": "custom", "date_from": "2026-06-30", "date_to": "2026-06-01"}
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get(reverse(f"analytics:{name}"), query, headers=headers)
        assert page.status_code == 200
        assert "The range starts after it ends." in page.text, headers
