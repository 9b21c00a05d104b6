"""Scorecard builder: families and versions; drafts are edited, published versions are read-only."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import services
from ..forms import CriterionForm, ScorecardCreateForm, ScorecardMetaForm, SectionForm
from ..models import Criterion, Scorecard, Section
from ..selectors import (
    can_manage_scorecards,
    scorecard_auto_check_agreement,
    scorecard_get_for_user,
    scorecard_list_for_user,
)
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
