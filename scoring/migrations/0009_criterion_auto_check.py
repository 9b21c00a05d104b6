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

from django.db import migrations, models

from scoring.default_scorecard import DEFINITION, criterion_auto_check

_TRIGGERS_0002 = importlib.import_module("scoring.migrations.0002_frozen_scorecard_triggers")


def _criterion_sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE statement) of 0002's SQLite triggers on scoring_criterion."""
    statements = [s for s in _TRIGGERS_0002._sqlite_statements() if " ON scoring_criterion " in s]
    return [(statement.split()[2], statement) for statement in statements]


def _fill_seeded_phrases(apps) -> None:
    Criterion = apps.get_model("scoring", "Criterion")
    for section_def in DEFINITION["sections"]:
        for criterion_def in section_def["criteria"]:
            if not criterion_def.get("auto_phrases"):
                continue
            Criterion.objects.filter(
                scorecard__family=DEFINITION["family"],
                key=criterion_def["key"],
                question=criterion_def["question"],
                scale="yes_no",
                auto_phrases="",
            ).update(**criterion_auto_check(criterion_def))


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("ALTER TABLE scoring_criterion DISABLE TRIGGER scoring_criterion_frozen")
        _fill_seeded_phrases(apps)
        # ALTER TABLE refuses to run while trigger events are pending: fire the deferred ones now.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("ALTER TABLE scoring_criterion ENABLE TRIGGER scoring_criterion_frozen")
    elif vendor == "sqlite":
        triggers = _criterion_sqlite_triggers()
        for name, _statement in triggers:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        _fill_seeded_phrases(apps)
        for _name, statement in triggers:
            schema_editor.execute(statement)
    else:
        _fill_seeded_phrases(apps)


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
