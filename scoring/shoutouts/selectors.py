"""Shout-outs: who may give one, and the lists on My QA and on an agent's page."""

from __future__ import annotations

from django.db.models import QuerySet

from calls import roles
from calls.models import Agent, Team

from ..models import Evaluation, ShoutOut


def can_give_shout_out(user, agent: Agent) -> bool:
    """Admins, and the supervisors of the agent's team; nobody praises themselves (as for coaching)."""
    if not user.is_authenticated or not user.is_active or agent.user_id == user.pk:
        return False
    if roles.is_admin(user):
        return True
    return (
        roles.is_supervisor(user)
        and agent.team_id is not None
        and Team.objects.filter(pk=agent.team_id, supervisors=user).exists()
    )


def shout_out_list_for_agent(agent: Agent) -> QuerySet[ShoutOut]:
    """The agent's shout-outs, newest first, with author and call (for an agent the caller may see: the views
    scope the agent)."""
    return ShoutOut.objects.filter(agent=agent).select_related("author", "evaluation__call")


def shout_out_evaluation_choices(agent: Agent) -> QuerySet[Evaluation]:
    """The reviews a shout-out may be for: the agent's current submitted ones, newest first."""
    return (
        Evaluation.objects.filter(
            agent=agent, kind=Evaluation.Kind.REVIEW, status=Evaluation.Status.SUBMITTED, is_current=True
        )
        .select_related("call")
        .order_by("-submitted_at", "-pk")
    )
