"""Disputes: the list (a supervisor's teams' open disputes first), one dispute, and its resolution."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from .. import services
from ..forms import DisputeResolveForm
from ..models import Dispute
from ..selectors import (
    can_resolve_dispute,
    dispute_get_for_user,
    dispute_list_for_user,
    evaluation_audit_trail,
    evaluation_rows,
)
from ..ui_support import answer_label
from ._common import error_messages

DISPUTES_PAGE_SIZE = 50
RECENTLY_RESOLVED_DAYS = 14
STATUS_FILTERS = {"open": Dispute.Status.OPEN, "resolved": None, "all": None}


@login_required
@require_GET
def dispute_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in STATUS_FILTERS:
        status = "open"
    disputes = dispute_list_for_user(request.user, status=STATUS_FILTERS[status])
    if status == "resolved":
        disputes = disputes.exclude(status=Dispute.Status.OPEN)
    disputes = disputes.order_by("-created_at", "-id")
    page_obj = Paginator(disputes, DISPUTES_PAGE_SIZE).get_page(request.GET.get("page"))
    # Disputes raise no notification: the open tab says when some were decided lately, so an agent whose
    # dispute was resolved (or its author) sees it where they look for it.
    recently_resolved = 0
    if status == "open":
        recently_resolved = (
            dispute_list_for_user(request.user)
            .exclude(status=Dispute.Status.OPEN)
            .filter(resolved_at__gte=timezone.now() - timedelta(days=RECENTLY_RESOLVED_DAYS))
            .count()
        )
    context = {
        "recently_resolved": recently_resolved,
        "recently_resolved_days": RECENTLY_RESOLVED_DAYS,
        "disputes": page_obj.object_list,
        "page_obj": page_obj,
        "status": status,
        "querystring_prev": f"status={status}&page={page_obj.previous_page_number()}"
        if page_obj.has_previous()
        else "",
        "querystring_next": f"status={status}&page={page_obj.next_page_number()}"
        if page_obj.has_next()
        else "",
    }
    return render(request, "scoring/dispute_list.html", context)


def _disputed_rows(dispute: Dispute) -> list[dict]:
    """Each disputed criterion with the agent's reason, the answer under dispute and (if adjusted) the new one."""
    by_criterion = {row.criterion.pk: row for row in evaluation_rows(dispute.evaluation)}
    revised = {}
    if dispute.revised_evaluation_id:
        revised = {row.criterion.pk: row for row in evaluation_rows(dispute.revised_evaluation)}
    rows = []
    for item in dispute.items.all():
        row = by_criterion.get(item.criterion_id)
        new_row = revised.get(item.criterion_id)
        rows.append(
            {
                "item": item,
                "row": row,
                "label": answer_label(item.criterion, row.answer if row else None),
                "new_label": answer_label(item.criterion, new_row.answer) if new_row else "",
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = dispute_get_for_user(request.user, pk=pk)
    rows = _disputed_rows(dispute)
    may_resolve = dispute.status == Dispute.Status.OPEN and can_resolve_dispute(request.user, dispute)
    form = None
    if may_resolve:
        disputed = [(r["item"].criterion, r["row"].applies if r["row"] else True) for r in rows]
        form = DisputeResolveForm(request.POST or None, disputed=disputed)
        for r in rows:
            r["field"] = form[f"value-{r['item'].criterion_id}"]
    if request.method == "POST":
        if not may_resolve:
            raise PermissionDenied("Only the agent's supervisor or an admin can resolve an open dispute.")
        if form.is_valid():
            try:
                services.dispute_resolve(
                    dispute=dispute,
                    user=request.user,
                    outcome=form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                    new_answers=form.cleaned_data["new_answers"] or None,
                )
            except ValidationError as error:
                for message in error_messages(error):
                    form.add_error(None, message)
            else:
                messages.success(request, "Dispute resolved.")
                return redirect("scoring:dispute_detail", pk=dispute.pk)
    context = {
        "dispute": dispute,
        "rows": rows,
        "form": form,
        "audit": list(evaluation_audit_trail(dispute.evaluation)),
    }
    return render(
        request, "scoring/dispute_detail.html", context, status=422 if form and form.errors else 200
    )
