"""QA scoring: versioned scorecards, evaluations with per-criterion answers, assignments, disputes.

Invariants that fit in one row live in constraints here; cross-table ones (a criterion belongs to the
evaluation's scorecard, an answer's value fits the scale) are checked by `scoring.services`, and a
published scorecard's content is additionally guarded by database triggers (see migration 0002).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.models import Agent, Call, Department


class Scorecard(models.Model):
    """One version of a scorecard family. Drafts are editable; published and retired versions are frozen."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        # A published version replaced by a newer one: still frozen, still referenced by old evaluations.
        RETIRED = "retired", "Retired"

    family = models.SlugField(max_length=100, help_text="Stable identifier shared by all versions.")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Empty list / no departments = applies to every channel / department.
    channels = models.JSONField(default=list, blank=True, help_text="Channel values; empty = all channels.")
    departments = models.ManyToManyField(Department, blank=True, related_name="scorecards")
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="later_versions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["family", "-version"]
        permissions = [("manage_scorecards", "Can build and publish scorecards (QA lead)")]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="scorecard_family_version_unique"),
            # At most one editable draft per family: "new version" always continues the same draft.
            models.UniqueConstraint(
                fields=["family"], condition=Q(status="draft"), name="scorecard_one_draft_per_family"
            ),
            # At most one live (published) version per family; older ones are retired on publish.
            models.UniqueConstraint(
                fields=["family"], condition=Q(status="published"), name="scorecard_one_published_per_family"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="scorecard_version_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "retired"]), name="scorecard_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="scorecard_published_has_published_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    def applies_to_channel(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


class Section(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position", "id"]

    def __str__(self) -> str:
        return self.title


class Criterion(models.Model):
    class Scale(models.TextChoices):
        YES_NO = "yes_no", "Yes / No"
        POINTS = "points", "0–N points"

    class Applicability(models.TextChoices):
        ALWAYS = "always", "Always"
        RESOLVED = "resolved", "Only when the call was resolved"
        UNRESOLVED = "unresolved", "Only when the call was not resolved"
        HOLD_OR_TRANSFER = "hold_or_transfer", "Only when the call had a hold or a transfer"

    class AutoScope(models.TextChoices):
        OPENING = "opening", "Opening (the agent's first 3 lines, first leg only)"
        CLOSING = "closing", "Closing (the agent's last 3 lines, last leg only)"
        ANYWHERE = "anywhere", "Anywhere (every agent line)"

    # Denormalised from section so (scorecard, key) can be unique; services keep it equal to
    # section.scorecard and a trigger refuses a mismatch.
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="criteria")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=80)
    question = models.CharField(max_length=300)
    guidance = models.TextField(blank=True, help_text="What reviewers should look and listen for.")
    weight = models.DecimalField(max_digits=7, decimal_places=2, default=1)
    scale = models.CharField(max_length=20, choices=Scale.choices, default=Scale.YES_NO)
    # Yes/No is stored as 1/0 with max_points = 1.
    max_points = models.PositiveSmallIntegerField(default=1)
    allows_na = models.BooleanField(default=False)
    # Critical: failing it fails the whole evaluation (score 0). Failing = earned < max_points,
    # i.e. "No" on a yes/no criterion, anything short of full marks on a points criterion.
    is_critical = models.BooleanField(default=False)
    applicability = models.CharField(
        max_length=20, choices=Applicability.choices, default=Applicability.ALWAYS
    )
    # Auto-check (scoring.autocheck): phrases, one per line, whose presence in the agent's lines of the
    # transcript suggests "Yes". Suggestions only: the reviewer answers. Yes/no criteria only.
    auto_phrases = models.TextField(
        blank=True, help_text="One phrase per line; the agent saying any of them suggests Yes."
    )
    auto_scope = models.CharField(max_length=20, choices=AutoScope.choices, default=AutoScope.ANYWHERE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "section__position", "section_id", "position", "id"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "key"], name="criterion_key_unique_per_scorecard"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive"),
            models.CheckConstraint(condition=Q(max_points__gte=1), name="criterion_max_points_positive"),
            models.CheckConstraint(
                condition=~Q(scale="yes_no") | Q(max_points=1), name="criterion_yes_no_max_one"
            ),
            models.CheckConstraint(condition=Q(scale__in=["yes_no", "points"]), name="criterion_scale_valid"),
            models.CheckConstraint(
                condition=Q(applicability__in=["always", "resolved", "unresolved", "hold_or_transfer"]),
                name="criterion_applicability_valid",
            ),
            models.CheckConstraint(
                condition=Q(auto_phrases="") | Q(scale="yes_no"), name="criterion_auto_phrases_yes_no_only"
            ),
            models.CheckConstraint(
                condition=Q(auto_scope__in=["opening", "closing", "anywhere"]),
                name="criterion_auto_scope_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class Assignment(models.Model):
    """A leg of a call (the call and the agent to evaluate) in a reviewer's queue. No leg is assigned twice
    for the same purpose (and period), except for calibration, where several reviewers score the same
    call: once per reviewer."""

    class Purpose(models.TextChoices):
        MANUAL = "manual", "Manual"
        WEEKLY_SAMPLE = "weekly_sample", "Weekly sample"
        CALIBRATION = "calibration", "Calibration"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qa_assignments"
    )
    # The leg's agent (the one to evaluate). `assignment_create` and the weekly sample always set it
    # (migration 0007 filled it in on older rows); null only on a call with no handling agent assigned
    # without choosing a leg. PROTECT: a leg's agent is PROTECTed by the call/transfer anyway, and the
    # weekly-sample check below must never be broken by a silent SET NULL.
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.MANUAL)
    period = models.DateField(null=True, blank=True, help_text="Week start (Monday) for weekly samples.")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live assignment per leg (call, agent), purpose and period. Cancelled rows don't count, so a
            # cancelled assignment can be re-made. The agent is coalesced to 0 because NULLs are distinct
            # in a unique index: two agent-less rows of one call would otherwise both pass.
            models.UniqueConstraint(
                F("call"),
                Coalesce(F("agent"), Value(0)),
                F("purpose"),
                F("period"),
                condition=Q(period__isnull=False) & ~Q(status="cancelled") & ~Q(purpose="calibration"),
                name="assignment_unique_leg_purpose_period",
            ),
            # NULL periods are distinct in SQL too: a second partial index covers them (portable, unlike
            # nulls_distinct=False which SQLite ignores).
            models.UniqueConstraint(
                F("call"),
                Coalesce(F("agent"), Value(0)),
                F("purpose"),
                condition=Q(period__isnull=True) & ~Q(status="cancelled") & ~Q(purpose="calibration"),
                name="assignment_unique_leg_purpose_no_period",
            ),
            # The sampler always names the leg's agent: a NULL there would dodge the per-leg rule above
            # (NULL and the call's agent are the same leg, but different values).
            models.CheckConstraint(
                condition=~Q(purpose="weekly_sample") | Q(agent__isnull=False),
                name="assignment_weekly_sample_has_agent",
            ),
            # A calibration session puts one call in several reviewers' queues, each once.
            models.UniqueConstraint(
                fields=["call", "reviewer"],
                condition=Q(purpose="calibration") & ~Q(status="cancelled"),
                name="assignment_unique_calibration_per_reviewer",
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=["manual", "weekly_sample", "calibration"]),
                name="assignment_purpose_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "done", "cancelled"]), name="assignment_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(purpose="weekly_sample") | Q(period__isnull=False),
                name="assignment_weekly_sample_has_period",
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "status"], name="assignment_reviewer_status_idx")]

    def __str__(self) -> str:
        return f"{self.call_id} → {self.reviewer_id} ({self.purpose})"


class Evaluation(models.Model):
    class Kind(models.TextChoices):
        REVIEW = "review", "Review"
        SELF_REVIEW = "self_review", "Self-review"
        CALIBRATION = "calibration", "Calibration"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="evaluations")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="evaluations")
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="evaluations")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_evaluations"
    )
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REVIEW)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Stored with 2 decimals; None while a draft, or when every criterion was N/A.
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    is_auto_failed = models.BooleanField(default=False)
    summary = models.TextField(blank=True, help_text="Overall feedback to the agent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    # False once a later revision (from a dispute) replaced it; selectors show current ones by default.
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-submitted_at", "-created_at", "-id"]
        permissions = [
            ("evaluate_any_call", "Can evaluate any call, not only calls assigned to them"),
            ("assign_calls", "Can put calls in reviewers' queues"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                name="evaluation_score_between_0_and_100",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["review", "self_review", "calibration"]), name="evaluation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted"]), name="evaluation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="evaluation_submitted_has_submitted_at",
            ),
            models.CheckConstraint(
                condition=Q(is_auto_failed=False) | Q(score=0), name="evaluation_auto_failed_scores_zero"
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(status="submitted"),
                name="evaluation_acknowledged_only_when_submitted",
            ),
            models.CheckConstraint(
                condition=(Q(revision=1) & Q(supersedes__isnull=True))
                | (Q(revision__gt=1) & Q(supersedes__isnull=False)),
                name="evaluation_revision_matches_supersedes",
            ),
            models.CheckConstraint(
                condition=Q(is_current=True) | Q(status="submitted"),
                name="evaluation_only_submitted_superseded",
            ),
            models.UniqueConstraint(
                fields=["call", "author", "kind", "agent"],
                condition=Q(status="draft"),
                name="evaluation_one_draft_per_call_author_kind_agent",
            ),
            models.UniqueConstraint(
                fields=["call", "agent"],
                condition=Q(kind="self_review", status="submitted"),
                name="evaluation_one_submitted_self_review_per_call_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "submitted_at"], name="evaluation_agent_submitted_idx"),
            models.Index(fields=["author", "status"], name="evaluation_author_status_idx"),
            models.Index(fields=["call"], name="evaluation_call_idx"),
        ]

    def __str__(self) -> str:
        return f"Evaluation {self.pk} of {self.call_id} r{self.revision}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED


class Answer(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="answers")
    # Points earned (yes = 1, no = 0); None when N/A.
    value = models.PositiveSmallIntegerField(null=True, blank=True)
    is_na = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    quote = models.TextField(blank=True, help_text="Transcript excerpt supporting the answer.")
    offset_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Position in the recording."
    )
    # What the criterion's auto-check rule suggested (1 yes / 0 no) when the review was submitted; None when
    # the criterion has no rule, the rule made no suggestion, or this is not a submitted review. Compared with
    # `value` to show how often reviewers agree with each rule.
    auto_value = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["evaluation", "criterion__section__position", "criterion__position", "criterion_id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "criterion"], name="answer_unique_per_criterion"),
            models.CheckConstraint(
                condition=(Q(is_na=True) & Q(value__isnull=True)) | (Q(is_na=False) & Q(value__isnull=False)),
                name="answer_value_xor_na",
            ),
            models.CheckConstraint(
                condition=Q(auto_value__isnull=True) | Q(auto_value__in=[0, 1]),
                name="answer_auto_value_yes_no",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}/{self.criterion_id}={'N/A' if self.is_na else self.value}"


class SectionScore(models.Model):
    """A section's sub-score on a submitted evaluation (same formula as the total, over that section)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="section_scores")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["evaluation", "section__position", "section_id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "section"], name="section_score_unique"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                name="section_score_between_0_and_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}/{self.section_id}={self.score}"


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld (no change)"
        ADJUSTED = "adjusted", "Adjusted"

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="disputes")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    revised_evaluation = models.OneToOneField(
        Evaluation, null=True, blank=True, on_delete=models.PROTECT, related_name="resolved_dispute"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation"], condition=Q(status="open"), name="dispute_one_open_per_evaluation"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "upheld", "adjusted"]), name="dispute_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | (Q(resolved_at__isnull=False) & Q(resolved_by__isnull=False)),
                name="dispute_resolved_has_resolver",
            ),
            models.CheckConstraint(
                condition=~Q(status="adjusted") | Q(revised_evaluation__isnull=False),
                name="dispute_adjusted_has_revision",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("created_at")),
                name="dispute_resolved_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.pk} on evaluation {self.evaluation_id} ({self.status})"


class DisputeItem(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="items")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()

    class Meta:
        ordering = ["dispute", "criterion__section__position", "criterion__position"]
        constraints = [models.UniqueConstraint(fields=["dispute", "criterion"], name="dispute_item_unique")]

    def __str__(self) -> str:
        return f"{self.dispute_id}/{self.criterion_id}"


class AuditEntry(models.Model):
    """Who did what to an evaluation, when and why; for adjustments, exactly what changed."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        DISPUTE_OPENED = "dispute_opened", "Dispute opened"
        DISPUTE_UPHELD = "dispute_upheld", "Dispute upheld"
        DISPUTE_ADJUSTED = "dispute_adjusted", "Dispute adjusted (new revision)"

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="audit_entries")
    action = models.CharField(max_length=30, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    dispute = models.ForeignKey(
        Dispute, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    # For an adjustment: the new revision, and [{"criterion": key, "old": v, "new": v}] with
    # v = points or "N/A"; old/new score as strings ("87.50") or None.
    revised_evaluation = models.ForeignKey(
        Evaluation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changes = models.JSONField(default=list, blank=True)
    old_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    new_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["evaluation", "at"], name="audit_evaluation_at_idx")]

    def __str__(self) -> str:
        return f"{self.evaluation_id} {self.action} at {self.at:%Y-%m-%d %H:%M}"


class CoachingSession(models.Model):
    """A coaching conversation a supervisor (or an admin) had with an agent, recorded after the fact.

    Focus criteria are Criterion rows of the published scorecard version current when the session was
    recorded; figures match answers by the criterion *key*, across scorecard versions (a new version keeps
    its keys), as the agent page's criterion pass rates do. Rows rather than bare keys: a key that no
    scorecard has cannot be stored, and the question text stays readable after a later version renames it."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="coaching_sessions")
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coaching_sessions_given"
    )
    held_on = models.DateField()
    focus_criteria = models.ManyToManyField(Criterion, related_name="coaching_sessions")
    evaluations = models.ManyToManyField(Evaluation, blank=True, related_name="coaching_sessions")
    notes = models.TextField()
    agreed_actions = models.TextField(blank=True)
    follow_up_on = models.DateField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(notes=""), name="coaching_session_has_notes"),
            models.CheckConstraint(
                condition=Q(follow_up_on__isnull=True) | Q(follow_up_on__gte=F("held_on")),
                name="coaching_session_follow_up_after_session",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(acknowledged_at__gte=F("created_at")),
                name="coaching_session_acknowledged_after_recorded",
            ),
        ]
        indexes = [models.Index(fields=["agent", "-held_on", "-id"], name="coaching_session_agent_idx")]

    def __str__(self) -> str:
        return f"Coaching of agent {self.agent_id} on {self.held_on}"


class ShoutOut(models.Model):
    """Recognition of good work: a supervisor (or an admin) praises an agent, optionally for one of their
    reviewed calls. The agent is told at once (a notice written with it) and sees it on My QA; the agent's
    page lists it for their supervisors."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="shout_outs")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="shout_outs_given"
    )
    message = models.CharField(max_length=500)
    # The reviewed call it is for, if any (an evaluation of this agent: the service checks it).
    evaluation = models.ForeignKey(
        Evaluation, null=True, blank=True, on_delete=models.SET_NULL, related_name="shout_outs"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(message=""), name="shout_out_says_something")]
        indexes = [models.Index(fields=["agent", "-created_at", "-id"], name="shout_out_agent_idx")]

    def __str__(self) -> str:
        return f"Shout-out to agent {self.agent_id}"


# The kinds of notice and what each names, for the check constraints of Notice and NoticeSilentEvent alike
# (a new kind is added here once; the lists' order is the migrations').
NOTICE_KINDS = [
    "review_submitted",
    "dispute_opened",
    "dispute_decided",
    "coaching_recorded",
    "coaching_follow_up_due",
    "weekly_digest",
    "shout_out",
    "competition_finished",
]
# The kinds that name a coaching session (and no evaluation).
COACHING_NOTICE_KINDS = ["coaching_recorded", "coaching_follow_up_due"]
# The kinds that name nothing (no evaluation, dispute or session): a summary, its figures in `details`, and a
# shout-out, its message and author in `details` (as they were when it was given), a finished competition, the
# agent's result in it (as it stood when the contest ended).
SUMMARY_NOTICE_KINDS = ["weekly_digest", "shout_out", "competition_finished"]
_NOTICE_KINDS_WITHOUT_DISPUTE = ["review_submitted", *COACHING_NOTICE_KINDS, *SUMMARY_NOTICE_KINDS]
_NOTICE_KIND_VALID = Q(kind__in=NOTICE_KINDS)
# Dispute events name their dispute; the others none.
_NOTICE_NAMES_ITS_DISPUTE = (Q(kind__in=_NOTICE_KINDS_WITHOUT_DISPUTE) & Q(dispute__isnull=True)) | (
    ~Q(kind__in=_NOTICE_KINDS_WITHOUT_DISPUTE) & Q(dispute__isnull=False)
)
# Coaching events name their session and no evaluation; summaries neither; the others an evaluation and no
# session.
_NOTICE_NAMES_SESSION_OR_EVALUATION = (
    (Q(kind__in=COACHING_NOTICE_KINDS) & Q(coaching_session__isnull=False) & Q(evaluation__isnull=True))
    | (Q(kind__in=SUMMARY_NOTICE_KINDS) & Q(coaching_session__isnull=True) & Q(evaluation__isnull=True))
    | (
        ~Q(kind__in=[*COACHING_NOTICE_KINDS, *SUMMARY_NOTICE_KINDS])
        & Q(coaching_session__isnull=True)
        & Q(evaluation__isnull=False)
    )
)


class Notice(models.Model):
    """An in-app notification of a QA event to one person (optionally also e-mailed).

    One row per (recipient, kind, evaluation, event_key): the event key names the event ("evaluation:<id>"
    for a submitted review, "dispute:<id>" for a dispute's opening or decision), so the task, its retries
    and the sweeper can all create "the" notice of an event and only one ever exists."""

    class Kind(models.TextChoices):
        REVIEW_SUBMITTED = "review_submitted", "Review received"
        DISPUTE_OPENED = "dispute_opened", "Dispute opened"
        DISPUTE_DECIDED = "dispute_decided", "Dispute decided"
        COACHING_RECORDED = "coaching_recorded", "Coaching session recorded"
        COACHING_FOLLOW_UP_DUE = "coaching_follow_up_due", "Coaching follow-up due"
        WEEKLY_DIGEST = "weekly_digest", "Weekly digest"
        SHOUT_OUT = "shout_out", "Shout-out"
        COMPETITION_FINISHED = "competition_finished", "Competition finished"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qa_notices"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # The evaluation to open: the reviewed one; for a decided dispute, the revision the decision produced
    # (the disputed one when it was upheld). A coaching notice names its session instead (and no evaluation).
    evaluation = models.ForeignKey(
        Evaluation, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    dispute = models.ForeignKey(
        Dispute, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    coaching_session = models.ForeignKey(
        CoachingSession, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    event_key = models.CharField(max_length=40)
    # A summary's figures as they were when it was written (a weekly digest: scoring.notices.digest); {} for
    # the other kinds, whose text is read from the rows they name.
    details = models.JSONField(default=dict, blank=True)
    # When the event happened (not when the row was written: a sweeper may write it minutes later). A
    # summary's is when it was written: its figures are as of then.
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # E-mail (QA_NOTICE_EMAIL): pending (neither time set), sent (emailed_at) or failed for good
    # (email_failed_at + email_error: a permanent error, no address, or QA_NOTICE_EMAIL_MAX_ATTEMPTS
    # transient ones). A transient failure leaves it pending with email_retry_at, the earliest time the
    # sweep may try again (backoff); a sent or failed notice is never tried again.
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_retry_at = models.DateTimeField(null=True, blank=True)
    email_failed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "evaluation", "event_key"], name="notice_one_per_event_recipient"
            ),
            models.CheckConstraint(
                condition=Q(emailed_at__isnull=True) | Q(email_failed_at__isnull=True),
                name="notice_email_either_sent_or_failed",
            ),
            models.CheckConstraint(
                condition=Q(emailed_at__isnull=True) | (Q(email_attempts__gte=1) & Q(email_error="")),
                name="notice_email_sent_after_an_attempt_without_error",
            ),
            models.CheckConstraint(
                condition=Q(email_failed_at__isnull=True)
                | (~Q(email_error="") & Q(email_retry_at__isnull=True)),
                name="notice_email_failure_says_why_and_is_final",
            ),
            models.CheckConstraint(
                condition=Q(email_retry_at__isnull=True)
                | (
                    Q(emailed_at__isnull=True)
                    & Q(email_failed_at__isnull=True)
                    & Q(email_attempts__gte=1)
                    & ~Q(email_error="")
                ),
                name="notice_email_retry_follows_a_failed_attempt",
            ),
            # A pending notice that was tried has a retry time, so the sweep always takes it up again.
            models.CheckConstraint(
                condition=Q(emailed_at__isnull=False)
                | Q(email_failed_at__isnull=False)
                | Q(email_attempts=0)
                | Q(email_retry_at__isnull=False),
                name="notice_email_tried_and_pending_has_retry",
            ),
            # A coaching notice or a summary has no evaluation, so the unique constraint above (NULLs are
            # distinct) does not hold it to one per recipient: this one does. A weekly digest's event key
            # names its week ("weekly-digest:<Monday>"): one digest per supervisor and week.
            models.UniqueConstraint(
                fields=["recipient", "kind", "event_key"],
                condition=Q(evaluation__isnull=True),
                name="notice_one_per_event_recipient_no_evaluation",
            ),
            models.CheckConstraint(condition=_NOTICE_KIND_VALID, name="notice_kind_valid"),
            models.CheckConstraint(
                condition=_NOTICE_NAMES_ITS_DISPUTE, name="notice_dispute_events_name_their_dispute"
            ),
            # The week is in the key ("weekly-digest:<Monday>"), so the constraint above is "one digest per
            # recipient and week". (A prefix, not a regex: the embedded SQLite demo has no regex in CHECKs.)
            models.CheckConstraint(
                condition=~Q(kind="weekly_digest") | Q(event_key__startswith="weekly-digest:"),
                name="notice_weekly_digest_keyed_by_week",
            ),
            models.CheckConstraint(
                condition=_NOTICE_NAMES_SESSION_OR_EVALUATION,
                name="notice_coaching_names_session_others_evaluation",
            ),
            # One notice per shout-out ("shout-out:<id>") and recipient, by the constraint above.
            models.CheckConstraint(
                condition=~Q(kind="shout_out") | Q(event_key__startswith="shout-out:"),
                name="notice_shout_out_keyed_by_shout_out",
            ),
            # One notice per finished competition ("competition:<id>") and participant.
            models.CheckConstraint(
                condition=~Q(kind="competition_finished") | Q(event_key__startswith="competition:"),
                name="notice_competition_keyed_by_competition",
            ),
        ]
        indexes = [
            # The nav's unread count and the list, newest first.
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="notice_unread_idx",
            ),
            models.Index(fields=["recipient", "-created_at", "-id"], name="notice_recipient_created_idx"),
            # The sweep's e-mail: never-tried notices (all of them while QA_NOTICE_EMAIL is off, a handful
            # while it is on) and notices waiting out a backoff; sent and failed ones are in neither.
            models.Index(
                fields=["created_at"],
                condition=Q(emailed_at__isnull=True, email_failed_at__isnull=True, email_attempts=0),
                name="notice_email_untried_idx",
            ),
            models.Index(
                fields=["email_retry_at"],
                condition=Q(email_retry_at__isnull=False),
                name="notice_email_retry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} ({self.event_key})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def is_email_failed(self) -> bool:
        return self.email_failed_at is not None


class NoticeSilentEvent(models.Model):
    """A QA event that was resolved and had nobody to tell (e.g. a review of an agent without an active
    login), so the notice sweep does not resolve it again every 5 minutes.

    Written only by the service that found the recipient list empty, never for an event with recipients;
    an event with notices needs no marker (its notices say it was resolved). Kept in a table of its own
    rather than as fields on evaluations and disputes: those rows are guarded against edits once
    submitted, a dispute carries two events, and these rows are only needed while the event is inside the
    sweep's look-back, so the sweep deletes them after (the table stays a day's worth of rows)."""

    kind = models.CharField(max_length=30, choices=Notice.Kind.choices)
    evaluation = models.ForeignKey(
        Evaluation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    dispute = models.ForeignKey(Dispute, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    coaching_session = models.ForeignKey(
        CoachingSession, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event_key = models.CharField(max_length=40)
    # When the event happened (the sweep's look-back is on this) and when it was found to tell nobody.
    event_at = models.DateTimeField()
    resolved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "event_key"], name="notice_silent_event_once"),
            models.CheckConstraint(condition=_NOTICE_KIND_VALID, name="notice_silent_event_kind_valid"),
            models.CheckConstraint(
                condition=_NOTICE_NAMES_ITS_DISPUTE,
                name="notice_silent_event_dispute_events_name_their_dispute",
            ),
            models.CheckConstraint(
                condition=_NOTICE_NAMES_SESSION_OR_EVALUATION,
                name="notice_silent_event_coaching_names_its_session",
            ),
        ]
        indexes = [models.Index(fields=["event_at"], name="notice_silent_event_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.event_key}): nobody to tell"


__all__ = [
    "Answer",
    "Assignment",
    "AuditEntry",
    "CoachingSession",
    "Criterion",
    "Dispute",
    "DisputeItem",
    "Evaluation",
    "Notice",
    "NoticeSilentEvent",
    "Scorecard",
    "Section",
    "SectionScore",
]
