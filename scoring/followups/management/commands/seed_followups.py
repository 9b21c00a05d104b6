"""`manage.py seed_followups`: close the demo's old follow-ups and add live ones in every board state."""

from django.core.management.base import BaseCommand

from scoring.followups.demo import seed_followups


class Command(BaseCommand):
    help = "Seed demo follow-ups (run after the calls and surveys demos)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, seed, **options):
        seed_followups(seed=seed, stdout=self.stdout)
