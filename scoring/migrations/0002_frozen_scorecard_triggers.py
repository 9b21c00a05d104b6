"""Database guard for published scorecards: their sections, criteria and departments cannot change.

Services already refuse such edits; the triggers make a stray `save()`, an admin form, a shell session
or raw SQL fail too (an evaluation's meaning depends on the exact version it was scored on). Violations
raise an integrity error (SQLSTATE 23514 on PostgreSQL, SQLITE_CONSTRAINT on SQLite).

On the scorecard row itself only published -> retired is allowed once it left draft.
"""

from django.db import migrations

CHILD_TABLES = ("scoring_section", "scoring_criterion", "scoring_scorecard_departments")

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION scoring_guard_frozen_child() RETURNS trigger AS $$
DECLARE
    frozen boolean;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT status <> 'draft' INTO frozen FROM scoring_scorecard WHERE id = OLD.scorecard_id;
        IF frozen THEN
            RAISE EXCEPTION 'scorecard % is published and cannot be changed', OLD.scorecard_id
                USING ERRCODE = '23514';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT status <> 'draft' INTO frozen FROM scoring_scorecard WHERE id = NEW.scorecard_id;
        IF frozen THEN
            RAISE EXCEPTION 'scorecard % is published and cannot be changed', NEW.scorecard_id
                USING ERRCODE = '23514';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION scoring_guard_criterion_section() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM scoring_section s WHERE s.id = NEW.section_id AND s.scorecard_id = NEW.scorecard_id
    ) THEN
        RAISE EXCEPTION 'criterion section belongs to another scorecard' USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER scoring_criterion_section BEFORE INSERT OR UPDATE ON scoring_criterion
    FOR EACH ROW EXECUTE FUNCTION scoring_guard_criterion_section();

CREATE OR REPLACE FUNCTION scoring_guard_frozen_scorecard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'scorecard % is published and cannot be deleted', OLD.id USING ERRCODE = '23514';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.status = 'draft'
        OR NEW.family IS DISTINCT FROM OLD.family
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.description IS DISTINCT FROM OLD.description
        OR NEW.channels::text IS DISTINCT FROM OLD.channels::text
        OR NEW.published_at IS DISTINCT FROM OLD.published_at
    ) THEN
        RAISE EXCEPTION 'scorecard % is published and cannot be changed', OLD.id USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER scoring_scorecard_frozen BEFORE UPDATE OR DELETE ON scoring_scorecard
    FOR EACH ROW EXECUTE FUNCTION scoring_guard_frozen_scorecard();
""" + "".join(
    f"""
CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION scoring_guard_frozen_child();
"""
    for table in CHILD_TABLES
)

POSTGRES_REVERSE = (
    "DROP TRIGGER IF EXISTS scoring_scorecard_frozen ON scoring_scorecard;"
    "DROP TRIGGER IF EXISTS scoring_criterion_section ON scoring_criterion;"
    + "".join(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table};" for table in CHILD_TABLES)
    + "DROP FUNCTION IF EXISTS scoring_guard_frozen_child(); DROP FUNCTION IF EXISTS scoring_guard_frozen_scorecard();"
    " DROP FUNCTION IF EXISTS scoring_guard_criterion_section();"
)


def _sqlite_statements() -> list[str]:
    frozen = "(SELECT status FROM scoring_scorecard WHERE id = {row}.scorecard_id) <> 'draft'"
    abort = "BEGIN SELECT RAISE(ABORT, 'scorecard is published and cannot be changed'); END;"
    statements = []
    for table in CHILD_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_frozen_ins BEFORE INSERT ON {table} WHEN {frozen.format(row='NEW')} {abort}"
        )
        statements.append(
            f"CREATE TRIGGER {table}_frozen_upd BEFORE UPDATE ON {table} "
            f"WHEN {frozen.format(row='OLD')} OR {frozen.format(row='NEW')} {abort}"
        )
        statements.append(
            f"CREATE TRIGGER {table}_frozen_del BEFORE DELETE ON {table} WHEN {frozen.format(row='OLD')} {abort}"
        )
    mismatch = (
        "NOT EXISTS (SELECT 1 FROM scoring_section s WHERE s.id = NEW.section_id AND s.scorecard_id = NEW.scorecard_id)"
    )
    wrong_section = "BEGIN SELECT RAISE(ABORT, 'criterion section belongs to another scorecard'); END;"
    statements.append(
        f"CREATE TRIGGER scoring_criterion_section_ins BEFORE INSERT ON scoring_criterion WHEN {mismatch} {wrong_section}"
    )
    statements.append(
        f"CREATE TRIGGER scoring_criterion_section_upd BEFORE UPDATE ON scoring_criterion WHEN {mismatch} {wrong_section}"
    )
    statements.append(
        "CREATE TRIGGER scoring_scorecard_frozen_upd BEFORE UPDATE ON scoring_scorecard WHEN OLD.status <> 'draft' AND ("
        "NEW.status = 'draft' OR NEW.family IS NOT OLD.family OR NEW.version IS NOT OLD.version "
        "OR NEW.name IS NOT OLD.name OR NEW.description IS NOT OLD.description "
        "OR NEW.channels IS NOT OLD.channels OR NEW.published_at IS NOT OLD.published_at) " + abort
    )
    statements.append(
        "CREATE TRIGGER scoring_scorecard_frozen_del BEFORE DELETE ON scoring_scorecard WHEN OLD.status <> 'draft' "
        + abort
    )
    return statements


def _sqlite_trigger_names() -> list[str]:
    names = [f"{t}_frozen_{op}" for t in CHILD_TABLES for op in ("ins", "upd", "del")]
    return names + [
        "scoring_criterion_section_ins",
        "scoring_criterion_section_upd",
        "scoring_scorecard_frozen_upd",
        "scoring_scorecard_frozen_del",
    ]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in _sqlite_statements():
            schema_editor.execute(statement)
    # Other backends: the services' checks remain the only guard.


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)
    elif vendor == "sqlite":
        for name in _sqlite_trigger_names():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
