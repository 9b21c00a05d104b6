"""Survey test helpers: invitations with a known raw token (the database only ever holds its hash)."""

from datetime import timedelta

from django.utils import timezone

from scoring.surveys.models import SurveyDelivery, SurveyInvitation
from scoring.surveys.tokens import token_generate
from tests.factories import CallFactory


def invitation_with_token(
    call=None, *, expires_in=timedelta(days=7), status="sent", used_at=None, **call_kwargs
):
    """(invitation, raw token) for a call (a new one if none is given)."""
    call = call or CallFactory(**call_kwargs)
    raw, digest = token_generate()
    now = timezone.now()
    invitation = SurveyInvitation.objects.create(
        call=call,
        customer=call.customer,
        status=status,
        channel="email",
        token_hash=digest,
        expires_at=now + expires_in,
        sent_at=now if status == "sent" else None,
        used_at=used_at,
    )
    return invitation, raw


def pending_delivery(call=None, *, channel="email", to="ann@example.com", **call_kwargs):
    invitation, _raw = invitation_with_token(call, status="pending", **call_kwargs)
    invitation.channel = channel
    invitation.save(update_fields=["channel"])
    delivery = SurveyDelivery.objects.create(invitation=invitation, channel=channel, to=to)
    return delivery
