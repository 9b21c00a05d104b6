"""Recording and acknowledging coaching sessions (services: they change state)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from calls.models import Agent

from ..models import CoachingSession, Criterion, Evaluation, Notice, Scorecard
from ..notices.services import notice_schedule_for_event
from .selectors import can_coach

MAX_FOCUS = 5


@transaction.atomic
def coaching_session_create(
    *,
    agent: Agent,
    coach,
    held_on: date,
    focus_criteria: Iterable[Criterion],
    notes: str,
    agreed_actions: str = "",
    follow_up_on: date | None = None,
    evaluations: Iterable[Evaluation] = (),
) -> CoachingSession:
    """Record a session. Coach: a supervisor of the agent's team or an admin, never the agent themselves.
    Held today or earlier; 1–5 focus criteria of published scorecards; evaluations: the agent's current
    submitted reviews. Tells the agent (a notice) once the transaction commits."""
    if not can_coach(coach, agent):
        raise PermissionDenied(
            "Only a supervisor of the agent's team, or an admin, can record their coaching."
        )
    focus = list(focus_criteria)
    discussed = list(evaluations)
    errors: dict[str, str] = {}
    if held_on > timezone.localdate():
        errors["held_on"] = "A session is recorded once it has taken place: the date cannot be in the future."
    if follow_up_on is not None and follow_up_on < held_on:
        errors["follow_up_on"] = "The follow-up cannot be before the session."
    if not notes.strip():
        errors["notes"] = "Write what was discussed."
    if not 1 <= len(focus) <= MAX_FOCUS:
        errors["focus_criteria"] = f"Choose between 1 and {MAX_FOCUS} criteria to focus on."
    elif any(c.scorecard.status != Scorecard.Status.PUBLISHED for c in focus):
        errors["focus_criteria"] = "Focus criteria come from published scorecards."
    elif len({c.key for c in focus}) != len(focus):
        errors["focus_criteria"] = "Each criterion once."
    if discussed and (
        Evaluation.objects.filter(
            pk__in=[e.pk for e in discussed],
            agent=agent,
            kind=Evaluation.Kind.REVIEW,
            status=Evaluation.Status.SUBMITTED,
            is_current=True,
        ).count()
        != len({e.pk for e in discussed})
    ):
        errors["evaluations"] = "Only the agent's current submitted reviews can be discussed."
    if errors:
        raise ValidationError(errors)
    session = CoachingSession.objects.create(
        agent=agent,
        coach=coach,
        held_on=held_on,
        notes=notes.strip(),
        agreed_actions=agreed_actions.strip(),
        follow_up_on=follow_up_on,
    )
    session.focus_criteria.set(focus)
    if discussed:
        session.evaluations.set(discussed)
    notice_schedule_for_event(kind=Notice.Kind.COACHING_RECORDED, coaching_session_id=session.pk)
    return session


def coaching_session_acknowledge(*, session: CoachingSession, user) -> CoachingSession:
    """The coached agent confirms the session record, once (the first time is kept; a second is refused)."""
    if session.agent.user_id is None or session.agent.user_id != user.pk:
        raise PermissionDenied("Only the coached agent can acknowledge the session.")
    # A conditional update: of two concurrent clicks exactly one sets the time.
    now = timezone.now()
    if not CoachingSession.objects.filter(pk=session.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now
    ):
        raise ValidationError("This session was already acknowledged.")
    session.acknowledged_at = now
    return session
