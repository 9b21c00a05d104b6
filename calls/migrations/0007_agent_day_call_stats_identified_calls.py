"""AgentDayCallStats.identified_calls: the calls of identified callers (with a customer).

First-contact resolution and repeat contacts are now counted over identified callers only: an anonymous
call can never be matched with a later contact, so it used to count as resolved on first contact whenever it
was resolved and not transferred. Both the new column and first_contact_resolved (which loses those anonymous
calls) are filled here, on PostgreSQL and SQLite alike, by rebuilding the rollup rows from the calls with the
definitions of calls.rollups as they stand in this migration (frozen here: a later change of the app's code
must not change what this migration does).

The rows are removed before the new check constraint is added and rebuilt after it: on PostgreSQL a table with
rows inserted in the same transaction (their deferred foreign-key checks pending) cannot be altered.
Going back drops the column; the rows keep the identified-only counts, which the old constraint accepts, until
the nightly rebuild counts them the old way again.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, Value
from django.db.models.functions import TruncDate
from django.utils import timezone


def _remove_rows(apps, schema_editor):
    apps.get_model("calls", "AgentDayCallStats").objects.using(schema_editor.connection.alias).all().delete()


def _rebuild_rows(apps, schema_editor):
    """Every (agent, local day) with calls, as calls.rollups.agent_day_stats_refresh builds it: one
    INSERT … SELECT … GROUP BY over a per-call inner query."""
    connection = schema_editor.connection
    alias = connection.alias
    Call = apps.get_model("calls", "Call")
    Transfer = apps.get_model("calls", "Transfer")
    Escalation = apps.get_model("calls", "Escalation")
    Stats = apps.get_model("calls", "AgentDayCallStats")
    if not Call.objects.using(alias).filter(agent__isnull=False).exists():
        return
    window = timedelta(days=settings.REPEAT_CONTACT_WINDOW_DAYS)
    later_contact = Call.objects.filter(
        Q(started_at__gte=OuterRef("started_at"))
        & (Q(started_at__gt=OuterRef("started_at")) | Q(pk__gt=OuterRef("pk"))),
        customer_id=OuterRef("customer_id"),
        started_at__lte=ExpressionWrapper(
            OuterRef("started_at") + Value(window), output_field=DateTimeField()
        ),
    )
    per_call = (
        Call.objects.using(alias)
        .filter(agent__isnull=False)
        .order_by()
        .annotate(
            r_agent=F("agent_id"),
            r_day=TruncDate("started_at", tzinfo=timezone.get_default_timezone()),
            r_handle=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
            r_wait=F("wait_seconds"),
            r_resolved=F("is_resolved"),
            r_identified=ExpressionWrapper(Q(customer__isnull=False), output_field=models.BooleanField()),
            r_transferred=Exists(Transfer.objects.filter(call=OuterRef("pk"))),
            r_escalated=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
            r_repeat=Exists(later_contact),
        )
        .values(
            "r_agent",
            "r_day",
            "r_handle",
            "r_wait",
            "r_resolved",
            "r_identified",
            "r_transferred",
            "r_escalated",
            "r_repeat",
        )
    )
    inner, params = per_call.query.get_compiler(using=alias).as_sql()
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    quote = connection.ops.quote_name
    columns = [
        "agent_id",
        "day",
        "calls",
        "identified_calls",
        "handle_seconds",
        "wait_seconds",
        "transferred",
        "escalated",
        "resolved",
        "first_contact_resolved",
        "repeat_contacts",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {quote(Stats._meta.db_table)} ({", ".join(quote(c) for c in columns)})
            SELECT m.r_agent, m.r_day, COUNT(*),
                   COUNT(*) FILTER (WHERE m.r_identified),
                   SUM(m.r_handle), SUM(m.r_wait),
                   COUNT(*) FILTER (WHERE m.r_transferred),
                   COUNT(*) FILTER (WHERE m.r_escalated),
                   COUNT(*) FILTER (WHERE m.r_resolved),
                   COUNT(*) FILTER (WHERE m.r_identified AND m.r_resolved AND NOT m.r_transferred
                                    AND NOT m.r_repeat),
                   COUNT(*) FILTER (WHERE m.r_identified AND m.r_repeat)
            FROM ({inner}{fence}) m
            GROUP BY m.r_agent, m.r_day
            """,
            tuple(params),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0006_call_import_encoding_date_order"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="agentdaycallstats",
            name="agent_day_call_stats_counts_consistent",
        ),
        migrations.AddField(
            model_name="agentdaycallstats",
            name="identified_calls",
            field=models.IntegerField(default=0),
        ),
        migrations.RunPython(_remove_rows, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="agentdaycallstats",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("transferred__lte", models.F("calls")),
                    ("escalated__lte", models.F("calls")),
                    ("resolved__lte", models.F("calls")),
                    ("identified_calls__lte", models.F("calls")),
                    ("first_contact_resolved__lte", models.F("resolved")),
                    ("first_contact_resolved__lte", models.F("identified_calls")),
                    ("repeat_contacts__lte", models.F("identified_calls")),
                ),
                name="agent_day_call_stats_counts_consistent",
            ),
        ),
        migrations.RunPython(_rebuild_rows, migrations.RunPython.noop, elidable=False),
    ]
