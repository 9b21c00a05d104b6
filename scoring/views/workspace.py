"""The reviewer workspace: the call on the left, the scorecard on the right, every answer autosaved.

One page serves reviews (and calibration reviews) and agents' self-reviews. With JavaScript each
criterion posts itself to the answer endpoint through htmx and the running score comes back as a
partial; without it the whole scorecard is one plain form (save draft / submit).

No GET writes anything: the draft is created by the first saved answer (`evaluation_start` is
idempotent), so reopening the page — from the queue or after a closed tab — resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from calls.models import Agent, Call
from calls.recordings import SPEEDS as RECORDING_SPEEDS
from calls.recordings import recording_for
from calls.selectors import agent_for_user, call_detail_for_user, call_timeline, customer_contacts

from .. import autocheck, metrics, services
from ..forms import AnswerForm, SummaryForm
from ..legs import Leg, call_legs, leg_for_agent, leg_opens_and_closes
from ..models import Criterion, Evaluation, Scorecard
from ..selectors import (
    EvaluationRow,
    call_context,
    evaluation_list_for_call,
    evaluation_rows,
    leg_evaluate_scope,
    scorecard_for_leg,
)
from ..ui_support import (
    answer_choice_value,
    criterion_choices,
    evaluation_draft_for,
    evaluation_running_score,
    open_assignment_for,
    submitted_self_review_for,
    transcript_rows,
)
from ._common import error_messages

REVIEW = "review"
SELF = "self"
# How many of the customer's other contacts the workspace lists.
CONTACTS_LIMIT = 10


@dataclass
class Workspace:
    """Who is scoring which agent on which call, and where the answers go."""

    mode: str  # REVIEW or SELF
    call: Call
    agent: Agent
    kind: str
    scorecard: Scorecard | None
    draft: Evaluation | None
    # Every leg of the call (agent, department, sequence), for the agent picker.
    legs: list[Leg] = field(default_factory=list)
    # The leg agents the user may review (links in the picker; the other legs are listed, not linked).
    evaluable_agent_ids: frozenset[int] = frozenset()

    @property
    def leg_choices(self) -> list[tuple[Leg, bool]]:
        """Every leg for the picker, each with whether the user may evaluate it (only those are links)."""
        return [(leg, leg.agent.pk in self.evaluable_agent_ids) for leg in self.legs]

    @property
    def leg(self) -> Leg | None:
        return leg_for_agent(self.legs, self.agent.pk)

    @property
    def url(self) -> str:
        name = "scoring:workspace" if self.mode == REVIEW else "scoring:self_review"
        url = reverse(name, args=[self.call.pk])
        # On a call with several legs the agent is always spelled out: without it the page would fall back
        # to the reviewer's oldest open assignment on the call, which may be another leg's.
        if self.agent.pk != self.call.agent_id or len(self.legs) > 1:
            return f"{url}?agent={self.agent.pk}"
        return url

    @property
    def answer_url(self) -> str:
        name = "scoring:workspace_answer" if self.mode == REVIEW else "scoring:self_review_answer"
        return reverse(name, args=[self.call.pk])

    @property
    def shows_suggestions(self) -> bool:
        """Auto-check hints are for a reviewer's own review of a leg: not on a self-review (the agent would be
        coached by the rule), nor in calibration (a shared hint would inflate the agreement it measures)."""
        return self.mode == REVIEW and self.kind == Evaluation.Kind.REVIEW

    @property
    def summary_url(self) -> str:
        name = "scoring:workspace_summary" if self.mode == REVIEW else "scoring:self_review_summary"
        return reverse(name, args=[self.call.pk])


class AlreadySelfReviewed(Exception):  # noqa: N818 - a signal between two functions, not an error
    """The agent already submitted a self-review of this call: show it instead of starting another."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__(evaluation.pk)
        self.evaluation = evaluation


def _requested_agent(request: HttpRequest, legs: list[Leg]) -> Agent | None:
    """The leg agent asked for with ?agent= (or a posted agent); 404 if they did not handle the call."""
    raw = request.POST.get("agent") or request.GET.get("agent")
    if not raw:
        return None
    for leg in legs:
        if str(leg.agent.pk) == raw:
            return leg.agent
    raise Http404("That agent did not handle this call.")


def _workspace_for(request: HttpRequest, call_id: int, mode: str) -> Workspace:
    """Resolve the call (404 if not visible), check the user may score the leg (403 if not), find the draft.

    The evaluated agent is the one asked for, else the leg agent of the reviewer's (oldest) open
    assignment on the call, else the call's agent, else the first leg the user may evaluate; the
    scorecard is the one of that agent's leg."""
    user = request.user
    call = call_detail_for_user(user, pk=call_id)
    legs = call_legs(call)
    evaluable_agent_ids: frozenset[int] = frozenset()
    if mode == SELF:
        own = agent_for_user(user)
        if own is None or leg_for_agent(legs, own.pk) is None:
            # Not their call: as far as self-review goes, it does not exist.
            raise Http404("You can only review your own calls.")
        agent, kind = own, Evaluation.Kind.SELF_REVIEW
    else:
        scope = leg_evaluate_scope(user, call)
        evaluable_agent_ids = frozenset(leg.agent.pk for leg in legs if scope.may_evaluate(leg.agent))
        if not evaluable_agent_ids:
            raise PermissionDenied("This call is not in your review queue.")
        agent = _requested_agent(request, legs)
        if agent is not None and agent.pk not in evaluable_agent_ids:
            # Per leg, not per call: an assignment of one leg gives no right to the call's other legs.
            raise PermissionDenied("This leg of the call is not in your review queue.")
        assignment = open_assignment_for(call=call, reviewer=user, agent_id=agent.pk if agent else None)
        if agent is None:
            preferred = (assignment.agent if assignment and assignment.agent_id else None) or call.agent
            if preferred is not None and preferred.pk in evaluable_agent_ids:
                agent = preferred
            else:
                agent = next(leg.agent for leg in legs if leg.agent.pk in evaluable_agent_ids)
        kind = (
            Evaluation.Kind.CALIBRATION
            if assignment is not None and assignment.purpose == assignment.Purpose.CALIBRATION
            else Evaluation.Kind.REVIEW
        )
    draft = evaluation_draft_for(call=call, author=user, kind=kind, agent=agent)
    if mode == SELF and draft is None:
        done = submitted_self_review_for(call=call, author=user, agent=agent)
        if done is not None:
            raise AlreadySelfReviewed(done)
    leg = leg_for_agent(legs, agent.pk)
    if draft:
        scorecard = draft.scorecard
    else:
        department_id = leg.department_id if leg else call.department_id
        scorecard = scorecard_for_leg(department_id=department_id, channel=call.channel)
    return Workspace(
        mode=mode,
        call=call,
        agent=agent,
        kind=kind,
        scorecard=scorecard,
        draft=draft,
        legs=legs,
        evaluable_agent_ids=evaluable_agent_ids,
    )


def _rows(workspace: Workspace) -> list[EvaluationRow]:
    # An unsaved evaluation has no answers yet: evaluation_rows then lists the bare criteria.
    evaluation = workspace.draft or Evaluation(call=workspace.call, scorecard=workspace.scorecard)
    return evaluation_rows(evaluation)


@dataclass
class CriterionView:
    """One criterion as the workspace shows it."""

    row: EvaluationRow
    number: int
    choices: list[tuple[str, str, bool]]
    comment: str
    quote: str
    offset_seconds: int | None
    error: str = ""
    is_missing: bool = False
    suggestion: autocheck.Suggestion | None = None

    @property
    def criterion(self) -> Criterion:
        return self.row.criterion

    @property
    def suggestion_agrees(self) -> bool | None:
        """Whether the saved answer is the suggested one (None while unanswered or without a suggestion)."""
        answer = self.row.answer
        if self.suggestion is None or answer is None:
            return None
        return not answer.is_na and answer.value == self.suggestion.value

    @property
    def is_answered(self) -> bool:
        return self.row.answer is not None


def _suggestions(
    workspace: Workspace, rows: list[EvaluationRow], transcript: list
) -> dict[int, autocheck.Suggestion]:
    """The auto-check suggestion of every applicable criterion with phrases, from the transcript already loaded."""
    if not workspace.shows_suggestions:
        return {}
    first_leg, last_leg = leg_opens_and_closes(workspace.legs, workspace.agent.pk)
    suggestions = {}
    for row in rows:
        if not row.applies:
            continue
        suggestion = autocheck.suggest(row.criterion, transcript, first_leg=first_leg, last_leg=last_leg)
        if suggestion is not None:
            suggestions[row.criterion.pk] = suggestion
    return suggestions


def _criterion_view(
    row: EvaluationRow,
    *,
    number: int,
    error: str = "",
    kept: dict | None = None,
    is_missing: bool = False,
    suggestion: autocheck.Suggestion | None = None,
) -> CriterionView:
    """One criterion with its answer buttons marked as saved, and what a refused post kept (`kept`)."""
    kept = kept or {}
    current = answer_choice_value(row.answer)
    return CriterionView(
        row=row,
        number=number,
        choices=[
            (value, label, value == current)
            for value, label in criterion_choices(row.criterion, applies=row.applies)
        ],
        comment=kept.get("comment", row.answer.comment if row.answer else ""),
        quote=kept.get("quote", row.answer.quote if row.answer else ""),
        offset_seconds=kept.get("offset_seconds", row.answer.offset_seconds if row.answer else None),
        error=error,
        is_missing=is_missing,
        suggestion=suggestion,
    )


def _criterion_views(
    rows: list[EvaluationRow],
    *,
    errors: dict[int, str] | None = None,
    posted: dict[int, dict] | None = None,
    missing: set[int] | None = None,
    suggestions: dict[int, autocheck.Suggestion] | None = None,
) -> list[dict]:
    """Rows grouped by section for the template, with answer buttons already marked."""
    errors, posted, missing, suggestions = errors or {}, posted or {}, missing or set(), suggestions or {}
    sections: list[dict] = []
    for number, row in enumerate(rows, start=1):
        criterion = row.criterion
        view = _criterion_view(
            row,
            number=number,
            error=errors.get(criterion.pk, ""),
            kept=posted.get(criterion.pk, {}),
            is_missing=criterion.pk in missing,
            suggestion=suggestions.get(criterion.pk),
        )
        if not sections or sections[-1]["section"].pk != row.section.pk:
            sections.append({"section": row.section, "criteria": []})
        sections[-1]["criteria"].append(view)
    return sections


def _previous_evaluations(request: HttpRequest, workspace: Workspace) -> list[Evaluation]:
    """Other submitted reviews of this call the user may read (the "already evaluated" notice, so a call is
    not reviewed twice by mistake). None on a self-review, and never a self-review on a review: the
    reviewer-vs-self comparison means something only if neither side saw the other's score first."""
    if workspace.mode == SELF:
        return []
    return [
        evaluation
        for evaluation in evaluation_list_for_call(request.user, workspace.call)
        if evaluation.status == Evaluation.Status.SUBMITTED and evaluation.kind != Evaluation.Kind.SELF_REVIEW
    ]


def _page(
    request: HttpRequest,
    workspace: Workspace,
    *,
    summary_form: SummaryForm | None = None,
    errors: dict[int, str] | None = None,
    posted: dict[int, dict] | None = None,
    missing: set[int] | None = None,
    form_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    call = workspace.call
    rows = _rows(workspace) if workspace.scorecard else []
    contacts = list(customer_contacts(call, user=request.user)[: CONTACTS_LIMIT + 1])
    transcript = transcript_rows(call)
    suggestions = _suggestions(workspace, rows, transcript)
    context = {
        "ws": workspace,
        "call": call,
        "timeline": call_timeline(call),
        "recording": recording_for(call.recording_url, request),
        "recording_speeds": RECORDING_SPEEDS,
        "transcript": transcript,
        "contacts": contacts[:CONTACTS_LIMIT],
        "contacts_truncated": len(contacts) > CONTACTS_LIMIT,
        "sections": _criterion_views(
            rows, errors=errors, posted=posted, missing=missing, suggestions=suggestions
        ),
        "running": evaluation_running_score(rows) if rows else None,
        "summary_form": summary_form
        or SummaryForm(initial={"summary": workspace.draft.summary if workspace.draft else ""}),
        "previous": _previous_evaluations(request, workspace),
        "form_errors": form_errors or [],
        "is_self": workspace.mode == SELF,
    }
    return render(request, "scoring/workspace.html", context, status=status)


def _ensure_draft(request: HttpRequest, workspace: Workspace) -> Evaluation:
    if workspace.draft is not None:
        return workspace.draft
    if workspace.mode == SELF:
        draft = services.self_evaluation_start(
            call=workspace.call, user=request.user, scorecard=workspace.scorecard
        )
    else:
        draft = services.evaluation_start(
            call=workspace.call,
            author=request.user,
            agent=workspace.agent,
            kind=workspace.kind,
            scorecard=workspace.scorecard,
        )
    workspace.draft = draft
    return draft


def _applies(call: Call, criterion: Criterion) -> bool:
    is_resolved, had_hold_or_transfer = call_context(call)
    return metrics.criterion_applies(
        criterion.applicability, is_resolved=is_resolved, had_hold_or_transfer=had_hold_or_transfer
    )


# --- pages ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def workspace(request: HttpRequest, call_id: int) -> HttpResponse:
    return _workspace_page(request, call_id, REVIEW)


@login_required
@require_http_methods(["GET", "POST"])
def self_review(request: HttpRequest, call_id: int) -> HttpResponse:
    return _workspace_page(request, call_id, SELF)


def _workspace_page(request: HttpRequest, call_id: int, mode: str) -> HttpResponse:
    try:
        workspace = _workspace_for(request, call_id, mode)
    except AlreadySelfReviewed as done:
        messages.info(request, "You already reviewed this call yourself: here is your self-review.")
        return redirect("scoring:evaluation_detail", pk=done.evaluation.pk)
    if request.method == "GET":
        return _page(request, workspace)
    if workspace.scorecard is None:
        raise Http404("No published scorecard applies to this call.")
    return _save_whole_form(request, workspace)


def _save_whole_form(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """The no-JS path (and the submit button with JS): save every posted answer, then maybe submit."""
    rows = _rows(workspace)
    is_resolved, had_hold_or_transfer = call_context(workspace.call)
    errors: dict[int, str] = {}
    posted: dict[int, dict] = {}
    to_save: list[tuple[Criterion, dict]] = []
    for row in rows:
        form = AnswerForm(request.POST, criterion=row.criterion, applies=row.applies)
        if not form.is_valid():
            errors[row.criterion.pk] = " ".join(m for ms in form.errors.values() for m in ms)
            posted[row.criterion.pk] = {
                "comment": request.POST.get(f"c{row.criterion.pk}-comment", ""),
                "quote": request.POST.get(f"c{row.criterion.pk}-quote", ""),
            }
            continue
        if form.has_answer:
            to_save.append((row.criterion, form.service_kwargs()))
    summary_form = SummaryForm(request.POST)
    summary = summary_form.cleaned_data["summary"] if summary_form.is_valid() else None
    if to_save:
        draft = _ensure_draft(request, workspace)
        for criterion, kwargs in to_save:
            try:
                services.evaluation_answer(
                    evaluation=draft, author=request.user, criterion=criterion, **kwargs
                )
            except ValidationError as error:
                errors[criterion.pk] = " ".join(error_messages(error))
    submit = request.POST.get("action") == "submit"
    if errors or not summary_form.is_valid():
        return _page(
            request,
            workspace,
            summary_form=summary_form,
            errors=errors,
            posted=posted,
            form_errors=["Some answers could not be saved: see the highlighted criteria."],
            status=422,
        )
    if not submit:
        if summary and workspace.draft is None:
            _ensure_draft(request, workspace)
        if workspace.draft is not None:
            services.evaluation_summary_save(evaluation=workspace.draft, author=request.user, summary=summary)
        messages.success(request, "Draft saved.")
        return redirect(workspace.url)

    draft = _ensure_draft(request, workspace)
    rows = evaluation_rows(draft)
    missing = {row.criterion.pk for row in rows if row.applies and row.answer is None}
    try:
        if workspace.mode == SELF:
            evaluation = services.self_evaluation_submit(evaluation=draft, user=request.user, summary=summary)
        else:
            evaluation = services.evaluation_submit(evaluation=draft, author=request.user, summary=summary)
    except ValidationError as error:
        count = len(missing)
        problems = (
            [f"{count} criteri{'on is' if count == 1 else 'a are'} still unanswered (highlighted below)."]
            if missing
            else error_messages(error)
        )
        return _page(
            request, workspace, summary_form=summary_form, missing=missing, form_errors=problems, status=422
        )
    messages.success(
        request,
        f"Evaluation submitted: {evaluation.score if evaluation.score is not None else 'no score (all N/A)'}"
        f"{' — auto-failed' if evaluation.is_auto_failed else ''}.",
    )
    return redirect("scoring:evaluation_detail", pk=evaluation.pk)


# --- htmx autosave -------------------------------------------------------------------------------------


@login_required
@require_POST
def workspace_answer(request: HttpRequest, call_id: int) -> HttpResponse:
    return _answer(request, call_id, REVIEW)


@login_required
@require_POST
def self_review_answer(request: HttpRequest, call_id: int) -> HttpResponse:
    return _answer(request, call_id, SELF)


def _autosave_workspace(request: HttpRequest, call_id: int, mode: str) -> Workspace | HttpResponse:
    """The workspace an autosave request writes to, or the 409 that says the self-review is already in."""
    try:
        workspace = _workspace_for(request, call_id, mode)
    except AlreadySelfReviewed:
        return HttpResponse("You already submitted a self-review of this call.", status=409)
    if workspace.scorecard is None:
        raise Http404("No published scorecard applies to this call.")
    return workspace


def _answer(request: HttpRequest, call_id: int, mode: str) -> HttpResponse:
    """Save one criterion's answer; respond with the running score and that criterion's save status."""
    workspace = _autosave_workspace(request, call_id, mode)
    if isinstance(workspace, HttpResponse):
        return workspace
    try:
        criterion = workspace.scorecard.criteria.get(pk=int(request.POST.get("criterion", "")))
    except (ValueError, Criterion.DoesNotExist):
        raise Http404("No such criterion on this scorecard.") from None
    form = AnswerForm(request.POST, criterion=criterion, applies=_applies(workspace.call, criterion))
    error = ""
    if not form.is_valid():
        error = " ".join(m for ms in form.errors.values() for m in ms)
    else:
        try:
            draft = _ensure_draft(request, workspace)
            services.evaluation_answer(
                evaluation=draft, author=request.user, criterion=criterion, **form.service_kwargs()
            )
        except ValidationError as exc:
            error = " ".join(error_messages(exc))
    rows = _rows(workspace)
    number, row = next((n, r) for n, r in enumerate(rows, start=1) if r.criterion.pk == criterion.pk)
    suggestion = _suggestions(workspace, [row], transcript_rows(workspace.call)).get(criterion.pk)
    context = {
        "ws": workspace,
        "running": evaluation_running_score(rows),
        "status_criterion": criterion,
        "status_error": error,
        "saved_at": timezone.now(),
        "c": _criterion_view(row, number=number, error=error, suggestion=suggestion),
    }
    # The score panel replaces itself; the criterion's status line rides along out of band, and so do its answer
    # buttons with their error state (set on a refusal, cleared by the next save that goes through).
    body = render_to_string("scoring/workspace.html#score", context, request=request)
    body += render_to_string("scoring/workspace.html#save_status", {**context, "oob": True}, request=request)
    if row.applies:  # an inapplicable criterion shows no buttons (and posts nothing from the page)
        body += render_to_string("scoring/workspace.html#answers", {**context, "oob": True}, request=request)
    if suggestion is not None:  # the hint now says whether the saved answer agrees with it
        body += render_to_string(
            "scoring/workspace.html#autocheck", {**context, "oob": True}, request=request
        )
    return HttpResponse(body, status=422 if error else 200)


@login_required
@require_POST
def workspace_summary(request: HttpRequest, call_id: int) -> HttpResponse:
    return _summary(request, call_id, REVIEW)


@login_required
@require_POST
def self_review_summary(request: HttpRequest, call_id: int) -> HttpResponse:
    return _summary(request, call_id, SELF)


def _summary(request: HttpRequest, call_id: int, mode: str) -> HttpResponse:
    """Autosave the overall feedback; respond with its save status line."""
    workspace = _autosave_workspace(request, call_id, mode)
    if isinstance(workspace, HttpResponse):
        return workspace
    form = SummaryForm(request.POST)
    context = {"summary_error": "", "summary_saved_at": None}
    if not form.is_valid():
        context["summary_error"] = " ".join(m for ms in form.errors.values() for m in ms)
    elif workspace.draft is not None or form.cleaned_data["summary"]:
        # Typing feedback before any answer starts the draft, like a first answer does.
        try:
            services.evaluation_summary_save(
                evaluation=_ensure_draft(request, workspace),
                author=request.user,
                summary=form.cleaned_data["summary"],
            )
            context["summary_saved_at"] = timezone.now()
        except ValidationError as exc:
            context["summary_error"] = " ".join(error_messages(exc))
    body = render_to_string("scoring/workspace.html#summary_status", context, request=request)
    return HttpResponse(body, status=422 if context["summary_error"] else 200)
