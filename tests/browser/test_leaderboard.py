"""End to end in headless Chromium: filter the leaderboard by team, sort by NPS, open an agent's charts."""
# Predicates are functions ("() => …"): a bare expression is evaluated with eval in the page, which the site's
# Content Security Policy refuses.

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
    page.wait_for_function("() => document.querySelectorAll('#leaderboard tbody tr').length === 2")
    assert "Cy West" not in page.inner_text("#leaderboard")
    page.click("a[data-sort=nps]")
    page.wait_for_function(
        "() => document.querySelector('#leaderboard th[aria-sort=ascending] a[data-sort=nps]') !== null"
    )
    names = page.locator("#leaderboard tbody tr td:nth-child(3)").all_inner_texts()
    assert names == ["Ben East", "Ada East"]
    page.click("text=Ada East")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('qa-chart')) !== undefined"
    )
    size = page.evaluate(
        "() => { const c = document.getElementById('nps-chart'); return [c.width, c.height]; }"
    )
    assert size[0] > 0 and size[1] > 0
    assert (
        page.evaluate("() => Chart.getChart(document.getElementById('nps-chart')).data.datasets.length") == 4
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_leaderboard_keeps_one_line_per_agent_and_the_name_in_view_while_scrolling_sideways(
    page, live_server
):
    supervisor = UserFactory(username="sup-wide", roles=["supervisor"])
    team = TeamFactory(name="Care Central")
    team.supervisors.add(supervisor)
    card = make_scorecard()
    for name, answer in (("Maximiliana Fontaine-Okonkwo", 9), ("Bo Li", 2)):
        agent = AgentFactory(name=name, team=team)
        call = CallFactory(agent=agent, started_at=timezone.now() - timedelta(days=2))
        make_evaluation(card, call=call, score=80, sections={"Greeting": 90})
        make_response(call=call, score=answer)  # one answer: an interval with the "small n" badge
    today = timezone.localdate()
    agent_day_stats_refresh(date_from=today - timedelta(days=60), date_to=today)

    page.set_viewport_size({"width": 1000, "height": 800})
    login(page, live_server, "sup-wide")
    page.goto(f"{live_server.url}/analytics/")
    layout = page.evaluate(
        """() => {
            const wrap = document.querySelector('.table-wrap');
            const rows = [...document.querySelectorAll('#leaderboard tbody tr')];
            const line = parseFloat(getComputedStyle(rows[0].cells[2]).lineHeight);
            return {scrolls: wrap.scrollWidth > wrap.clientWidth, line,
                    heights: rows.map(r => r.getBoundingClientRect().height)};
        }"""
    )
    assert layout["scrolls"]
    # One line of text plus the cell padding: a wrapped interval or badge would double the row.
    assert all(height < 2 * layout["line"] for height in layout["heights"]), layout
    page.evaluate("document.querySelector('.table-wrap').scrollLeft = 600")
    offsets = page.evaluate(
        """() => {
            const wrap = document.querySelector('.table-wrap').getBoundingClientRect();
            const name = document.querySelector('#leaderboard tbody tr td:nth-child(3)');
            const hit = document.elementFromPoint(name.getBoundingClientRect().left + 5, name.getBoundingClientRect().top + 5);
            return {wrap: wrap.left, name: name.getBoundingClientRect().left, onTop: name.contains(hit)};
        }"""
    )
    assert abs(offsets["name"] - offsets["wrap"]) <= 1.5, offsets  # border of the wrap
    assert offsets["onTop"], "the agent's name is covered by the scrolled columns"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_table_that_scrolls_sideways_becomes_a_focusable_named_region_and_only_then(page, live_server):
    supervisor = UserFactory(username="sup-region", roles=["supervisor"])
    team = TeamFactory(name="Care Central")
    team.supervisors.add(supervisor)
    CallFactory(agent=AgentFactory(name="Bo Li", team=team), started_at=timezone.now() - timedelta(days=2))
    today = timezone.localdate()
    agent_day_stats_refresh(date_from=today - timedelta(days=60), date_to=today)
    state = """() => { const wrap = document.querySelector('#teams').closest('.table-wrap');
        return {scrolls: wrap.scrollWidth > wrap.clientWidth, tabindex: wrap.getAttribute('tabindex'),
                role: wrap.getAttribute('role'), label: wrap.getAttribute('aria-label')}; }"""

    page.set_viewport_size({"width": 2400, "height": 800})
    login(page, live_server, "sup-region")
    page.goto(f"{live_server.url}/analytics/teams/")
    assert page.evaluate(state) == {"scrolls": False, "tabindex": None, "role": None, "label": None}

    page.set_viewport_size({"width": 600, "height": 800})
    page.wait_for_function(
        "() => document.querySelector('#teams').closest('.table-wrap').hasAttribute('tabindex')"
    )
    assert page.evaluate(state) == {
        "scrolls": True,
        "tabindex": "0",
        "role": "region",
        "label": "Teams (scrolls sideways)",
    }
    page.locator("#teams").evaluate("table => table.closest('.table-wrap').focus()")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#teams').closest('.table-wrap').scrollLeft > 0")

    page.set_viewport_size({"width": 2400, "height": 800})
    page.wait_for_function(
        "() => !document.querySelector('#teams').closest('.table-wrap').hasAttribute('tabindex')"
    )
    assert page.evaluate(state)["role"] is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_typing_dates_switches_the_period_to_a_custom_range(page, live_server):
    """The dates apply only to a custom range: typed under "Last 30 days" they changed nothing."""
    supervisor = UserFactory(username="sup-dates", roles=["supervisor"])
    TeamFactory(name="East").supervisors.add(supervisor)

    login(page, live_server, "sup-dates")
    page.goto(f"{live_server.url}/analytics/teams/")
    assert page.input_value("select[name=period]") == "last_30"
    page.fill("input[name=date_from]", "2026-06-01")
    assert page.input_value("select[name=period]") == "custom"
    page.fill("input[name=date_to]", "2026-06-30")
    page.wait_for_function(
        "() => document.querySelector('#results').textContent.includes('June 1, 2026 – June 30, 2026')"
    )
    assert "period=custom&date_from=2026-06-01&date_to=2026-06-30" in page.url
    assert page.locator("[data-testid=filter-fallback]").count() == 0
    # Back to a named period: the dates stay in their boxes but no longer apply, and nothing is refused.
    page.select_option("select[name=period]", "last_week")
    page.wait_for_function(
        "() => !document.querySelector('#results').textContent.includes('June 1, 2026 – June 30, 2026')"
    )
    assert page.locator(".form-errors").count() == 0
