import json
import smtplib
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from scoring.surveys import channels, services, tasks
from scoring.surveys.models import SurveyDelivery, SurveyInvitation
from scoring.surveys.tokens import signature_for, token_hash
from tests.factories import CallFactory, CustomerFactory
from tests.surveys.factories import pending_delivery


class GatewayServer:
    """A stand-in SMS gateway on 127.0.0.1 that records requests and answers with scripted statuses."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"headers": self.headers, "body": body, "path": self.path})
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def link_token(text):
    """The raw token of the /s/<token>/ link in a message."""
    start = text.index("/s/") + 3
    return text[start : text.index("/", start)]


@pytest.fixture(autouse=True)
def delivery_settings(settings):
    settings.SITE_URL = "https://qa.example.test"
    settings.SURVEY_DELIVERY_MAX_ATTEMPTS = 3
    settings.SURVEY_SMS_WEBHOOK_SECRET = "gateway-secret"


def test_email_is_sent_with_a_working_single_use_link(db):
    delivery = pending_delivery(to="ann@example.com")
    outcome = services.delivery_attempt(delivery_id=delivery.pk)
    assert outcome.status == "sent"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.com"]
    assert "How did we do?" in message.subject
    raw = link_token(message.body)
    assert f"https://qa.example.test/s/{raw}/" in message.body
    assert f"https://qa.example.test/s/{raw}/opt-out/" in message.alternatives[0].content
    assert message.extra_headers["List-Unsubscribe"] == f"<https://qa.example.test/s/{raw}/opt-out/>"
    invitation = SurveyInvitation.objects.get(pk=delivery.invitation_id)
    assert invitation.token_hash == token_hash(raw)  # the link sent is the one the database recognises
    assert invitation.status == "sent" and invitation.sent_at is not None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 1, "")
    assert delivery.sent_at is not None
    response, created = services.response_submit_by_token(raw_token=raw, score=10)
    assert created and response.call_id == invitation.call_id


def test_a_second_message_for_the_same_delivery_sends_nothing(db):
    delivery = pending_delivery()
    assert services.delivery_attempt(delivery_id=delivery.pk).status == "sent"
    assert services.delivery_attempt(delivery_id=delivery.pk).status == "not_claimed"
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_sms_webhook_posts_signed_json(settings, db):
    call = CallFactory(external_id="C-SMS-1", customer=CustomerFactory(email="", phone="+15550001111"))
    delivery = pending_delivery(call, channel="sms_webhook", to="+15550001111")
    with GatewayServer([200]) as gateway:
        settings.SURVEY_SMS_WEBHOOK_URL = gateway.url
        assert services.delivery_attempt(delivery_id=delivery.pk).status == "sent"
    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-QA-Signature"] == signature_for(request["body"], "gateway-secret")
    payload = json.loads(request["body"])
    assert payload["to"] == "+15550001111"
    assert payload["call_external_id"] == "C-SMS-1"
    assert payload["invitation_id"] == delivery.invitation_id
    raw = link_token(payload["text"])
    assert SurveyInvitation.objects.get(pk=delivery.invitation_id).token_hash == token_hash(raw)


def test_gateway_503_is_retried_with_backoff_then_succeeds(settings, db):
    delivery = pending_delivery(channel="sms_webhook", to="+15550002222")
    with GatewayServer([503, 200]) as gateway:
        settings.SURVEY_SMS_WEBHOOK_URL = gateway.url
        now = timezone.now()
        outcome = services.delivery_attempt(delivery_id=delivery.pk, now=now)
        assert (outcome.status, outcome.retry_in) == ("retry", 60)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert "HTTP 503" in delivery.error
        assert delivery.next_attempt_at == now + timedelta(seconds=60)
        # Not due yet: nothing happens.
        assert (
            services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=59)).status
            == "not_claimed"
        )
        assert (
            services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=60)).status
            == "sent"
        )
    assert len(gateway.requests) == 2
    first, second = (json.loads(r["body"])["text"] for r in gateway.requests)
    # The token was rotated for the retry: only the link actually delivered works.
    invitation = SurveyInvitation.objects.get(pk=delivery.invitation_id)
    assert invitation.token_hash == token_hash(link_token(second)) != token_hash(link_token(first))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_transient_errors_give_up_after_the_maximum_attempts(settings, db):
    delivery = pending_delivery(channel="sms_webhook", to="+15550003333")
    with GatewayServer([502, 502, 502, 200]) as gateway:
        settings.SURVEY_SMS_WEBHOOK_URL = gateway.url
        now = timezone.now()
        assert services.delivery_attempt(delivery_id=delivery.pk, now=now).retry_in == 60
        assert (
            services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(minutes=1)).retry_in == 240
        )
        outcome = services.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(minutes=5))
    assert outcome.status == "failed" and outcome.retry_in is None
    assert len(gateway.requests) == 3
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.error.startswith("gave up after 3 attempts")
    assert SurveyInvitation.objects.get(pk=delivery.invitation_id).status == "failed"


def test_gateway_400_fails_at_once(settings, db):
    delivery = pending_delivery(channel="sms_webhook", to="+15550004444")
    with GatewayServer([400]) as gateway:
        settings.SURVEY_SMS_WEBHOOK_URL = gateway.url
        assert services.delivery_attempt(delivery_id=delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("failed", 1, "HTTP 400 from SMS gateway")


def test_unreachable_gateway_is_transient(settings, db):
    delivery = pending_delivery(channel="sms_webhook", to="+15550005555")
    settings.SURVEY_SMS_WEBHOOK_URL = "http://127.0.0.1:9/send"  # discard port: connection refused
    outcome = services.delivery_attempt(delivery_id=delivery.pk)
    assert outcome.status == "retry"
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "unreachable" in delivery.error


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (smtplib.SMTPServerDisconnected("gone"), "retry"),
        (smtplib.SMTPResponseException(451, b"try later"), "retry"),
        (smtplib.SMTPResponseException(550, b"no such user"), "failed"),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no")}), "failed"),
    ],
)
def test_smtp_errors_are_classified(monkeypatch, db, exception, expected):
    delivery = pending_delivery()

    def explode(self, fail_silently=False):
        raise exception

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", explode)
    assert services.delivery_attempt(delivery_id=delivery.pk).status == expected


def test_expired_or_answered_invitation_is_not_delivered(db):
    delivery = pending_delivery()
    SurveyInvitation.objects.filter(pk=delivery.invitation_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.delivery_attempt(delivery_id=delivery.pk).status == "failed"
    assert mail.outbox == []


def test_sweeper_releases_a_dead_workers_claim_and_requeues_due_deliveries(monkeypatch, db):
    now = timezone.now()
    stale = pending_delivery()
    SurveyDelivery.objects.filter(pk=stale.pk).update(
        status="sending", claimed_at=now - timedelta(minutes=11), attempts=1
    )
    fresh_claim = pending_delivery()
    SurveyDelivery.objects.filter(pk=fresh_claim.pk).update(
        status="sending", claimed_at=now - timedelta(minutes=2)
    )
    due = pending_delivery()
    SurveyDelivery.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(minutes=5))
    not_due = pending_delivery()
    SurveyDelivery.objects.filter(pk=not_due.pk).update(next_attempt_at=now + timedelta(minutes=5))
    queued = []
    monkeypatch.setattr(tasks.survey_deliver_task, "delay", queued.append)
    result = services.survey_sweep(now=now)
    assert result["released"] == 1
    assert sorted(queued) == sorted([stale.pk, due.pk])
    assert SurveyDelivery.objects.get(pk=fresh_claim.pk).status == "sending"
    assert SurveyDelivery.objects.get(pk=stale.pk).status == "pending"


def test_deliver_task_sends_and_retries_through_the_service(monkeypatch, settings, db):
    delivery = pending_delivery(channel="sms_webhook", to="+15550006666")
    settings.SURVEY_SMS_WEBHOOK_URL = "http://127.0.0.1:9/send"
    retried = []

    def fake_retry(countdown):
        retried.append(countdown)
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.survey_deliver_task, "retry", fake_retry)
    with pytest.raises(RuntimeError):
        tasks.survey_deliver_task.run(delivery.pk)
    assert retried == [60]
    email = pending_delivery()
    assert tasks.survey_deliver_task.run(email.pk) == "sent"


def test_unknown_channel_name_is_a_configuration_error(settings, customer_call):
    from django.core.exceptions import ImproperlyConfigured

    settings.SURVEY_CHANNELS = ["carrier_pigeon"]
    with pytest.raises(ImproperlyConfigured):
        channels.channel_choose(customer_call.customer)
