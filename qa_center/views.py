from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


@login_required
def home(request):
    return redirect("calls:list")


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
