"""Outside channels: the webhook against a real local HTTP server (the outside system is the only fake),
e-mail error classification, and SLA policy matching."""

import hashlib
import hmac
import json
import smtplib
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from scoring.followups import selectors
from scoring.followups.models import SlaPolicy
from scoring.followups.notifiers import (
    EmailNotifier,
    Notice,
    PermanentNotifyError,
    TransientNotifyError,
    WebhookNotifier,
)

NOTICE = Notice(
    idempotency_key="followup.7.assigned.0.user.3",
    kind="assigned",
    level=0,
    case_id=7,
    recipient_email="sup@example.com",
    recipient_name="Sue",
    subject="Follow-up #7",
    body="Ann answered 2/10",
    url="http://testserver/followups/7/",
    due_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
    customer_external_id="CU-1",
)


class Receiver(BaseHTTPRequestHandler):
    replies: list[int] = []
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.headers, body))  # case-insensitive header lookup
        self.send_response(Receiver.replies.pop(0) if Receiver.replies else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    Receiver.replies, Receiver.received = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.FOLLOWUP_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    settings.FOLLOWUP_WEBHOOK_SECRET = "s3cret"
    yield Receiver
    server.shutdown()


def test_webhook_posts_signed_json_with_the_idempotency_key(receiver):
    WebhookNotifier().send(NOTICE)
    ((headers, body),) = receiver.received
    payload = json.loads(body)
    assert (payload["idempotency_key"], payload["case_id"], payload["due_at"]) == (
        "followup.7.assigned.0.user.3",
        7,
        "2026-11-24T12:00:00+00:00",
    )
    assert headers["Idempotency-Key"] == "followup.7.assigned.0.user.3"
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-QA-Signature"] == f"sha256={expected}"


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, TransientNotifyError), (429, TransientNotifyError), (400, PermanentNotifyError)],
)
def test_webhook_classifies_http_errors(receiver, status, error):
    receiver.replies = [status]
    with pytest.raises(error):
        WebhookNotifier().send(NOTICE)


def test_webhook_unreachable_is_transient(settings):
    settings.FOLLOWUP_WEBHOOK_URL = "http://127.0.0.1:1/hook"
    with pytest.raises(TransientNotifyError):
        WebhookNotifier().send(NOTICE)


def test_webhook_refuses_non_http_urls(settings):
    settings.FOLLOWUP_WEBHOOK_URL = "file:///etc/passwd"
    with pytest.raises(PermanentNotifyError):
        WebhookNotifier().send(NOTICE)


def test_webhook_is_off_without_a_url(settings):
    settings.FOLLOWUP_WEBHOOK_URL = ""
    assert WebhookNotifier().is_enabled() is False


class FailingBackend(BaseEmailBackend):
    error: Exception = OSError("connection refused")

    def send_messages(self, messages):
        raise FailingBackend.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (smtplib.SMTPResponseException(451, b"try later"), TransientNotifyError),
        (smtplib.SMTPResponseException(550, b"no such user"), PermanentNotifyError),
        (smtplib.SMTPServerDisconnected("gone"), TransientNotifyError),
        (OSError("connection refused"), TransientNotifyError),
    ],
)
def test_email_errors_are_classified(settings, error, expected):
    settings.MAILERS = {"default": {"BACKEND": "tests.followups.test_notifiers.FailingBackend"}}
    FailingBackend.error = error
    with pytest.raises(expected):
        EmailNotifier().send(NOTICE)


def test_email_applies_only_with_an_address():
    assert EmailNotifier().applies(NOTICE)
    assert not EmailNotifier().applies(Notice(**{**NOTICE.__dict__, "recipient_email": ""}))


@pytest.mark.django_db
def test_sla_policy_matching_by_position_tier_and_score():
    platinum_low = SlaPolicy.objects.get(name="Platinum detractor (0–3)")
    platinum_mid = SlaPolicy.objects.get(name="Platinum detractor (4–6)")
    gold = SlaPolicy.objects.get(name="Gold detractor")
    default = SlaPolicy.objects.get(is_default=True)
    assert selectors.sla_policy_match(customer_tier="platinum", score=0) == platinum_low
    assert selectors.sla_policy_match(customer_tier="platinum", score=3) == platinum_low
    assert selectors.sla_policy_match(customer_tier="platinum", score=4) == platinum_mid
    assert selectors.sla_policy_match(customer_tier="gold", score=6) == gold
    assert selectors.sla_policy_match(customer_tier="standard", score=0) == default
    assert selectors.sla_policy_match(customer_tier=None, score=5) == default
    # An earlier any-tier policy wins over later tier ones; inactive policies are skipped.
    any_zero = SlaPolicy.objects.create(
        name="Zero anywhere", position=1, min_score=0, max_score=0, resolution_minutes=30
    )
    assert selectors.sla_policy_match(customer_tier="platinum", score=0) == any_zero
    any_zero.is_active = False
    any_zero.save()
    assert selectors.sla_policy_match(customer_tier="platinum", score=0) == platinum_low
