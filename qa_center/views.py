from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views import defaults
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, SimpleRateThrottle


@login_required
def home(request):
    return redirect("calls:list")


API_PATH_PREFIXES = ("/api/", "/analytics/api/")


def page_not_found(request, exception):
    """handler404: a URL under the API that no pattern matches (an id that is not a number, a misspelt path)
    gets DRF's JSON 404, not the HTML page, which an API client cannot read. Django's APPEND_SLASH redirect
    still comes first (it only acts on 404s)."""
    if request.path.startswith(API_PATH_PREFIXES):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class ApiTokenView(ObtainAuthToken):
    """POST username and password (form or JSON), get `{"token": ...}`: the user's API token, made once.

    Throttled per client address (`API_TOKEN_RATE`), so it cannot be used to guess passwords quickly.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "api-token"
    # The credentials are in the body: a session cookie the client happens to send must not make the request
    # a session one, which would then fail CSRF.
    authentication_classes = []


def _login_failure_limit() -> tuple[int, int]:
    """(failed sign-ins allowed, per this many seconds) from LOGIN_FAILURE_RATE."""
    return SimpleRateThrottle.parse_rate(None, settings.LOGIN_FAILURE_RATE)


class ThrottledLoginView(auth_views.LoginView):
    """Django's login page, with failed sign-ins counted per client address (LOGIN_FAILURE_RATE): past the
    limit the form answers 429 without checking the password, so it cannot be used to guess passwords
    faster than POST /api/auth/token allows. The address is found as the API throttles find it (NUM_PROXIES)."""

    def _throttle_key(self) -> str:
        return f"login-failures:{BaseThrottle().get_ident(self.request)}"

    def post(self, request, *args, **kwargs):
        limit, _period = _login_failure_limit()
        if (cache.get(self._throttle_key()) or 0) >= limit:
            return HttpResponse(
                "Too many failed sign-ins from your address: wait a minute and try again.",
                status=429,
                content_type="text/plain",
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        _limit, period = _login_failure_limit()
        key = self._throttle_key()
        cache.add(key, 0, timeout=period)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period)
        return super().form_invalid(form)
