"""Outside channels for follow-up notices (e-mail, webhook). The in-app board needs no notifier: the
Notification row itself is the in-app notice.

A notifier raises TransientNotifyError for failures worth retrying (timeouts, connection errors, 4xx SMTP
replies, HTTP 429/5xx) and PermanentNotifyError for the rest. Every notice carries its idempotency key
(e-mail Message-ID and X-QA-Idempotency-Key header, webhook Idempotency-Key header) so a receiver can
drop the rare duplicate a crash between "sent" and "recorded" can cause (see services._deliver).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string


class TransientNotifyError(Exception):
    """A failure that may go away: retry with backoff."""


class PermanentNotifyError(Exception):
    """A failure that will not go away by retrying (bad address, rejected request)."""


@dataclass(frozen=True)
class Notice:
    idempotency_key: str
    kind: str
    level: int
    case_id: int
    recipient_email: str
    recipient_name: str
    subject: str
    body: str
    url: str
    due_at: datetime
    customer_external_id: str = ""


def email_send(*, subject: str, body: str, to: str, idempotency_key: str) -> None:
    """Send one e-mail carrying its idempotency key (Message-ID and X-QA-Idempotency-Key), so a receiver can
    drop a duplicate. Raises TransientNotifyError (retry: SMTP 4xx, unreachable) or PermanentNotifyError.
    Shared by the follow-up e-mail notifier and QA notices (scoring.notices)."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "Message-ID": f"<{idempotency_key}@qa-center>",
            "X-QA-Idempotency-Key": idempotency_key,
        },
    )
    try:
        message.send()
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransientNotifyError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise PermanentNotifyError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
        raise TransientNotifyError(f"SMTP unreachable: {exc}") from exc
    except smtplib.SMTPException as exc:
        raise PermanentNotifyError(f"SMTP: {exc}") from exc


class Notifier:
    name = "base"

    def is_enabled(self) -> bool:
        return True

    def applies(self, notice: Notice) -> bool:
        """Does this channel have something to send for the notice (e.g. an e-mail address)?"""
        return True

    def send(self, notice: Notice) -> None:
        """Deliver the notice, or raise TransientNotifyError / PermanentNotifyError."""
        raise NotImplementedError


class EmailNotifier(Notifier):
    name = "email"

    def applies(self, notice: Notice) -> bool:
        return bool(notice.recipient_email)

    def send(self, notice: Notice) -> None:
        email_send(
            subject=notice.subject,
            body=f"{notice.body}\n\n{notice.url}\n",
            to=notice.recipient_email,
            idempotency_key=notice.idempotency_key,
        )


class WebhookNotifier(Notifier):
    """POST the notice as JSON to FOLLOWUP_WEBHOOK_URL (chat tools, ticketing, paging), HMAC-signed."""

    name = "webhook"

    def is_enabled(self) -> bool:
        return bool(settings.FOLLOWUP_WEBHOOK_URL)

    def send(self, notice: Notice) -> None:
        body = json.dumps(
            {
                "idempotency_key": notice.idempotency_key,
                "kind": notice.kind,
                "level": notice.level,
                "case_id": notice.case_id,
                "recipient_email": notice.recipient_email,
                "subject": notice.subject,
                "text": notice.body,
                "url": notice.url,
                "due_at": notice.due_at.isoformat(),
                "customer_external_id": notice.customer_external_id,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": notice.idempotency_key}
        if settings.FOLLOWUP_WEBHOOK_SECRET:
            digest = hmac.new(settings.FOLLOWUP_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers["X-QA-Signature"] = f"sha256={digest}"
        url = settings.FOLLOWUP_WEBHOOK_URL
        if not url.startswith(("https://", "http://")):
            raise PermanentNotifyError("FOLLOWUP_WEBHOOK_URL must be an http(s) URL")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(request, timeout=settings.FOLLOWUP_WEBHOOK_TIMEOUT) as reply:  # noqa: S310 - scheme checked
                reply.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise TransientNotifyError(f"webhook HTTP {exc.code}") from exc
            raise PermanentNotifyError(f"webhook HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientNotifyError(f"webhook unreachable: {exc}") from exc


BUILTIN = {"email": EmailNotifier, "webhook": WebhookNotifier}


@lru_cache(maxsize=8)
def _load(names: tuple[str, ...]) -> tuple[Notifier, ...]:
    return tuple((BUILTIN.get(name) or import_string(name))() for name in names)


def enabled_notifiers() -> list[Notifier]:
    """The configured notifiers (FOLLOWUP_NOTIFIERS: built-in names or dotted paths) that are enabled."""
    return [n for n in _load(tuple(settings.FOLLOWUP_NOTIFIERS)) if n.is_enabled()]
