"""`manage.py seed_demo`: the whole demo — calls (through the importer), QA evaluations, self-reviews and
disputes, NPS surveys, detractor follow-ups in every state, and the analytics rollups over them.

The project app is listed before `calls` in INSTALLED_APPS, so this command takes the name; it runs the
calls app's seed_demo first (calls never imports scoring), then the scoring-side seeders, which are each
idempotent: a second run adds nothing.
"""

from __future__ import annotations

from calls.management.commands.seed_demo import Command as CallsSeedCommand
from calls.models import Call
from calls.rollups import agent_day_stats_rebuild_recent
from scoring.competitions.demo import seed_competitions
from scoring.demo import seed_evaluations
from scoring.followups.demo import seed_followups
from scoring.surveys.demo import seed_surveys


class Command(CallsSeedCommand):
    help = (
        "Seed a realistic, reproducible demo: calls, QA evaluations, surveys, follow-ups and demo logins "
        "(--calls-only for the calls part alone)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--evaluation-share",
            type=float,
            default=0.15,
            help="share of answered calls that get a QA evaluation (default 0.15)",
        )
        parser.add_argument("--calls-only", action="store_true", help="seed calls and accounts only")

    def handle(self, *args, evaluation_share, calls_only, **options):
        if options["if_empty"] and Call.objects.exists():
            self.stdout.write("Calls already exist: demo data not seeded (--if-empty).")
            return
        super().handle(*args, **options)
        if calls_only:
            return
        seed = options["seed"]
        evaluations = seed_evaluations(seed=seed, share=evaluation_share, stdout=self.stdout)
        surveys = seed_surveys(seed=seed, stdout=self.stdout)
        followups = seed_followups(seed=seed, stdout=self.stdout)
        # The seeders write in bulk; rebuild every day's rollups once at the end.
        agent_day_stats_rebuild_recent(days=options["days"] + 2)
        # Contests last: rows of their own over the figures above, with no random draw.
        seed_competitions(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"QA demo: {_summary(evaluations)} · surveys: {_summary(surveys)} · follow-ups: {_summary(followups)}"
            )
        )


def _summary(counts: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items() if not isinstance(value, (list, dict)))
