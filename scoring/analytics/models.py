"""Per-agent-per-day QA / NPS / follow-up rollups. Rebuilt set-based by `scoring.analytics.rollups`.

Every figure belongs to the local day (TIME_ZONE) on which the *call* started, like the call rollups in
`calls.AgentDayCallStats`, so "this week" means the same calls on every column of the leaderboard:
- evaluations: current, submitted reviews (no self-reviews, no calibration copies) with a score, counted
  for the evaluated agent (`Evaluation.agent`); a dispute adjustment replaces the old revision;
- survey responses: credited to the response's *primary* agent only (ResponseCredit.is_primary, chosen by
  SURVEY_PRIMARY_AGENT), so a call's answer is counted once in the leaderboard's NPS;
- follow-ups: cases of those responses, closed, and closed by their due time (SLA).

Beside them, per agent and call day, the figures the agent, drivers and transfers pages used to read from
raw rows: criterion answers (pass rates, NPS when passed vs failed), calls by the call's department
(transferred, escalated), transfer paths and transfer/escalation reasons.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from calls.models import Agent, Department
from scoring.models import Criterion, Section


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
    # The optional survey questions of the same responses: CSAT answers and those of 4–5; CES answers,
    # their sum and sum of squares (mean and t-interval over any range of days).
    csat_answers = models.IntegerField(default=0)
    csat_satisfied = models.IntegerField(default=0)
    ces_answers = models.IntegerField(default=0)
    ces_sum = models.IntegerField(default=0)
    ces_sum_squares = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "day"], name="agent_day_score_stats_unique"),
            models.CheckConstraint(
                condition=Q(csat_satisfied__lte=F("csat_answers"))
                & Q(csat_answers__lte=F("responses"))
                & Q(ces_answers__lte=F("responses")),
                name="agent_day_score_stats_companions_within_responses",
            ),
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


class AgentDayCriterionStats(models.Model):
    """Answers (N/A left out) of counted evaluations per evaluated agent, call day and criterion: how many
    passed (earned the criterion's maximum), and, for calls with a survey response, the response's category
    split by passed / failed (the NPS drivers)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="+")
    answered = models.IntegerField(default=0)
    passed = models.IntegerField(default=0)
    surveyed = models.IntegerField(default=0)  # answers on calls with a survey response
    passed_promoters = models.IntegerField(default=0)
    passed_passives = models.IntegerField(default=0)
    passed_detractors = models.IntegerField(default=0)
    failed_promoters = models.IntegerField(default=0)
    failed_passives = models.IntegerField(default=0)
    failed_detractors = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "day", "criterion"], name="agent_day_criterion_stats_unique"
            ),
        ]
        indexes = [models.Index(fields=["day", "agent"], name="agent_day_criterion_day_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day} {self.criterion_id}"


class AgentDayDepartmentStats(models.Model):
    """Calls per agent, day and the call's department, with how many were transferred or escalated."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    department = models.ForeignKey(Department, null=True, on_delete=models.CASCADE, related_name="+")
    calls = models.IntegerField(default=0)
    transferred = models.IntegerField(default=0)
    escalated = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "agent"], name="agent_day_department_day_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day} {self.department_id}"


class AgentDayTransferPathStats(models.Model):
    """Transferred calls per agent, day and path (from → to department; a call counts once per path however
    many legs took it), with how many were resolved and their survey answers by category."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    from_department = models.ForeignKey(Department, null=True, on_delete=models.CASCADE, related_name="+")
    to_department = models.ForeignKey(Department, null=True, on_delete=models.CASCADE, related_name="+")
    calls = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    promoters = models.IntegerField(default=0)
    passives = models.IntegerField(default=0)
    detractors = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "agent"], name="agent_day_path_day_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day} {self.from_department_id}→{self.to_department_id}"


class AgentDayReasonStats(models.Model):
    """Calls per agent, day and transfer or escalation reason ("(none)" for a blank one), each call once
    per reason."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", "Transfer"
        ESCALATION = "escalation", "Escalation"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.CharField(max_length=200)
    calls = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "day", "kind", "reason"], name="agent_day_reason_stats_unique"
            ),
        ]
        indexes = [models.Index(fields=["day", "agent"], name="agent_day_reason_day_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day} {self.kind} {self.reason}"
