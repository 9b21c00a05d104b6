"""PostgreSQL path: binary COPY into a TEMP staging table, then set-based checks and merge.

Python never holds the rows: they stream into `calls_import_stage` (one table for calls, transfers and
escalations, keyed by source and line), and every check that needs more than one row (duplicate external
ids, transfers pointing at unknown calls, ...) and the whole merge run as SQL over it. Everything happens
in the caller's transaction, so all-or-nothing is a rollback.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.utils import timezone

from .parsing import COLUMN_INDEX, EMPTY_CHILDREN_DIGEST, KIND_TRANSFER, STAGE_COLUMNS
from .staging import SCOPED_REFRESH_MAX_CALLS, Affected, Finding, MergeCounts, StageBackend

STAGE = "calls_import_stage"
REJECT = "calls_import_reject"
CHILD = "calls_import_child"
CHANGED = "calls_import_changed"
SEEN = "calls_import_seen"
PRIOR = "calls_import_prior"
SEEN_CUSTOMER = "calls_import_customer"
UPDATES = "calls_import_updates"
# Statistics on these staging columns are enough for good plans (the others only pass through).
ANALYZED = "kind, bad, src, line, external_id"

# Every import serializes its checks and merge on this lock (transaction-scoped: released at commit or
# rollback). Staging, the slow part, still runs concurrently. Two merges interleaving could deadlock on
# the unique indexes or see each other's half-made agents; serialized, the second simply finds the rows
# the first committed and reports them unchanged.
ADVISORY_LOCK_KEY = 0x5143_696D_706F_7274  # "QCimport"
BAD = COLUMN_INDEX["bad"]


# What a call's content hash covers (32 hex of md5 of the call's row, then 16 + 16 of its transfers' and
# escalations'): everything stored on the call, with agent/customer/department by their keys.
CALL_TEXT = (
    "ROW(s.external_id, s.channel, s.direction, s.started_at, s.answered_at, s.ended_at, s.wait_seconds, "
    "s.talk_seconds, s.hold_seconds, s.wrap_seconds, s.department, s.agent_code, s.customer_external_id, "
    "s.disposition, s.is_resolved, s.transcript, s.recording_url)::text"
)
TRANSFER_TEXT = (
    "ROW(s.sequence, s.at, s.from_department, s.to_department, s.from_agent, s.to_agent, s.reason)::text"
)
ESCALATION_TEXT = "ROW(s.sequence, s.at, s.resolved_at, s.level, s.reason, s.outcome)::text"


class PostgresStage(StageBackend):
    def __init__(self, connection, *, source_names: list[str], csv_sources: set[int]):
        super().__init__(source_names=source_names, csv_sources=csv_sources)
        connection.ensure_connection()
        self.raw = connection.connection  # the psycopg connection, inside Django's transaction
        self.cursor = self.raw.cursor()
        self._copy_context: Any = None
        self._copy: Any = None
        self.rejects_exist = False

    # --- staging -------------------------------------------------------------------------------------

    def open(self) -> None:
        self._prepare()
        names = ", ".join(name for name, _ in STAGE_COLUMNS)
        self._copy_context = self.cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN (FORMAT BINARY)")
        self._copy = self._copy_context.__enter__()
        self._copy.set_types([kind for _, kind in STAGE_COLUMNS])
        self.write = self._copy.write_row

    def _prepare(self) -> None:
        cur = self.cursor
        # temp_buffers only takes effect before the session's first temp table; harmless otherwise.
        cur.execute("SET LOCAL temp_buffers = '512MB'")
        cur.execute("SET LOCAL work_mem = '256MB'")
        # The merge statements are many and short-lived: JIT compiling them costs more than it saves.
        cur.execute("SET LOCAL jit = off")
        # Losing the last moments of a committed import in an OS crash is acceptable (re-run it: imports are
        # idempotent); waiting for the WAL flush at commit is not needed.
        cur.execute("SET LOCAL synchronous_commit = off")
        # Content hashes are md5 of rows as text: pin the text form of timestamps.
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        for table in (STAGE, REJECT, CHILD, CHANGED, SEEN, PRIOR, SEEN_CUSTOMER, UPDATES):
            cur.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        columns = ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS)
        cur.execute(f"CREATE TEMP TABLE {STAGE} ({columns}) ON COMMIT DROP")

    def close(self, error: BaseException | None = None) -> None:
        if self._copy_context is not None:
            context, self._copy_context = self._copy_context, None
            if error is None:
                context.__exit__(None, None, None)
            else:
                context.__exit__(type(error), error, error.__traceback__)

    # --- checks --------------------------------------------------------------------------------------

    def check(self) -> list[Finding]:
        cur = self.cursor
        cur.execute(f"ANALYZE {STAGE} ({ANALYZED})")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        findings: list[Finding] = []

        # Later occurrences of an external id are refused; the first one stands (or falls) alone.
        cur.execute(
            f"""
            WITH twice AS (
                SELECT external_id FROM {STAGE} WHERE kind = 0 AND external_id IS NOT NULL
                GROUP BY external_id HAVING count(*) > 1
            )
            SELECT src, line, first_src, first_line FROM (
                SELECT s.src, s.line, s.bad,
                       first_value(s.src) OVER w AS first_src, first_value(s.line) OVER w AS first_line,
                       row_number() OVER w AS n
                FROM {STAGE} s JOIN twice USING (external_id)
                WHERE s.kind = 0
                WINDOW w AS (PARTITION BY s.external_id ORDER BY s.src, s.line)
            ) ranked WHERE n > 1 AND NOT bad
            """
        )
        for src, line, first_src, first_line in cur.fetchall():
            findings.append(
                Finding(
                    src,
                    line,
                    None,
                    "external_id",
                    f"duplicate of {self.where(src, first_src, first_line)}",
                    spoils_call=False,
                )
            )

        if self.csv_sources:
            findings += self._check_csv_children()
        return findings

    def _check_csv_children(self) -> list[Finding]:
        """Transfers and escalations from CSV files: sequences, parent call, times within the call."""
        cur = self.cursor
        csv = sorted(self.csv_sources)
        findings: list[Finding] = []
        # An empty sequence cell means "position among this call's rows of the same kind, in file order".
        cur.execute(
            f"""
            UPDATE {STAGE} s SET sequence = p.position
            FROM (
                SELECT src, line, row_number() OVER (PARTITION BY kind, external_id ORDER BY src, line) AS position
                FROM {STAGE} WHERE kind > 0 AND NOT bad AND src = ANY(%s)
            ) p
            WHERE s.src = p.src AND s.line = p.line AND s.kind > 0 AND s.sequence IS NULL
            """,
            [csv],
        )
        # A sequence may also be taken by a transfer/escalation nested in a JSON record of the same call (a
        # calls.jsonl imported with a transfers.csv): those come first, so the CSV row is the one refused.
        cur.execute(
            f"""
            SELECT src, line, kind, sequence, external_id, first_src, first_line FROM (
                SELECT src, line, kind, sequence, external_id, src = ANY(%(csv)s) AS from_csv,
                       first_value(src) OVER w AS first_src, first_value(line) OVER w AS first_line,
                       row_number() OVER w AS n
                FROM {STAGE} c WHERE kind > 0 AND NOT bad AND (
                    src = ANY(%(csv)s) OR NOT EXISTS (
                        SELECT 1 FROM {STAGE} e WHERE e.kind = 0 AND e.external_id = c.external_id
                        AND (e.src, e.line) < (c.src, c.line)))
                WINDOW w AS (PARTITION BY kind, external_id, sequence ORDER BY src = ANY(%(csv)s), src, line)
            ) ranked WHERE n > 1 AND from_csv
            """,
            {"csv": csv},
        )
        for src, line, _kind, sequence, external_id, first_src, first_line in cur.fetchall():
            findings.append(
                Finding(
                    src,
                    line,
                    external_id,
                    "sequence",
                    f"sequence {sequence} of call {external_id!r} is also on {self.where(src, first_src, first_line)}",
                )
            )
        # The parent: the call's first valid row in this import, else the call in the database.
        cur.execute(
            f"""
            WITH children AS (
                SELECT * FROM {STAGE} WHERE kind > 0 AND NOT bad AND src = ANY(%s)
            ), in_import AS (
                SELECT DISTINCT ON (external_id) external_id, started_at, ended_at, bad
                FROM {STAGE} WHERE kind = 0 AND external_id IN (SELECT external_id FROM children)
                ORDER BY external_id, src, line
            )
            SELECT c.src, c.line, c.kind, c.external_id, c.at,
                   coalesce(i.started_at, db.started_at), coalesce(i.ended_at, db.ended_at),
                   i.external_id IS NOT NULL OR db.id IS NOT NULL AS has_parent, coalesce(i.bad, false)
            FROM children c
            LEFT JOIN in_import i USING (external_id)
            LEFT JOIN calls_call db ON i.external_id IS NULL AND db.external_id = c.external_id
            WHERE i.external_id IS NULL AND db.id IS NULL
               OR NOT coalesce(i.bad, false) AND (
                    c.at < coalesce(i.started_at, db.started_at)
                    OR c.kind = 1 AND c.at > coalesce(i.ended_at, db.ended_at))
            """,
            [csv],
        )
        for src, line, kind, external_id, at, started_at, ended_at, has_parent, _parent_bad in cur.fetchall():
            if not has_parent:
                findings.append(
                    Finding(
                        src,
                        line,
                        external_id,
                        "call_external_id",
                        f"no call {external_id!r} in this import or in the database",
                    )
                )
            elif at < started_at:
                findings.append(Finding(src, line, external_id, "at", "before the call's started_at"))
            elif kind == KIND_TRANSFER and at > ended_at:
                findings.append(Finding(src, line, external_id, "at", "after the call's ended_at"))
        return findings

    # --- rejects -------------------------------------------------------------------------------------

    def reject(self, findings: list[Finding]) -> list[Finding]:
        """Record the rejected rows and return the rows rejected with them (another row of their call is bad)."""
        cur = self.cursor
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{REJECT}")
        cur.execute(
            f"CREATE TEMP TABLE {REJECT} (src int2, line int4, external_id text, spoils_call bool) ON COMMIT DROP"
        )
        with cur.copy(f"COPY {REJECT} (src, line, external_id, spoils_call) FROM STDIN") as copy:
            for finding in findings:
                copy.write_row((finding.src, finding.line, finding.external_id, finding.spoils_call))
        # Invalid rows: a bad transfer/escalation spoils its call; a bad call row spoils its call unless
        # it is a later duplicate (the call is then its first row).
        cur.execute(
            f"""
            INSERT INTO {REJECT} (src, line, external_id, spoils_call)
            SELECT b.src, b.line, b.external_id,
                   b.kind > 0 OR NOT EXISTS (
                       SELECT 1 FROM {STAGE} e WHERE e.kind = 0 AND e.external_id = b.external_id
                       AND (e.src, e.line) < (b.src, b.line))
            FROM {STAGE} b WHERE b.bad
            """
        )
        cur.execute(
            f"""
            WITH spoiled AS (SELECT DISTINCT external_id FROM {REJECT} WHERE spoils_call AND external_id IS NOT NULL)
            SELECT DISTINCT s.src, s.line, s.external_id FROM {STAGE} s JOIN spoiled USING (external_id)
            WHERE NOT s.bad AND NOT EXISTS (SELECT 1 FROM {REJECT} r WHERE r.src = s.src AND r.line = s.line)
            """
        )
        collateral = [
            Finding(
                src,
                line,
                external_id,
                "call",
                f"not imported: another row of call {external_id!r} is invalid",
                spoils_call=False,
            )
            for src, line, external_id in cur.fetchall()
        ]
        with cur.copy(f"COPY {REJECT} (src, line, external_id, spoils_call) FROM STDIN") as copy:
            for finding in collateral:
                copy.write_row((finding.src, finding.line, finding.external_id, False))
        cur.execute(f"CREATE INDEX ON {REJECT} (src, line)")
        cur.execute(f"ANALYZE {REJECT}")
        self.rejects_exist = True
        return collateral

    # --- merge ---------------------------------------------------------------------------------------

    def merge(self) -> tuple[MergeCounts, Affected]:
        counts, affected = MergeCounts(), Affected()
        self._merge_staged(timezone.now(), counts, affected)
        return counts, affected

    def _merge_staged(self, now: datetime, counts: MergeCounts, affected: Affected) -> None:
        """Merge the valid rows now in the staging table into the real tables."""
        cur = self.cursor
        good = "NOT s.bad"
        if self.rejects_exist:
            good += f" AND NOT EXISTS (SELECT 1 FROM {REJECT} r WHERE r.src = s.src AND r.line = s.line)"
        empty = EMPTY_CHILDREN_DIGEST
        updated_before = counts.updated
        cur.execute(
            f"DROP TABLE IF EXISTS pg_temp.{CHILD}, pg_temp.{CHANGED}, pg_temp.{PRIOR}, pg_temp.{SEEN_CUSTOMER}"
        )

        # Digests of each call's transfers and escalations (NULL: none of that kind in the import).
        cur.execute(
            f"""
            CREATE TEMP TABLE {CHILD} ON COMMIT DROP AS
            SELECT external_id,
                   left(md5(string_agg({TRANSFER_TEXT}, ',' ORDER BY sequence) FILTER (WHERE kind = 1)), 16) AS t,
                   left(md5(string_agg({ESCALATION_TEXT}, ',' ORDER BY sequence) FILTER (WHERE kind = 2)), 16) AS e
            FROM {STAGE} s WHERE kind > 0 AND {good} GROUP BY external_id
            """
        )
        cur.execute(f"ANALYZE {CHILD}")

        # Departments, teams, agents and customers on first sight (file order). Existing ones keep their
        # values; only blank names/phones/e-mails and a missing team are filled in.
        cur.execute(
            f"""
            INSERT INTO calls_department (name)
            SELECT DISTINCT v.name FROM {STAGE} s,
                LATERAL (VALUES (s.department), (s.from_department), (s.to_department)) v(name)
            WHERE v.name IS NOT NULL AND {good} ORDER BY 1
            ON CONFLICT (name) DO NOTHING
            """
        )
        cur.execute(
            f"""
            INSERT INTO calls_team (name, department_id)
            SELECT DISTINCT ON (x.agent_team) x.agent_team, d.id FROM (
                SELECT agent_team, department, min(src::int8 * 4294967296 + line) AS position
                FROM {STAGE} s WHERE kind = 0 AND agent_team IS NOT NULL AND {good} GROUP BY 1, 2
            ) x LEFT JOIN calls_department d ON d.name = x.department
            ORDER BY x.agent_team, x.department IS NULL, x.position
            ON CONFLICT (name) DO NOTHING
            """
        )
        cur.execute(
            f"""
            INSERT INTO calls_agent (employee_code, name, team_id, is_active)
            SELECT DISTINCT ON (x.agent_code) x.agent_code, coalesce(x.agent_name, ''), t.id, true FROM (
                SELECT agent_code, agent_name, agent_team, min(src::int8 * 4294967296 + line) AS position
                FROM {STAGE} s WHERE kind = 0 AND agent_code IS NOT NULL AND {good} GROUP BY 1, 2, 3
            ) x LEFT JOIN calls_team t ON t.name = x.agent_team
            ORDER BY x.agent_code, x.agent_name IS NULL, x.position
            ON CONFLICT (employee_code) DO UPDATE SET
                name = CASE WHEN calls_agent.name = '' THEN excluded.name ELSE calls_agent.name END,
                team_id = coalesce(calls_agent.team_id, excluded.team_id)
            WHERE (calls_agent.name = '' AND excluded.name <> '')
               OR (calls_agent.team_id IS NULL AND excluded.team_id IS NOT NULL)
            """
        )
        cur.execute(
            f"""
            INSERT INTO calls_agent (employee_code, name, is_active)
            SELECT DISTINCT v.code, '', true FROM {STAGE} s, LATERAL (VALUES (s.from_agent), (s.to_agent)) v(code)
            WHERE s.kind = 1 AND v.code IS NOT NULL AND {good} ORDER BY 1
            ON CONFLICT (employee_code) DO NOTHING
            """
        )
        # Customers: one index probe per customer of the chunk, then plain inserts of the new ones and updates
        # of the few whose blanks get filled; the chunk's calls then take their ids from this small table.
        # (ON CONFLICT DO UPDATE would lock, and so write, every existing customer the chunk mentions, and a
        # join would let the planner scan the whole customer table once per chunk.) The probes are LATERAL
        # ... LIMIT 1 (external ids are unique) so that they stay index probes whatever the statistics say.
        cur.execute(
            f"""
            CREATE TEMP TABLE {SEEN_CUSTOMER} ON COMMIT DROP AS
            SELECT x.*, cu.id, cu.name AS old_name, cu.phone AS old_phone, cu.email AS old_email FROM (
                SELECT DISTINCT ON (x.customer_external_id) x.customer_external_id AS external_id,
                       coalesce(x.customer_name, '') AS name, coalesce(x.customer_phone, '') AS phone,
                       coalesce(x.customer_email, '') AS email, coalesce(x.customer_tier, 'standard') AS tier
                FROM (
                    SELECT customer_external_id, customer_name, customer_phone, customer_email, customer_tier,
                           min(src::int8 * 4294967296 + line) AS position
                    FROM {STAGE} s WHERE kind = 0 AND customer_external_id IS NOT NULL AND {good}
                    GROUP BY 1, 2, 3, 4, 5
                ) x
                ORDER BY x.customer_external_id, x.position
            ) x LEFT JOIN LATERAL (
                SELECT c.id, c.name, c.phone, c.email FROM calls_customer c WHERE c.external_id = x.external_id LIMIT 1
            ) cu ON true
            """
        )
        # ON CONFLICT DO NOTHING only guards against a customer created meanwhile outside the importer
        # (imports themselves are serialized by the advisory lock); such a customer is looked up after.
        cur.execute(
            f"""
            WITH added AS (
                INSERT INTO calls_customer (external_id, name, phone, email, tier)
                SELECT external_id, name, phone, email, tier FROM {SEEN_CUSTOMER} WHERE id IS NULL
                ORDER BY external_id
                ON CONFLICT (external_id) DO NOTHING
                RETURNING id, external_id
            )
            UPDATE {SEEN_CUSTOMER} x SET id = added.id FROM added WHERE x.external_id = added.external_id
            """
        )
        cur.execute(
            f"""
            UPDATE {SEEN_CUSTOMER} x SET id = (SELECT c.id FROM calls_customer c WHERE c.external_id = x.external_id)
            WHERE x.id IS NULL
            """
        )
        cur.execute(
            f"""
            UPDATE calls_customer c SET
                name = CASE WHEN c.name = '' THEN x.name ELSE c.name END,
                phone = CASE WHEN c.phone = '' THEN x.phone ELSE c.phone END,
                email = CASE WHEN c.email = '' THEN x.email ELSE c.email END
            FROM {SEEN_CUSTOMER} x
            WHERE x.old_name IS NOT NULL AND c.id = x.id
              AND ((x.old_name = '' AND x.name <> '') OR (x.old_phone = '' AND x.phone <> '')
                   OR (x.old_email = '' AND x.email <> ''))
              AND ((c.name = '' AND x.name <> '') OR (c.phone = '' AND x.phone <> '')
                   OR (c.email = '' AND x.email <> ''))
            """
        )

        new_hash = f"md5({CALL_TEXT}) || coalesce(ch.t, '{empty}') || coalesce(ch.e, '{empty}')"
        # The calls of the chunk already in the database: one index probe each. New calls are then plain
        # inserts (no speculative insertion), and only the existing calls whose content hash differs are
        # updated (an unchanged call is neither written nor locked). The unique constraint still has the
        # last word: a call created meanwhile outside the importer makes the insert fail, not duplicate.
        cur.execute(
            f"""
            CREATE TEMP TABLE {PRIOR} ON COMMIT DROP AS
            SELECT c.id, c.external_id, c.content_hash, c.agent_id, c.customer_id, c.started_at
            FROM {STAGE} s CROSS JOIN LATERAL (
                SELECT c.id, c.external_id, c.content_hash, c.agent_id, c.customer_id, c.started_at FROM calls_call c
                WHERE c.external_id = s.external_id LIMIT 1
            ) c
            WHERE s.kind = 0 AND {good}
            """
        )
        cur.execute(
            f"CREATE TEMP TABLE {CHANGED} (id bigint, external_id text, inserted bool, replace_transfers bool, replace_escalations bool) ON COMMIT DROP"
        )
        columns = (
            "channel, direction, customer_id, agent_id, department_id, started_at, answered_at, ended_at, "
            "wait_seconds, talk_seconds, hold_seconds, wrap_seconds, disposition, is_resolved, transcript, "
            "recording_url, content_hash"
        )
        values = (
            f"s.channel, s.direction, cu.id AS customer_id, a.id AS agent_id, d.id AS department_id, s.started_at, "
            f"s.answered_at, s.ended_at, s.wait_seconds, s.talk_seconds, s.hold_seconds, s.wrap_seconds, "
            f"coalesce(s.disposition, '') AS disposition, s.is_resolved, coalesce(s.transcript, '') AS transcript, "
            f"coalesce(s.recording_url, '') AS recording_url, {new_hash} AS content_hash"
        )
        new_values = ", ".join(f"x.{column.strip()}" for column in columns.split(","))
        joins = f"""
            LEFT JOIN {CHILD} ch ON ch.external_id = s.external_id
            LEFT JOIN {SEEN_CUSTOMER} cu ON cu.external_id = s.customer_external_id
            LEFT JOIN calls_agent a ON a.employee_code = s.agent_code
            LEFT JOIN calls_department d ON d.name = s.department
        """
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {PRIOR})")
        if cur.fetchone()[0]:
            # Changed calls, found from the probe alone (an unchanged re-import reads nothing more), then
            # updated by id. Their old start time, agent and customer (from the probe) and the new ones all
            # count for the rollups.
            cur.execute(f"DROP TABLE IF EXISTS pg_temp.{UPDATES}")
            cur.execute(
                f"""
                CREATE TEMP TABLE {UPDATES} ON COMMIT DROP AS
                SELECT p.id, p.agent_id AS old_agent_id, p.customer_id AS old_customer_id,
                       p.started_at AS old_started_at, {values}
                FROM {STAGE} s JOIN {PRIOR} p ON p.external_id = s.external_id {joins}
                WHERE s.kind = 0 AND {good} AND p.content_hash IS DISTINCT FROM {new_hash}
                """
            )
            if cur.rowcount:
                cur.execute(f"ANALYZE {UPDATES}")
                cur.execute(
                    f"""
                    WITH updated AS (
                        UPDATE calls_call c SET ({columns}, updated_at) = ({new_values}, %(now)s)
                        FROM {UPDATES} x
                        WHERE c.id = x.id AND c.content_hash IS DISTINCT FROM x.content_hash
                        RETURNING c.id, c.external_id, c.agent_id, c.customer_id, c.started_at, x.old_agent_id,
                                  x.old_customer_id, x.old_started_at
                    ), kept AS (
                        INSERT INTO {CHANGED} SELECT id, external_id, false, true, true FROM updated
                    )
                    SELECT count(*), least(min(started_at), min(old_started_at)),
                           greatest(max(started_at), max(old_started_at)),
                           array_agg(DISTINCT agent_id) FILTER (WHERE agent_id IS NOT NULL)
                           || array_agg(DISTINCT old_agent_id) FILTER (WHERE old_agent_id IS NOT NULL),
                           {_ids_if_few("customer_id")} || {_ids_if_few("old_customer_id")}, {_ids_if_few("id")}
                    FROM updated
                    """,
                    {"now": now},
                )
                updated, first, last, agents, customers, ids = cur.fetchone()
                affected.add(first, last, agents, customers)
                affected.add_calls(updated, ids)
                counts.updated += updated
            new_only = f"AND NOT EXISTS (SELECT 1 FROM {PRIOR} p WHERE p.external_id = s.external_id)"
        else:
            new_only = ""
        cur.execute(
            f"""
            WITH inserted AS (
                INSERT INTO calls_call (external_id, {columns}, created_at, updated_at)
                SELECT s.external_id, {values}, %(now)s, %(now)s
                FROM {STAGE} s {joins}
                WHERE s.kind = 0 AND {good} {new_only}
                RETURNING id, external_id, agent_id, customer_id, started_at
            ), kept AS (
                INSERT INTO {CHANGED} SELECT id, external_id, true, true, true FROM inserted
            )
            SELECT count(*), min(started_at), max(started_at),
                   array_agg(DISTINCT agent_id) FILTER (WHERE agent_id IS NOT NULL),
                   {_ids_if_few("customer_id")}, {_ids_if_few("id")}
            FROM inserted
            """,
            {"now": now},
        )
        created, first, last, agents, customers, ids = cur.fetchone()
        affected.add(first, last, agents, customers)
        affected.add_calls(created, ids)
        cur.execute(f"SELECT count(*) FROM {STAGE} s WHERE s.kind = 0 AND {good}")
        (good_calls,) = cur.fetchone()
        counts.created += created
        counts.unchanged += good_calls - created - (counts.updated - updated_before)

        if self.csv_sources:
            self._merge_database_parents(now, counts, affected)

        cur.execute(f"ANALYZE {CHANGED}")
        self._replace_children(good, affected)

    def _merge_database_parents(self, now: datetime, counts: MergeCounts, affected: Affected) -> None:
        """CSV transfers/escalations of calls that are in the database but not in this import: they replace
        that call's transfers (or escalations) as a whole, and the matching part of its content hash."""
        cur = self.cursor
        cur.execute(
            f"""
            WITH parents AS (
                SELECT ch.external_id, ch.t, ch.e FROM {CHILD} ch
                WHERE NOT EXISTS (SELECT 1 FROM {STAGE} s WHERE s.kind = 0 AND s.external_id = ch.external_id)
            ), changed AS (
                UPDATE calls_call c SET
                    content_hash = left(c.content_hash, 32) || coalesce(p.t, substr(c.content_hash, 33, 16))
                                   || coalesce(p.e, substr(c.content_hash, 49, 16)),
                    updated_at = %s
                FROM parents p
                WHERE c.external_id = p.external_id
                  AND c.content_hash IS DISTINCT FROM left(c.content_hash, 32) || coalesce(p.t, substr(c.content_hash, 33, 16))
                                   || coalesce(p.e, substr(c.content_hash, 49, 16))
                RETURNING c.id, c.external_id, p.t IS NOT NULL AS replace_transfers, p.e IS NOT NULL AS replace_escalations,
                          c.agent_id, c.started_at
            ), kept AS (
                INSERT INTO {CHANGED} SELECT id, external_id, false, replace_transfers, replace_escalations FROM changed
            )
            SELECT (SELECT count(*) FROM parents), count(*), min(started_at), max(started_at),
                   array_agg(DISTINCT agent_id) FILTER (WHERE agent_id IS NOT NULL), {_ids_if_few("id")}
            FROM changed
            """,
            [now],
        )
        # Only the calls' transfers or escalations changed: their own flags, not their customers' other calls.
        parents, changed, first, last, agents, ids = cur.fetchone()
        affected.add(first, last, agents)
        affected.add_calls(changed, ids)
        counts.updated += changed
        counts.unchanged += parents - changed

    def _replace_children(self, good: str, affected: Affected) -> None:
        cur = self.cursor
        cur.execute(f"SELECT count(*) FILTER (WHERE NOT inserted) FROM {CHANGED}")
        (updated,) = cur.fetchone()
        if updated:
            cur.execute(
                f"""
                WITH gone AS (
                    DELETE FROM calls_transfer WHERE call_id IN (SELECT id FROM {CHANGED} WHERE NOT inserted AND replace_transfers)
                    RETURNING from_agent_id, to_agent_id
                )
                SELECT array_agg(DISTINCT a) FROM gone, LATERAL (VALUES (from_agent_id), (to_agent_id)) v(a) WHERE a IS NOT NULL
                """
            )
            affected.add(None, None, cur.fetchone()[0])
            cur.execute(
                f"DELETE FROM calls_escalation WHERE call_id IN (SELECT id FROM {CHANGED} WHERE NOT inserted AND replace_escalations)"
            )
        cur.execute(
            f"""
            WITH added AS (
                INSERT INTO calls_transfer (call_id, sequence, at, from_department_id, to_department_id, from_agent_id,
                                            to_agent_id, reason)
                SELECT c.id, s.sequence, s.at, fd.id, td.id, fa.id, ta.id, coalesce(s.reason, '')
                FROM {STAGE} s
                JOIN {CHANGED} c ON c.external_id = s.external_id AND c.replace_transfers
                LEFT JOIN calls_department fd ON fd.name = s.from_department
                LEFT JOIN calls_department td ON td.name = s.to_department
                LEFT JOIN calls_agent fa ON fa.employee_code = s.from_agent
                LEFT JOIN calls_agent ta ON ta.employee_code = s.to_agent
                WHERE s.kind = 1 AND {good}
                RETURNING from_agent_id, to_agent_id
            )
            SELECT array_agg(DISTINCT a) FROM added, LATERAL (VALUES (from_agent_id), (to_agent_id)) v(a) WHERE a IS NOT NULL
            """
        )
        affected.add(None, None, cur.fetchone()[0])
        cur.execute(
            f"""
            INSERT INTO calls_escalation (call_id, sequence, level, reason, raised_at, outcome, resolved_at)
            SELECT c.id, s.sequence, s.level, coalesce(s.reason, ''), s.at, coalesce(s.outcome, ''), s.resolved_at
            FROM {STAGE} s JOIN {CHANGED} c ON c.external_id = s.external_id AND c.replace_escalations
            WHERE s.kind = 2 AND {good}
            """
        )


def _ids_if_few(column: str) -> str:
    """SQL: the distinct non-null values of `column` over the rows, or NULL past SCOPED_REFRESH_MAX_CALLS rows
    (the refresh then rebuilds every agent's rows anyway)."""
    return (
        f"CASE WHEN count(*) <= {SCOPED_REFRESH_MAX_CALLS} "
        f"THEN array_agg(DISTINCT {column}) FILTER (WHERE {column} IS NOT NULL) END"
    )


class PipelinedPostgresStage(PostgresStage):
    """JSON input (one self-contained record per line): merge chunk by chunk, each chunk's SQL running in a
    helper thread while Python parses the next chunk, so the two cores work at once.

    Within a JSON record nothing refers to another record, except a repeated external id, which is checked
    against a table of the ids seen so far; so merging chunk by chunk gives the same result as merging
    the whole file at once. All chunks share the caller's transaction: all-or-nothing is still one
    rollback (chunks are no longer merged once an error was seen, unless the import is partial).
    """

    CHUNK_ROWS = 20_000

    def __init__(self, connection, *, source_names: list[str], partial: bool):
        super().__init__(connection, source_names=source_names, csv_sources=set())
        self.partial = partial
        self.buffer: list[tuple] = []
        self.findings: list[Finding] = []
        self.counts = MergeCounts()
        self.affected = Affected()
        self.failed = False  # an error was seen: with all-or-nothing, merging is pointless from then on
        self.now = timezone.now()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="call-import")
        self._job: Future | None = None
        self.analyzed = False

    def open(self) -> None:
        self._prepare()  # COPY runs per chunk, in the helper thread
        cur = self.cursor
        cur.execute(
            f'CREATE TEMP TABLE {SEEN} (external_id text COLLATE "C" PRIMARY KEY, src int2, line int4) ON COMMIT DROP'
        )
        cur.execute(
            f"CREATE TEMP TABLE {REJECT} (src int2, line int4, external_id text, spoils_call bool) ON COMMIT DROP"
        )
        # Foreign keys are checked per statement rather than all at commit, so that work also overlaps
        # with parsing; they are deferred again at the end (Django declares them DEFERRABLE).
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])

    def write(self, row: tuple) -> None:  # type: ignore[override]
        # Cut only before a call row: a record's transfers and escalations stay in its chunk.
        if row[0] == 0 and len(self.buffer) >= self.CHUNK_ROWS:
            self._flush()
        self.buffer.append(row)

    def _flush(self) -> None:
        """Hand the buffered rows to the helper thread (after the previous chunk is done)."""
        rows, self.buffer = self.buffer, []
        self._wait()
        self._job = self._executor.submit(self._stage_and_merge, rows)

    def _wait(self) -> None:
        if self._job is not None:
            job, self._job = self._job, None
            job.result()  # re-raises the helper's exception here

    def _stage_and_merge(self, rows: list[tuple]) -> None:
        cur = self.cursor
        cur.execute(f"TRUNCATE {STAGE}, {REJECT}")
        names = ", ".join(name for name, _ in STAGE_COLUMNS)
        with cur.copy(f"COPY {STAGE} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kind for _, kind in STAGE_COLUMNS])
            for row in rows:
                copy.write_row(row)
        has_bad = any(row[BAD] for row in rows)
        del rows
        if not self.analyzed:
            # Column statistics survive TRUNCATE and one chunk looks like the next: the first chunk's are
            # enough (row counts are estimated from the table's current size at planning time).
            cur.execute(f"ANALYZE {STAGE} ({ANALYZED})")
            self.analyzed = True
        findings = self._check_chunk()
        self.findings += findings
        if findings or has_bad:
            self.failed = True
        if self.failed and not self.partial:
            return
        # A clean chunk (the usual case) leaves REJECT empty: the merge then needs no anti-join against it,
        # and PostgreSQL no scan of the staging table for bad rows (the parser already knows there are none).
        self.rejects_exist = bool(findings or has_bad)
        if findings:
            with cur.copy(f"COPY {REJECT} (src, line) FROM STDIN") as copy:
                for finding in findings:
                    copy.write_row((finding.src, finding.line))
        if has_bad:
            cur.execute(f"INSERT INTO {REJECT} (src, line) SELECT src, line FROM {STAGE} WHERE bad")
        self._merge_staged(self.now, self.counts, self.affected)

    def _check_chunk(self) -> list[Finding]:
        """Repeated external ids: against earlier chunks (the SEEN table), then within this chunk."""
        cur = self.cursor
        # Each chunk's ids go into SEEN in line order; a row whose id was already there (from an earlier
        # chunk or an earlier line of this one) is a duplicate. One index probe per row, no big join.
        cur.execute(
            f"""
            WITH fresh AS (
                INSERT INTO {SEEN} (external_id, src, line)
                SELECT external_id, src, line FROM {STAGE} WHERE kind = 0 AND external_id IS NOT NULL
                ORDER BY src, line
                ON CONFLICT (external_id) DO NOTHING
                RETURNING src, line
            )
            SELECT s.src, s.line, s.external_id FROM {STAGE} s
            WHERE s.kind = 0 AND s.external_id IS NOT NULL AND NOT s.bad
              AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.src = s.src AND f.line = s.line)
            """
        )
        repeated = cur.fetchall()
        if not repeated:
            return []
        cur.execute(
            f"SELECT external_id, src, line FROM {SEEN} WHERE external_id = ANY(%s)",
            [[r[2] for r in repeated]],
        )
        first = {external_id: (src, line) for external_id, src, line in cur.fetchall()}
        findings = [
            Finding(
                src,
                line,
                None,
                "external_id",
                f"duplicate of {self.where(src, *first[external_id])}",
                spoils_call=False,
            )
            for src, line, external_id in repeated
        ]
        return findings

    def close(self, error: BaseException | None = None) -> None:
        try:
            if error is None:
                if self.buffer or self._job is None:
                    self._flush()
                self._wait()
                self.cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                with contextlib.suppress(Exception):  # the original error is the one to report
                    self._wait()
        finally:
            self._executor.shutdown(wait=True)

    def check(self) -> list[Finding]:
        return sorted(self.findings, key=lambda finding: (finding.src, finding.line))

    def reject(self, findings: list[Finding]) -> list[Finding]:
        return []  # done chunk by chunk; JSON records have no relatives to take along

    def merge(self) -> tuple[MergeCounts, Affected]:
        return self.counts, self.affected
