"""In headless Chromium: an agent sees the unread count of a review notice, marks it read in place (htmx)
and follows it to the evaluation."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login
from tests.factories import AgentFactory, CallFactory, TeamFactory, UserFactory
from tests.scoring.factories import AssignmentFactory, simple_scorecard, submitted_evaluation


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_marks_a_notice_read_and_opens_the_evaluation(page, live_server, eager_celery):
    team = TeamFactory(name="Notice Team")
    agent_user = UserFactory(username="nina-agent", roles=["agent"])
    agent = AgentFactory(employee_code="A-NINA", name="Nina Noor", team=team, user=agent_user)
    reviewer = UserFactory(username="rex-reviewer", roles=["reviewer"])
    scorecard = simple_scorecard(family="notices")
    call = CallFactory(external_id="NT-1", channel="chat", agent=agent, is_resolved=True, hold_seconds=0)
    AssignmentFactory(call=call, reviewer=reviewer)
    # A real commit: the notice comes from the task queued on commit (run in-process by eager_celery).
    evaluation = submitted_evaluation(
        call=call, author=reviewer, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )

    login(page, live_server, "nina-agent")
    badge = page.get_by_test_id("notice-unread-count")
    expect(badge).to_have_text("1")
    page.locator("#nav-notices").click()
    row = page.locator(".notice-row")
    expect(row).to_have_count(1)
    expect(row).to_have_class("notice-row unread")
    expect(row).to_contain_text("Review received: call NT-1 scored 100.00.")
    row.get_by_role("button", name="Mark read").click()
    expect(page.locator(".notice-row")).to_have_class("notice-row")
    expect(page.get_by_role("button", name="Mark read")).to_have_count(0)
    expect(badge).to_have_count(0)  # the nav was updated out of band
    page.get_by_role("link", name="Review received: call NT-1 scored 100.00.").click()
    expect(page).to_have_url(f"{live_server.url}/qa/evaluations/{evaluation.pk}/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_signed_in_user_stays_at_the_right_edge_when_the_top_bar_wraps(page, live_server):
    UserFactory(username="sup-wrap", roles=["supervisor", "reviewer"])
    page.set_viewport_size({"width": 900, "height": 700})
    login(page, live_server, "sup-wrap")
    page.goto(f"{live_server.url}/qa/notices/")

    box = page.evaluate(
        """() => {
            const bar = document.querySelector('.topbar'), nav = bar.querySelector('nav');
            const user = bar.querySelector('.logout').getBoundingClientRect();
            const right = bar.getBoundingClientRect().right - parseFloat(getComputedStyle(bar).paddingRight);
            return {wrapped: user.top >= nav.getBoundingClientRect().bottom, gap: Math.round(right - user.right)};
        }"""
    )

    assert box == {"wrapped": True, "gap": 0}
