"""End to end in headless Chromium: a customer answers on a phone-sized screen, with real CSRF checks."""

import pytest

from scoring.followups.models import FollowUpCase
from scoring.surveys.forms import CSAT_QUESTION, QUESTION
from scoring.surveys.models import SurveyResponse
from tests.surveys.factories import invitation_with_token


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_answers_on_a_phone_by_keyboard_and_sees_thanks(page, live_server):
    invitation, raw = invitation_with_token()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/s/{raw}/")
    # Every score is a tap target of at least 44×44 CSS pixels.
    for n in range(11):
        box = page.locator(f"label[for=score-{n}]").bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
    # The optional questions' targets too, all inside the form (1–5 on one row, 1–7 on two).
    form = page.locator("form").bounding_box()
    for name, points, rows in (("csat", 5, 1), ("ces", 7, 2)):
        boxes = [page.locator(f"label[for={name}-{n}]").bounding_box() for n in range(1, points + 1)]
        assert all(box["width"] >= 44 and box["height"] >= 44 for box in boxes)
        assert all(box["x"] + box["width"] <= form["x"] + form["width"] for box in boxes)
        assert len({box["y"] for box in boxes}) == rows
    # The accessible name comes from the visible label, within its question's group.
    page.get_by_role("group", name=QUESTION).get_by_role("radio", name="2").check()
    # The optional satisfaction question by keyboard: the arrow key moves the choice from 1 to 2.
    page.get_by_role("group", name=CSAT_QUESTION).get_by_role("radio", name="1").focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.get_by_label("What is the main reason for your score? (optional)").fill(
        "Passed around <b>three</b> times"
    )
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url(f"{live_server.url}/s/{raw}/thanks/")
    assert "Thank you!" in page.inner_text("h1")
    response = SurveyResponse.objects.get()
    assert (response.invitation_id, response.score, response.csat, response.ces, response.comment) == (
        invitation.pk,
        2,
        2,
        None,  # the effort question was left out
        "Passed around <b>three</b> times",
    )
    assert FollowUpCase.objects.filter(response=response).count() == 1
    page.goto(f"{live_server.url}/s/{raw}/")
    assert "already answered" in page.inner_text("h1")
