"""A small hand-built world for first-contact resolution (FCR) over identified callers.

Identified callers with and without repeat contacts, anonymous calls (resolved and unresolved, transferred,
escalated), a transferred identified call, and abandoned calls (one of them an identified caller's repeat
contact). Every flag is worked out by hand in ROWS' comments; the tests that use it (test_fcr_identified.py,
on PostgreSQL, and sqlite_fcr_run.py, on SQLite) assert literal figures counted by hand from this table.

All calls start at 10:00 UTC in June 2026 (one local day whatever the test zone); the repeat window is 7 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from calls.models import Call
from calls.rollups import agent_day_stats_refresh
from tests.analytics.helpers import make_response
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    DepartmentFactory,
    EscalationFactory,
    TeamFactory,
    TransferFactory,
)

WINDOW_DAYS = 7
FIRST_DAY, LAST_DAY = date(2026, 6, 1), date(2026, 6, 30)
TEAM_OF = {"ann": "North", "bob": "North", "cat": "South"}


@dataclass(frozen=True)
class Row:
    key: str
    agent: str | None  # None: abandoned (no agent took it)
    customer: str | None  # None: anonymous caller
    day: int  # June, 10:00 UTC
    resolved: bool
    transferred_to: str | None = None  # one transfer, to this agent ("" : to a department only)
    escalated: bool = False
    talk: int = 100

    @property
    def started_at(self) -> datetime:
        return datetime(2026, 6, self.day, 10, 0, tzinfo=UTC)


ROWS = [
    # Ann (North)
    Row("K01", "ann", "P", 1, True, talk=200),  # P calls again on June 3 (K05): repeat contact, not FCR
    Row("K02", "ann", "Q", 1, True, talk=300),  # FCR
    Row("K03", "ann", None, 2, True, talk=400),  # anonymous, resolved, untransferred: FCR unknown
    Row("K04", "ann", None, 2, False, escalated=True, talk=150),  # anonymous, unresolved: FCR unknown
    Row("K05", "ann", "V", 10, True, talk=250),  # FCR
    # Bob (North)
    Row("K06", "bob", "P", 3, True, talk=120),  # FCR: P's next call (K12) is 17 days later
    Row("K07", "bob", "R", 3, True, transferred_to="", talk=500),  # transferred: not FCR
    Row("K08", "bob", None, 4, True, talk=90),  # anonymous, resolved, untransferred: unknown
    Row("K09", "bob", None, 4, True, talk=60),  # anonymous, resolved, untransferred: unknown
    # Cat (South)
    Row("K10", "cat", "S", 5, False, escalated=True, talk=330),  # S again on June 6: repeat, not FCR
    Row("K11", "cat", "S", 6, True, talk=110),  # FCR
    Row("K12", "cat", "P", 20, True, talk=140),  # FCR
    Row("K13", "cat", "T", 7, True, talk=210),  # T again on June 8 (abandoned K15): repeat, not FCR
    Row("K14", "cat", "U", 9, True, talk=160),  # FCR
    Row(
        "K16", "cat", None, 12, True, transferred_to="bob", talk=170
    ),  # anonymous, transferred to Bob: unknown
    Row("K18", "cat", "W", 14, True, talk=180),  # FCR
    # Abandoned: no agent took them
    Row("K15", None, "T", 8, False, talk=0),  # identified, not handled: a repeat contact of K13 all the same
    Row("K17", None, None, 8, False, talk=0),  # anonymous and abandoned
]
KEYS = [row.key for row in ROWS]

# Survey answers (primary credit to the call's agent): what "NPS by first-contact resolution" groups.
RESPONSES = {"K01": 3, "K02": 9, "K03": 10}


def build_fcr_world(*, refresh: bool = True) -> dict:
    """Create ROWS (and RESPONSES); with refresh, rebuild the call rollups of June as the importer does.

    Precondition: settings.REPEAT_CONTACT_WINDOW_DAYS == WINDOW_DAYS."""
    departments = {"North": DepartmentFactory(name="Sales"), "South": DepartmentFactory(name="Support")}
    teams = {name: TeamFactory(name=name, department=department) for name, department in departments.items()}
    agents = {
        name: AgentFactory(employee_code=f"A-{name.upper()}", name=name.title(), team=teams[team])
        for name, team in TEAM_OF.items()
    }
    customers = {key: CustomerFactory(external_id=f"CU-{key}") for key in "PQRSTUVW"}
    calls: dict[str, Call] = {}
    for row in ROWS:
        agent = agents[row.agent] if row.agent else None
        call = CallFactory(
            external_id=row.key,
            agent=agent,
            department=departments[TEAM_OF[row.agent]] if row.agent else None,
            customer=customers[row.customer] if row.customer else None,
            started_at=row.started_at,
            is_resolved=row.resolved,
            talk_seconds=row.talk,
            hold_seconds=0,
            wait_seconds=20,
        )
        if row.transferred_to is not None:
            TransferFactory(
                call=call,
                sequence=1,
                to_agent=agents[row.transferred_to] if row.transferred_to else None,
                to_department=departments["South"],
            )
        if row.escalated:
            EscalationFactory(call=call)
        calls[row.key] = call
    for key, score in RESPONSES.items():
        make_response(call=calls[key], score=score)
    if refresh:
        agent_day_stats_refresh(date_from=FIRST_DAY, date_to=LAST_DAY)
    return {"teams": teams, "agents": agents, "customers": customers, "calls": calls}


# --- the figures every path gives, as plain JSON values (the PostgreSQL tests compute them in-process, the
# SQLite run in a subprocess; both are compared with the same hand counts) ------------------------------

PERIOD_QUERY = {"period": "custom", "date_from": FIRST_DAY.isoformat(), "date_to": LAST_DAY.isoformat()}
CALL_STATS_FIELDS = (
    "calls",
    "identified_calls",
    "resolved",
    "transferred",
    "escalated",
    "first_contact_resolved",
    "repeat_contacts",
)


def make_users(world: dict) -> dict:
    """An administrator (sees every call: the calls list reads the rollups) and North's supervisor (the
    rollups of Ann and Bob plus the call transferred to Bob, counted live)."""
    from tests.factories import UserFactory

    admin = UserFactory(username="fcr-admin", roles=["admin"], is_staff=True, is_superuser=True)
    lead = UserFactory(username="north-lead", roles=["supervisor"])
    world["teams"]["North"].supervisors.add(lead)
    return {"admin": admin, "lead": lead}


def _list_summary(user) -> dict:
    """The calls list summary of June for this user, and whether it came from the rollups (the rollup table
    read and believed) or was counted live."""
    from tests.calls.helpers import list_filters, list_summary

    summary, _live, from_rollups = list_summary(user, list_filters(date_from=FIRST_DAY, date_to=LAST_DAY))
    return {"summary": summary, "from_rollups": from_rollups}


def figures(world: dict, users: dict) -> dict:
    """Every figure of the world the product shows, per path."""
    import csv
    import io
    import json

    from django.test import Client
    from django.urls import reverse

    from calls.selectors import call_annotate_metrics, call_filter, call_summary
    from scoring.analytics.selectors import (
        Period,
        agent_overview,
        leaderboard,
        nps_drivers,
        team_figures,
        transfer_analysis,
    )

    june = Period("custom", FIRST_DAY, LAST_DAY)
    team_ids = sorted(team.pk for team in world["teams"].values())
    annotated = call_annotate_metrics(Call.objects.all())
    out: dict = {
        "per_call": {
            c.external_id: {"fcr": c.is_first_contact_resolution, "repeat": c.has_repeat_contact}
            for c in annotated
        },
        "filter_yes": sorted(
            call_filter(annotated, is_first_contact_resolution=True).values_list("external_id", flat=True)
        ),
        "filter_no": sorted(
            call_filter(annotated, is_first_contact_resolution=False).values_list("external_id", flat=True)
        ),
        "summary_live": call_summary(Call.objects.all()),
        "list_admin": _list_summary(users["admin"]),
        "list_lead": _list_summary(users["lead"]),
        "rollups": rollup_rows(),
    }
    board = leaderboard(team_ids=team_ids, period=june)
    out["leaderboard"] = {
        r["employee_code"]: {
            k: r[k] for k in ("calls", "identified_calls", "first_contact_resolved", "fcr_rate")
        }
        for r in board["rows"]
    }
    out["teams"] = {
        r["team_name"]: {k: r[k] for k in ("calls", "identified_calls", "fcr_rate")}
        for r in team_figures(team_ids=team_ids, period=june)
    }
    rates = agent_overview(agent=world["agents"]["ann"], period=june)["rates"]
    out["agent_ann"] = {
        k: rates[k]
        for k in (
            "calls",
            "identified_calls",
            "fcr_rate",
            "team_calls",
            "team_identified_calls",
            "team_fcr_rate",
        )
    }
    out["transfers_repeat"] = transfer_analysis(team_ids=team_ids, period=june)["repeat"]
    factors = dict(nps_drivers(team_ids=team_ids, period=june)["factors"])
    out["drivers_fcr"] = {
        r["level"]: [r["promoters"], r["passives"], r["detractors"]]
        for r in factors["First-contact resolution"]
    }

    client = Client()
    client.force_login(users["admin"])
    api = client.get(reverse("analytics:api-leaderboard"), PERIOD_QUERY)
    out["api"] = {
        r["employee_code"]: {"identified_calls": r["identified_calls"], "fcr_rate": r["fcr_rate"]}
        for r in json.loads(api.content)["results"]
    }
    export = client.get(reverse("analytics:leaderboard-csv"), PERIOD_QUERY)
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    out["csv"] = {
        r["employee_code"]: {
            "calls": r["calls"],
            "identified_calls": r["identified_calls"],
            "fcr_rate": r["fcr_rate"],
        }
        for r in rows
    }
    listed = client.get(reverse("calls:list"), {"date_from": FIRST_DAY, "date_to": LAST_DAY}).content.decode()
    by_yes = client.get(
        reverse("calls:list"), {"date_from": "", "date_to": "", "fcr": "yes"}
    ).content.decode()
    streamed = client.get(reverse("calls:export"), {"date_from": "", "date_to": ""}).streaming_content
    calls_csv = b"".join(streamed).decode("utf-8-sig")
    exported = {
        r["external_id"]: [r["first_contact_resolution"], r["repeat_contact"]]
        for r in csv.DictReader(io.StringIO(calls_csv))
    }
    detail = client.get(reverse("calls:detail", args=[world["calls"]["K03"].pk])).content.decode()
    out["pages"] = {
        "list": listed,
        "list_fcr_yes": by_yes,
        "detail_anonymous": detail,
        "calls_csv": exported,
        "leaderboard": client.get(reverse("analytics:leaderboard"), PERIOD_QUERY).content.decode(),
        "teams": client.get(reverse("analytics:teams"), PERIOD_QUERY).content.decode(),
        "transfers": client.get(reverse("analytics:transfers"), PERIOD_QUERY).content.decode(),
        "drivers": client.get(reverse("analytics:drivers"), PERIOD_QUERY).content.decode(),
        "agent": client.get(
            reverse("analytics:agent", args=[world["agents"]["ann"].pk]), PERIOD_QUERY
        ).content.decode(),
    }
    return out


# --- migration calls 0007: the rollups written before it are rebuilt with identified_calls ----------------

BEFORE_IDENTIFIED = "0006_call_import_encoding_date_order"

# The rollup rows as the code before calls migration 0007 counted them, by hand from ROWS: (agent, June day):
# (calls, handle_seconds, wait_seconds, transferred, escalated, resolved, first_contact_resolved,
# repeat_contacts). No identified_calls column, and each resolved, untransferred anonymous call counted as
# resolved on first contact: K03 on Ann's June 2, K08 and K09 on Bob's June 4.
ROLLUPS_BEFORE_IDENTIFIED = {
    ("ann", 1): (2, 500, 40, 0, 0, 2, 1, 1),
    ("ann", 2): (2, 550, 40, 0, 1, 1, 1, 0),
    ("ann", 10): (1, 250, 20, 0, 0, 1, 1, 0),
    ("bob", 3): (2, 620, 40, 1, 0, 2, 1, 0),
    ("bob", 4): (2, 150, 40, 0, 0, 2, 2, 0),
    ("cat", 5): (1, 330, 20, 0, 1, 0, 0, 1),
    ("cat", 6): (1, 110, 20, 0, 0, 1, 1, 0),
    ("cat", 7): (1, 210, 20, 0, 0, 1, 0, 1),
    ("cat", 9): (1, 160, 20, 0, 0, 1, 1, 0),
    ("cat", 12): (1, 170, 20, 1, 0, 1, 0, 0),
    ("cat", 14): (1, 180, 20, 0, 0, 1, 1, 0),
    ("cat", 20): (1, 140, 20, 0, 0, 1, 1, 0),
}


def migrate_calls(target: str | None = None) -> None:
    """Migrate the calls app to `target` (a migration name), or to its latest migration."""
    from django.core.management import call_command

    call_command("migrate", "calls", *([target] if target else []), verbosity=0)


def write_rollups_before_identified(agents: dict) -> None:
    """With the calls app at BEFORE_IDENTIFIED, write ROLLUPS_BEFORE_IDENTIFIED through that state's model."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    state = MigrationExecutor(connection).loader.project_state(("calls", BEFORE_IDENTIFIED))
    stats = state.apps.get_model("calls", "AgentDayCallStats")
    columns = (
        "calls",
        "handle_seconds",
        "wait_seconds",
        "transferred",
        "escalated",
        "resolved",
        "first_contact_resolved",
        "repeat_contacts",
    )
    stats.objects.bulk_create(
        stats(agent_id=agents[name].pk, day=date(2026, 6, day), **dict(zip(columns, values, strict=True)))
        for (name, day), values in ROLLUPS_BEFORE_IDENTIFIED.items()
    )


def rollup_rows() -> dict[str, list[int]]:
    """ "<employee code> <day>": [CALL_STATS_FIELDS…] of every call rollup row."""
    from calls.models import AgentDayCallStats

    return {
        f"{r.agent.employee_code} {r.day.isoformat()}": [getattr(r, f) for f in CALL_STATS_FIELDS]
        for r in AgentDayCallStats.objects.select_related("agent").order_by("agent__employee_code", "day")
    }
