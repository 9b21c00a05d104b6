"""Random small imports into refresh_world's world, the way a CRM pushes calls (one to a few records per
request, through calls.importers.import_records, the API's own path): new calls, calls given to another
agent or customer, transfers replaced, calls moved to another day, several at once, and re-imports of
unchanged records. After each, every rollup table is compared row by row with a full rebuild.

Shared by tests/analytics/test_scoped_import_refresh.py (PostgreSQL) and
tests/analytics/sqlite_import_refresh_run.py (SQLite, in a subprocess).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from calls.importers import import_records
from calls.models import Call
from calls.selectors import call_import_record
from tests.analytics.refresh_world import World, compare_each_change, local

IMPORT_KINDS = [
    "new_calls",
    "call_agent",
    "call_customer",
    "call_transfers",
    "call_day",
    "several",
    "unchanged",
]


def _shift(record: dict, delta: timedelta) -> None:
    """Move a record's times (the call's, its transfers' and escalations') by delta."""

    def moved(value: str | None) -> str | None:
        return None if value is None else (datetime.fromisoformat(value) + delta).isoformat()

    for name in ("started_at", "answered_at", "ended_at"):
        record[name] = moved(record[name])
    for transfer in record["transfers"]:
        transfer["at"] = moved(transfer["at"])
    for escalation in record["escalations"]:
        escalation["at"], escalation["resolved_at"] = (
            moved(escalation["at"]),
            moved(escalation["resolved_at"]),
        )


class Importer:
    """Random imports into a world; `committing` runs the import's on-commit work (as in edits)."""

    def __init__(self, world: World, committing: Callable[[], AbstractContextManager]):
        self.world, self.committing = world, committing
        self.last: list[dict] = []

    # records
    def _existing(self) -> dict:
        return call_import_record(self.world.rng.choice(list(Call.objects.order_by("pk"))))

    def _agent(self) -> dict:
        return {"employee_code": self.world.rng.choice(self.world.agents).employee_code}

    def _customer(self) -> dict | None:
        customer = self.world.rng.choice([*self.world.customers, None])
        return None if customer is None else {"external_id": customer.external_id}

    def _legs(self, record: dict) -> list[dict]:
        rng = self.world.rng
        start = datetime.fromisoformat(record["started_at"])
        return [
            {
                "sequence": sequence,
                "at": start.isoformat(),  # within the call whatever its length
                "from_department": rng.choice(self.world.departments).name,
                "to_department": rng.choice(self.world.departments).name,
                "from_agent": rng.choice([None, self._agent()["employee_code"]]),
                "to_agent": self._agent()["employee_code"],
                "reason": rng.choice(["", "billing", "tech"]),
            }
            for sequence in range(1, rng.choice([1, 2, 3]))
        ]

    def new_record(self) -> dict:
        rng = self.world.rng
        start = local(rng.randint(2, 12), rng.randint(0, 23), rng.choice([0, 15, 59]))
        record = {
            "external_id": f"CRM-{self.world.next_sequence()}",
            "channel": "phone",
            "started_at": start.isoformat(),
            "answered_at": (start + timedelta(seconds=20)).isoformat(),
            "ended_at": (start + timedelta(minutes=20)).isoformat(),
            "wait_seconds": 20,
            "talk_seconds": rng.randint(10, 900),
            "department": rng.choice(self.world.departments).name,
            "agent": self._agent() if rng.random() < 0.9 else None,
            "customer": self._customer(),
            "resolved": rng.random() < 0.6,
            "transfers": [],
            "escalations": [],
        }
        record["transfers"] = self._legs(record)
        if rng.random() < 0.3:
            record["escalations"] = [{"at": record["answered_at"], "level": "supervisor", "reason": "refund"}]
        return record

    def changed_agent(self) -> dict:
        return {**self._existing(), "agent": self._agent()}

    def changed_customer(self) -> dict:
        return {**self._existing(), "customer": self._customer()}

    def changed_transfers(self) -> dict:
        record = self._existing()
        record["transfers"] = self._legs(record)
        return record

    def changed_day(self) -> dict:
        record = self._existing()
        rng = self.world.rng
        _shift(record, timedelta(days=rng.choice([-3, -2, -1, 1, 2, 4]), hours=rng.randint(-5, 5)))
        return record

    # imports
    def run(self, kind: str) -> str:
        return getattr(self, kind)()

    def _import(self, records: list[dict], what: str) -> str:
        with self.committing():
            result = import_records(records)
        assert not result.errors, result.errors
        self.last = records
        return (
            f"{what}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
            f"agents {result.affected_agent_ids}"
        )

    def new_calls(self) -> str:
        return self._import([self.new_record() for _ in range(self.world.rng.randint(1, 3))], "new calls")

    def call_agent(self) -> str:
        return self._import([self.changed_agent()], "agent changed")

    def call_customer(self) -> str:
        return self._import([self.changed_customer()], "customer changed")

    def call_transfers(self) -> str:
        return self._import([self.changed_transfers()], "transfers replaced")

    def call_day(self) -> str:
        return self._import([self.changed_day()], "moved to another day")

    def several(self) -> str:
        makers = [self.new_record, self.changed_agent, self.changed_customer, self.changed_transfers]
        makers.append(self.changed_day)
        records: dict[str, dict] = {}
        for _ in range(self.world.rng.randint(2, 5)):
            record = self.world.rng.choice(makers)()
            records[record["external_id"]] = record  # an external id once per import
        return self._import(list(records.values()), "several")

    def unchanged(self) -> str:
        if not self.last:
            return self.new_calls()
        return self._import(self.last, "re-imported unchanged")


def run_random_imports(world: World, committing, *, imports: int, log: list[str] | None = None) -> list[dict]:
    """`imports` random imports, each checked against a full rebuild (`compare_each_change`)."""
    return compare_each_change(
        world, IMPORT_KINDS, imports, Importer(world, committing).run, label="import", log=log
    )


def write_transfers_csv_for_a_stored_call(world: World, folder: Path) -> tuple[Path, Call]:
    """A transfers-only CSV (the CSV path of both backends' merge) giving one transfer to a stored call that has
    none: the call is only in the database, not in the import."""
    call = Call.objects.filter(agent__isnull=False, transfers__isnull=True).order_by("pk").first()
    at = timezone.localtime(call.started_at).isoformat()
    path = folder / "transfers.csv"
    path.write_text(
        "call_external_id,sequence,at,from_department,to_department,from_agent,to_agent,reason\n"
        f"{call.external_id},1,{at},{world.departments[0].name},{world.departments[1].name},,"
        f"{world.agents[5].employee_code},billing\n"
    )
    return path, call
