"""The reviewer's queue and the manual assignment page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls import roles
from calls.forms import CallFilterForm
from calls.models import Call
from calls.selectors import call_annotate_metrics, call_filter, call_list_for_user

from .. import services
from ..forms import AssignForm
from ..legs import calls_legs
from ..models import Assignment, Evaluation
from ..selectors import (
    LegAssignScope,
    assignment_get_for_user,
    assignment_list_for_user,
    default_leg,
    leg_assign_scope,
    open_legs_of_calls,
)
from ..ui_support import assignable_reviewers, attach_call_signals, queue_annotate_legs, queue_counts
from ._common import can_assign, error_messages, require_any_role

QUEUE_PAGE_SIZE = 50
# Calls shown for picking on the assignment page.
ASSIGN_CANDIDATES = 50


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The reviewer's open assignments (one row per leg: call and agent), oldest first, with why each call
    was picked."""
    require_any_role(request.user, roles.REVIEWER, roles.SUPERVISOR)
    open_assignments = assignment_list_for_user(request.user).filter(reviewer=request.user)
    counts = queue_counts(open_assignments)
    rows = (
        queue_annotate_legs(open_assignments)
        .annotate(
            has_draft=Exists(
                Evaluation.objects.filter(
                    call=OuterRef("call_id"),
                    agent=OuterRef("leg_agent_id"),
                    author=request.user,
                    status=Evaluation.Status.DRAFT,
                )
            )
        )
        .order_by("created_at", "id")
    )
    paginator = Paginator(rows, QUEUE_PAGE_SIZE)
    paginator.count = counts["total"]
    page_obj = paginator.get_page(request.GET.get("page"))
    assignments = attach_call_signals(list(page_obj.object_list))
    context = {
        "assignments": assignments,
        "counts": counts,
        "page_obj": page_obj,
        "purposes": Assignment.Purpose,
        "can_assign": can_assign(request.user),
        "querystring_prev": f"page={page_obj.previous_page_number()}" if page_obj.has_previous() else "",
        "querystring_next": f"page={page_obj.next_page_number()}" if page_obj.has_next() else "",
    }
    return render(request, "scoring/queue.html", context)


def _leg_pickers(calls: list[Call], scope: LegAssignScope) -> list[tuple]:
    """Per call: (call, its legs, those the user may assign, agent ids of its legs already in a queue, the
    leg to preselect). Three queries at most, whatever the number of calls: the transfers, the open
    assignments (the scope was decided before)."""
    legs_by_call = calls_legs(calls)
    queued_by_call: dict[int, set[int]] = {}
    for call_id, agent_id in open_legs_of_calls([call.pk for call in calls]):
        queued_by_call.setdefault(call_id, set()).add(agent_id)
    pickers = []
    for call in calls:
        legs = legs_by_call[call.pk]
        assignable = [leg for leg in legs if scope.may_assign(leg.agent)]
        queued = queued_by_call.get(call.pk, set())
        default = default_leg(call, legs, scope)
        if default is None or default.agent.pk in queued or not scope.may_assign(default.agent):
            default = next((leg for leg in assignable if leg.agent.pk not in queued), default)
        pickers.append((call, legs, assignable, queued, default))
    return pickers


@login_required
@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest) -> HttpResponse:
    """Supervisors / QA leads pick calls by filters and put them in a reviewer's queue, each for the leg
    picked on its row (the agent to evaluate: the legs the user may assign, in leg order)."""
    if not can_assign(request.user):
        raise PermissionDenied("Only supervisors, QA leads and admins assign calls.")
    scope = leg_assign_scope(request.user)
    visible_calls = call_list_for_user(request.user)
    filter_form = CallFilterForm(request.GET, user=request.user)
    candidates = call_annotate_metrics(visible_calls)
    candidates = (
        call_filter(candidates, **filter_form.filters()) if filter_form.is_valid() else candidates.none()
    )
    candidates = list(
        candidates.annotate(
            is_reviewed=Exists(
                Evaluation.objects.filter(
                    call=OuterRef("pk"), kind=Evaluation.Kind.REVIEW, status=Evaluation.Status.SUBMITTED
                )
            ),
        )[:ASSIGN_CANDIDATES]
    )

    allowed: dict[int, Call] = {}
    if request.method == "POST":
        posted_ids = [int(v) for v in request.POST.getlist("calls") if v.isdigit()]
        allowed = {call.pk: call for call in visible_calls.filter(pk__in=posted_ids)}
    shown = {call.pk for call in candidates}
    pickers = _leg_pickers(candidates + [c for c in allowed.values() if c.pk not in shown], scope)
    form_kwargs = {"reviewers": assignable_reviewers(), "call_ids": list(allowed), "pickers": pickers}

    if request.method == "POST":
        form = AssignForm(request.POST, **form_kwargs)
        if form.is_valid():
            agents = {(call.pk, leg.agent.pk): leg.agent for call, legs, *_ in pickers for leg in legs}
            reviewer = form.cleaned_data["reviewer"]
            try:
                result = services.assignment_create_many(
                    legs=[
                        (allowed[call_id], agents[call_id, agent_id] if agent_id else None)
                        for call_id, agent_id in form.picked_legs()
                    ],
                    reviewer=reviewer,
                    assigned_by=request.user,
                    purpose=form.cleaned_data["purpose"],
                    note=form.cleaned_data["note"].strip(),
                )
            except ValidationError as error:
                for message in error_messages(error):
                    messages.error(request, message)
            else:
                created = len(result.created)
                if created:
                    messages.success(
                        request,
                        f"{created} call{'s' if created != 1 else ''} assigned to "
                        f"{reviewer.get_full_name() or reviewer.username}.",
                    )
                for call, problem in result.problems:
                    messages.error(request, f"{call.external_id}: {problem}")
            return redirect(f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path)
    else:
        form = AssignForm(**form_kwargs)

    rows = []
    for call, legs, assignable, queued, _ in pickers[: len(candidates)]:
        call.leg_field = form[form.leg_field_name(call.pk)] if assignable else None
        call.leg_count = len(legs)
        call.is_assigned = bool(queued)
        # Nothing left to assign on this row: every leg the user may assign is already in a queue.
        call.is_closed = not assignable or all(leg.agent.pk in queued for leg in assignable)
        rows.append(call)
    others = list(
        assignment_list_for_user(request.user)
        .exclude(reviewer=request.user)
        .order_by("-created_at", "-id")[:50]
    )
    for assignment in others:
        leg_agent = assignment.agent or assignment.call.agent
        # The service decides for a leg without an agent (any leg of the call): show the button then.
        assignment.can_cancel = leg_agent is None or scope.may_assign(leg_agent)
    context = {
        "filter_form": filter_form,
        "form": form,
        "candidates": rows,
        "recent": others,
        "querystring": request.GET.urlencode(),
    }
    return render(request, "scoring/assign.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def assignment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = assignment_get_for_user(request.user, pk=pk)
    try:
        services.assignment_cancel(assignment=assignment, user=request.user)
    except ValidationError as error:
        for message in error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, f"Assignment of {assignment.call.external_id} cancelled.")
    next_url = request.POST.get("next", "")
    if next_url in {"queue", "assign"}:
        return redirect(f"scoring:{next_url}")
    return redirect("scoring:queue")
