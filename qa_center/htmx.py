"""Rendering pages that htmx updates in place (filters that swap the results, a board that polls itself)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers


def render_page_or_part(
    request: HttpRequest, template: str, part: str, context: dict, *, oob_parts: tuple[str, ...] = ()
) -> HttpResponse:
    """The whole page, or only its `part` (a template partial) for an htmx request, followed by the `oob_parts`
    rendered with `oob` set (each swaps itself in out of band).

    The page and its part share a URL (hx-push-url puts the filtered URL in the address bar; a polling board asks
    for its own URL), so: a history restore (back button after htmx's history cache lost the page) gets the whole
    page, and `Vary: HX-Request` keeps browser caches from giving the part back for the page (Chromium serves a
    back navigation from its cache, stale or not: the page came back as a bare fragment)."""
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.history_restore_request
    if partial and oob_parts:
        body = render_to_string(f"{template}#{part}", context, request=request) + "".join(
            render_to_string(f"{template}#{name}", {**context, "oob": True}, request=request)
            for name in oob_parts
        )
        response = HttpResponse(body)
    else:
        response = render(request, f"{template}#{part}" if partial else template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
