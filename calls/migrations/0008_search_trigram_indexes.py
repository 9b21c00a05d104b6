"""Trigram indexes for any-part searches (icontains) on call and customer text, on PostgreSQL only.

Django writes `field__icontains=term` on PostgreSQL as `UPPER("table"."field"::text) LIKE UPPER('%term%')`;
each index is on exactly that expression, so the calls list's search, the admin changelists' searches and
the customer lookups of calls.selectors.call_text_search use it (a sequential scan of 1M calls otherwise).

SQLite (the embedded demo) has no pg_trgm: there the migration does nothing, and icontains scans as before.
The indexes live outside the models' state on purpose: a GIN index cannot be created on SQLite.

CREATE EXTENSION needs a superuser, or (PostgreSQL 13+, pg_trgm being a trusted extension) a user with
CREATE on the database; where the app's user has neither, an administrator creates it once beforehand
(README, Deploying). Reversing drops the indexes, not the extension, which other objects may use.
"""

from django.db import migrations

# (index name, table, column): each index is on UPPER(column::text) with gin_trgm_ops.
TRIGRAM_INDEXES = (
    ("call_external_id_trgm_idx", "calls_call", "external_id"),
    ("customer_external_id_trgm_idx", "calls_customer", "external_id"),
    ("customer_name_trgm_idx", "calls_customer", "name"),
    ("customer_phone_trgm_idx", "calls_customer", "phone"),
    ("customer_email_trgm_idx", "calls_customer", "email"),
)


def create_trigram_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    quote = schema_editor.quote_name
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} "
            f"USING gin (UPPER({quote(column)}::text) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0007_agent_day_call_stats_identified_calls"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
