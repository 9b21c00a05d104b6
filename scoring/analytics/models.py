"""Per-agent-per-day QA / NPS / follow-up rollups. Rebuilt set-based by `scoring.analytics.rollups`.

Every figure belongs to the local day (TIME_ZONE) on which the *call* started, like the call rollups in
`calls.AgentDayCallStats`, so "this week" means the same calls on every column of the leaderboard:
- evaluations: current, submitted reviews (no self-reviews, no calibration copies) with a score, counted
  for the evaluated agent (`Evaluation.agent`); a dispute adjustment replaces the old revision;
- survey responses: credited to the response's *primary* agent only (ResponseCredit.is_primary, chosen by
  SURVEY_PRIMARY_AGENT), so a call's answer is counted once in the leaderboard's NPS;
- follow-ups: cases of those responses, closed, and closed by their due time (SLA).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from calls.models import Agent
from scoring.models import Section


class AgentDayScoreStats(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="day_score_stats")
    day = models.DateField()
    evaluations = models.IntegerField(default=0)
    score_sum = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    score_sum_squares = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    responses = models.IntegerField(default=0)
    promoters = models.IntegerField(default=0)
    passives = models.IntegerField(default=0)
    detractors = models.IntegerField(default=0)
    followups_closed = models.IntegerField(default=0)
    followups_closed_within_sla = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "day"], name="agent_day_score_stats_unique"),
            models.CheckConstraint(
                condition=Q(responses=F("promoters") + F("passives") + F("detractors")),
                name="agent_day_score_stats_responses_add_up",
            ),
            models.CheckConstraint(
                condition=Q(followups_closed_within_sla__lte=F("followups_closed")),
                name="agent_day_score_stats_sla_within_closed",
            ),
        ]
        indexes = [models.Index(fields=["day", "agent"], name="agent_day_score_stats_day_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day}"


class AgentDaySectionStats(models.Model):
    """Section sub-scores per agent and day (sections are per scorecard version; pages group by title)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="+")
    evaluations = models.IntegerField(default=0)
    score_sum = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "day", "section"], name="agent_day_section_stats_unique"
            ),
        ]
        indexes = [models.Index(fields=["day", "agent"], name="agent_day_section_day_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day} {self.section_id}"
