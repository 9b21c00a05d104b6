import time
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from tests.factories import CallFactory, CustomerFactory

pytestmark = pytest.mark.django_db

def test_profile(client, admin_user, supervisor, owner_agent):
    token = Token.objects.create(user=admin_user).key
    calls = [CallFactory(agent=owner_agent) for _ in range(30)]
    c = client
    times = []
    for i, call in enumerate(calls):
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            r = c.post(reverse("surveys:api-responses"), {"call_external_id": call.external_id, "score": 3}, content_type="application/json", headers={"Authorization": f"Token {token}"})
        times.append(time.perf_counter() - t)
        assert r.status_code == 201
    print("\nqueries", len(ctx.captured_queries), "times ms", [round(x*1000,1) for x in times[-10:]])
    for q in ctx.captured_queries:
        print(q["time"], q["sql"][:160])
