from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Department(models.Model):
    """A queue/department calls are routed to."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams"
    )
    supervisors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="led_teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    employee_code = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="agents")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="agent"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "employee_code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_code})" if self.name else self.employee_code


class Customer(models.Model):
    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        GOLD = "gold", "Gold"
        PLATINUM = "platinum", "Platinum"

    external_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.STANDARD)

    class Meta:
        ordering = ["external_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tier__in=["standard", "gold", "platinum"]), name="customer_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    CHAT = "chat", "Chat"
    SOCIAL = "social", "Social"
    IN_PERSON = "in_person", "In person"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Call(models.Model):
    # Unique through Meta.constraints rather than unique=True, which would add a second (pattern_ops) index
    # that every import pays for and no query uses.
    external_id = models.CharField(max_length=100)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.INBOUND)
    # No single-column indexes: the (customer|agent|department, started_at) indexes below lead with them.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="calls", db_index=False
    )
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="calls", db_index=False
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="calls", db_index=False
    )
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField()
    wait_seconds = models.IntegerField(default=0)
    talk_seconds = models.IntegerField(default=0)
    hold_seconds = models.IntegerField(default=0)
    wrap_seconds = models.IntegerField(default=0)
    disposition = models.CharField(max_length=50, blank=True)
    is_resolved = models.BooleanField(default=False)
    transcript = models.TextField(blank=True)
    recording_url = models.URLField(max_length=500, blank=True)
    # Hash of the imported record (call + transfers + escalations): a re-import of an unchanged row
    # is detected in SQL and touches nothing.
    content_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                name="call_external_id_unique",
                violation_error_message="A call with this external id already exists.",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__gte=F("started_at")), name="call_ended_after_started"
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True)
                | (Q(answered_at__gte=F("started_at")) & Q(answered_at__lte=F("ended_at"))),
                name="call_answered_within_call",
            ),
            models.CheckConstraint(
                condition=Q(wait_seconds__gte=0)
                & Q(talk_seconds__gte=0)
                & Q(hold_seconds__gte=0)
                & Q(wrap_seconds__gte=0),
                name="call_durations_non_negative",
            ),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="call_channel_valid"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="call_direction_valid"),
        ]
        indexes = [
            models.Index(fields=["started_at"], name="call_started_idx"),
            models.Index(fields=["agent", "started_at"], name="call_agent_started_idx"),
            models.Index(fields=["department", "started_at"], name="call_department_started_idx"),
            models.Index(fields=["customer", "started_at"], name="call_customer_started_idx"),
            models.Index(fields=["channel", "started_at"], name="call_channel_started_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def handle_seconds(self) -> int:
        return self.talk_seconds + self.hold_seconds + self.wrap_seconds


class Transfer(models.Model):
    # Indexed by the unique (call, sequence) constraint, which leads with it.
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transfers", db_index=False)
    sequence = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    from_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_in"
    )
    from_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_in"
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["call", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["call", "sequence"], name="transfer_sequence_unique_per_call"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="transfer_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id}#{self.sequence}"


class Escalation(models.Model):
    class Level(models.TextChoices):
        TIER_2 = "tier2", "Tier 2"
        SUPERVISOR = "supervisor", "Supervisor"
        COMPLAINT = "complaint", "Formal complaint"
        OTHER = "other", "Other"

    # Indexed by the unique (call, sequence) constraint, which leads with it.
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="escalations", db_index=False)
    sequence = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=50)
    reason = models.CharField(max_length=200, blank=True)
    raised_at = models.DateTimeField()
    outcome = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["call", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["call", "sequence"], name="escalation_sequence_unique_per_call"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="escalation_sequence_positive"),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("raised_at")),
                name="escalation_resolved_after_raised",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.level}"


class AgentDayCallStats(models.Model):
    """Per agent per local day (TIME_ZONE) call figures, rebuilt set-based by `calls.rollups`.

    Calls count for their first handling agent (`Call.agent`) on the local day they started. Dashboards
    read this table instead of scanning calls; `calls.rollups.agent_day_stats_refresh` keeps it exact.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="day_call_stats")
    day = models.DateField()
    calls = models.IntegerField(default=0)
    # Calls with a customer (the others are anonymous callers): first-contact resolution and repeat contacts
    # are counted over these only, and their rates are over this number (calls.selectors.IDENTIFIED).
    identified_calls = models.IntegerField(default=0)
    handle_seconds = models.BigIntegerField(default=0)
    wait_seconds = models.BigIntegerField(default=0)
    transferred = models.IntegerField(default=0)
    escalated = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    # Identified callers' calls resolved, never transferred and not followed by a repeat contact.
    first_contact_resolved = models.IntegerField(default=0)
    # Identified callers' calls followed by another contact of the same customer within
    # REPEAT_CONTACT_WINDOW_DAYS.
    repeat_contacts = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "day"], name="agent_day_call_stats_unique"),
            models.CheckConstraint(
                condition=Q(transferred__lte=F("calls"))
                & Q(escalated__lte=F("calls"))
                & Q(resolved__lte=F("calls"))
                & Q(identified_calls__lte=F("calls"))
                & Q(first_contact_resolved__lte=F("resolved"))
                & Q(first_contact_resolved__lte=F("identified_calls"))
                & Q(repeat_contacts__lte=F("identified_calls")),
                name="agent_day_call_stats_counts_consistent",
            ),
        ]
        indexes = [models.Index(fields=["day", "agent"], name="agent_day_call_stats_day_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day}"


class CallImport(models.Model):
    """An import of call files started from the web UI, run by a worker (calls.services.call_import_run).

    The uploaded files are kept in the database (CallImportFile), so the web and worker processes need no
    shared disk. The row is the source of truth: a lost task message is queued again by a sweeper.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="call_imports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    partial = models.BooleanField(default=False, help_text="import the good rows, reject the bad ones")
    timezone = models.CharField(max_length=64, blank=True, help_text="zone of times without an offset")
    encoding = models.CharField(
        max_length=40, blank=True, help_text="encoding of files without a byte-order mark; empty: UTF-8"
    )
    date_order = models.CharField(
        max_length=3,
        blank=True,
        choices=[("mdy", "month/day/year"), ("dmy", "day/month/year")],
        help_text="how spreadsheet dates with the year last are read; empty: refused",
    )
    total_bytes = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The outcome (ImportResult): counts of calls, rejected input rows, and the first errors.
    written = models.BooleanField(default=False)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    elapsed_seconds = models.FloatField(null=True, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True
    )  # [{"file", "line", "field", "reason"}], the first ones
    failure = models.TextField(blank=True)  # why the import could not run at all
    # When the uploaded files' contents were dropped (CALLS_IMPORT_KEEP_DAYS after the import finished);
    # names, sizes, counts and errors stay.
    files_pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("import_calls", "Can import calls (web upload and API)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="call_import_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="call_import_status_idx")]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}


class CallImportFile(models.Model):
    """One uploaded file of a CallImport, and the rejects file the import wrote for it (partial imports)."""

    call_import = models.ForeignKey(CallImport, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    data = models.BinaryField()
    rejects_name = models.CharField(max_length=255, blank=True)
    rejects = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ["call_import", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["call_import", "position"], name="call_import_file_position_unique"
            ),
            models.UniqueConstraint(fields=["call_import", "name"], name="call_import_file_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name
