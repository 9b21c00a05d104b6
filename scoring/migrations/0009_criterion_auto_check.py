"""Auto-check phrases on criteria (scoring.autocheck), filled in on the seeded "Voice QA" scorecard.

The new columns are frozen on published scorecards like every other criterion column: 0002's triggers
are row-level (any UPDATE of a published scorecard's criterion is refused), so they need no change on
PostgreSQL. On SQLite, adding a column with a default or a constraint rebuilds the table, which drops
its triggers: they are created again here.

The seeded scorecard (0003) is published, so its phrases can only be filled in with the guard lifted
for this one update. That is safe because phrases only suggest answers; no score depends on them, and
no answer has recorded a suggestion yet. Only criteria still as seeded (same key and question, no
phrases) are touched.
"""

import importlib

from django.db import DEFAULT_DB_ALIAS, connections, migrations, models, transaction

from scoring.default_scorecard import DEFINITION, criterion_auto_check

_TRIGGERS_0002 = importlib.import_module("scoring.migrations.0002_frozen_scorecard_triggers")


def _criterion_sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE statement) of 0002's SQLite triggers on scoring_criterion."""
    statements = [s for s in _TRIGGERS_0002._sqlite_statements() if " ON scoring_criterion " in s]
    return [(statement.split()[2], statement) for statement in statements]


def _seeded_criteria(apps):
    """(queryset, fields) for each seeded criterion still without its phrases (same key and question)."""
    Criterion = apps.get_model("scoring", "Criterion")
    for section_def in DEFINITION["sections"]:
        for criterion_def in section_def["criteria"]:
            if not criterion_def.get("auto_phrases"):
                continue
            queryset = Criterion.objects.filter(
                scorecard__family=DEFINITION["family"],
                key=criterion_def["key"],
                question=criterion_def["question"],
                scale="yes_no",
                auto_phrases="",
            )
            yield queryset, criterion_auto_check(criterion_def)


def fill_seeded_phrases(apps, schema_editor) -> None:
    """Give the seeded scorecard's criteria their phrases, lifting the frozen guard for this update only.

    Idempotent, and callable without a schema editor: tests/conftest.py replays it after 0003's seed when a
    transactional test has flushed the database."""
    pending = [(queryset, fields) for queryset, fields in _seeded_criteria(apps) if queryset.exists()]
    if not pending:
        return
    connection = schema_editor.connection if schema_editor is not None else connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        lift = ["ALTER TABLE scoring_criterion DISABLE TRIGGER scoring_criterion_frozen"]
        # ALTER TABLE refuses to run while trigger events are pending: fire the deferred ones first.
        restore = [
            "SET CONSTRAINTS ALL IMMEDIATE",
            "ALTER TABLE scoring_criterion ENABLE TRIGGER scoring_criterion_frozen",
        ]
    elif connection.vendor == "sqlite":
        update_guard = [
            (n, st) for n, st in _criterion_sqlite_triggers() if n == "scoring_criterion_frozen_upd"
        ]
        lift = [f"DROP TRIGGER IF EXISTS {name}" for name, _statement in update_guard]
        restore = [statement for _name, statement in update_guard]
    else:
        lift, restore = [], []
    # One transaction: the guard is never left lifted, whatever fails.
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in lift:
            cursor.execute(statement)
        for queryset, fields in pending:
            queryset.using(connection.alias).update(**fields)
        for statement in restore:
            cursor.execute(statement)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        # The columns and constraints above rebuilt scoring_criterion, dropping 0002's triggers: make them again.
        for name, statement in _criterion_sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(statement)
    fill_seeded_phrases(apps, schema_editor)


def reverse(apps, schema_editor):
    # Nothing to undo: the phrases go away with their columns. (On SQLite, removing the columns rebuilds
    # the table once more after this runs and drops its 0002 triggers: re-apply 0002's SQLite statements
    # by hand if you ever unapply this migration there.)
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0008_notice_email_state_and_silent_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="criterion",
            name="auto_phrases",
            field=models.TextField(
                blank=True, help_text="One phrase per line; the agent saying any of them suggests Yes."
            ),
        ),
        migrations.AddField(
            model_name="criterion",
            name="auto_scope",
            field=models.CharField(
                choices=[
                    ("opening", "Opening (the agent's first 3 lines, first leg only)"),
                    ("closing", "Closing (the agent's last 3 lines, last leg only)"),
                    ("anywhere", "Anywhere (every agent line)"),
                ],
                default="anywhere",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="criterion",
            constraint=models.CheckConstraint(
                condition=models.Q(("auto_phrases", ""), ("scale", "yes_no"), _connector="OR"),
                name="criterion_auto_phrases_yes_no_only",
            ),
        ),
        migrations.AddConstraint(
            model_name="criterion",
            constraint=models.CheckConstraint(
                condition=models.Q(("auto_scope__in", ["opening", "closing", "anywhere"])),
                name="criterion_auto_scope_valid",
            ),
        ),
        migrations.RunPython(forward, reverse),
    ]
