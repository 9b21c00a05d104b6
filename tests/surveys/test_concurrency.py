"""Real races against PostgreSQL: threads with their own connections, committed data (transaction=True)."""

import json
from collections import Counter

import pytest
from django.test import Client

from scoring.followups.models import FollowUpCase
from scoring.surveys import services
from scoring.surveys.models import ResponseCredit, SurveyResponse
from scoring.surveys.tokens import signature_for
from tests.concurrency import run_at_once
from tests.factories import CallFactory
from tests.surveys.factories import invitation_with_token

# Threads need committed rows: transactional tests (the root conftest replays data-migration rows).
pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_submissions_of_one_link_record_one_response():
    invitation, raw = invitation_with_token()

    def submit(i):
        response, _created = services.response_submit_by_token(
            raw_token=raw, score=i % 11, comment=f"try {i}"
        )
        return response.pk

    results = run_at_once(50, submit)
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, services.LinkUnusable)]
    assert len(winners) == 1 and len(losers) == 49, Counter(type(r).__name__ for r in results)
    assert {loser.reason for loser in losers} == {"used"}
    response = SurveyResponse.objects.get()
    assert response.pk == winners[0] and response.invitation_id == invitation.pk
    assert ResponseCredit.objects.filter(response=response).count() == 1
    assert FollowUpCase.objects.count() == (1 if response.is_detractor else 0)


def test_fifty_concurrent_posts_of_the_survey_page_record_one_response():
    _invitation, raw = invitation_with_token()

    def post(i):
        return Client().post(f"/s/{raw}/", {"score": "3"}).status_code

    statuses = Counter(run_at_once(50, post))
    # One redirect to the thank-you page; everyone else sees the friendly "already answered" page.
    assert statuses == Counter({302: 1, 200: 49})
    assert SurveyResponse.objects.count() == 1
    assert FollowUpCase.objects.count() == 1


def test_concurrent_webhook_redeliveries_create_one_response(settings):
    settings.SURVEY_WEBHOOK_SECRET = "hook-secret"
    call = CallFactory(external_id="C-RACE-1")
    body = json.dumps({"call_external_id": "C-RACE-1", "score": 2, "response_id": "ext-77"}).encode()
    signature = signature_for(body, "hook-secret")

    def post(i):
        response = Client().post(
            "/api/surveys/responses",
            body,
            content_type="application/json",
            headers={"X-QA-Signature": signature},
        )
        return response.status_code, response.json().get("id")

    results = run_at_once(10, post)
    statuses = Counter(status for status, _id in results)
    assert statuses == Counter({201: 1, 200: 9}), results
    response = SurveyResponse.objects.get(call=call)
    assert {pk for _status, pk in results} == {response.pk}
    assert FollowUpCase.objects.count() == 1
