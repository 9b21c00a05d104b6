"""Time-boxed team contests ranked by the analytics leaderboard's fair ranking (lever 5, "boost morale")."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from calls.models import Team

# A contest is a sprint, not a season: at most about a quarter (92 days, both ends counted).
MAX_COMPETITION_DAYS = 92


class Competition(models.Model):
    class Metric(models.TextChoices):
        QA = "qa", "QA score (fair rank)"
        NPS = "nps", "NPS (lower bound of its 95% interval)"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    metric = models.CharField(max_length=10, choices=Metric.choices, default=Metric.QA)
    # The contest covers the teams' active agents (current membership, as the leaderboard reads it).
    teams = models.ManyToManyField(Team, related_name="competitions")
    # Local days, both ends included.
    starts_on = models.DateField()
    ends_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="competitions_created"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Called off before it finished (competition_cancel): no standings, no winners.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="competitions_cancelled",
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="competition_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__lt=F("starts_on") + timedelta(days=MAX_COMPETITION_DAYS)),
                name="competition_at_most_92_days",
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("name")), 0), name="competition_has_name"
            ),
            models.CheckConstraint(condition=Q(metric__in=["qa", "nps"]), name="competition_metric_valid"),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True, cancelled_by__isnull=True)
                | Q(cancelled_at__isnull=False, cancelled_by__isnull=False),
                name="competition_cancelled_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1
