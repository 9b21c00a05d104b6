"""End to end in headless Chromium: a customer answers on a phone-sized screen, with real CSRF checks."""

import pytest

from scoring.followups.models import FollowUpCase
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
    page.get_by_role("radio", name="2").check()  # the accessible name comes from the visible label
    page.get_by_label("What is the main reason for your score? (optional)").fill(
        "Passed around <b>three</b> times"
    )
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url(f"{live_server.url}/s/{raw}/thanks/")
    assert "Thank you!" in page.inner_text("h1")
    response = SurveyResponse.objects.get()
    assert (response.invitation_id, response.score, response.comment) == (
        invitation.pk,
        2,
        "Passed around <b>three</b> times",
    )
    assert FollowUpCase.objects.filter(response=response).count() == 1
    page.goto(f"{live_server.url}/s/{raw}/")
    assert "already answered" in page.inner_text("h1")
