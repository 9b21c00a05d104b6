import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from scoring.surveys.forms import COMMENT_MAX_LENGTH
from scoring.surveys.models import CustomerOptOut, SurveyResponse
from scoring.surveys.tokens import token_generate
from tests.html_a11y import page_of
from tests.surveys.factories import invitation_with_token

pytestmark = pytest.mark.django_db


def test_survey_page_renders_an_accessible_form_without_login(client):
    _invitation, raw = invitation_with_token()
    response = client.get(f"/s/{raw}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert (
        "<fieldset" in html
        and "<legend>How likely are you to recommend us to a friend or colleague?</legend>" in html
    )
    radios = re.findall(r'<input type="radio" name="score" value="(\d+)" id="score-\1"', html)
    assert radios == [str(n) for n in range(11)]
    for n in range(11):
        assert f'<label for="score-{n}">{n}</label>' in html
    assert "Not at all likely" in html and "Extremely likely" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "<script" not in html  # works without JavaScript
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "same-origin"  # no-referrer would make the POST fail CSRF
    assert "noindex" in response["X-Robots-Tag"]


def test_answering_records_the_response_and_shows_thanks(client):
    invitation, raw = invitation_with_token()
    response = client.post(f"/s/{raw}/", {"score": "9", "comment": "Great help"})
    assert response.status_code == 302 and response["Location"] == f"/s/{raw}/thanks/"
    saved = SurveyResponse.objects.get()
    assert (saved.call_id, saved.score, saved.category, saved.comment, saved.source) == (
        invitation.call_id,
        9,
        "promoter",
        "Great help",
        "survey_link",
    )
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200 and "Thank you!" in thanks.content.decode()


def test_thanks_page_of_an_unanswered_link_sends_back_to_the_form(client):
    _invitation, raw = invitation_with_token()
    response = client.get(f"/s/{raw}/thanks/")
    assert response.status_code == 302 and response["Location"] == f"/s/{raw}/"


def test_a_used_link_shows_a_clear_page(client):
    _invitation, raw = invitation_with_token()
    client.post(f"/s/{raw}/", {"score": "9"})
    again = client.get(f"/s/{raw}/")
    assert again.status_code == 200
    assert "already answered this survey" in again.content.decode()
    post_again = client.post(f"/s/{raw}/", {"score": "1"})
    assert post_again.status_code == 200 and "already answered" in post_again.content.decode()
    assert SurveyResponse.objects.get().score == 9


def test_an_expired_link_shows_410_with_a_human_message(client):
    _invitation, raw = invitation_with_token(expires_in=timedelta(seconds=-1))
    for response in (client.get(f"/s/{raw}/"), client.post(f"/s/{raw}/", {"score": "9"})):
        assert response.status_code == 410
        assert "This survey has closed" in response.content.decode()
    assert SurveyResponse.objects.count() == 0


@pytest.mark.parametrize("token", ["nope", token_generate()[0], "x" * 200])
def test_an_unknown_link_shows_a_friendly_404(client, token):
    response = client.get(f"/s/{token}/")
    assert response.status_code == 404
    assert "find this survey" in response.content.decode()


def test_missing_or_invalid_score_rerenders_with_an_error_and_saves_nothing(client):
    invitation, raw = invitation_with_token()
    for data in ({}, {"score": "11"}, {"score": "-1"}, {"score": "abc"}):
        response = client.post(f"/s/{raw}/", data)
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode()
    assert SurveyResponse.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_post_without_csrf_token_is_refused(db):
    invitation, raw = invitation_with_token()
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/s/{raw}/", {"score": "9"})
    assert response.status_code == 403
    assert SurveyResponse.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_post_with_csrf_token_works(db):
    _invitation, raw = invitation_with_token()
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/s/{raw}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(f"/s/{raw}/", {"score": "7", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert SurveyResponse.objects.get().category == "passive"


def test_opt_out_checkbox_stops_future_surveys(client):
    invitation, raw = invitation_with_token()
    client.post(f"/s/{raw}/", {"score": "5", "opt_out": "on"})
    assert CustomerOptOut.objects.filter(customer=invitation.customer, source="survey_page").count() == 1
    assert "receive any more surveys" in client.get(f"/s/{raw}/thanks/").content.decode()


def test_opt_out_page_asks_on_get_and_acts_on_post(client):
    invitation, raw = invitation_with_token(expires_in=timedelta(seconds=-1))  # works even when expired
    page = client.get(f"/s/{raw}/opt-out/")
    assert page.status_code == 200 and "Unsubscribe from surveys?" in page.content.decode()
    assert CustomerOptOut.objects.count() == 0  # a link scanner's GET changes nothing
    done = client.post(f"/s/{raw}/opt-out/")
    assert done.status_code == 200 and "unsubscribed</h1>" in done.content.decode()
    assert CustomerOptOut.objects.filter(customer=invitation.customer).count() == 1


def test_opt_out_with_an_unknown_token_changes_nothing(client):
    invitation_with_token()
    response = client.post(f"/s/{token_generate()[0]}/opt-out/")
    assert response.status_code == 404
    assert CustomerOptOut.objects.count() == 0


def test_comment_is_escaped_on_the_responses_screen_and_call_page(client, admin_user):
    _invitation, raw = invitation_with_token()
    client.post(f"/s/{raw}/", {"score": "9", "comment": '<script>alert("x")</script>'})
    client.force_login(admin_user)
    for url in ("/surveys/responses/", f"/calls/{SurveyResponse.objects.get().call_id}/"):
        html = client.get(url).content.decode()
        assert '<script>alert("x")</script>' not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_link_stops_working_at_its_expiry(client):
    invitation, raw = invitation_with_token()
    invitation.expires_at = timezone.now()
    invitation.save(update_fields=["expires_at"])
    assert client.get(f"/s/{raw}/").status_code == 410


def test_a_too_long_comment_error_is_tied_to_the_comment_box(client):
    _, raw = invitation_with_token()

    response = client.post(f"/s/{raw}/", {"score": "9", "comment": "x" * (COMMENT_MAX_LENGTH + 1)})

    assert response.status_code == 400
    page = page_of(response)
    assert page.unresolved_references() == []
    comment = page.one("textarea", name="comment")
    assert comment.attrs["aria-invalid"] == "true"
    assert page.description(comment) == (
        f"Ensure this value has at most {COMMENT_MAX_LENGTH} characters (it has {COMMENT_MAX_LENGTH + 1})."
    )
