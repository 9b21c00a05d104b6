"""The embedded demo runs on SQLite: migrate, import JSON Lines through calls.importers, and the rollups,
the leaderboard selector and every analytics page work there too, with the same figures as an
independent recomputation from the input records (plain Python, no database).

The SQLite side runs in a subprocess (tests/analytics/sqlite_run.py) with DATABASE_URL empty and a
temporary QA_CENTER_VAR_DIR, whatever database the rest of the suite uses. TIME_ZONE is New York so
that local days differ from UTC days (a call at 03:30 UTC belongs to the day before).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.embedded_sqlite import run_script_on_copy

# The tests themselves need no database of the outer run; the mark only keeps tests/conftest.py's
# session fixture (which replays migration data) working when this file runs alone: pytest-django sets
# up no test database for a session without a database test.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("America/New_York")
WINDOW = timedelta(days=7)
AGENTS = {
    "A-1": {"employee_code": "A-1", "name": "Ann One", "team": "Squad East"},
    "A-2": {"employee_code": "A-2", "name": "Bob Two", "team": "Squad East"},
    "A-3": {"employee_code": "A-3", "name": "Cat Three", "team": "Squad West"},
}


def record(
    external_id: str,
    agent: str,
    customer: str | None,
    started: str,
    *,
    talk: int = 100,
    hold: int = 0,
    wrap: int = 0,
    wait: int = 5,
    resolved: bool = True,
    transferred: bool = False,
    escalated: bool = False,
) -> dict:
    start = datetime.fromisoformat(started)
    at = (start + timedelta(seconds=30)).isoformat()
    return {
        "external_id": external_id,
        "channel": "phone",
        "started_at": started,
        "ended_at": (start + timedelta(seconds=wait + talk + hold + 60)).isoformat(),
        "wait_seconds": wait,
        "talk_seconds": talk,
        "hold_seconds": hold,
        "wrap_seconds": wrap,
        "department": "Billing",
        "agent": AGENTS[agent],
        "customer": {"external_id": customer} if customer else None,
        "resolved": resolved,
        "transfers": [{"sequence": 1, "at": at, "from_department": "Billing", "to_department": "Tech"}]
        if transferred
        else [],
        "escalations": [{"at": at, "level": "supervisor", "reason": "refund"}] if escalated else [],
    }


FIRST = [
    record("S-1", "A-1", "CU-1", "2026-06-01T13:00:00+00:00", talk=300, hold=20, wrap=10),
    # 23:30 in New York on June 1 (03:30 UTC on June 2): a June 1 call.
    record("S-2", "A-1", "CU-2", "2026-06-02T03:30:00+00:00", talk=100),
    # Exactly 7 days after S-1: S-1 gets a repeat contact (the window includes its end).
    record("S-3", "A-2", "CU-1", "2026-06-08T13:00:00+00:00", talk=200, wrap=30),
    record("S-4", "A-2", "CU-3", "2026-06-03T15:00:00+00:00", talk=400, transferred=True),
    record("S-5", "A-3", "CU-4", "2026-06-03T16:00:00+00:00", talk=250, resolved=False, escalated=True),
    # Two contacts of CU-5 starting the same second: the one with the lower id is the repeat contact.
    record("S-6", "A-3", "CU-5", "2026-06-05T12:00:00+00:00", talk=90),
    record("S-7", "A-1", "CU-5", "2026-06-05T12:00:00+00:00", talk=95),
    # 7 days and 1 second after S-2: outside the window, S-2 keeps its first-contact resolution.
    record("S-8", "A-2", "CU-2", "2026-06-09T03:30:01+00:00", talk=120),
]
SECOND = [
    # A new contact of CU-1 two days after S-3: S-3 (June 8, A-2) loses its FCR. The importer refreshes
    # the days [first start − window, last start] itself.
    record("S-9", "A-3", "CU-1", "2026-06-10T09:00:00+00:00", talk=80),
    # A re-import that changes a call: S-5 is now resolved.
    record("S-5", "A-3", "CU-4", "2026-06-03T16:00:00+00:00", talk=250, resolved=True, escalated=True),
    # An anonymous caller, resolved and never transferred: its first-contact resolution is unknown, so Ann's
    # June 4 holds one call, no identified call and no first-contact resolution.
    record("S-10", "A-1", None, "2026-06-04T14:00:00+00:00", talk=70),
]
SCORING = {
    "evaluations": {"S-1": 90, "S-2": 70.5, "S-3": 80, "S-7": 100, "S-5": 60},
    "responses": {"S-1": 10, "S-4": 3, "S-5": 8, "S-2": 9},
}


def expected_calls(records: list[dict], ids: dict[str, int]) -> list[dict]:
    """Per-call flags straight from the input records (the later record of an external id wins)."""
    merged = {r["external_id"]: r for r in records}
    calls = []
    for r in merged.values():
        calls.append(
            {
                "id": ids[r["external_id"]],
                "agent": r["agent"]["employee_code"],
                "customer": r["customer"]["external_id"] if r["customer"] else None,
                "start": datetime.fromisoformat(r["started_at"]),
                "handle": r["talk_seconds"] + r["hold_seconds"] + r["wrap_seconds"],
                "wait": r["wait_seconds"],
                "resolved": r["resolved"],
                "transferred": bool(r["transfers"]),
                "escalated": bool(r["escalations"]),
            }
        )
    for c in calls:
        c["day"] = c["start"].astimezone(ZONE).date().isoformat()
        # First-contact resolution and repeat contacts are counted for identified callers only.
        c["identified"] = c["customer"] is not None
        c["repeat"] = c["identified"] and any(
            o["customer"] == c["customer"]
            and (o["start"] > c["start"] or (o["start"] == c["start"] and o["id"] > c["id"]))
            and o["start"] <= c["start"] + WINDOW
            for o in calls
        )
        c["fcr"] = c["identified"] and c["resolved"] and not c["transferred"] and not c["repeat"]
    return calls


def expected_call_stats(calls: list[dict]) -> dict:
    out: dict = defaultdict(lambda: defaultdict(int))
    for c in calls:
        row = out[(c["agent"], c["day"])]
        row["calls"] += 1
        row["handle_seconds"] += c["handle"]
        row["wait_seconds"] += c["wait"]
        for key, flag in (
            ("identified_calls", "identified"),
            ("transferred", "transferred"),
            ("escalated", "escalated"),
            ("resolved", "resolved"),
            ("first_contact_resolved", "fcr"),
            ("repeat_contacts", "repeat"),
        ):
            row[key] += c[flag]
    return {key: dict(value) for key, value in out.items()}


def got_call_stats(snapshot: dict) -> dict:
    return by_agent_day(snapshot["call_stats"])


def by_agent_day(rows: list[dict]) -> dict:
    return {(r["agent"], r["day"]): {k: v for k, v in r.items() if k not in ("agent", "day")} for r in rows}


def nps(answers: list[int]) -> float | None:
    if not answers:
        return None
    return 100 * (sum(a >= 9 for a in answers) - sum(a <= 6 for a in answers)) / len(answers)


def expected_board(calls: list[dict]) -> dict:
    by_agent: dict = defaultdict(list)
    for c in calls:
        by_agent[c["agent"]].append(c)
    board = {}
    for agent, mine in by_agent.items():
        n = len(mine)
        identified = sum(c["identified"] for c in mine)
        scores = [s for ext, s in SCORING["evaluations"].items() if _agent_of(ext) == agent]
        answers = [a for ext, a in SCORING["responses"].items() if _agent_of(ext) == agent]
        board[agent] = {
            "calls": n,
            "average_handle_seconds": sum(c["handle"] for c in mine) / n,
            "identified_calls": identified,
            "fcr_rate": sum(c["fcr"] for c in mine) / identified,
            "transfer_rate": sum(c["transferred"] for c in mine) / n,
            "escalation_rate": sum(c["escalated"] for c in mine) / n,
            "evaluations": len(scores),
            "qa_mean": sum(scores) / len(scores) if scores else None,
            "responses": len(answers),
            "nps": nps(answers),
        }
    return board


def _agent_of(external_id: str) -> str:
    return {r["external_id"]: r["agent"]["employee_code"] for r in FIRST + SECOND}[external_id]


def expected_score_stats() -> dict:
    days = {
        r["external_id"]: datetime.fromisoformat(r["started_at"]).astimezone(ZONE).date().isoformat()
        for r in FIRST + SECOND
    }
    out: dict = defaultdict(
        lambda: dict.fromkeys(
            ["evaluations", "score_sum", "score_sum_squares", "promoters", "passives", "detractors"], 0.0
        )
    )
    for ext, score in SCORING["evaluations"].items():
        row = out[(_agent_of(ext), days[ext])]
        row["evaluations"] += 1
        row["score_sum"] += score
        row["score_sum_squares"] += score * score
    for ext, answer in SCORING["responses"].items():
        row = out[(_agent_of(ext), days[ext])]
        key = "promoters" if answer >= 9 else "passives" if answer >= 7 else "detractors"
        row[key] += 1
    return dict(out)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sqlite_run(tmp_path_factory, sqlite_template) -> dict:
    tmp = tmp_path_factory.mktemp("sqlite-demo")
    result = run_script_on_copy(
        sqlite_template,
        tmp,
        "tests/analytics/sqlite_run.py",
        str(write_jsonl(tmp / "first.jsonl", FIRST)),
        str(write_jsonl(tmp / "second.jsonl", SECOND)),
        str(write_json(tmp / "scoring.json", SCORING)),
        env={"TIME_ZONE": "America/New_York"},
        timeout=300,
    )
    assert (tmp / "var" / "qa_center.sqlite3").exists()
    return result


def test_the_subprocess_really_ran_on_sqlite_and_imported_everything(sqlite_run):
    assert sqlite_run["vendor"] == "sqlite"
    assert sqlite_run["import_errors"] == []
    assert set(sqlite_run["after_both"]["call_ids"]) == {f"S-{i}" for i in range(1, 11)}


def test_import_refreshes_the_call_rollups_on_sqlite(sqlite_run):
    first = sqlite_run["after_first"]
    calls = expected_calls(FIRST, first["call_ids"])
    assert got_call_stats(first) == expected_call_stats(calls)
    # Hand-checked anchors: S-2 (03:30 UTC June 2) is Ann's June 1 call; S-1 has a repeat contact 7 days
    # later, S-2 none 7 days and 1 second later.
    ann_june_1 = expected_call_stats(calls)[("A-1", "2026-06-01")]
    assert (ann_june_1["calls"], ann_june_1["repeat_contacts"], ann_june_1["first_contact_resolved"]) == (
        2,
        1,
        1,
    )


def test_second_import_updates_fcr_of_earlier_days_and_changed_calls(sqlite_run):
    before = got_call_stats(sqlite_run["after_first"])
    after = got_call_stats(sqlite_run["after_both"])
    assert after == expected_call_stats(expected_calls(FIRST + SECOND, sqlite_run["after_both"]["call_ids"]))
    # Bob's June 8 (New York): S-3 and S-8 (03:30:01 UTC on June 9); S-9 takes S-3's FCR away.
    assert (
        before[("A-2", "2026-06-08")]["first_contact_resolved"],
        after[("A-2", "2026-06-08")]["first_contact_resolved"],
    ) == (2, 1)
    assert after[("A-2", "2026-06-08")]["repeat_contacts"] == 1
    # S-10, the anonymous caller's resolved, untransferred call: not an identified call, not an FCR.
    assert ("A-1", "2026-06-04") not in before
    assert after[("A-1", "2026-06-04")] == {
        "calls": 1,
        "identified_calls": 0,
        "handle_seconds": 70,
        "wait_seconds": 5,
        "transferred": 0,
        "escalated": 0,
        "resolved": 1,
        "first_contact_resolved": 0,
        "repeat_contacts": 0,
    }
    assert (before[("A-3", "2026-06-03")]["resolved"], after[("A-3", "2026-06-03")]["resolved"]) == (0, 1)


def test_same_second_tie_counts_the_lower_id_as_the_repeat_contact(sqlite_run):
    ids = sqlite_run["after_both"]["call_ids"]
    stats = got_call_stats(sqlite_run["after_both"])
    lower, higher = sorted(["S-6", "S-7"], key=ids.get)
    agent_of = {"S-6": "A-3", "S-7": "A-1"}
    assert stats[(agent_of[lower], "2026-06-05")]["repeat_contacts"] == 1
    assert stats[(agent_of[higher], "2026-06-05")]["repeat_contacts"] == 0


def test_leaderboard_selector_figures_on_sqlite_match_the_input(sqlite_run):
    snapshot = sqlite_run["with_scoring"]
    calls = expected_calls(FIRST + SECOND, snapshot["call_ids"])
    expected = expected_board(calls)
    assert set(snapshot["board"]) == set(expected)
    for agent, figures in expected.items():
        for key, value in figures.items():
            got = snapshot["board"][agent][key]
            if value is None:
                assert got is None, (agent, key)
            else:
                assert math.isclose(got, value, abs_tol=1e-9), (agent, key, got, value)
    assert by_agent_day(snapshot["score_stats"]) == expected_score_stats()


def test_every_analytics_page_renders_on_sqlite(sqlite_run):
    pages = sqlite_run["pages"]
    assert {name: page["status"] for name, page in pages.items()} == dict.fromkeys(pages, 200)
    board = pages["analytics:leaderboard"]["text"]
    assert all(name in board for name in ("Ann One", "Bob Two", "Cat Three"))
    api = json.loads(pages["analytics:api-leaderboard"]["text"])
    assert sorted(r["employee_code"] for r in api["results"]) == ["A-1", "A-2", "A-3"]
    assert (
        "Billing" in pages["analytics:transfers"]["text"] and "Tech" in pages["analytics:transfers"]["text"]
    )
