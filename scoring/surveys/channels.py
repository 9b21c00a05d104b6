"""Pluggable delivery channels for survey invitations.

A channel knows which address of a customer it uses and how to send a link there. It raises
TransientDeliveryError for failures worth retrying (timeouts, 5xx, 429, SMTP 4xx) and
PermanentDeliveryError for the rest. settings.SURVEY_CHANNELS lists the channels in order of
preference: the first one the customer has an address for is used. Outside systems (SMTP server, SMS
gateway) are the only thing tests mock.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from calls.models import Customer

from .tokens import signature_for


class DeliveryError(Exception):
    pass


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (network trouble, the other side overloaded)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help (bad address, rejected request, channel misconfigured)."""


@dataclass(frozen=True)
class InvitationMessage:
    """What a channel needs to send: no model instances, so channels stay easy to test and swap."""

    invitation_id: int
    call_external_id: str
    customer_name: str
    link: str
    opt_out_link: str
    expires_at_text: str


class SurveyChannel:
    name: str = ""

    def address_for(self, customer: Customer) -> str:
        """The customer's address on this channel, or "" when there is none (or the channel is off)."""
        raise NotImplementedError

    def send(self, *, to: str, message: InvitationMessage) -> None:
        raise NotImplementedError


class EmailChannel(SurveyChannel):
    """E-mail through Django's configured backend (console/file in the demo, SMTP via EMAIL_*)."""

    name = "email"

    def address_for(self, customer: Customer) -> str:
        return customer.email.strip()

    def send(self, *, to: str, message: InvitationMessage) -> None:
        context = {"message": message}
        email = EmailMultiAlternatives(
            subject=render_to_string("surveys/email_invitation_subject.txt", context).strip(),
            body=render_to_string("surveys/email_invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={"List-Unsubscribe": f"<{message.opt_out_link}>"},
        )
        email.attach_alternative(render_to_string("surveys/email_invitation.html", context), "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"recipient refused: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            # 4xx replies are "try again later"; 5xx are final.
            if 400 <= exc.smtp_code < 500:
                raise TransientDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise PermanentDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            raise TransientDeliveryError(f"SMTP connection: {exc}") from exc
        except smtplib.SMTPException as exc:
            raise PermanentDeliveryError(f"SMTP: {exc}") from exc


class SmsWebhookChannel(SurveyChannel):
    """SMS through a gateway reached by an outbound webhook: POST JSON, signed with
    X-QA-Signature: sha256=<HMAC-SHA256 of the body with SURVEY_SMS_WEBHOOK_SECRET>."""

    name = "sms_webhook"
    TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

    def address_for(self, customer: Customer) -> str:
        if not settings.SURVEY_SMS_WEBHOOK_URL:
            return ""
        return customer.phone.strip()

    def payload(self, *, to: str, message: InvitationMessage) -> dict:
        return {
            "to": to,
            "text": render_to_string("surveys/sms_invitation.txt", {"message": message}).strip(),
            "invitation_id": message.invitation_id,
            "call_external_id": message.call_external_id,
        }

    def send(self, *, to: str, message: InvitationMessage) -> None:
        url = settings.SURVEY_SMS_WEBHOOK_URL
        if not url.startswith(("https://", "http://")):
            raise PermanentDeliveryError(f"SURVEY_SMS_WEBHOOK_URL is not an http(s) URL: {url!r}")
        body = json.dumps(self.payload(to=to, message=message), separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "qa-center-surveys/1"}
        if settings.SURVEY_SMS_WEBHOOK_SECRET:
            headers["X-QA-Signature"] = signature_for(body, settings.SURVEY_SMS_WEBHOOK_SECRET)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked above)
        try:
            with urllib.request.urlopen(request, timeout=settings.SURVEY_SMS_WEBHOOK_TIMEOUT) as response:  # noqa: S310
                response.read(1024)
        except urllib.error.HTTPError as exc:
            detail = f"HTTP {exc.code} from SMS gateway"
            if exc.code in self.TRANSIENT_STATUSES:
                raise TransientDeliveryError(detail) from exc
            raise PermanentDeliveryError(detail) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientDeliveryError(f"SMS gateway unreachable: {exc}") from exc


BUILT_IN_CHANNELS: dict[str, type[SurveyChannel]] = {
    EmailChannel.name: EmailChannel,
    SmsWebhookChannel.name: SmsWebhookChannel,
}


@cache
def _channel_class(name: str) -> type[SurveyChannel]:
    if name in BUILT_IN_CHANNELS:
        return BUILT_IN_CHANNELS[name]
    try:
        cls = import_string(name)
    except ImportError as exc:
        raise ImproperlyConfigured(f"Unknown survey channel {name!r} in SURVEY_CHANNELS") from exc
    if not (isinstance(cls, type) and issubclass(cls, SurveyChannel)):
        raise ImproperlyConfigured(f"{name!r} is not a SurveyChannel subclass")
    return cls


def channel_get(name: str) -> SurveyChannel:
    """The channel registered (or importable) under this name."""
    return _channel_class(name)()


def channel_key(channel: SurveyChannel, configured_name: str) -> str:
    return channel.name or configured_name


def channel_choose(customer: Customer) -> tuple[str, SurveyChannel, str] | None:
    """(configured name, channel, address) of the first configured channel the customer can be reached
    on, or None when there is none."""
    for name in settings.SURVEY_CHANNELS:
        channel = channel_get(name)
        address = channel.address_for(customer)
        if address:
            return name, channel, address
    return None
