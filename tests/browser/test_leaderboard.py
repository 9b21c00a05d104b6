"""End to end in headless Chromium: filter the leaderboard by team, sort by NPS, open an agent's charts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.rollups import agent_day_stats_refresh
from tests.analytics.helpers import make_evaluation, make_response, make_scorecard
from tests.browser.helpers import login
from tests.factories import AgentFactory, CallFactory, TeamFactory, UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_leaderboard_filter_sort_and_agent_charts(page, live_server):
    supervisor = UserFactory(username="sup-browser", roles=["supervisor"])
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    east.supervisors.add(supervisor)
    west.supervisors.add(supervisor)
    card = make_scorecard()
    agents = {"Ada East": (east, 9), "Ben East": (east, 3), "Cy West": (west, 10)}
    for name, (team, answer) in agents.items():
        agent = AgentFactory(name=name, team=team)
        for week in range(3):
            call = CallFactory(agent=agent, started_at=timezone.now() - timedelta(days=2 + 7 * week))
            make_evaluation(card, call=call, score=80 + answer, sections={"Greeting": 90})
            make_response(call=call, score=answer)
    today = timezone.localdate()
    agent_day_stats_refresh(date_from=today - timedelta(days=60), date_to=today)

    login(page, live_server, "sup-browser")
    page.goto(f"{live_server.url}/analytics/")
    assert page.locator("#leaderboard tbody tr").count() == 3
    page.select_option("select[name=team]", label="East")
    page.wait_for_function("document.querySelectorAll('#leaderboard tbody tr').length === 2")
    assert "Cy West" not in page.inner_text("#leaderboard")
    page.click("a[data-sort=nps]")
    page.wait_for_function(
        "document.querySelector('#leaderboard th[aria-sort=ascending] a[data-sort=nps]') !== null"
    )
    names = page.locator("#leaderboard tbody tr td:nth-child(3)").all_inner_texts()
    assert names == ["Ben East", "Ada East"]
    page.click("text=Ada East")
    page.wait_for_function(
        "window.Chart && Chart.getChart(document.getElementById('qa-chart')) !== undefined"
    )
    size = page.evaluate(
        "() => { const c = document.getElementById('nps-chart'); return [c.width, c.height]; }"
    )
    assert size[0] > 0 and size[1] > 0
    assert (
        page.evaluate("() => Chart.getChart(document.getElementById('nps-chart')).data.datasets.length") == 4
    )
