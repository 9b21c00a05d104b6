import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from scoring.surveys import services
from scoring.surveys.models import SurveyInvitation, SurveyResponse
from scoring.surveys.tokens import (
    signature_for,
    signature_is_valid,
    token_generate,
    token_hash,
    token_is_well_formed,
)
from tests.surveys.factories import invitation_with_token


def test_token_is_43_url_safe_characters_and_its_hash_is_sha256():
    raw, digest = token_generate()
    assert len(raw) == 43  # 32 random bytes, base64url without padding
    assert token_is_well_formed(raw)
    assert digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token_hash(raw) == digest


def test_tokens_do_not_repeat():
    assert len({token_generate()[0] for _ in range(1000)}) == 1000


@pytest.mark.parametrize("raw", ["", "a" * 129, "abc/def", "abc def", "<script>"])
def test_malformed_tokens_are_refused_before_any_lookup(raw):
    assert not token_is_well_formed(raw)


@pytest.mark.django_db
def test_only_the_hash_is_stored():
    invitation, raw = invitation_with_token()
    stored = SurveyInvitation.objects.filter(pk=invitation.pk).values().get()
    assert raw not in [str(v) for v in stored.values()]
    assert stored["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert services.invitation_find_by_token(raw).pk == invitation.pk


@pytest.mark.django_db
def test_a_link_works_once():
    invitation, raw = invitation_with_token()
    response, created = services.response_submit_by_token(raw_token=raw, score=9)
    assert created and response.invitation_id == invitation.pk
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.response_submit_by_token(raw_token=raw, score=3)
    assert excinfo.value.reason == "used"
    assert SurveyResponse.objects.count() == 1
    assert SurveyResponse.objects.get().score == 9


@pytest.mark.django_db
def test_an_expired_link_takes_no_answer():
    invitation, raw = invitation_with_token(expires_in=timedelta(seconds=-1))
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.response_submit_by_token(raw_token=raw, score=9)
    assert excinfo.value.reason == "expired"
    invitation.refresh_from_db()
    assert invitation.used_at is None
    assert SurveyResponse.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_link_takes_no_answer():
    invitation_with_token()
    raw, _ = token_generate()
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.response_submit_by_token(raw_token=raw, score=9)
    assert excinfo.value.reason == "unknown"
    assert SurveyResponse.objects.count() == 0


@pytest.mark.django_db
def test_link_expiry_follows_the_ttl_setting(settings, customer_call):
    settings.SURVEY_LINK_TTL_DAYS = 3
    settings.SURVEY_SAMPLE_RATE = 1.0
    before = timezone.now()
    invitation = services.invitation_decide(call=customer_call)
    assert invitation.status == "pending"
    assert before + timedelta(days=3) <= invitation.expires_at <= timezone.now() + timedelta(days=3)


def test_signature_round_trip_and_tampering():
    body = b'{"score": 9}'
    header = signature_for(body, "s3cret")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature_is_valid(body, header, "s3cret")
    assert not signature_is_valid(body + b" ", header, "s3cret")
    assert not signature_is_valid(body, header, "other")
    assert not signature_is_valid(body, header.replace("sha256=", ""), "s3cret")
    assert not signature_is_valid(body, header, "")  # no secret configured → never valid
    assert not signature_is_valid(body, "", "s3cret")
    # The scheme and the hex digits in upper case, as some senders write them, are the same signature.
    assert signature_is_valid(body, header.upper(), "s3cret")
    assert not signature_is_valid(body, header.replace("sha256=", "sha1="), "s3cret")
    assert not signature_is_valid(body, "sha256=é" + header[8:], "s3cret")
