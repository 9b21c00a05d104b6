"""Django admin for QA scoring.

Published scorecards and submitted evaluations are read-only here (the database triggers would refuse
scorecard edits anyway); evaluations, disputes and the audit trail change only through the services,
so the admin shows them but cannot add or edit them. Drafts can be edited; publishing and new versions
go through the services (admin actions call them). Foreign keys to big tables use raw ids.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from . import services
from .models import (
    Answer,
    Assignment,
    AuditEntry,
    CoachingSession,
    Criterion,
    Dispute,
    DisputeItem,
    Evaluation,
    Notice,
    NoticeSilentEvent,
    Scorecard,
    Section,
    SectionScore,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _is_frozen(obj) -> bool:
    return obj is not None and obj.status != Scorecard.Status.DRAFT


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0
    fields = ("position", "title", "description")
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_delete_permission(request, obj)


class CriterionOverviewInline(ReadOnlyInline):
    """Every criterion of the scorecard at a glance (edit them from their section)."""

    model = Criterion
    fields = (
        "section",
        "position",
        "key",
        "question",
        "weight",
        "scale",
        "max_points",
        "allows_na",
        "is_critical",
        "applicability",
    )
    readonly_fields = fields


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ("name", "family", "version", "status", "published_at", "criterion_count")
    list_filter = ("status", "family")
    search_fields = ("name", "family")
    readonly_fields = ("status", "published_at", "published_by", "created_by", "created_at", "based_on")
    filter_horizontal = ("departments",)
    inlines = (SectionInline, CriterionOverviewInline)
    actions = ("publish", "new_version")

    @admin.display(description="Criteria")
    def criterion_count(self, obj: Scorecard) -> int:
        return obj.criteria.count()

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            if not obj.version:
                obj.version = 1
        super().save_model(request, obj, form, change)

    @admin.action(description="Publish selected drafts")
    def publish(self, request, queryset):
        for scorecard in queryset:
            try:
                services.scorecard_publish(scorecard=scorecard, user=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request,
                    f"{scorecard}: {'; '.join(getattr(error, 'messages', [str(error)]))}",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"Published {scorecard}.")

    @admin.action(description="Create a new draft version")
    def new_version(self, request, queryset):
        for scorecard in queryset:
            try:
                draft = services.scorecard_new_version(scorecard=scorecard, user=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request,
                    f"{scorecard}: {'; '.join(getattr(error, 'messages', [str(error)]))}",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"Draft {draft} is ready to edit.")


class CriterionInline(admin.StackedInline):
    model = Criterion
    extra = 0
    fields = (
        ("key", "position"),
        "question",
        "guidance",
        ("weight", "scale", "max_points"),
        ("allows_na", "is_critical", "applicability"),
    )

    def _frozen(self, obj) -> bool:
        return obj is not None and _is_frozen(obj.scorecard)

    def has_add_permission(self, request, obj=None) -> bool:
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ("title", "scorecard", "position")
    list_select_related = ("scorecard",)
    list_filter = ("scorecard",)
    inlines = (CriterionInline,)
    raw_id_fields = ("scorecard",)

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj is not None and _is_frozen(obj.scorecard)) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return not (obj is not None and _is_frozen(obj.scorecard)) and super().has_delete_permission(
            request, obj
        )

    def save_formset(self, request, form, formset, change):
        # Criterion.scorecard mirrors its section's scorecard (a trigger refuses a mismatch).
        for instance in formset.save(commit=False):
            instance.scorecard_id = form.instance.scorecard_id
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()


class AnswerInline(ReadOnlyInline):
    model = Answer
    fields = ("criterion", "value", "is_na", "comment", "quote", "offset_seconds")
    readonly_fields = fields


class SectionScoreInline(ReadOnlyInline):
    model = SectionScore
    fields = ("section", "score")
    readonly_fields = fields


class AuditEntryInline(ReadOnlyInline):
    model = AuditEntry
    fk_name = "evaluation"
    fields = ("at", "action", "actor", "reason", "changes", "old_score", "new_score")
    readonly_fields = fields


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "call",
        "agent",
        "author",
        "kind",
        "status",
        "score",
        "is_auto_failed",
        "revision",
        "is_current",
        "submitted_at",
    )
    list_filter = ("status", "kind", "is_auto_failed", "is_current", "scorecard")
    list_select_related = ("call", "agent", "author", "scorecard")
    search_fields = ("call__external_id", "agent__employee_code", "agent__name", "author__username")
    date_hierarchy = "submitted_at"
    inlines = (SectionScoreInline, AnswerInline, AuditEntryInline)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("call", "reviewer", "purpose", "period", "status", "created_at")
    list_filter = ("status", "purpose", "period")
    list_select_related = ("call", "reviewer")
    search_fields = ("call__external_id", "reviewer__username")
    raw_id_fields = ("call", "agent", "reviewer", "assigned_by")
    readonly_fields = ("created_at", "completed_at")


class DisputeItemInline(ReadOnlyInline):
    model = DisputeItem
    fields = ("criterion", "reason")
    readonly_fields = fields


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("id", "evaluation", "raised_by", "status", "created_at", "resolved_by", "resolved_at")
    list_filter = ("status",)
    list_select_related = ("evaluation", "raised_by", "resolved_by")
    inlines = (DisputeItemInline,)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record the admin may only look at: rows written by services (audit, notices), never by hand."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "evaluation", "action", "actor", "old_score", "new_score")
    list_filter = ("action",)
    list_select_related = ("evaluation", "actor")
    date_hierarchy = "at"


class NoticeEmailFilter(admin.SimpleListFilter):
    title = "e-mail"
    parameter_name = "email"

    def lookups(self, request, model_admin):
        return [
            ("sent", "Sent"),
            ("retrying", "Retrying (a transient failure)"),
            ("failed", "Not delivered"),
            ("untried", "Not tried"),
        ]

    def queryset(self, request, queryset):
        pending = queryset.filter(emailed_at__isnull=True, email_failed_at__isnull=True)
        return {
            "sent": queryset.filter(emailed_at__isnull=False),
            "retrying": pending.filter(email_retry_at__isnull=False),
            "failed": queryset.filter(email_failed_at__isnull=False),
            "untried": pending.filter(email_attempts=0),
        }.get(self.value(), queryset)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """Read-only: notices are written by scoring.notices.services (one per event and recipient)."""

    list_display = (
        "created_at",
        "recipient",
        "kind",
        "evaluation",
        "dispute",
        "coaching_session",
        "read_at",
        "email_status",
    )
    list_filter = (NoticeEmailFilter, "kind")
    list_select_related = ("recipient", "evaluation", "dispute", "coaching_session")
    search_fields = ("recipient__username",)
    date_hierarchy = "created_at"

    @admin.display(description="e-mail")
    def email_status(self, notice: Notice) -> str:
        if notice.emailed_at:
            return f"sent {notice.emailed_at:%Y-%m-%d %H:%M}"
        if notice.email_failed_at:
            return f"not delivered: {notice.email_error}"
        if notice.email_retry_at:
            return f"retry {notice.email_retry_at:%Y-%m-%d %H:%M} (attempt {notice.email_attempts} failed: {notice.email_error})"
        return "—"


@admin.register(CoachingSession)
class CoachingSessionAdmin(ReadOnlyAdmin):
    """Read-only: sessions are recorded by scoring.coaching.services (permission checks, the agent's notice)."""

    list_display = ("held_on", "agent", "coach", "follow_up_on", "acknowledged_at", "created_at")
    list_select_related = ("agent", "coach")
    search_fields = ("agent__name", "agent__employee_code", "coach__username")
    date_hierarchy = "held_on"


@admin.register(NoticeSilentEvent)
class NoticeSilentEventAdmin(ReadOnlyAdmin):
    """Read-only: events resolved with nobody to tell (kept while inside the sweep's look-back)."""

    list_display = ("event_at", "kind", "event_key", "evaluation", "dispute", "resolved_at")
    list_filter = ("kind",)
    search_fields = ("event_key",)
