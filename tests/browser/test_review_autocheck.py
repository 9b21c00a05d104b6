"""In headless Chromium: a reviewer takes an auto-check suggestion with the button and with the keyboard,
and the answers (value and quoted evidence line) are saved."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from scoring import services
from scoring.models import Evaluation
from tests.browser.helpers import AxeSweep, chat_call_to_review, login

DEFINITION = {
    "family": "auto-browser",
    "name": "Auto browser",
    "channels": [],
    "sections": [
        {
            "title": "Greeting",
            "criteria": [
                {
                    "key": "brand",
                    "question": "Named the company?",
                    "auto_phrases": ["Acme"],
                    "auto_scope": "opening",
                },
                {
                    "key": "thanks",
                    "question": "Thanked the customer?",
                    "auto_phrases": ["thank you for calling"],
                    "auto_scope": "closing",
                },
            ],
        }
    ],
}

GREETING = 'Hi, Acme support <b>"Kim"</b> here.'
TRANSCRIPT = f"""Agent: {GREETING}
Customer: My bill is wrong.
Agent: Fixed it.
Agent: Bye."""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reviewer_uses_the_auto_check_suggestions_and_they_are_saved(page, live_server):
    services.scorecard_create_from_definition(definition=DEFINITION)
    call = chat_call_to_review(
        team="Auto Keys",
        code="A-AUTO",
        agent_name="Kim Auto",
        reviewer="rita-auto",
        external_id="AUTO-1",
        transcript=TRANSCRIPT,
    )

    login(page, live_server, "rita-auto")
    page.goto(f"{live_server.url}{reverse('scoring:workspace', args=[call.pk])}")
    expect(page.locator("h1")).to_contain_text("Review of Kim Auto")
    brand = page.locator("fieldset.criterion").filter(has_text="Named the company?")
    thanks = page.locator("fieldset.criterion").filter(has_text="Thanked the customer?")
    expect(brand.locator(".autocheck")).to_contain_text(f"Auto-check suggests Yes — line 1: “{GREETING}”")
    expect(brand.locator(".autocheck b")).to_have_count(0)  # transcript markup stays text
    expect(thanks.locator(".autocheck")).to_contain_text("none of the phrases was said in the closing")
    sweep = AxeSweep(page, live_server.url)
    sweep.visit("review workspace with auto-check hints", None, heading="Review of Kim Auto")
    assert sweep.failures() == []

    with page.expect_response(lambda r: r.url.endswith("/answer/")) as saved:
        brand.get_by_role("button", name="Use suggestion").click()
    assert saved.value.status == 200
    expect(brand.locator("input[value='1']")).to_be_checked()
    expect(brand.locator("textarea[name$='-quote']")).to_have_value(GREETING)
    expect(brand.locator(".autocheck")).to_contain_text("Your answer agrees.")
    expect(brand.get_by_role("button", name="Use suggestion")).to_have_count(0)
    expect(page.get_by_test_id("running-score")).to_have_text("100.00")
    # Overruling it brings the button back (the hint is re-rendered by the autosave); "u" takes it again, and
    # the line is not quoted twice.
    page.keyboard.press("n")
    expect(brand.locator(".autocheck")).to_contain_text("Your answer differs.")
    expect(brand.get_by_role("button", name="Use suggestion")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/answer/")):
        page.keyboard.press("u")
    expect(brand.locator(".autocheck")).to_contain_text("Your answer agrees.")
    expect(brand.locator("textarea[name$='-quote']")).to_have_value(GREETING)

    # The keyboard: "u" takes the current criterion's suggestion (here No, with nothing to quote).
    page.keyboard.press("j")
    expect(page.locator("fieldset.criterion.is-current legend")).to_contain_text("Thanked the customer?")
    with page.expect_response(lambda r: r.url.endswith("/answer/")):
        page.keyboard.press("u")
    expect(thanks.locator("input[value='0']")).to_be_checked()
    expect(thanks.locator(".autocheck")).to_contain_text("Your answer agrees.")
    page.keyboard.press("?")
    expect(page.locator("dialog#shortcuts")).to_contain_text(
        "Use the auto-check suggestion of the current criterion"
    )
    page.keyboard.press("Escape")

    draft = Evaluation.objects.get(call=call)
    answers = {
        a.criterion.key: (a.value, a.quote, a.comment) for a in draft.answers.select_related("criterion")
    }
    assert answers == {"brand": (1, GREETING, ""), "thanks": (0, "", "")}
