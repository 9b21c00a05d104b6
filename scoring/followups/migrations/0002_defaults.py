"""Default managed lists: root causes, a fallback queue, an office calendar and two SLA policies.

All of them are admin-editable afterwards; the migration only creates rows that are missing.
"""

import datetime

from django.db import migrations

ROOT_CAUSES = [
    ("agent-knowledge", "Agent knowledge gap", 10),
    ("agent-attitude", "Agent attitude or empathy", 20),
    ("process-policy", "Process or policy", 30),
    ("transfer-runaround", "Transferred / passed around", 40),
    ("wait-time", "Long wait time", 50),
    ("product-defect", "Product or service defect", 60),
    ("billing-error", "Billing error", 70),
    ("system-outage", "System or tooling issue", 80),
    ("unmet-expectation", "Expectation not met (no fault found)", 90),
    ("other", "Other", 999),
]


def create_defaults(apps, schema_editor):
    RootCause = apps.get_model("followups", "RootCause")
    FollowUpQueue = apps.get_model("followups", "FollowUpQueue")
    BusinessCalendar = apps.get_model("followups", "BusinessCalendar")
    OpeningHours = apps.get_model("followups", "OpeningHours")
    SlaPolicy = apps.get_model("followups", "SlaPolicy")

    for code, name, order in ROOT_CAUSES:
        RootCause.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order})
    if not FollowUpQueue.objects.filter(is_default=True).exists():
        FollowUpQueue.objects.get_or_create(name="Customer care follow-ups", defaults={"is_default": True})

    office, created = BusinessCalendar.objects.get_or_create(name="Office hours", defaults={"time_zone": "UTC"})
    if created:
        OpeningHours.objects.bulk_create(
            OpeningHours(calendar=office, weekday=day, opens_at=datetime.time(8), closes_at=datetime.time(18))
            for day in range(5)
        )
    SlaPolicy.objects.get_or_create(
        name="Platinum detractor (0–3)",
        defaults={
            "position": 10,
            "customer_tier": "platinum",
            "min_score": 0,
            "max_score": 3,
            "resolution_minutes": 60,
            "case_priority": "urgent",
        },
    )
    SlaPolicy.objects.get_or_create(
        name="Platinum detractor (4–6)",
        defaults={"position": 20, "customer_tier": "platinum", "min_score": 4, "max_score": 6,
                  "resolution_minutes": 4 * 60, "case_priority": "high"},
    )
    SlaPolicy.objects.get_or_create(
        name="Gold detractor",
        defaults={"position": 30, "customer_tier": "gold", "min_score": 0, "max_score": 6,
                  "resolution_minutes": 8 * 60, "case_priority": "high"},
    )
    if not SlaPolicy.objects.filter(is_default=True).exists():
        SlaPolicy.objects.get_or_create(
            name="All other detractors",
            defaults={"position": 1000, "min_score": 0, "max_score": 6, "resolution_minutes": 24 * 60,
                      "case_priority": "normal", "is_default": True},
        )


class Migration(migrations.Migration):
    dependencies = [("followups", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
