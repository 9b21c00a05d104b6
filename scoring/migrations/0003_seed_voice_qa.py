"""Seed the default published "Voice QA" scorecard (scoring/default_scorecard.py), version 1."""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone

from scoring.default_scorecard import DEFINITION, criterion_defaults


def seed(apps, schema_editor):
    Scorecard = apps.get_model("scoring", "Scorecard")
    Section = apps.get_model("scoring", "Section")
    Criterion = apps.get_model("scoring", "Criterion")
    if Scorecard.objects.filter(family=DEFINITION["family"]).exists():
        return
    # Built as a draft, then published: the frozen-scorecard triggers refuse children of a published one.
    scorecard = Scorecard.objects.create(
        family=DEFINITION["family"],
        version=1,
        name=DEFINITION["name"],
        description=DEFINITION["description"],
        channels=DEFINITION["channels"],
        status="draft",
    )
    position = 0
    for section_position, section_def in enumerate(DEFINITION["sections"], start=1):
        section = Section.objects.create(
            scorecard=scorecard,
            title=section_def["title"],
            description=section_def.get("description", ""),
            position=section_position,
        )
        for criterion_def in section_def["criteria"]:
            position += 1
            fields = criterion_defaults(criterion_def)
            fields["weight"] = Decimal(fields["weight"])
            Criterion.objects.create(scorecard=scorecard, section=section, position=position, **fields)
    Scorecard.objects.filter(pk=scorecard.pk).update(status="published", published_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_frozen_scorecard_triggers")]
    # No reverse: unapplying 0001 drops the tables anyway, and a published scorecard must not vanish.
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
