"""In headless Chromium, keyboard only: an admin assigns the second leg of a transferred call (the agent
it was transferred to) with the assign page's leg picker, without JavaScript of the page's own; the reviewer
it was assigned to reviews that leg, and only that one."""

import pytest
from playwright.sync_api import expect

from scoring.models import Assignment, Evaluation
from tests.browser.helpers import login
from tests.factories import (
    AgentFactory,
    CallFactory,
    DepartmentFactory,
    TeamFactory,
    TransferFactory,
    UserFactory,
)
from tests.scoring.factories import AssignmentFactory, simple_scorecard


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_assigns_the_transfer_targets_leg_with_the_keyboard(page, live_server):
    billing, tech = DepartmentFactory(name="Billing"), DepartmentFactory(name="Tech")
    first = AgentFactory(employee_code="A-ANN", name="Ann First", team=TeamFactory(name="East"))
    second = AgentFactory(employee_code="A-BOB", name="Bob Second", team=TeamFactory(name="West"))
    call = CallFactory(external_id="LEG-1", channel="chat", agent=first, department=billing)
    TransferFactory(
        call=call, sequence=1, from_agent=first, from_department=billing, to_agent=second, to_department=tech
    )
    UserFactory(username="boss", roles=["admin"], is_superuser=True, is_staff=True)
    reviewer = UserFactory(username="rita", first_name="Rita", roles=["reviewer"])

    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/qa/assign/")
    picker = page.get_by_label("Leg of LEG-1")
    expect(picker).to_have_value(str(first.pk))
    expect(picker.locator("option")).to_have_text(
        ["1. Ann First (A-ANN) · Billing · handled", "2. Bob Second (A-BOB) · Tech · transfer #1"]
    )
    page.locator("#id_reviewer").select_option(label="Rita")
    page.get_by_label("Assign LEG-1").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Assign LEG-1")).to_be_checked()
    picker.focus()
    page.keyboard.press("ArrowDown")
    expect(picker).to_have_value(str(second.pk))
    page.get_by_role("button", name="Assign ticked calls").press("Enter")

    expect(page.get_by_text("1 call assigned to Rita.")).to_be_visible()
    assert list(Assignment.objects.values_list("call_id", "agent_id", "reviewer_id")) == [
        (call.pk, second.pk, reviewer.pk)
    ]
    # The first leg is still free: offered next, the assigned one marked as queued.
    expect(page.get_by_label("Leg of LEG-1")).to_have_value(str(first.pk))
    expect(page.get_by_label("Leg of LEG-1").locator("option").nth(1)).to_have_text(
        "2. Bob Second (A-BOB) · Tech · transfer #1 (in a queue)"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_assigned_the_second_leg_reviews_it_and_not_the_first(page, live_server):
    billing, tech = DepartmentFactory(name="Billing"), DepartmentFactory(name="Tech")
    first = AgentFactory(employee_code="A-ANN", name="Ann First", team=TeamFactory(name="East"))
    second = AgentFactory(employee_code="A-BOB", name="Bob Second", team=TeamFactory(name="West"))
    call = CallFactory(external_id="LEG-2", channel="chat", agent=first, department=billing)
    TransferFactory(
        call=call, sequence=1, from_agent=first, from_department=billing, to_agent=second, to_department=tech
    )
    simple_scorecard(family="legs")
    reviewer = UserFactory(username="rita", first_name="Rita", roles=["reviewer"])
    AssignmentFactory(call=call, reviewer=reviewer, agent=second)

    login(page, live_server, "rita")
    # From the call page, whose Review button names no leg: the workspace opens the assigned one.
    page.goto(f"{live_server.url}/calls/{call.pk}/")
    page.get_by_role("link", name="Review this call").click()
    expect(page.locator("h1")).to_contain_text("Review of Bob Second")
    picker = page.get_by_test_id("leg-picker")
    expect(picker.get_by_role("link")).to_have_text(["Bob Second (A-BOB)"])
    expect(picker.locator("li").first).to_contain_text(
        "Ann First (A-ANN) · Billing · handled the call · not yours"
    )
    page.screenshot(path="/tmp/legperm_picker.png", full_page=True)

    # The first leg by its address: refused, like a call outside the queue, and nothing is written.
    refused = page.goto(f"{live_server.url}/qa/calls/{call.pk}/review/?agent={first.pk}")
    assert refused is not None and refused.status == 403
    assert not Evaluation.objects.exists()
