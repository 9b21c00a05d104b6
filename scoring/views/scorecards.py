"""Scorecard builder: families and versions; drafts are edited, published versions are read-only."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import autocheck, services
from ..forms import CriterionForm, ScorecardCreateForm, ScorecardMetaForm, SectionForm
from ..models import Answer, Criterion, Scorecard, Section
from ..selectors import (
    auto_check_disagreement_counts,
    auto_check_disagreements,
    can_manage_scorecards,
    scorecard_auto_check_agreement,
    scorecard_get_for_user,
    scorecard_list_for_user,
)
from ..ui_support import NumberedLine, transcript_rows
from ._common import error_messages


def _require_manager(user) -> None:
    if not can_manage_scorecards(user):
        raise PermissionDenied("Only QA leads and admins build scorecards.")


def _editable_scorecard(request: HttpRequest, pk: int) -> Scorecard:
    """A draft the user may edit: 404 if they may not see it, 403 if they may not manage, 409-ish if frozen."""
    scorecard = scorecard_get_for_user(request.user, pk=pk)
    _require_manager(request.user)
    if not scorecard.is_editable:
        raise PermissionDenied("A published scorecard is read-only: make a new version to change it.")
    return scorecard


def _add_service_error(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict") and all(name in form.fields for name in error.error_dict):
        form.add_error(None, error)
    else:
        for message in error_messages(error):
            form.add_error(None, message)


@login_required
@require_GET
def scorecard_list(request: HttpRequest) -> HttpResponse:
    scorecards = scorecard_list_for_user(request.user, include_drafts=True)
    families = [
        {"family": family, "versions": list(versions)}
        for family, versions in groupby(scorecards, key=lambda s: s.family)
    ]
    context = {"families": families, "can_manage": can_manage_scorecards(request.user)}
    return render(request, "scoring/scorecard_list.html", context)


@login_required
@require_GET
def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = scorecard_get_for_user(request.user, pk=pk)
    can_edit = scorecard.is_editable and can_manage_scorecards(request.user)
    sections = list(scorecard.sections.all())
    context = {
        "scorecard": scorecard,
        "sections": sections,
        "can_manage": can_manage_scorecards(request.user),
        "can_edit": can_edit,
        "section_form": SectionForm() if can_edit else None,
        "criterion_forms": {
            section.pk: CriterionForm(
                scorecard=scorecard, initial={"section": section.pk}, prefix=f"s{section.pk}"
            )
            for section in sections
        }
        if can_edit
        else {},
        "criterion_count": sum(len(section.criteria.all()) for section in sections),
        # A draft has no reviews yet: nothing to measure.
        "auto_check": [] if scorecard.is_editable else scorecard_auto_check_agreement(scorecard),
    }
    for section in sections:
        section.add_form = context["criterion_forms"].get(section.pk)
    return render(request, "scoring/scorecard_detail.html", context)


DISAGREEMENTS_PAGE_SIZE = 25
DISAGREEMENT_TABS = {
    "too_loose": "Rule said Yes, reviewer No",
    "missing": "Rule said No, reviewer Yes",
}


@dataclass(frozen=True)
class DisagreementRow:
    answer: Answer
    lines: list[NumberedLine]  # the agent's lines of the criterion's scope (escaped by the template)
    evidence_line: int | None  # the line a "Yes" rule matched, to mark it


def _scope_lines(rows: list[NumberedLine], scope: str, evidence_line: int | None) -> list[NumberedLine]:
    """The agent lines the rule looked at: the first 3 (opening), the last 3 (closing); for "anywhere" the
    first 3, plus the matched line when it lies further on."""
    agent_lines = [row for row in rows if row.role == "agent"]
    if scope == autocheck.CLOSING:
        return agent_lines[-autocheck.SCOPE_LINES :]
    shown = agent_lines[: autocheck.SCOPE_LINES]
    if scope == autocheck.ANYWHERE and evidence_line is not None:
        shown += [row for row in agent_lines[autocheck.SCOPE_LINES :] if row.number == evidence_line]
    return shown


def _disagreement_row(answer: Answer, criterion: Criterion) -> DisagreementRow:
    # Parsed in Python from the call already joined in: no query per row.
    rows = transcript_rows(answer.evaluation.call)
    suggestion = autocheck.suggest(criterion, rows)
    evidence_line = suggestion.line if suggestion is not None and suggestion.is_yes else None
    scope = criterion.auto_scope or autocheck.ANYWHERE
    return DisagreementRow(
        answer=answer, lines=_scope_lines(rows, scope, evidence_line), evidence_line=evidence_line
    )


@login_required
@require_GET
def criterion_disagreements(request: HttpRequest, pk: int, criterion_id: int) -> HttpResponse:
    """Where an auto-check rule and the reviewers disagree: the answers behind the agreement figure that went
    against the suggestion, one tab per direction."""
    scorecard = scorecard_get_for_user(request.user, pk=pk)
    # The agreement figure is an aggregate; this page shows single reviews of every agent (transcripts,
    # reviewers' comments), so it is for those who build scorecards only.
    _require_manager(request.user)
    criterion = next(
        (
            criterion
            for section in scorecard.sections.all()
            for criterion in section.criteria.all()
            if criterion.pk == criterion_id and criterion.auto_phrases
        ),
        None,
    )
    if criterion is None:
        raise Http404("No such auto-checked criterion on this scorecard")
    kind = request.GET.get("kind", "too_loose")
    if kind not in DISAGREEMENT_TABS:
        kind = "too_loose"
    counts = auto_check_disagreement_counts(criterion)
    paginator = Paginator(auto_check_disagreements(criterion, kind=kind), DISAGREEMENTS_PAGE_SIZE)
    # The count is already known from the one aggregate: spare the paginator its COUNT query.
    paginator.count = counts[kind]
    page_obj = paginator.get_page(request.GET.get("page"))
    context = {
        "scorecard": scorecard,
        "criterion": criterion,
        "phrases": autocheck.phrases_of(criterion.auto_phrases),
        "kind": kind,
        "tabs": [
            {"kind": name, "label": label, "count": counts[name]} for name, label in DISAGREEMENT_TABS.items()
        ],
        "rows": [_disagreement_row(answer, criterion) for answer in page_obj.object_list],
        "page_obj": page_obj,
        "querystring_prev": f"kind={kind}&page={page_obj.previous_page_number()}"
        if page_obj.has_previous()
        else "",
        "querystring_next": f"kind={kind}&page={page_obj.next_page_number()}" if page_obj.has_next() else "",
    }
    return render(request, "scoring/criterion_disagreements.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def scorecard_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request.user)
    form = ScorecardCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            scorecard = services.scorecard_create_draft(
                family=data["family"],
                name=data["name"],
                description=data["description"],
                channels=data["channels"],
                departments=data["departments"],
                user=request.user,
            )
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, f"Draft {scorecard} created: add sections and criteria, then publish.")
            return redirect("scoring:scorecard_detail", pk=scorecard.pk)
    return render(
        request,
        "scoring/scorecard_form.html",
        {"form": form, "title": "New scorecard"},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def scorecard_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    initial = {
        "name": scorecard.name,
        "description": scorecard.description,
        "channels": scorecard.channels,
        "departments": list(scorecard.departments.all()),
    }
    form = ScorecardMetaForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.scorecard_update_draft(
                scorecard=scorecard,
                user=request.user,
                name=data["name"],
                description=data["description"],
                channels=data["channels"],
                departments=data["departments"],
            )
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, "Scorecard updated.")
            return redirect("scoring:scorecard_detail", pk=scorecard.pk)
    context = {"form": form, "scorecard": scorecard, "title": f"Edit {scorecard}"}
    return render(request, "scoring/scorecard_form.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def scorecard_publish(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    try:
        services.scorecard_publish(scorecard=scorecard, user=request.user)
    except ValidationError as error:
        for message in error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, f"{scorecard} published. New evaluations use it from now on.")
    return redirect("scoring:scorecard_detail", pk=scorecard.pk)


@login_required
@require_POST
def scorecard_new_version(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = scorecard_get_for_user(request.user, pk=pk)
    _require_manager(request.user)
    try:
        draft = services.scorecard_new_version(scorecard=scorecard, user=request.user)
    except ValidationError as error:
        for message in error_messages(error):
            messages.error(request, message)
        return redirect("scoring:scorecard_detail", pk=scorecard.pk)
    messages.success(request, f"Draft {draft} ready to edit.")
    return redirect("scoring:scorecard_detail", pk=draft.pk)


# --- sections -------------------------------------------------------------------------------------------


def _section_of(scorecard: Scorecard, section_id: int) -> Section:
    try:
        return scorecard.sections.get(pk=section_id)
    except Section.DoesNotExist:
        raise Http404("No such section on this scorecard.") from None


@login_required
@require_POST
def section_add(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    form = SectionForm(request.POST)
    if form.is_valid():
        try:
            services.section_add(
                scorecard=scorecard,
                user=request.user,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                position=form.cleaned_data["position"],
            )
        except ValidationError as error:
            for message in error_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, f"Section “{form.cleaned_data['title']}” added.")
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"Section {field}: {' '.join(errors)}")
    return redirect("scoring:scorecard_detail", pk=scorecard.pk)


@login_required
@require_http_methods(["GET", "POST"])
def section_edit(request: HttpRequest, pk: int, section_id: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    section = _section_of(scorecard, section_id)
    initial = {"title": section.title, "description": section.description, "position": section.position}
    form = SectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.section_update(
                section=section,
                user=request.user,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                position=form.cleaned_data["position"],
            )
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, "Section updated.")
            return redirect("scoring:scorecard_detail", pk=scorecard.pk)
    context = {"form": form, "scorecard": scorecard, "title": f"Edit section “{section.title}”"}
    return render(request, "scoring/scorecard_form.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def section_remove(request: HttpRequest, pk: int, section_id: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    section = _section_of(scorecard, section_id)
    services.section_remove(section=section, user=request.user)
    messages.success(request, f"Section “{section.title}” removed.")
    return redirect("scoring:scorecard_detail", pk=scorecard.pk)


# --- criteria -------------------------------------------------------------------------------------------


def _criterion_of(scorecard: Scorecard, criterion_id: int) -> Criterion:
    try:
        return Criterion.objects.select_related("section").get(pk=criterion_id, scorecard=scorecard)
    except Criterion.DoesNotExist:
        raise Http404("No such criterion on this scorecard.") from None


CRITERION_FORM_FIELDS = (
    "key",
    "question",
    "guidance",
    "weight",
    "scale",
    "max_points",
    "allows_na",
    "is_critical",
    "applicability",
    "auto_phrases",
    "auto_scope",
)


def _criterion_fields(data: dict) -> dict:
    return {name: data[name] for name in CRITERION_FORM_FIELDS}


@login_required
@require_http_methods(["GET", "POST"])
def criterion_add(request: HttpRequest, pk: int, section_id: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    section = _section_of(scorecard, section_id)
    prefix = f"s{section.pk}"
    form = CriterionForm(
        request.POST or None, scorecard=scorecard, initial={"section": section.pk}, prefix=prefix
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.criterion_add(
                section=data["section"],
                user=request.user,
                position=data["position"],
                **_criterion_fields(data),
            )
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, f"Criterion “{data['key']}” added.")
            return redirect(f"{scorecard_detail_url(scorecard)}#section-{data['section'].pk}")
    context = {"form": form, "scorecard": scorecard, "title": f"Add a criterion to “{section.title}”"}
    return render(request, "scoring/scorecard_form.html", context, status=422 if form.errors else 200)


def scorecard_detail_url(scorecard: Scorecard) -> str:
    return reverse("scoring:scorecard_detail", args=[scorecard.pk])


@login_required
@require_http_methods(["GET", "POST"])
def criterion_edit(request: HttpRequest, pk: int, criterion_id: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    criterion = _criterion_of(scorecard, criterion_id)
    initial = {name: getattr(criterion, name) for name in CRITERION_FORM_FIELDS}
    initial.update({"section": criterion.section_id, "position": criterion.position})
    form = CriterionForm(request.POST or None, scorecard=scorecard, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.criterion_update(
                criterion=criterion,
                user=request.user,
                section=data["section"],
                position=data["position"] if data["position"] is not None else criterion.position,
                **_criterion_fields(data),
            )
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, f"Criterion “{data['key']}” updated.")
            return redirect(f"{scorecard_detail_url(scorecard)}#criterion-{criterion.pk}")
    context = {"form": form, "scorecard": scorecard, "title": f"Edit criterion “{criterion.key}”"}
    return render(request, "scoring/scorecard_form.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def criterion_remove(request: HttpRequest, pk: int, criterion_id: int) -> HttpResponse:
    scorecard = _editable_scorecard(request, pk)
    criterion = _criterion_of(scorecard, criterion_id)
    services.criterion_remove(criterion=criterion, user=request.user)
    messages.success(request, f"Criterion “{criterion.key}” removed.")
    return redirect("scoring:scorecard_detail", pk=scorecard.pk)
