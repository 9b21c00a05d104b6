"""The user's own QA notices: the list, and marking them read (POST, CSRF-protected; htmx swaps a row)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from ..notices import services
from ..notices.selectors import notice_get_for_user, notice_list_for_user, notice_unread_count
from ..notices.services import notice_text, notice_url


def _rows(notices) -> list[dict]:
    return [
        {
            "notice": notice,
            "text": notice_text(notice),
            "url": notice_url(notice),
        }
        for notice in notices
    ]


@login_required
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    notices = notice_list_for_user(request.user, unread_only=unread_only)
    page_obj = Paginator(notices, settings.QA_NOTICE_PAGE_SIZE).get_page(request.GET.get("page"))
    show = "show=unread&" if unread_only else ""
    context = {
        "rows": _rows(page_obj.object_list),
        "page_obj": page_obj,
        "unread_only": unread_only,
        "querystring_prev": f"{show}page={page_obj.previous_page_number()}"
        if page_obj.has_previous()
        else "",
        "querystring_next": f"{show}page={page_obj.next_page_number()}" if page_obj.has_next() else "",
    }
    return render(request, "scoring/notices.html", context)


@login_required
@require_POST
def notice_read(request: HttpRequest, pk: int) -> HttpResponse:
    notice = notice_get_for_user(request.user, pk=pk)  # 404 for someone else's notice
    services.notice_mark_read(notice=notice, user=request.user)
    if request.htmx:
        # The row, now read, and the nav's count (out of band).
        row = render_to_string("scoring/notices.html#row", {"row": _rows([notice])[0]}, request=request)
        count = render_to_string(
            "scoring/_notice_nav.html",
            {"notice_unread_count": notice_unread_count(request.user), "oob": True},
            request=request,
        )
        return HttpResponse(row + count)
    return redirect("scoring:notices")


@login_required
@require_POST
def notice_read_all(request: HttpRequest) -> HttpResponse:
    services.notice_mark_all_read(user=request.user)
    return redirect("scoring:notices")
