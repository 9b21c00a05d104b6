"""The "Evaluations of this call" panel on the call page (registered with calls.views.register_call_panel
from ScoringConfig.ready: `calls` never imports `scoring`)."""

from __future__ import annotations

from django.http import HttpRequest

from calls.models import Call
from calls.selectors import agent_for_user

from ..models import Evaluation
from ..selectors import call_evaluable_by_user, call_leg_agents, evaluation_list_for_call


def evaluations_call_panel(request: HttpRequest, call: Call) -> dict | None:
    """The evaluations of the call the user may read, and the review / self-review actions open to them.
    The call page has already checked the user may see the call."""
    user = request.user
    if not user.is_authenticated:
        return None
    evaluations = [
        evaluation
        for evaluation in evaluation_list_for_call(user, call)
        if evaluation.status == Evaluation.Status.SUBMITTED
    ]
    own = agent_for_user(user)
    own_self_review = own is not None and any(
        e.kind == Evaluation.Kind.SELF_REVIEW and e.agent_id == own.pk and e.author_id == user.pk
        for e in evaluations
    )
    return {
        "template": "scoring/_call_panel.html",
        "evaluations": evaluations,
        "can_review": call_evaluable_by_user(user, call),
        "can_self_review": own is not None
        and not own_self_review
        and own.pk in {a.pk for a in call_leg_agents(call)},
    }
