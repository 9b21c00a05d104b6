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
from calls.selectors import call_annotate_metrics, call_filter, call_list_for_user

from .. import services
from ..forms import AssignForm
from ..models import Assignment, Evaluation
from ..selectors import assignment_get_for_user, assignment_list_for_user
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


@login_required
@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest) -> HttpResponse:
    """Supervisors / QA leads pick calls by filters and put them in a reviewer's queue."""
    if not can_assign(request.user):
        raise PermissionDenied("Only supervisors, QA leads and admins assign calls.")
    visible_calls = call_list_for_user(request.user)
    filter_form = CallFilterForm(request.GET, user=request.user)
    candidates = call_annotate_metrics(visible_calls)
    candidates = (
        call_filter(candidates, **filter_form.filters()) if filter_form.is_valid() else candidates.none()
    )
    candidates = candidates.annotate(
        is_assigned=Exists(Assignment.objects.filter(call=OuterRef("pk"), status=Assignment.Status.OPEN)),
        is_reviewed=Exists(
            Evaluation.objects.filter(
                call=OuterRef("pk"), kind=Evaluation.Kind.REVIEW, status=Evaluation.Status.SUBMITTED
            )
        ),
    )[:ASSIGN_CANDIDATES]

    if request.method == "POST":
        posted_ids = [int(v) for v in request.POST.getlist("calls") if v.isdigit()]
        allowed = {call.pk: call for call in visible_calls.filter(pk__in=posted_ids)}
        form = AssignForm(request.POST, reviewers=assignable_reviewers(), call_ids=list(allowed))
        if form.is_valid():
            created, problems = 0, []
            for call_id in form.cleaned_data["calls"]:
                call = allowed[call_id]
                try:
                    services.assignment_create(
                        call=call,
                        reviewer=form.cleaned_data["reviewer"],
                        assigned_by=request.user,
                        purpose=form.cleaned_data["purpose"],
                        note=form.cleaned_data["note"].strip(),
                    )
                    created += 1
                except (ValidationError, PermissionDenied) as error:
                    text = (
                        " ".join(error_messages(error)) if isinstance(error, ValidationError) else str(error)
                    )
                    problems.append(f"{call.external_id}: {text}")
            reviewer = form.cleaned_data["reviewer"]
            if created:
                messages.success(
                    request,
                    f"{created} call{'s' if created != 1 else ''} assigned to "
                    f"{reviewer.get_full_name() or reviewer.username}.",
                )
            for problem in problems:
                messages.error(request, problem)
            return redirect(f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path)
    else:
        form = AssignForm(reviewers=assignable_reviewers(), call_ids=[])

    others = (
        assignment_list_for_user(request.user)
        .exclude(reviewer=request.user)
        .order_by("-created_at", "-id")[:50]
    )
    context = {
        "filter_form": filter_form,
        "form": form,
        "candidates": candidates,
        "recent": list(others),
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
