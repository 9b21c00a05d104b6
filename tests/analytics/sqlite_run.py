"""Run in a subprocess by test_sqlite.py: the embedded demo's database (SQLite, DATABASE_URL empty) —
migrate (a no-op: the test copies in the session's migrated template, see tests/embedded_sqlite.py), import
JSON Lines files through calls.importers, add QA/NPS rows — and print what the rollups, the leaderboard
selector and the analytics pages give, as JSON. The test compares that with an independent recomputation
from its own input; nothing is asserted here.

Usage: python tests/analytics/sqlite_run.py FIRST.jsonl SECOND.jsonl SCORING.json
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings_test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from calls.importers import import_files  # noqa: E402
from calls.models import AgentDayCallStats, Call, Team  # noqa: E402
from calls.rollups import agent_day_stats_refresh  # noqa: E402
from scoring.analytics.models import AgentDayScoreStats  # noqa: E402
from scoring.analytics.selectors import Period, leaderboard  # noqa: E402
from tests.analytics.helpers import make_evaluation, make_response, make_scorecard  # noqa: E402

JUNE = Period("custom", date(2026, 6, 1), date(2026, 6, 30))
CALL_FIELDS = [
    "calls",
    "identified_calls",
    "handle_seconds",
    "wait_seconds",
    "transferred",
    "escalated",
    "resolved",
    "first_contact_resolved",
    "repeat_contacts",
]
SCORE_FIELDS = ["evaluations", "score_sum", "score_sum_squares", "promoters", "passives", "detractors"]
BOARD_FIELDS = [
    "calls",
    "identified_calls",
    "average_handle_seconds",
    "fcr_rate",
    "transfer_rate",
    "escalation_rate",
    "evaluations",
    "qa_mean",
    "responses",
    "nps",
]


def snapshot() -> dict:
    board = leaderboard(team_ids=list(Team.objects.values_list("pk", flat=True)), period=JUNE)
    return {
        "call_ids": dict(Call.objects.values_list("external_id", "pk")),
        "call_stats": [
            {
                "agent": r.agent.employee_code,
                "day": r.day.isoformat(),
                **{f: getattr(r, f) for f in CALL_FIELDS},
            }
            for r in AgentDayCallStats.objects.select_related("agent")
        ],
        "score_stats": [
            {
                "agent": r.agent.employee_code,
                "day": r.day.isoformat(),
                **{f: float(getattr(r, f)) for f in SCORE_FIELDS},
            }
            for r in AgentDayScoreStats.objects.select_related("agent")
        ],
        "board": {r["employee_code"]: {f: r[f] for f in BOARD_FIELDS} for r in board["rows"]},
    }


def main(first: str, second: str, scoring: str) -> None:
    call_command("migrate", verbosity=0)
    out: dict = {"vendor": connection.vendor}
    errors = []
    # The importer refreshes the rollups itself (no explicit refresh between or after the imports).
    for key, path in (("after_first", first), ("after_both", second)):
        result = import_files([Path(path)])
        errors += [str(e) for e in result.errors]
        out[key] = snapshot()
    out["import_errors"] = errors

    card = make_scorecard()
    spec = json.loads(Path(scoring).read_text())
    calls = {c.external_id: c for c in Call.objects.all()}
    for external_id, score in spec["evaluations"].items():
        make_evaluation(card, call=calls[external_id], score=score)
    for external_id, answer in spec["responses"].items():
        make_response(call=calls[external_id], score=answer)
    agent_day_stats_refresh(date_from=date(2026, 5, 1), date_to=date(2026, 6, 30))
    out["with_scoring"] = snapshot()

    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("sqlite-admin", "admin@example.com", "x")
    client = Client()
    client.force_login(admin)
    query = {"period": "custom", "date_from": "2026-06-01", "date_to": "2026-06-30"}
    agent_id = Call.objects.get(external_id="S-1").agent_id
    pages = {}
    for name, args in (
        ("analytics:leaderboard", []),
        ("analytics:leaderboard-csv", []),
        ("analytics:api-leaderboard", []),
        ("analytics:teams", []),
        ("analytics:drivers", []),
        ("analytics:transfers", []),
        ("analytics:agent", [agent_id]),
    ):
        response = client.get(reverse(name, args=args), query)
        pages[name] = {"status": response.status_code, "text": response.content.decode()[:200_000]}
    out["pages"] = pages
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
