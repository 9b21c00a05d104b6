"""Closed-loop follow-up of detractor responses: the case, its SLA policy and calendar, contact attempts,
and the notification log that proves each effect happened once."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from calls.models import Call, Customer
from scoring.surveys.models import SurveyResponse


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)")


class RootCause(models.Model):
    """A managed list of why the customer was unhappy (admin-editable; closing a case requires one)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class BusinessCalendar(models.Model):
    """Opening hours per weekday in one time zone, minus holidays: the clock business-hours SLAs run on."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"


class OpeningHours(models.Model):
    """One opening interval; closes_at not after opens_at means it runs past midnight (equal = 24 h)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0) & Q(weekday__lte=6), name="opening_weekday_0_6"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_per_calendar")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class SlaPolicy(models.Model):
    """How fast a detractor must be followed up: the first active policy (by ``position``) whose tier and
    score range match wins; the default policy applies when none does."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=100, help_text="Lower positions are tried first.")
    customer_tier = models.CharField(
        max_length=20, choices=Customer.Tier.choices, blank=True, help_text="Empty matches every tier."
    )
    min_score = models.PositiveSmallIntegerField(default=0)
    max_score = models.PositiveSmallIntegerField(default=6)
    resolution_minutes = models.PositiveIntegerField(help_text="Time allowed from the response to closing.")
    business_hours_only = models.BooleanField(default=False)
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="sla_policies"
    )
    case_priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_score__gte=0) & Q(max_score__lte=10) & Q(min_score__lte=F("max_score")),
                name="sla_score_range_valid",
            ),
            models.CheckConstraint(condition=Q(resolution_minutes__gt=0), name="sla_resolution_positive"),
            models.CheckConstraint(
                condition=Q(business_hours_only=False) | Q(calendar__isnull=False),
                name="sla_business_hours_need_calendar",
            ),
            models.CheckConstraint(
                condition=Q(customer_tier__in=["", *Customer.Tier.values]), name="sla_customer_tier_valid"
            ),
            models.CheckConstraint(
                condition=Q(case_priority__in=Priority.values), name="sla_case_priority_valid"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sla_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FollowUpQueue(models.Model):
    """Where cases go when no supervisor can own them; members see and work the queue."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="followup_queues")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="queue_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FollowUpCase(models.Model):
    """One closed-loop follow-up per detractor response (the database enforces the one)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WAITING = "waiting_on_customer", "Waiting on customer"
        CLOSED = "closed", "Closed"
        FAILED = "failed", "Dispatch failed"

    class DispatchState(models.TextChoices):
        PENDING = "pending", "Pending"
        DISPATCHING = "dispatching", "Dispatching"
        DISPATCHED = "dispatched", "Dispatched"
        FAILED = "failed", "Failed"

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        EXPLAINED = "explained", "Explained, no further action"
        GOODWILL = "goodwill", "Goodwill gesture"
        NOT_RESOLVED = "not_resolved", "Could not be resolved"
        UNREACHABLE = "unreachable", "Customer unreachable"
        DECLINED = "declined", "Customer declined contact"

    response = models.OneToOneField(SurveyResponse, on_delete=models.PROTECT, related_name="followup")
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="followups")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="followups"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followup_cases",
    )
    queue = models.ForeignKey(
        FollowUpQueue, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)

    # SLA: due_at is moved forward by the paused business time when a pause ends.
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    due_at = models.DateTimeField()
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0)

    # Dispatch (notify the owner): the row is the source of truth, Celery only carries wake-ups.
    dispatch_state = models.CharField(
        max_length=20, choices=DispatchState.choices, default=DispatchState.PENDING
    )
    dispatch_attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    dispatch_after = models.DateTimeField(null=True, blank=True)
    redriven_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_error = models.TextField(blank=True)

    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_notified_level = models.PositiveSmallIntegerField(default=0)

    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = "follow-up case"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "waiting_on_customer", "closed", "failed"]),
                name="followup_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(dispatch_state__in=["pending", "dispatching", "dispatched", "failed"]),
                name="followup_dispatch_state_valid",
            ),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="followup_priority_valid"),
            models.CheckConstraint(
                condition=Q(
                    outcome__in=[
                        "",
                        "resolved",
                        "explained",
                        "goodwill",
                        "not_resolved",
                        "unreachable",
                        "declined",
                    ]
                ),
                name="followup_outcome_valid",
            ),
            # Somebody must own it: a user, or a queue.
            models.CheckConstraint(
                condition=Q(owner__isnull=False) | Q(queue__isnull=False), name="followup_owner_or_queue"
            ),
            # Closed ⇔ closed_at, an outcome and a root cause.
            models.CheckConstraint(
                condition=(
                    Q(status="closed")
                    & Q(closed_at__isnull=False)
                    & ~Q(outcome="")
                    & Q(root_cause__isnull=False)
                )
                | (~Q(status="closed") & Q(closed_at__isnull=True) & Q(outcome="")),
                name="followup_closed_has_outcome_and_cause",
            ),
            # The SLA clock is paused exactly while waiting on the customer.
            models.CheckConstraint(
                condition=(Q(status="waiting_on_customer") & Q(sla_paused_at__isnull=False))
                | (~Q(status="waiting_on_customer") & Q(sla_paused_at__isnull=True)),
                name="followup_paused_while_waiting",
            ),
            models.CheckConstraint(
                condition=~Q(dispatch_state="dispatching") | Q(lease_expires_at__isnull=False),
                name="followup_dispatching_has_lease",
            ),
            models.CheckConstraint(
                condition=Q(escalation_notified_level__lte=F("escalation_level")),
                name="followup_escalation_notified_le_level",
            ),
            models.CheckConstraint(
                condition=Q(escalation_level=0) | Q(escalated_at__isnull=False),
                name="followup_escalated_has_time",
            ),
        ]
        indexes = [
            # The sweeper's re-drive scan: only undispatched rows are in this index.
            models.Index(
                fields=["created_at"],
                condition=Q(dispatch_state__in=["pending", "dispatching"]),
                name="followup_undispatched_idx",
            ),
            # The sweeper's escalation scan: open cases by due time.
            models.Index(
                fields=["escalation_level", "due_at"],
                condition=Q(status="open"),
                name="followup_open_due_idx",
            ),
            models.Index(fields=["owner", "status", "due_at"], name="followup_owner_status_due_idx"),
            models.Index(fields=["status", "due_at"], name="followup_status_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Follow-up #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.WAITING, self.Status.FAILED)


class ContactAttempt(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        CHAT = "chat", "Chat"
        OTHER = "other", "Other"

    class Result(models.TextChoices):
        REACHED = "reached", "Reached the customer"
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left a message"
        WRONG_NUMBER = "wrong_number", "Wrong contact details"

    case = models.ForeignKey(FollowUpCase, on_delete=models.CASCADE, related_name="contact_attempts")
    at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    result = models.CharField(max_length=20, choices=Result.choices, default=Result.REACHED)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["phone", "email", "sms", "chat", "other"]),
                name="contact_attempt_channel_valid",
            ),
            models.CheckConstraint(
                condition=Q(result__in=["reached", "no_answer", "left_message", "wrong_number"]),
                name="contact_attempt_result_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """The effect log: one row per (case, kind, recipient), keyed so a re-run can never add a second.

    The row is also the in-app notification shown on the recipient's board.
    """

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "New follow-up assigned"
        ESCALATED = "escalated", "Follow-up overdue (escalated)"

    case = models.ForeignKey(FollowUpCase, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(default=0)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followup_notifications",
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    channels = models.CharField(
        max_length=100, blank=True, help_text="Outside channels the notice was sent on."
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["assigned", "escalated"]), name="notification_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_recipient_idx"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key
