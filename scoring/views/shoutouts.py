"""Giving an agent a shout-out (from the agent's analytics page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ..analytics.selectors import analytics_agent_get_for_user
from ..shoutouts.forms import ShoutOutForm
from ..shoutouts.selectors import can_give_shout_out, shout_out_evaluation_choices
from ..shoutouts.services import shout_out_create as shout_out_give
from ._common import form_add_service_errors


@login_required
@require_http_methods(["GET", "POST"])
def shout_out_create(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = analytics_agent_get_for_user(request.user, pk=agent_id)  # 404 for an agent the user may not see
    if not can_give_shout_out(request.user, agent):
        raise PermissionDenied(
            "Only a supervisor of the agent's team, or an admin, can give them a shout-out."
        )
    form = ShoutOutForm(request.POST or None, evaluations=shout_out_evaluation_choices(agent))
    if request.method == "POST" and form.is_valid():
        try:
            shout_out_give(
                author=request.user,
                agent=agent,
                message=form.cleaned_data["message"],
                evaluation=form.cleaned_data["evaluation"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, "Shout-out sent; the agent has been told.")
            return redirect("analytics:agent", pk=agent.pk)
    return render(
        request,
        "scoring/shout_out_form.html",
        {"agent": agent, "form": form},
        status=422 if form.errors else 200,
    )
