"""QA per leg: an assignment names the leg's agent, and the unique rules are per (call, agent).

Before: one live assignment per (call, purpose, period), agent null meaning "the call's agent", so a call
two agents handled could be sampled for only one of them. The rows written before keep their meaning:
a null agent is filled in with the call's agent (weekly samples were only ever drawn from calls with
an agent; a weekly row on a call that has since lost its agent gets the first transfer target, the
leg the old workspace could still reach). The backfill runs between dropping the old constraints and
adding the new ones; the new ones are weaker per row (agent added), so no existing row can violate
them. Calibration keeps its per-reviewer rule (0005) and is left out of the per-leg ones.
No trigger of 0002 touches scoring_assignment. Reversing keeps the filled-in agents (still valid);
re-adding the old per-call constraint fails if two legs of one call are live — cancel one first.
"""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_in_leg_agents(apps, schema_editor):
    Assignment = apps.get_model("scoring", "Assignment")
    Call = apps.get_model("calls", "Call")
    Transfer = apps.get_model("calls", "Transfer")
    Assignment.objects.filter(agent__isnull=True, call__agent__isnull=False).update(
        agent_id=Subquery(Call.objects.filter(pk=OuterRef("call_id")).values("agent_id")[:1])
    )
    Assignment.objects.filter(agent__isnull=True, purpose="weekly_sample").update(
        agent_id=Subquery(
            Transfer.objects.filter(call_id=OuterRef("call_id"), to_agent__isnull=False)
            .order_by("sequence")
            .values("to_agent_id")[:1]
        )
    )
    if schema_editor is not None and schema_editor.connection.vendor == "postgresql":
        # The updates queued deferred foreign-key checks; PostgreSQL refuses ALTER TABLE on a table with
        # pending trigger events, so run them now, before the constraints below are added.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0006_call_import_encoding_date_order"),
        ("scoring", "0006_notice"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="assignment",
            name="assignment_unique_call_purpose_period",
        ),
        migrations.RemoveConstraint(
            model_name="assignment",
            name="assignment_unique_call_purpose_no_period",
        ),
        migrations.RunPython(fill_in_leg_agents, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="assignment",
            name="agent",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="calls.agent",
            ),
        ),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.UniqueConstraint(
                models.F("call"),
                django.db.models.functions.comparison.Coalesce(models.F("agent"), models.Value(0)),
                models.F("purpose"),
                models.F("period"),
                condition=models.Q(
                    ("period__isnull", False),
                    models.Q(("status", "cancelled"), _negated=True),
                    models.Q(("purpose", "calibration"), _negated=True),
                ),
                name="assignment_unique_leg_purpose_period",
            ),
        ),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.UniqueConstraint(
                models.F("call"),
                django.db.models.functions.comparison.Coalesce(models.F("agent"), models.Value(0)),
                models.F("purpose"),
                condition=models.Q(
                    ("period__isnull", True),
                    models.Q(("status", "cancelled"), _negated=True),
                    models.Q(("purpose", "calibration"), _negated=True),
                ),
                name="assignment_unique_leg_purpose_no_period",
            ),
        ),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("purpose", "weekly_sample"), _negated=True),
                    ("agent__isnull", False),
                    _connector="OR",
                ),
                name="assignment_weekly_sample_has_agent",
            ),
        ),
    ]
