"""NPS surveys linked to calls: who was asked (or why not), how it was delivered, what they answered,
and which agents the answer is credited to."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from calls.models import Agent, Call, Customer

PROMOTER_MIN_SCORE = 9
PASSIVE_MIN_SCORE = 7
# Optional companion questions on the same survey (DOMAIN.md): CSAT on 1–5 (satisfied = 4 or 5) and the
# Customer Effort Score on 1–7 ("the company made it easy for me to handle my issue", 7 = strongly agree).
CSAT_MAX = 5
CSAT_SATISFIED_MIN = 4
CES_MAX = 7


class Category(models.TextChoices):
    PROMOTER = "promoter", "Promoter"
    PASSIVE = "passive", "Passive"
    DETRACTOR = "detractor", "Detractor"


def category_for_score(score: int) -> Category:
    """NPS bucket of a 0–10 answer: 9–10 promoter, 7–8 passive, 0–6 detractor."""
    if not 0 <= score <= 10:
        raise ValueError(f"NPS score must be 0–10, got {score}")
    if score >= PROMOTER_MIN_SCORE:
        return Category.PROMOTER
    if score >= PASSIVE_MIN_SCORE:
        return Category.PASSIVE
    return Category.DETRACTOR


class CustomerOptOut(models.Model):
    """A customer who asked never to be surveyed again (from the survey page or by an operator)."""

    class Source(models.TextChoices):
        SURVEY_PAGE = "survey_page", "Survey page"
        OPERATOR = "operator", "Operator"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="survey_opt_out")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.SURVEY_PAGE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=["survey_page", "operator"]), name="optout_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"opt-out {self.customer_id}"


class SurveyInvitation(models.Model):
    """The survey decision for one call: invited (pending → sent/failed) or skipped with a reason.

    One row per call (unique), so a call is never surveyed twice and every ended call that was looked
    at says why it was or was not surveyed. Only the SHA-256 of the link token is stored.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending delivery"
        SENT = "sent", "Sent"
        FAILED = "failed", "Delivery failed"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        NONE = "", "—"
        SAMPLED_OUT = "sampled_out", "Not in sample"
        FATIGUE = "fatigue", "Surveyed recently"
        NO_CONTACT = "no_contact", "No reachable contact (no e-mail, and no phone with SMS set up)"
        OPTED_OUT = "opted_out", "Customer opted out"
        ANONYMOUS = "anonymous", "Anonymous caller"
        ABANDONED = "abandoned", "Never answered"

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="survey_invitation")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="survey_invitations"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True, default="")
    channel = models.CharField(max_length=50, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "failed", "skipped"]),
                name="invitation_status_valid",
            ),
            # Skipped ⇔ a reason; invited ⇔ a token with an expiry.
            models.CheckConstraint(
                condition=(Q(status="skipped") & ~Q(skip_reason="") & Q(token_hash__isnull=True))
                | (
                    ~Q(status="skipped")
                    & Q(skip_reason="")
                    & Q(token_hash__isnull=False)
                    & Q(expires_at__isnull=False)
                ),
                name="invitation_skip_reason_or_token",
            ),
            models.CheckConstraint(
                condition=Q(
                    skip_reason__in=[
                        "",
                        "sampled_out",
                        "fatigue",
                        "no_contact",
                        "opted_out",
                        "anonymous",
                        "abandoned",
                    ]
                ),
                name="invitation_skip_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | ~Q(status="skipped"), name="invitation_skipped_never_used"
            ),
        ]
        indexes = [
            # Fatigue check: this customer's invitations in the last N days.
            models.Index(fields=["customer", "created_at"], name="invite_customer_created_idx"),
            models.Index(fields=["status", "created_at"], name="invite_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"invitation {self.call_id} {self.status}"

    @property
    def is_skipped(self) -> bool:
        return self.status == self.Status.SKIPPED

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class SurveyDelivery(models.Model):
    """One channel's attempts to deliver an invitation. The row is the source of truth for retries."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    invitation = models.ForeignKey(SurveyInvitation, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=50)
    to = models.CharField(max_length=254)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "channel"], name="delivery_unique_channel_per_invitation"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed"]), name="delivery_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True) | Q(status="sent"), name="delivery_sent_at_only_when_sent"
            ),
        ]
        indexes = [
            # The sweeper: due pending deliveries and stale claims.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_due_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.invitation_id} {self.channel} {self.status}"


class SurveyResponse(models.Model):
    """A customer's answer to the NPS question about one call (at most one per call)."""

    class Source(models.TextChoices):
        SURVEY_LINK = "survey_link", "Survey link"
        INBOUND_API = "inbound_api", "Inbound API"

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="survey_responses")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="survey_responses"
    )
    invitation = models.OneToOneField(
        SurveyInvitation, null=True, blank=True, on_delete=models.PROTECT, related_name="response"
    )
    score = models.PositiveSmallIntegerField()
    category = models.CharField(max_length=20, choices=Category.choices)
    csat = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Optional satisfaction answer, 1–5 (4–5 = satisfied)."
    )
    ces = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Optional effort answer, 1–7 (7 = very easy)."
    )
    comment = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # One answer per call: NPS counts calls, and the call page shows "the" response.
            models.UniqueConstraint(fields=["call"], name="response_unique_per_call"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=10), name="response_score_0_10"),
            models.CheckConstraint(
                condition=(Q(category="promoter") & Q(score__gte=PROMOTER_MIN_SCORE))
                | (Q(category="passive") & Q(score__gte=PASSIVE_MIN_SCORE) & Q(score__lt=PROMOTER_MIN_SCORE))
                | (Q(category="detractor") & Q(score__lt=PASSIVE_MIN_SCORE)),
                name="response_category_matches_score",
            ),
            models.CheckConstraint(
                condition=Q(source__in=["survey_link", "inbound_api"]), name="response_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | (Q(csat__gte=1) & Q(csat__lte=CSAT_MAX)),
                name="response_csat_1_5",
            ),
            models.CheckConstraint(
                condition=Q(ces__isnull=True) | (Q(ces__gte=1) & Q(ces__lte=CES_MAX)),
                name="response_ces_1_7",
            ),
        ]
        indexes = [
            models.Index(fields=["received_at"], name="response_received_idx"),
            models.Index(fields=["category", "received_at"], name="response_category_recv_idx"),
        ]

    def __str__(self) -> str:
        return f"response {self.call_id} {self.score}"

    @property
    def is_detractor(self) -> bool:
        return self.category == Category.DETRACTOR

    @property
    def is_promoter(self) -> bool:
        return self.category == Category.PROMOTER

    @property
    def primary_agent(self) -> Agent | None:
        for credit in self.credits.all():
            if credit.is_primary:
                return credit.agent
        return None


class ResponseCredit(models.Model):
    """A response counts for every agent who handled a leg of the call (leg 0 = the first agent, n =
    transfer sequence n); exactly one of them is the primary owner (SURVEY_PRIMARY_AGENT)."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="credits")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="survey_credits")
    leg = models.PositiveSmallIntegerField()
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["response", "leg"]
        constraints = [
            models.UniqueConstraint(fields=["response", "agent"], name="credit_unique_agent_per_response"),
            models.UniqueConstraint(
                fields=["response"], condition=Q(is_primary=True), name="credit_one_primary_per_response"
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "response"], name="credit_agent_response_idx"),
        ]

    def __str__(self) -> str:
        return f"credit {self.response_id} → {self.agent_id} (leg {self.leg})"
