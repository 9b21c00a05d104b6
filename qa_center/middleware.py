"""htmx requests that end on the login page (the session expired while a page was open)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url


class HtmxLoginRedirectMiddleware:
    """An htmx request redirected to the login page would have the browser follow the redirect inside the
    XMLHttpRequest and htmx swap the whole login page into the request's target (the review workspace's
    score panel, the follow-up board...), after which every autosave fails silently. Answer such a request
    with HX-Redirect instead: the browser goes to the login page as a whole page, and comes back to the page
    that was open (HX-Current-URL), not to the POST-only endpoint the request was sent to."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code not in (301, 302, 303, 307, 308):
            return response
        login_path = urlsplit(resolve_url(settings.LOGIN_URL)).path
        if urlsplit(response.get("Location", "")).path != login_path:
            return response
        current = urlsplit(request.htmx.current_url or "")
        back_to = (current.path + (f"?{current.query}" if current.query else "")) or request.get_full_path()
        redirected = HttpResponse(status=204)
        redirected["HX-Redirect"] = redirect_to_login(back_to).url
        return redirected


class HealthCheckMiddleware:
    """GET /healthz answered before anything reads the Host header: health checks come from the container
    itself or an orchestrator (127.0.0.1, a pod's address), which ALLOWED_HOSTS set to the site's real name
    rightly refuses, so behind a strict ALLOWED_HOSTS the service would look unhealthy for ever. It says only
    whether the database answers. First in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != "/healthz" or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        from .views import healthz  # noqa: PLC0415 - views import DRF; keep this module light

        return healthz(request)
