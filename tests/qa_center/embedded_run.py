"""Run in a subprocess by test_embedded_demo.py: what `make run` does on a machine with nothing installed
(SQLite file + kombu filesystem broker under QA_CENTER_VAR_DIR), then the work its Celery worker would do
and the pages its users open. Prints one JSON line; the test asserts on it.

Usage: python tests/qa_center/embedded_run.py
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import datetime, time, timedelta
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from calls.models import Call, CallImport  # noqa: E402
from calls.services import call_import_run  # noqa: E402
from scoring.followups import services as followups  # noqa: E402
from scoring.followups.models import FollowUpCase, Notification  # noqa: E402

PAGES = {
    "supervisor": [
        "/calls/",
        "/analytics/",
        "/analytics/teams/",
        "/analytics/drivers/",
        "/analytics/transfers/",
        "/followups/",
        "/followups/insights/",  # SQLite has no percentile_cont: the Python fallback
        "/followups/insights/root-causes.csv",
        "/qa/progress/?period=last_30",  # legs counted in raw SQL around the ORM's UNION; medians in Python
        "/qa/progress/agents.csv?period=last_30",
        "/qa/queue/",
        "/qa/disputes/",
        "/qa/calibration/",
        "/surveys/responses/",
    ],
    "reviewer": ["/calls/", "/qa/queue/", "/qa/scorecards/", "/qa/calibration/"],
    "agent": ["/calls/", "/qa/me/"],
    "admin": ["/calls/imports/"],
}
UPLOAD = (
    "external_id,channel,started_at,ended_at,agent_employee_code\n"
    "EMB-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1\n"
    "EMB-2,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1\n"
)


def main() -> None:
    setup_test_environment()  # responses carry their template context
    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--if-empty", calls=400, agents=8, days=14, seed=7, stdout=StringIO())
    seeded = Call.objects.count()

    errors: list[str] = []
    outcomes: Counter[str] = Counter()
    pending = FollowUpCase.objects.filter(dispatch_state="pending").values_list("pk", flat=True)
    for case_id in list(pending):
        try:
            outcomes[followups.followup_dispatch(case_id=case_id).result] += 1
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on any
            errors.append(f"dispatch {case_id}: {type(exc).__name__}: {exc}")
    try:
        swept = followups.followup_sweep(now=timezone.now() + timedelta(days=3)).__dict__
    except Exception as exc:  # noqa: BLE001
        swept = {}
        errors.append(f"sweep: {type(exc).__name__}: {exc}")
    for case_id in FollowUpCase.objects.filter(escalation_level__gt=0).values_list("pk", flat=True):
        try:
            followups.followup_escalation_notify(case_id=case_id)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"escalation notify {case_id}: {type(exc).__name__}: {exc}")

    pages: dict[str, int] = {}
    for username, urls in PAGES.items():
        client = Client()
        client.force_login(django.contrib.auth.get_user_model().objects.get(username=username))
        for url in urls:
            response = client.get(url)
            pages[f"{username} {url}"] = response.status_code
        # one call page each, the first the user's list shows
        first = client.get("/calls/").context["calls"]
        if first:
            pages[f"{username} /calls/<first>/"] = client.get(f"/calls/{first[0].pk}/").status_code

    # The follow-up insights' durations on SQLite (percentiles taken in Python): the demo closed cases (an admin
    # sees them all).
    viewer = Client()
    viewer.force_login(django.contrib.auth.get_user_model().objects.get(username="admin"))
    insights = viewer.get("/followups/insights/", {"period": "last_90"}).context["insights"]
    insights_figures = {
        "closed": insights["closed"],
        "causes": sum(row.cases for row in insights["root_causes"]),
        "close_median_seconds": insights["to_close"].median.total_seconds() if insights["closed"] else None,
    }

    # The QA progress figures on SQLite (the admin's every team, the demo's last 30 days).
    progress = viewer.get("/qa/progress/", {"period": "last_30"}).context["progress"]
    progress_figures = {
        "reviews": progress.totals.reviews,
        "agent_reviews": sum(row.reviews for row in progress.agents),
        "reviewer_reviews": sum(row.reviews for row in progress.reviewers),
        "legs": sum(row.legs for row in progress.agents),
        "reviewed_legs": sum(row.reviewed_legs for row in progress.agents),
        "medians": sum(1 for row in progress.reviewers if row.median_to_review is not None),
    }

    # The evaluation export on SQLite (a server-side cursor there is a plain one): the admin's last 90 days, one row
    # per answer of the submitted current evaluations submitted since local midnight 89 days ago.
    from scoring.models import Answer

    export = viewer.get("/qa/evaluations.csv", {"period": "last_90"})
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines() if export.streaming else []
    since = datetime.combine(
        timezone.localdate() - timedelta(days=89), time.min, tzinfo=timezone.get_current_timezone()
    )
    export_figures = {
        "status": export.status_code,
        "rows": len(lines) - 1,
        "answers": Answer.objects.filter(
            evaluation__status="submitted", evaluation__is_current=True, evaluation__submitted_at__gte=since
        ).count(),
    }

    # The supervisors' weekly digests the demo wrote (QA_WEEKLY_DIGEST is on by default) on SQLite.
    from scoring.models import Notice

    digests = list(Notice.objects.filter(kind="weekly_digest").values_list("details", flat=True))
    digest_figures = {
        "count": len(digests),
        "reviews": sum(d["reviews"] for d in digests),
        "responses": sum(d["responses"] for d in digests),
        "agents": sum(d["agents"] for d in digests),
    }

    # An upload on the imports page, run as the worker would (the filesystem broker has no worker here).
    admin = Client()
    admin.force_login(django.contrib.auth.get_user_model().objects.get(username="admin"))
    upload = SimpleUploadedFile("calls.csv", UPLOAD.encode())
    posted = admin.post("/calls/imports/", {"files": [upload], "partial": "on"})
    uploaded = CallImport.objects.get()
    call_import_run(uploaded.pk)
    uploaded.refresh_from_db()
    pages["admin /calls/imports/<id>/"] = admin.get(posted["Location"]).status_code
    pages["admin /calls/imports/<id>/rejects/1/"] = admin.get(
        f"/calls/imports/{uploaded.pk}/rejects/1/"
    ).status_code

    print(  # noqa: T201 - the subprocess's result, read by the test
        json.dumps(
            {
                "vendor": connection.vendor,
                "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
                "calls": seeded,
                "dispatch_outcomes": dict(outcomes),
                "pending_before": len(pending),
                "assigned_notices": Notification.objects.filter(kind="assigned").count(),
                "swept": swept,
                "errors": errors,
                "pages": pages,
                "insights": insights_figures,
                "progress": progress_figures,
                "weekly_digests": digest_figures,
                "evaluation_export": export_figures,
                "upload": [uploaded.status, uploaded.created, uploaded.rejected, uploaded.errors],
            }
        )
    )


if __name__ == "__main__":
    main()
