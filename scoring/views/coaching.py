"""Coaching pages: the supervisors' overview, record a session (from the agent's analytics page), a session,
and acknowledging it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls import roles

from ..analytics.selectors import analytics_agent_get_for_user
from ..coaching import selectors, services
from ..coaching.forms import CoachingSessionForm
from ._common import form_add_service_errors, require_any_role


@login_required
@require_GET
def coaching_overview(request: HttpRequest) -> HttpResponse:
    # Supervisors and admins (who pass) follow coaching; an agent reads their own sessions on My QA and a
    # reviewer none, so both get 403 here, as they do on the record form.
    require_any_role(request.user, roles.SUPERVISOR)
    overview = selectors.coaching_overview_for_user(request.user)
    return render(request, "scoring/coaching_overview.html", {"overview": overview})


@login_required
@require_http_methods(["GET", "POST"])
def coaching_create(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = analytics_agent_get_for_user(request.user, pk=agent_id)  # 404 for an agent the user may not see
    if not selectors.can_coach(request.user, agent):
        raise PermissionDenied(
            "Only a supervisor of the agent's team, or an admin, can record their coaching."
        )
    criteria = selectors.coaching_focus_choices()
    evaluations = list(selectors.coaching_evaluation_choices(agent=agent))
    suggested = set(selectors.coaching_suggested_focus(agent=agent))
    form = CoachingSessionForm(
        request.POST or None,
        criteria=criteria,
        evaluations=evaluations,
        initial={
            "held_on": timezone.localdate(),
            "focus_criteria": [c.pk for c in criteria if c.key in suggested],
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.coaching_session_create(
                agent=agent,
                coach=request.user,
                held_on=data["held_on"],
                focus_criteria=data["focus_criteria"],
                notes=data["notes"],
                agreed_actions=data["agreed_actions"],
                follow_up_on=data["follow_up_on"],
                evaluations=data["evaluations"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, "Coaching session recorded; the agent has been told.")
            return redirect("scoring:coaching_detail", pk=session.pk)
    context = {"agent": agent, "form": form, "suggested": sorted(suggested)}
    return render(request, "scoring/coaching_form.html", context, status=422 if form.errors else 200)


@login_required
@require_GET
def coaching_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.coaching_session_get_for_user(request.user, pk=pk)  # 404 for a foreign session
    return render(
        request,
        "scoring/coaching_detail.html",
        {
            "session": session,
            "effect": selectors.coaching_effect(session),
            "can_acknowledge": selectors.can_acknowledge_coaching(request.user, session),
        },
    )


@login_required
@require_POST
def coaching_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.coaching_session_get_for_user(request.user, pk=pk)
    error = None
    try:
        services.coaching_session_acknowledge(session=session, user=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        return render(
            request,
            "scoring/_coaching_acknowledge.html",
            {"session": session, "can_acknowledge": False, "error": error},
            status=409 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Coaching session acknowledged.")
    return redirect("scoring:coaching_detail", pk=session.pk)
