"""Evaluation pages: one evaluation (answers, history, acknowledge, dispute), the agent's own page and
the reviewer-vs-self comparison."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls.models import Transfer
from calls.selectors import agent_for_user, call_get_for_user, call_list_for_user

from .. import services
from ..coaching.selectors import can_acknowledge_coaching, coaching_session_list_for_agent
from ..forms import DisputeOpenForm
from ..models import Evaluation
from ..selectors import (
    can_acknowledge,
    can_dispute,
    evaluation_audit_trail,
    evaluation_get_for_user,
    evaluation_list_for_call,
    evaluation_list_for_user,
    evaluation_revisions,
    evaluation_rows,
)
from ..shoutouts.selectors import shout_out_list_for_agent
from ..ui_support import agent_qa_summary, answer_label, comparison_rows
from ._common import error_messages

ME_PAGE_SIZE = 25
SELF_REVIEW_CALLS = 20
MY_SHOUT_OUTS = 20
MY_COACHING_ROWS = 20


def _dispute_deadline(evaluation: Evaluation) -> dt.datetime | None:
    if evaluation.submitted_at is None:
        return None
    return evaluation.submitted_at + dt.timedelta(days=settings.QA_DISPUTE_WINDOW_DAYS)


def _answer_rows(evaluation: Evaluation) -> list[dict]:
    """Rows grouped by section with display labels and the section's stored sub-score."""
    section_scores = {s.section_id: s.score for s in evaluation.section_scores.all()}
    sections: list[dict] = []
    for row in evaluation_rows(evaluation):
        if not sections or sections[-1]["section"].pk != row.section.pk:
            sections.append({"section": row.section, "score": section_scores.get(row.section.pk), "rows": []})
        sections[-1]["rows"].append({"row": row, "label": answer_label(row.criterion, row.answer)})
    return sections


def _counterpart(user, evaluation: Evaluation) -> Evaluation | None:
    """The self-review of a review (or the review of a self-review), if the user may read it."""
    other_kind = (
        Evaluation.Kind.SELF_REVIEW if evaluation.kind == Evaluation.Kind.REVIEW else Evaluation.Kind.REVIEW
    )
    if evaluation.kind == Evaluation.Kind.CALIBRATION:
        return None
    return (
        evaluation_list_for_user(user)
        .filter(call_id=evaluation.call_id, agent_id=evaluation.agent_id, kind=other_kind)
        .filter(status=Evaluation.Status.SUBMITTED)
        .first()
    )


@login_required
@require_GET
def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = evaluation_get_for_user(request.user, pk=pk)
    if evaluation.is_draft and evaluation.author_id == request.user.pk:
        if evaluation.kind == Evaluation.Kind.SELF_REVIEW:
            return redirect("scoring:self_review", call_id=evaluation.call_id)
        # The draft's leg, spelled out: the workspace would otherwise open the oldest assignment's leg.
        url = reverse("scoring:workspace", args=[evaluation.call_id])
        return redirect(f"{url}?agent={evaluation.agent_id}")
    disputes = list(evaluation.disputes.select_related("raised_by", "resolved_by", "revised_evaluation"))
    context = {
        "evaluation": evaluation,
        "sections": _answer_rows(evaluation),
        "revisions": evaluation_revisions(evaluation),
        "audit": list(evaluation_audit_trail(evaluation)),
        "disputes": disputes,
        "can_acknowledge": can_acknowledge(request.user, evaluation),
        "can_dispute": can_dispute(request.user, evaluation),
        "dispute_deadline": _dispute_deadline(evaluation),
        "counterpart": _counterpart(request.user, evaluation),
        "is_own": evaluation.agent.user_id == request.user.pk,
    }
    return render(request, "scoring/evaluation_detail.html", context)


@login_required
@require_POST
def evaluation_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = evaluation_get_for_user(request.user, pk=pk)
    try:
        services.evaluation_acknowledge(evaluation=evaluation, user=request.user)
    except ValidationError as error:
        for message in error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, "Thanks — the evaluation is acknowledged.")
    return redirect("scoring:evaluation_detail", pk=evaluation.pk)


@login_required
@require_http_methods(["GET", "POST"])
def dispute_open(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = evaluation_get_for_user(request.user, pk=pk)
    if not can_dispute(request.user, evaluation):
        raise PermissionDenied(
            "This evaluation cannot be disputed (not yours, already disputed, or too late)."
        )
    # Criteria that do not apply to the call were N/A by rule: nothing there to dispute.
    sections = [
        {**section, "rows": [item for item in section["rows"] if item["row"].applies]}
        for section in _answer_rows(evaluation)
    ]
    sections = [section for section in sections if section["rows"]]
    criteria = [item["row"].criterion for section in sections for item in section["rows"]]
    form = DisputeOpenForm(request.POST or None, criteria=criteria)
    if request.method == "POST" and form.is_valid():
        try:
            services.dispute_open(
                evaluation=evaluation,
                user=request.user,
                items=form.cleaned_data["items"],
                reason=form.cleaned_data["reason"].strip(),
            )
        except ValidationError as error:
            for message in error_messages(error):
                form.add_error(None, message)
        else:
            messages.success(request, "Dispute sent to your supervisor.")
            return redirect("scoring:evaluation_detail", pk=evaluation.pk)
    for section in sections:
        for item in section["rows"]:
            criterion_id = item["row"].criterion.pk
            item["check"] = form[f"dispute-{criterion_id}"]
            item["reason"] = form[f"reason-{criterion_id}"]
    context = {
        "evaluation": evaluation,
        "sections": sections,
        "form": form,
        "dispute_deadline": _dispute_deadline(evaluation),
    }
    return render(request, "scoring/dispute_form.html", context, status=422 if form.errors else 200)


@login_required
@require_GET
def my_qa(request: HttpRequest) -> HttpResponse:
    """The agent's own QA page: their evaluations only, never anyone else's."""
    agent = agent_for_user(request.user)
    if agent is None:
        raise Http404("You have no agent profile.")
    mine = evaluation_list_for_user(request.user).filter(agent=agent)
    reviews = mine.filter(status=Evaluation.Status.SUBMITTED, kind=Evaluation.Kind.REVIEW).order_by(
        "-submitted_at", "-id"
    )
    current_review = Evaluation.objects.filter(
        agent=agent,
        kind=Evaluation.Kind.REVIEW,
        status=Evaluation.Status.SUBMITTED,
        is_current=True,
    )
    self_reviews = (
        mine.filter(kind=Evaluation.Kind.SELF_REVIEW, author=request.user)
        .annotate(has_review=Exists(current_review.filter(call=OuterRef("call_id"))))
        .order_by("status", "-submitted_at", "-updated_at")
    )
    page_obj = Paginator(reviews, ME_PAGE_SIZE).get_page(request.GET.get("page"))

    on_leg = Q(agent=agent) | Exists(Transfer.objects.filter(call=OuterRef("pk"), to_agent=agent))
    calls = (
        call_list_for_user(request.user)
        .filter(on_leg)
        .annotate(
            has_self_review=Exists(
                Evaluation.objects.filter(
                    call=OuterRef("pk"), author=request.user, kind=Evaluation.Kind.SELF_REVIEW
                )
            ),
            has_review=Exists(current_review.filter(call=OuterRef("pk"))),
        )
        .order_by("-started_at", "-id")[:SELF_REVIEW_CALLS]
    )
    query = request.GET.copy()
    context = {
        "agent": agent,
        "summary": agent_qa_summary(mine),
        "page_obj": page_obj,
        "reviews": page_obj.object_list,
        "self_reviews": list(self_reviews[:50]),
        "calls": list(calls),
        "querystring_prev": _with_page(
            query, page_obj.previous_page_number() if page_obj.has_previous() else None
        ),
        "querystring_next": _with_page(query, page_obj.next_page_number() if page_obj.has_next() else None),
        "coaching_sessions": _my_coaching(request.user, agent),
        "shout_outs": list(shout_out_list_for_agent(agent)[:MY_SHOUT_OUTS]),
    }
    return render(request, "scoring/me.html", context)


def _my_coaching(user, agent) -> list:
    sessions = list(coaching_session_list_for_agent(user, agent=agent)[:MY_COACHING_ROWS])
    for session in sessions:
        session.can_acknowledge = can_acknowledge_coaching(user, session)
    return sessions


def _with_page(query, page: int | None) -> str:
    if page is None:
        return ""
    query = query.copy()
    query["page"] = str(page)
    return query.urlencode()


@login_required
@require_GET
def compare(request: HttpRequest, call_id: int) -> HttpResponse:
    """Criterion by criterion, the reviewer's evaluation beside the agent's self-review of one call."""
    call = call_get_for_user(request.user, pk=call_id)
    agent_id = request.GET.get("agent")
    if not agent_id:
        own = agent_for_user(request.user)
        agent_id = own.pk if own is not None else call.agent_id
    visible = evaluation_list_for_call(request.user, call).filter(
        agent_id=agent_id, status=Evaluation.Status.SUBMITTED
    )
    try:
        review = visible.filter(kind=Evaluation.Kind.REVIEW).order_by("-submitted_at", "-id")[:1].get()
        self_review = (
            visible.filter(kind=Evaluation.Kind.SELF_REVIEW).order_by("-submitted_at", "-id")[:1].get()
        )
    except Evaluation.DoesNotExist:
        raise Http404("Both a submitted review and a submitted self-review are needed to compare.") from None
    rows = comparison_rows(
        review, self_review, rows_review=evaluation_rows(review), rows_self=evaluation_rows(self_review)
    )
    sections: list[dict] = []
    for row in rows:
        if not sections or sections[-1]["section"].pk != row.section.pk:
            sections.append({"section": row.section, "rows": []})
        sections[-1]["rows"].append(row)
    context = {
        "call": call,
        "review": review,
        "self_review": self_review,
        "sections": sections,
        "differences": sum(1 for row in rows if row.differs),
        "score_gap": (
            self_review.score - review.score
            if self_review.score is not None and review.score is not None
            else None
        ),
    }
    return render(request, "scoring/compare.html", context)
