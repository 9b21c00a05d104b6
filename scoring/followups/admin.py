from django.contrib import admin, messages

from . import services
from .models import (
    BusinessCalendar,
    ContactAttempt,
    FollowUpCase,
    FollowUpQueue,
    Holiday,
    Notification,
    OpeningHours,
    RootCause,
    SlaPolicy,
)


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]
    prepopulated_fields = {"code": ["name"]}
    search_fields = ["name", "code"]


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone"]
    inlines = [OpeningHoursInline, HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "position",
        "customer_tier",
        "min_score",
        "max_score",
        "resolution_minutes",
        "business_hours_only",
        "calendar",
        "case_priority",
        "is_default",
        "is_active",
    ]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active", "customer_tier", "business_hours_only"]


@admin.register(FollowUpQueue)
class FollowUpQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default"]
    filter_horizontal = ["members"]


class ContactAttemptInline(admin.TabularInline):
    model = ContactAttempt
    extra = 0
    readonly_fields = ["at", "channel", "result", "note", "by"]


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "level", "recipient", "idempotency_key", "channels", "created_at", "read_at"]


@admin.action(description="Retry the failed dispatch of the selected cases")
def retry_dispatch(modeladmin, request, queryset):
    retried = 0
    for case in queryset.filter(dispatch_state=FollowUpCase.DispatchState.FAILED):
        services.followup_dispatch_retry(case=case, by=request.user)
        retried += 1
    modeladmin.message_user(request, f"{retried} dispatch(es) queued again.", messages.SUCCESS)


@admin.register(FollowUpCase)
class FollowUpCaseAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "priority",
        "owner",
        "queue",
        "due_at",
        "dispatch_state",
        "dispatch_attempts",
        "escalation_level",
        "root_cause",
        "created_at",
    ]
    list_filter = ["status", "dispatch_state", "escalation_level", "priority", "root_cause"]
    search_fields = ["call__external_id", "customer__external_id", "customer__name", "response__comment"]
    list_select_related = ["owner", "queue", "root_cause"]
    raw_id_fields = ["response", "call", "customer", "owner", "closed_by"]
    # State moves through the services (board, actions) so the SLA and dispatch invariants hold.
    readonly_fields = [
        "status",
        "due_at",
        "sla_paused_at",
        "paused_seconds",
        "dispatch_state",
        "dispatch_attempts",
        "lease_expires_at",
        "dispatch_after",
        "redriven_at",
        "dispatched_at",
        "dispatch_error",
        "escalation_level",
        "escalated_at",
        "escalation_notified_level",
        "closed_at",
        "closed_by",
        "outcome",
        "root_cause",
        "created_at",
        "updated_at",
    ]
    inlines = [ContactAttemptInline, NotificationInline]
    actions = [retry_dispatch]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "kind", "level", "recipient", "channels", "created_at", "read_at"]
    list_filter = ["kind", "level"]
    search_fields = ["idempotency_key"]
    raw_id_fields = ["case", "recipient"]

    def has_change_permission(self, request, obj=None):
        return False
