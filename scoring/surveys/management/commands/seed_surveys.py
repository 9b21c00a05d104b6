"""`manage.py seed_surveys`: demo survey decisions, deliveries and responses for the calls in the database."""

from django.core.management.base import BaseCommand

from scoring.surveys.demo import seed_surveys


class Command(BaseCommand):
    help = "Seed demo NPS survey data (invitations, skips, expired links, responses, follow-ups) for existing calls."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, seed, **options):
        seed_surveys(seed=seed, stdout=self.stdout)
