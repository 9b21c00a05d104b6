"""`manage.py bench admin-save`: one call saved in the Django admin, rollup refresh included, with the
registered day refreshers scoped to the agents the edit can change vs. rebuilding every agent's rows.

Runs against the configured database as it is (seed it first: `manage.py seed_demo --calls 200000`): it
picks calls that have evaluations, and saves each through the admin change form twice per round, once
giving it to another agent and once giving it back, so the data ends as it began. "every agent" runs the
registered refreshers with agent_ids=None (what an admin save did before refreshers took agent ids), the
call rollups scoped alike in both, so the difference is the refreshers' scope alone. Each figure is the
whole POST: the admin's own queries and the on-commit refresh.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager, suppress

from django.contrib.auth import get_user_model
from django.db import connection
from django.forms import CheckboxInput, MultiWidget
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse

from . import rollups
from .models import Agent, Call


def add_arguments(parser) -> None:
    parser.add_argument("--rounds", type=int, default=5, help="saves per method (default 5)")


def admin_form_posted(form) -> dict:
    """What a browser posts for an admin form as rendered (values unchanged). Also used by the tests."""
    data = {}
    for bound in form:
        widget = bound.field.widget
        widget = getattr(widget, "widget", widget)
        value = bound.value()
        if isinstance(widget, MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{i}"] = "" if part is None else str(part)
        elif isinstance(widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif value is not None:
            data[bound.html_name] = str(value)
    return data


def admin_change_page_data(client: Client, url: str) -> dict:
    """The change form of an admin page with its inline formsets, as a browser would post it back."""
    response = client.get(url)
    if response.status_code != 200 or response.context is None:
        raise RuntimeError(f"cannot read the admin change form {url} ({response.status_code})")
    data = {**admin_form_posted(response.context["adminform"].form), "_save": "Save"}
    for inline in response.context["inline_admin_formsets"]:
        data.update(admin_form_posted(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(admin_form_posted(form))
    return data


@contextmanager
def _refreshers_for_every_agent():
    saved = list(rollups._day_refreshers)

    def unscoped(refresher):
        return lambda *, date_from, date_to, agent_ids=None: refresher(
            date_from=date_from, date_to=date_to, agent_ids=None
        )

    rollups._day_refreshers[:] = [unscoped(refresher) for refresher in saved]
    try:
        yield
    finally:
        rollups._day_refreshers[:] = saved


def _save(client: Client, url: str, data: dict) -> tuple[float, int]:
    # Queries are counted with an execute wrapper, not CaptureQueriesContext, whose debug cursor (formatting
    # every statement) would weigh on the time measured.
    count = [0]

    def counting(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counting):
        started = time.perf_counter()
        response = client.post(url, data)
        seconds = time.perf_counter() - started
    if response.status_code != 302:
        raise RuntimeError(f"the admin refused the save of {url} ({response.status_code})")
    return seconds, count[0]


def run(out, *, rounds: int, **_options) -> dict:
    # The admin's responses carry their form with the test client's instrumentation (already there in a test).
    with suppress(RuntimeError):
        setup_test_environment()
    calls_total = Call.objects.count()
    calls = list(
        Call.objects.filter(agent__isnull=False, evaluations__isnull=False)
        .order_by("-started_at")
        .distinct()[:rounds]
    )
    if len(calls) < rounds:
        raise RuntimeError("seed calls with evaluations first (manage.py seed_demo --calls 200000)")
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    other_agent = Agent.objects.order_by("pk").values_list("pk", flat=True)
    results: dict[str, list[tuple[float, int]]] = {"every agent": [], "scoped": []}
    out(f"{calls_total} calls; {rounds} calls saved twice (to another agent and back) per method")
    for call in calls:
        url = reverse("admin:calls_call_change", args=[call.pk])
        original = admin_change_page_data(client, url)
        moved = {**original, "agent": str(next(pk for pk in other_agent if pk != call.agent_id))}
        for method in ("every agent", "scoped"):
            for data in (moved, original):
                if method == "every agent":
                    with _refreshers_for_every_agent():
                        results[method].append(_save(client, url, data))
                else:
                    results[method].append(_save(client, url, data))
    summary = {}
    for method, figures in results.items():
        seconds = statistics.median(s for s, _ in figures)
        queries = statistics.median(q for _, q in figures)
        summary[method] = {"seconds": seconds, "queries": queries}
        out(f"  {method:12} median {seconds * 1000:8.1f} ms  {queries:5.0f} queries  ({len(figures)} saves)")
    ratio = summary["every agent"]["seconds"] / summary["scoped"]["seconds"]
    out(
        f"bench admin-save: one call saved in the admin at {calls_total} calls: "
        f"{summary['every agent']['seconds'] * 1000:.0f} ms / {summary['every agent']['queries']:.0f} queries "
        f"rebuilding every agent's rows -> {summary['scoped']['seconds'] * 1000:.0f} ms / "
        f"{summary['scoped']['queries']:.0f} queries scoped ({ratio:.1f}x faster)"
    )
    return summary
