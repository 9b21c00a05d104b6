"""SQLite path (the embedded demo database): the same checks and merge as the PostgreSQL path, done in
Python with bulk ORM writes. It holds the import in memory, which is fine at demo sizes; production
imports run on PostgreSQL, which streams.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC
from itertools import batched

from django.utils import timezone

from calls.models import Agent, Call, Customer, Department, Escalation, Team, Transfer

from .parsing import COLUMN_INDEX as C
from .parsing import EMPTY_CHILDREN_DIGEST, KIND_CALL, KIND_ESCALATION, KIND_TRANSFER
from .staging import Affected, Finding, MergeCounts, StageBackend

BATCH = 500  # SQLite's variable limit is generous nowadays, but batches keep statements small


CALL_HASHED = (
    "external_id", "channel", "direction", "started_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds",
    "hold_seconds", "wrap_seconds", "department", "agent_code", "customer_external_id", "disposition", "is_resolved",
    "transcript", "recording_url",
)  # fmt: skip
CHILD_HASHED = {
    KIND_TRANSFER: ("sequence", "at", "from_department", "to_department", "from_agent", "to_agent", "reason"),
    KIND_ESCALATION: ("sequence", "at", "resolved_at", "level", "reason", "outcome"),
}


def _md5(row: tuple, columns) -> str:
    """md5 of the row's values (datetimes in UTC): the same role as PostgreSQL's md5(ROW(...)::text)."""
    parts = []
    for column in columns:
        value = row[C[column]]
        if value is None:
            parts.append("\\N")
        elif hasattr(value, "astimezone"):
            parts.append(value.astimezone(UTC).isoformat())
        else:
            parts.append(str(value))
    return hashlib.md5("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


def _children_digest(kind: int, rows: list[tuple]) -> str:
    ordered = sorted(rows, key=lambda row: row[C["sequence"]])
    text = ",".join(_md5(row, CHILD_HASHED[kind]) for row in ordered)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _in_batches(model, field: str, values) -> list:
    found = []
    for chunk in batched(sorted(values), BATCH):
        found.extend(model.objects.filter(**{f"{field}__in": chunk}))
    return found


class MemoryStage(StageBackend):
    def open(self) -> None:
        self.rows: list[tuple] = []
        self.rejected: set[tuple[int, int]] = set()

    def write(self, row: tuple) -> None:
        self.rows.append(row)

    def close(self, error: BaseException | None = None) -> None:
        self.rows.sort(key=lambda row: (row[C["src"]], row[C["line"]]))

    # --- checks --------------------------------------------------------------------------------------

    def check(self) -> list[Finding]:
        findings: list[Finding] = []
        first: dict[str, tuple[int, int]] = {}
        for row in self.rows:
            if row[C["kind"]] != KIND_CALL or row[C["external_id"]] is None:
                continue
            external_id, src, line = row[C["external_id"]], row[C["src"]], row[C["line"]]
            if external_id not in first:
                first[external_id] = (src, line)
            elif not row[C["bad"]]:  # a bad row already has its errors
                where = self.where(src, *first[external_id])
                findings.append(
                    Finding(src, line, None, "external_id", f"duplicate of {where}", spoils_call=False)
                )
        self.first_call_rows = {value: key for key, value in first.items()}
        if self.csv_sources:
            findings += self._check_csv_children()
        return findings

    def _is_csv_child(self, row: tuple) -> bool:
        return row[C["kind"]] != KIND_CALL and not row[C["bad"]] and row[C["src"]] in self.csv_sources

    def _check_csv_children(self) -> list[Finding]:
        findings: list[Finding] = []
        positions: dict[tuple[int, str], int] = defaultdict(int)
        for index, row in enumerate(self.rows):
            if self._is_csv_child(row):
                key = (row[C["kind"]], row[C["external_id"]])
                positions[key] += 1
                if row[C["sequence"]] is None:
                    self.rows[index] = row[: C["sequence"]] + (positions[key],) + row[C["sequence"] + 1 :]
        seen: dict[tuple, tuple[int, int]] = {}
        # Transfers/escalations nested in a JSON record (of the call's first row) take their sequences first.
        for row in self.rows:
            src, line = row[C["src"]], row[C["line"]]
            if (
                row[C["kind"]] != KIND_CALL
                and not row[C["bad"]]
                and src not in self.csv_sources
                and (src, line) in self.first_call_rows
            ):
                seen.setdefault((row[C["kind"]], row[C["external_id"]], row[C["sequence"]]), (src, line))
        for row in self.rows:
            if not self._is_csv_child(row):
                continue
            key = (row[C["kind"]], row[C["external_id"]], row[C["sequence"]])
            src, line = row[C["src"]], row[C["line"]]
            if key in seen:
                external_id, sequence = row[C["external_id"]], row[C["sequence"]]
                where = self.where(src, *seen[key])
                findings.append(
                    Finding(
                        src,
                        line,
                        external_id,
                        "sequence",
                        f"sequence {sequence} of call {external_id!r} is also on {where}",
                    )
                )
            else:
                seen[key] = (src, line)

        parents: dict[str, tuple] = {}
        for row in self.rows:  # a call is its first row in the import
            if row[C["kind"]] == KIND_CALL and row[C["external_id"]] is not None:
                parents.setdefault(row[C["external_id"]], row)
        wanted = {row[C["external_id"]] for row in self.rows if self._is_csv_child(row)} - parents.keys()
        in_database = {call.external_id: call for call in _in_batches(Call, "external_id", wanted)}
        for row in self.rows:
            if not self._is_csv_child(row):
                continue
            external_id, src, line, at = row[C["external_id"]], row[C["src"]], row[C["line"]], row[C["at"]]
            parent = parents.get(external_id)
            if parent is not None:
                if parent[C["bad"]]:
                    continue
                started_at, ended_at = parent[C["started_at"]], parent[C["ended_at"]]
            elif external_id in in_database:
                started_at, ended_at = in_database[external_id].started_at, in_database[external_id].ended_at
            else:
                findings.append(
                    Finding(
                        src,
                        line,
                        external_id,
                        "call_external_id",
                        f"no call {external_id!r} in this import or in the database",
                    )
                )
                continue
            if at < started_at:
                findings.append(Finding(src, line, external_id, "at", "before the call's started_at"))
            elif row[C["kind"]] == KIND_TRANSFER and at > ended_at:
                findings.append(Finding(src, line, external_id, "at", "after the call's ended_at"))
        return findings

    # --- rejects -------------------------------------------------------------------------------------

    def reject(self, findings: list[Finding]) -> list[Finding]:
        self.rejected = {(finding.src, finding.line) for finding in findings}
        spoiled = {
            finding.external_id
            for finding in findings
            if finding.spoils_call and finding.external_id is not None
        }
        # A bad transfer/escalation spoils its call; a bad call row too, unless it is a later duplicate.
        spoiled.update(
            row[C["external_id"]]
            for row in self.rows
            if row[C["bad"]]
            and row[C["external_id"]] is not None
            and (row[C["kind"]] != KIND_CALL or (row[C["src"]], row[C["line"]]) in self.first_call_rows)
        )
        collateral: dict[tuple[int, int], Finding] = {}
        for row in self.rows:
            key = (row[C["src"]], row[C["line"]])
            if row[C["bad"]] or key in self.rejected or row[C["external_id"]] not in spoiled:
                continue
            external_id = row[C["external_id"]]
            collateral[key] = Finding(
                *key,
                external_id,
                "call",
                f"not imported: another row of call {external_id!r} is invalid",
                spoils_call=False,
            )
        self.rejected.update(collateral)
        return list(collateral.values())

    # --- merge ---------------------------------------------------------------------------------------

    def merge(self) -> tuple[MergeCounts, Affected]:
        now = timezone.now()
        rows = [
            row
            for row in self.rows
            if not row[C["bad"]] and (row[C["src"]], row[C["line"]]) not in self.rejected
        ]
        calls = [row for row in rows if row[C["kind"]] == KIND_CALL]
        children: dict[str, dict[int, list[tuple]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            if row[C["kind"]] != KIND_CALL:
                children[row[C["external_id"]]][row[C["kind"]]].append(row)
        digests = {
            external_id: {kind: _children_digest(kind, items) for kind, items in by_kind.items()}
            for external_id, by_kind in children.items()
        }

        departments = self._departments(rows)
        teams = self._teams(calls, departments)
        agents = self._agents(rows, teams)
        customers = self._customers(calls)
        affected = Affected()
        counts = MergeCounts()

        existing = {
            call.external_id: call
            for call in _in_batches(Call, "external_id", {row[C["external_id"]] for row in calls})
        }
        created: list[Call] = []
        updated: list[Call] = []
        for row in calls:
            external_id = row[C["external_id"]]
            parts = digests.get(external_id, {})
            content_hash = (
                _md5(row, CALL_HASHED)
                + parts.get(KIND_TRANSFER, EMPTY_CHILDREN_DIGEST)
                + parts.get(KIND_ESCALATION, EMPTY_CHILDREN_DIGEST)
            )
            call = existing.get(external_id)
            if call is not None and call.content_hash == content_hash:
                counts.unchanged += 1
                continue
            if call is None:
                call = Call(external_id=external_id, created_at=now)
                created.append(call)
            else:
                affected.add(call.started_at, call.started_at, [call.agent_id], [call.customer_id])
                updated.append(call)
            call.channel, call.direction = row[C["channel"]], row[C["direction"]]
            call.customer_id = customers.get(row[C["customer_external_id"]])
            call.agent_id = agents.get(row[C["agent_code"]])
            call.department_id = departments.get(row[C["department"]])
            for name in (
                "started_at",
                "answered_at",
                "ended_at",
                "wait_seconds",
                "talk_seconds",
                "hold_seconds",
                "wrap_seconds",
                "is_resolved",
            ):
                setattr(call, name, row[C[name]])
            call.disposition = row[C["disposition"]] or ""
            call.transcript = row[C["transcript"]] or ""
            call.recording_url = row[C["recording_url"]] or ""
            call.content_hash = content_hash
            call.updated_at = now
            affected.add(call.started_at, call.started_at, [call.agent_id], [call.customer_id])
        fields = [
            "channel", "direction", "customer", "agent", "department", "started_at", "answered_at", "ended_at",
            "wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds", "disposition", "is_resolved",
            "transcript", "recording_url", "content_hash", "updated_at",
        ]  # fmt: skip
        Call.objects.bulk_create(created, batch_size=BATCH)
        # auto_now would stamp updated_at anyway; bulk_update writes the value set above.
        Call.objects.bulk_update(updated, fields, batch_size=BATCH)
        counts.created, counts.updated = len(created), len(updated)
        affected.add_calls(len(created) + len(updated), [call.pk for call in created + updated])
        # (call, replace transfers?, replace escalations?)
        replace = [(call, True, True) for call in created + updated]

        if self.csv_sources:  # CSV children of calls that are only in the database
            in_import = {row[C["external_id"]] for row in calls}
            orphans = {
                external_id: parts for external_id, parts in digests.items() if external_id not in in_import
            }
            for call in _in_batches(Call, "external_id", orphans):
                parts = orphans[call.external_id]
                old = call.content_hash
                new = old[:32] + parts.get(KIND_TRANSFER, old[32:48]) + parts.get(KIND_ESCALATION, old[48:64])
                if new == old:
                    counts.unchanged += 1
                    continue
                Call.objects.filter(pk=call.pk).update(content_hash=new, updated_at=now)
                counts.updated += 1
                # Only its transfers or escalations changed: its own flags, not its customer's other calls.
                affected.add(call.started_at, call.started_at, [call.agent_id])
                affected.add_calls(1, [call.pk])
                replace.append((call, KIND_TRANSFER in parts, KIND_ESCALATION in parts))

        self._replace_children(replace, children, created, departments, agents, affected)
        return counts, affected

    def _replace_children(self, replace, children, created, departments, agents, affected) -> None:
        new_ids = {call.pk for call in created}
        drop_transfers = [call.pk for call, transfers, _ in replace if transfers and call.pk not in new_ids]
        drop_escalations = [
            call.pk for call, _, escalations in replace if escalations and call.pk not in new_ids
        ]
        for chunk in batched(drop_transfers, BATCH):
            gone = Transfer.objects.filter(call_id__in=chunk)
            affected.add(
                None, None, [a for pair in gone.values_list("from_agent_id", "to_agent_id") for a in pair]
            )
            gone.delete()
        for chunk in batched(drop_escalations, BATCH):
            Escalation.objects.filter(call_id__in=chunk).delete()
        transfers, escalations = [], []
        for call, replace_transfers, replace_escalations in replace:
            by_kind = children.get(call.external_id, {})
            if replace_transfers:
                for row in by_kind.get(KIND_TRANSFER, []):
                    transfer = Transfer(
                        call_id=call.pk, sequence=row[C["sequence"]], at=row[C["at"]],
                        from_department_id=departments.get(row[C["from_department"]]),
                        to_department_id=departments.get(row[C["to_department"]]),
                        from_agent_id=agents.get(row[C["from_agent"]]), to_agent_id=agents.get(row[C["to_agent"]]),
                        reason=row[C["reason"]] or "",
                    )  # fmt: skip
                    affected.add(None, None, [transfer.from_agent_id, transfer.to_agent_id])
                    transfers.append(transfer)
            if replace_escalations:
                for row in by_kind.get(KIND_ESCALATION, []):
                    escalations.append(
                        Escalation(
                            call_id=call.pk,
                            sequence=row[C["sequence"]],
                            level=row[C["level"]],
                            reason=row[C["reason"]] or "",
                            raised_at=row[C["at"]],
                            outcome=row[C["outcome"]] or "",
                            resolved_at=row[C["resolved_at"]],
                        )  # fmt: skip
                    )
        Transfer.objects.bulk_create(transfers, batch_size=BATCH)
        Escalation.objects.bulk_create(escalations, batch_size=BATCH)

    # --- dimensions (first sight; existing rows only get blanks filled) --------------------------------

    def _departments(self, rows: list[tuple]) -> dict[str, int]:
        names = {
            row[C[column]] for row in rows for column in ("department", "from_department", "to_department")
        } - {None}
        known = {d.name: d.pk for d in _in_batches(Department, "name", names)}
        Department.objects.bulk_create(
            [Department(name=name) for name in sorted(names - known.keys())], batch_size=BATCH
        )
        return {d.name: d.pk for d in _in_batches(Department, "name", names)}

    def _teams(self, calls: list[tuple], departments: dict[str, int]) -> dict[str, int]:
        first: dict[str, str | None] = {}
        for row in calls:
            team = row[C["agent_team"]]
            if team is not None and (
                team not in first or (first[team] is None and row[C["department"]] is not None)
            ):
                first[team] = row[C["department"]]
        known = {t.name for t in _in_batches(Team, "name", first)}
        new = [
            Team(name=name, department_id=departments.get(first[name]))
            for name in sorted(first.keys() - known)
        ]
        Team.objects.bulk_create(new, batch_size=BATCH)
        return {t.name: t.pk for t in _in_batches(Team, "name", first)}

    def _agents(self, rows: list[tuple], teams: dict[str, int]) -> dict[str, int]:
        first: dict[str, tuple] = {}
        codes: set[str] = set()
        for row in rows:
            if row[C["kind"]] == KIND_CALL:
                code = row[C["agent_code"]]
                if code is not None and (
                    code not in first or (first[code][0] is None and row[C["agent_name"]] is not None)
                ):
                    first[code] = (row[C["agent_name"]], row[C["agent_team"]])
            elif row[C["kind"]] == KIND_TRANSFER:
                codes.update(code for code in (row[C["from_agent"]], row[C["to_agent"]]) if code is not None)
        codes.update(first)
        known = {a.employee_code: a for a in _in_batches(Agent, "employee_code", codes)}
        new = []
        for code in sorted(codes - known.keys()):
            name, team = first.get(code, (None, None))
            new.append(
                Agent(
                    employee_code=code,
                    name=name or "",
                    team_id=teams.get(team) if team else None,
                    is_active=True,
                )
            )
        Agent.objects.bulk_create(new, batch_size=BATCH)
        for code, agent in known.items():
            if code not in first:
                continue
            name, team = first[code]
            changed = []
            if agent.name == "" and name:
                agent.name = name
                changed.append("name")
            if agent.team_id is None and team:
                agent.team_id = teams.get(team)
                changed.append("team")
            if changed:
                agent.save(update_fields=changed)
        return {a.employee_code: a.pk for a in _in_batches(Agent, "employee_code", codes)}

    def _customers(self, calls: list[tuple]) -> dict[str, int]:
        first: dict[str, tuple] = {}
        for row in calls:
            key = row[C["customer_external_id"]]
            if key is not None and key not in first:
                first[key] = tuple(row[C[f"customer_{name}"]] for name in ("name", "phone", "email", "tier"))
        known = {c.external_id: c for c in _in_batches(Customer, "external_id", first)}
        new = [
            Customer(
                external_id=key,
                name=name or "",
                phone=phone or "",
                email=email or "",
                tier=tier or Customer.Tier.STANDARD,
            )
            for key, (name, phone, email, tier) in sorted(first.items())
            if key not in known
        ]
        Customer.objects.bulk_create(new, batch_size=BATCH)
        for key, customer in known.items():
            changed = []
            for attribute, value in zip(("name", "phone", "email"), first[key][:3], strict=True):
                if getattr(customer, attribute) == "" and value:
                    setattr(customer, attribute, value)
                    changed.append(attribute)
            if changed:
                customer.save(update_fields=changed)
        return {c.external_id: c.pk for c in _in_batches(Customer, "external_id", first)}
