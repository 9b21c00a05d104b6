import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from scoring.followups.models import FollowUpCase
from scoring.surveys.models import ResponseCredit, SurveyResponse
from scoring.surveys.tokens import signature_for, token_generate
from tests.factories import CallFactory, UserFactory
from tests.surveys.factories import invitation_with_token

pytestmark = pytest.mark.django_db
URL = "/api/surveys/responses"
SECRET = "inbound-secret"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.SURVEY_WEBHOOK_SECRET = SECRET


@pytest.fixture
def call():
    return CallFactory(external_id="C-API-1")


@pytest.fixture
def token_client():
    user = UserFactory(username="survey-bot")
    user.user_permissions.add(
        Permission.objects.get(codename="add_surveyresponse", content_type__app_label="surveys")
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def signed_post(payload, *, secret=SECRET, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    return APIClient().post(
        URL, body, content_type="application/json", headers={"X-QA-Signature": signature_for(body, secret)}
    )


def test_token_auth_with_permission_creates_a_response(token_client, call):
    response = token_client.post(
        URL,
        {"call_external_id": "C-API-1", "score": 10, "comment": "Superb", "response_id": "q-1"},
        format="json",
    )
    assert response.status_code == 201
    saved = SurveyResponse.objects.get()
    assert response.json() == {
        "id": saved.pk,
        "call_external_id": "C-API-1",
        "score": 10,
        "category": "promoter",
        "csat": None,
        "ces": None,
        "comment": "Superb",
        "source": "inbound_api",
        "received_at": response.json()["received_at"],
        "created_at": response.json()["created_at"],
    }
    assert saved.idempotency_key == "id:q-1"
    assert ResponseCredit.objects.filter(response=saved, agent=call.agent, is_primary=True).count() == 1


@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_admin_token_works_without_the_explicit_permission(admin_user, call, keyword):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {Token.objects.create(user=admin_user).key}")
    assert client.post(URL, {"call_external_id": "C-API-1", "score": 9}, format="json").status_code == 201


def test_token_without_permission_is_forbidden(call, owner_agent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner_agent.user).key}")
    response = client.post(URL, {"call_external_id": "C-API-1", "score": 9}, format="json")
    assert response.status_code == 403
    assert SurveyResponse.objects.count() == 0


def test_no_credentials_is_401(call):
    response = APIClient().post(URL, {"call_external_id": "C-API-1", "score": 9}, format="json")
    assert response.status_code == 401
    assert SurveyResponse.objects.count() == 0


def test_session_login_is_not_enough(client, admin_user, call):
    client.force_login(admin_user)
    response = client.post(URL, {"call_external_id": "C-API-1", "score": 9}, content_type="application/json")
    assert response.status_code == 401
    assert SurveyResponse.objects.count() == 0


def test_valid_signature_creates_a_response(call):
    response = signed_post(
        {"call_external_id": "C-API-1", "score": 3, "response_id": "s-1", "comment": "bad"}
    )
    assert response.status_code == 201
    saved = SurveyResponse.objects.get()
    assert (saved.score, saved.category, saved.source) == (3, "detractor", "inbound_api")
    assert FollowUpCase.objects.filter(response=saved).count() == 1


@pytest.mark.parametrize("kind", ["wrong secret", "tampered body", "garbage header"])
def test_bad_signature_is_401_and_creates_nothing(call, kind):
    body = json.dumps({"call_external_id": "C-API-1", "score": 3}).encode()
    if kind == "wrong secret":
        response = signed_post(None, body=body, secret="not-it")
    elif kind == "tampered body":
        header = signature_for(body, SECRET)
        tampered = body.replace(b"3", b"9")
        response = APIClient().post(
            URL, tampered, content_type="application/json", headers={"X-QA-Signature": header}
        )
    else:
        response = APIClient().post(
            URL, body, content_type="application/json", headers={"X-QA-Signature": "sha256=00"}
        )
    assert response.status_code == 401
    assert SurveyResponse.objects.count() == 0


def test_signatures_are_refused_when_no_secret_is_configured(settings, call):
    settings.SURVEY_WEBHOOK_SECRET = ""
    response = signed_post({"call_external_id": "C-API-1", "score": 3}, secret="")
    assert response.status_code == 401
    assert SurveyResponse.objects.count() == 0


def test_redelivery_with_the_same_response_id_answers_200_with_the_same_id(call):
    payload = {"call_external_id": "C-API-1", "score": 4, "response_id": "dup-1"}
    first = signed_post(payload)
    second = signed_post(payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert SurveyResponse.objects.count() == 1
    assert ResponseCredit.objects.count() == 1
    assert FollowUpCase.objects.count() == 1


def test_redelivery_without_response_id_is_recognised_by_the_call(call):
    payload = {"call_external_id": "C-API-1", "score": 9}
    assert signed_post(payload).status_code == 201
    assert signed_post(payload).status_code == 200
    assert SurveyResponse.objects.count() == 1


def test_a_different_response_for_an_answered_call_is_409(call):
    first = signed_post({"call_external_id": "C-API-1", "score": 9, "response_id": "a"})
    conflict = signed_post({"call_external_id": "C-API-1", "score": 1, "response_id": "b"})
    assert conflict.status_code == 409
    assert conflict.json()["existing_id"] == first.json()["id"]
    assert SurveyResponse.objects.get().score == 9


def test_answer_by_survey_token_and_its_redelivery():
    invitation, raw = invitation_with_token()
    first = signed_post({"token": raw, "score": 8})
    second = signed_post({"token": raw, "score": 8})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    saved = SurveyResponse.objects.get()
    assert saved.invitation_id == invitation.pk and saved.call_id == invitation.call_id
    invitation.refresh_from_db()
    assert invitation.used_at is not None


def test_token_already_answered_on_the_page_is_409(client):
    _invitation, raw = invitation_with_token()
    client.post(f"/s/{raw}/", {"score": "9"})
    response = signed_post({"token": raw, "score": 2})
    assert response.status_code == 409
    assert SurveyResponse.objects.get().score == 9


def test_expired_and_unknown_tokens_name_the_token_field():
    _invitation, raw = invitation_with_token(expires_in=timedelta(seconds=-1))
    expired = signed_post({"token": raw, "score": 8})
    unknown = signed_post({"token": token_generate()[0], "score": 8})
    assert (expired.status_code, unknown.status_code) == (400, 400)
    assert expired.json() == {"token": ["This survey link has expired."]}
    assert unknown.json() == {"token": ["Unknown survey token."]}
    assert SurveyResponse.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"call_external_id": "C-API-1"}, "score"),
        ({"call_external_id": "C-API-1", "score": 11}, "score"),
        ({"call_external_id": "C-API-1", "score": -1}, "score"),
        ({"call_external_id": "C-API-1", "score": "nine"}, "score"),
        ({"call_external_id": "C-API-1", "score": 7.5}, "score"),
        ({"score": 7}, "call_external_id"),
        ({"call_external_id": "C-API-1", "token": "abc", "score": 7}, "call_external_id"),
        ({"call_external_id": "C-NOPE", "score": 7}, "call_external_id"),
        ({"call_external_id": "C-API-1", "score": 7, "responded_at": "yesterday"}, "responded_at"),
        ({"call_external_id": "C-API-1", "score": 7, "comment": "x" * 2001}, "comment"),
    ],
)
def test_validation_errors_name_the_field(call, payload, field):
    response = signed_post(payload)
    assert response.status_code == 400
    assert field in response.json()
    assert SurveyResponse.objects.count() == 0


def test_responded_at_in_the_future_is_refused_and_in_the_past_is_kept(call):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert (
        "responded_at"
        in signed_post({"call_external_id": "C-API-1", "score": 7, "responded_at": future}).json()
    )
    past = timezone.now() - timedelta(days=2)
    response = signed_post({"call_external_id": "C-API-1", "score": 7, "responded_at": past.isoformat()})
    assert response.status_code == 201
    assert SurveyResponse.objects.get().received_at == past


def test_the_endpoint_is_in_the_openapi_schema(admin_user, client):
    client.force_login(admin_user)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "post" in schema["paths"]["/api/surveys/responses"]


def test_a_different_score_for_an_answered_call_without_response_id_is_409(call):
    first = signed_post({"call_external_id": "C-API-1", "score": 3})
    changed = signed_post({"call_external_id": "C-API-1", "score": 9})
    assert (first.status_code, changed.status_code) == (201, 409)
    assert changed.json()["existing_id"] == first.json()["id"]
    assert SurveyResponse.objects.get().score == 3


def test_a_different_score_for_an_answered_token_is_409():
    _invitation, raw = invitation_with_token()
    assert signed_post({"token": raw, "score": 8}).status_code == 201
    assert signed_post({"token": raw, "score": 1}).status_code == 409
    assert SurveyResponse.objects.get().score == 8


def test_a_body_over_the_upload_limit_is_a_json_413(token_client, call, settings):
    """Django's own answer would be an HTML 400 page; API clients get JSON, as from the import endpoint."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    payload = {"call_external_id": "C-API-1", "score": 10, "comment": "x" * 2000}

    for response in (token_client.post(URL, payload, format="json"), signed_post(payload)):
        assert response.status_code == 413
        assert response.json() == {"detail": "Request body too large."}
    assert SurveyResponse.objects.count() == 0
