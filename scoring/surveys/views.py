"""Views: the public survey page (no login, token in the URL) and the responses screen."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from qa_center.htmx import render_page_or_part

from . import selectors, services
from .forms import CES_LABELS, CSAT_LABELS, QUESTION, ResponseFilterForm, SurveyAnswerForm
from .models import SurveyInvitation

# Human messages for links that cannot take an answer, with the HTTP status each page is served with.
LINK_PAGES = {
    "unknown": (
        404,
        "We couldn't find this survey",
        "The link may be incomplete. Please check that you copied the whole address.",
    ),
    "expired": (
        410,
        "This survey has closed",
        "Survey links stay open for a limited time and this one has expired. Thank you for thinking of us.",
    ),
    "used": (
        200,
        "You've already answered this survey",
        "We have your answer — thank you for taking the time.",
    ),
}


def _private(view):
    """Pages addressed by a secret token: never cached, never indexed, never leak the URL to another site.

    "same-origin", not "no-referrer": with no-referrer browsers send `Origin: null` on the form POST and
    Django's CSRF origin check rejects the answer."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


def _link_page(request: HttpRequest, token: str, reason: str) -> HttpResponse:
    status, title, message = LINK_PAGES[reason]
    context = {"title": title, "message": message, "token": token, "can_opt_out": reason != "unknown"}
    return render(request, "surveys/public_link_status.html", context, status=status)


def _unusable_reason(invitation: SurveyInvitation | None) -> str | None:
    if invitation is None or invitation.is_skipped:
        return "unknown"
    if invitation.is_used:
        return "used"
    if invitation.is_expired:
        return "expired"
    return None


@_private
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_find_by_token(token)
    reason = _unusable_reason(invitation)
    if reason is not None:
        return _link_page(request, token, reason)
    form = SurveyAnswerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.response_submit_by_token(
                raw_token=token,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
                opt_out=form.cleaned_data["opt_out"],
                csat=form.cleaned_data["csat"],
                ces=form.cleaned_data["ces"],
            )
        except services.LinkUnusable as exc:
            return _link_page(request, token, exc.reason)
        except services.ResponseConflict:
            # The call was answered another way (e.g. another survey tool) meanwhile.
            return _link_page(request, token, "used")
        return redirect("surveys:thanks", token=token)
    extra_questions = [
        (form["csat"], f"1 = {CSAT_LABELS[1]}", f"5 = {CSAT_LABELS[5]}"),
        (form["ces"], f"1 = {CES_LABELS[1]}", f"7 = {CES_LABELS[7]}"),
    ]
    context = {
        "form": form,
        "question": QUESTION,
        "token": token,
        "scores": range(11),
        "extra_questions": extra_questions,
    }
    return render(request, "surveys/public_answer.html", context, status=400 if form.errors else 200)


@_private
@require_http_methods(["GET"])
def survey_thanks(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_find_by_token(token)
    if invitation is None or invitation.is_skipped:
        return _link_page(request, token, "unknown")
    if not invitation.is_used:
        return redirect("surveys:answer", token=token)
    opted_out = invitation.customer_id is not None and hasattr(invitation.customer, "survey_opt_out")
    return render(request, "surveys/public_thanks.html", {"opted_out": opted_out})


@_private
@require_http_methods(["GET", "POST"])
def survey_opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """Unsubscribe from surveys. GET only asks (link scanners follow GET links); POST does it. Works for
    used and expired links too: a customer may opt out whenever they find the message."""
    invitation = services.invitation_find_by_token(token)
    if invitation is None or invitation.is_skipped or invitation.customer_id is None:
        return _link_page(request, token, "unknown")
    if request.method == "POST":
        services.customer_opt_out(customer=invitation.customer)
        return render(request, "surveys/public_opt_out.html", {"done": True, "token": token})
    return render(request, "surveys/public_opt_out.html", {"done": False, "token": token})


@login_required
@require_http_methods(["GET"])
def response_list(request: HttpRequest) -> HttpResponse:
    form = ResponseFilterForm(request.GET or None, user=request.user)
    responses = selectors.response_list_for_user(request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        responses = selectors.response_filter(
            responses,
            category=data["category"],
            source=data["source"],
            agent_id=data["agent"].pk if data["agent"] else None,
            team_id=data["team"].pk if data["team"] else None,
            date_from=data["date_from"],
            date_to=data["date_to"],
            primary_only=data["primary_only"],
        )
    elif form.is_bound:
        responses = responses.none()
    summary = selectors.nps_summary(responses)
    page_obj = Paginator(responses, settings.SURVEY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "summary": summary,
        "page_obj": page_obj,
        "responses": page_obj.object_list,
        "querystring_prev": _with_page(
            query, page_obj.previous_page_number() if page_obj.has_previous() else None
        ),
        "querystring_next": _with_page(query, page_obj.next_page_number() if page_obj.has_next() else None),
    }
    return render_page_or_part(request, "surveys/response_list.html", "results", context)


def _with_page(query, page: int | None) -> str:
    if page is None:
        return ""
    query = query.copy()
    query["page"] = str(page)
    return query.urlencode()


def survey_call_panel(request: HttpRequest, call) -> dict | None:
    """The call page's survey panel (registered with calls.views.register_call_panel). The call page has
    already checked the user may see the call; the response is still read through the scoped selector."""
    if not request.user.is_authenticated:
        return None
    response = selectors.response_for_call_for_user(request.user, call=call)
    invitation = None if response else SurveyInvitation.objects.filter(call=call).first()
    return {"template": "surveys/_call_panel.html", "response": response, "invitation": invitation}
