"""Shout-outs: recognition of an agent's good work (DOMAIN.md, lever 5), told to the agent at once."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from calls.models import Agent

from ..models import Evaluation, Notice, ShoutOut
from .selectors import can_give_shout_out

MAX_MESSAGE = ShoutOut._meta.get_field("message").max_length


@transaction.atomic
def shout_out_create(*, author, agent: Agent, message: str, evaluation: Evaluation | None = None) -> ShoutOut:
    """Praise an agent. Author: a supervisor of the agent's team or an admin, never the agent themselves.
    `evaluation`: one of the agent's current submitted reviews, the call the praise is for (optional).

    The agent's notice is written in the same transaction (kind shout_out, keyed "shout-out:<id>"), so a
    shout-out is never stored without it; with QA_NOTICE_EMAIL the notice sweep e-mails it (within its
    5-minute round). An agent without an active login gets none and reads it on My QA."""
    if not can_give_shout_out(author, agent):
        raise PermissionDenied(
            "Only a supervisor of the agent's team, or an admin, can give them a shout-out."
        )
    text = message.strip()
    errors: dict[str, str] = {}
    if not text:
        errors["message"] = "Say what was good."
    elif len(text) > MAX_MESSAGE:
        errors["message"] = f"At most {MAX_MESSAGE} characters ({len(text)} given)."
    if (
        evaluation is not None
        and not Evaluation.objects.filter(
            pk=evaluation.pk,
            agent=agent,
            kind=Evaluation.Kind.REVIEW,
            status=Evaluation.Status.SUBMITTED,
            is_current=True,
        ).exists()
    ):
        errors["evaluation"] = "Only one of the agent's current submitted reviews."
    if errors:
        raise ValidationError(errors)
    shout_out = ShoutOut.objects.create(agent=agent, author=author, message=text, evaluation=evaluation)
    user = agent.user
    if user is not None and user.is_active:
        Notice.objects.create(
            recipient=user,
            kind=Notice.Kind.SHOUT_OUT,
            event_key=f"shout-out:{shout_out.pk}",
            created_at=shout_out.created_at,
            details={
                "message": text,
                "author": author.get_full_name() or author.get_username(),
                "call": evaluation.call.external_id if evaluation is not None else None,
            },
        )
    return shout_out
