"""Schema of the calls tables: the invariants stay in the database, without indexes nobody needs."""

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import CallFactory


def index_columns(table: str) -> dict[str, str]:
    """Index name → indexed columns (as PostgreSQL prints them) of a table, after the method if not btree."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass
            """,
            [table],
        )
        indexes = {}
        for name, definition in cursor.fetchall():
            method, columns = definition.split(" USING ", 1)[1].split(" ", 1)
            indexes[name] = columns if method == "btree" else f"{method} {columns}"
        return indexes


def test_call_table_has_each_index_once(db):
    # No single-column agent/customer/department indexes (the composite ones lead with them) and one
    # index for the unique external id (no varchar_pattern_ops twin), plus the trigram one searches need:
    # every import pays for each index.
    assert sorted(index_columns("calls_call").values()) == [
        "(agent_id, started_at)",
        "(channel, started_at)",
        "(customer_id, started_at)",
        "(department_id, started_at)",
        "(external_id)",
        "(id)",
        "(started_at)",
        # Any part of a call id, for the calls list's and the admin's search (migration 0007).
        "gin (upper((external_id)::text) gin_trgm_ops)",
    ]


def test_transfer_and_escalation_tables_have_each_index_once(db):
    assert sorted(index_columns("calls_transfer").values()) == [
        "(call_id, sequence)",
        "(from_agent_id)",
        "(from_department_id)",
        "(id)",
        "(to_agent_id)",
        "(to_department_id)",
    ]
    assert sorted(index_columns("calls_escalation").values()) == ["(call_id, sequence)", "(id)"]


def test_external_id_is_still_unique_in_the_database(db):
    CallFactory(external_id="C-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        CallFactory(external_id="C-1")
