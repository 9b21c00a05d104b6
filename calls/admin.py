"""Django admin for calls data. Tables grow to millions of rows: foreign keys use autocomplete or raw ids
(never a <select> of every row), changelists select their related rows in the same query, and the
call changelist skips the second, unfiltered COUNT(*)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.text import smart_split, unescape_string_literal

from .models import Agent, Call, CallImport, CallImportFile, Customer, Department, Escalation, Team, Transfer
from .rollups import agent_day_stats_refresh_on_commit
from .selectors import call_exact_matches, call_text_search


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "team_count")
    search_fields = ("name",)
    # The count below is a GROUP BY, which drops Meta.ordering: the autocomplete would page an unordered list.
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return super().get_queryset(request).annotate(team_count=Count("teams"))

    @admin.display(description="Teams", ordering="team_count")
    def team_count(self, obj: Department) -> int:
        return obj.team_count


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "department", "agent_count")
    list_filter = ("department",)
    list_select_related = ("department",)
    search_fields = ("name",)
    # As DepartmentAdmin: the agent count drops Meta.ordering.
    ordering = ("name",)
    autocomplete_fields = ("department",)
    filter_horizontal = ("supervisors",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(agent_count=Count("agents"))

    @admin.display(description="Agents", ordering="agent_count")
    def agent_count(self, obj: Team) -> int:
        return obj.agent_count


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("employee_code", "name", "team", "user", "is_active")
    list_filter = ("is_active", "team")
    list_select_related = ("team", "user")
    # No trigram index: a few hundred agents are scanned in under a millisecond.
    search_fields = ("employee_code", "name", "user__username")
    autocomplete_fields = ("team",)
    raw_id_fields = ("user",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "tier", "phone", "email")
    list_filter = ("tier",)
    # Each is served by its trigram index on PostgreSQL (migration calls 0008): a bitmap OR of the four.
    search_fields = ("external_id", "name", "phone", "email")
    show_full_result_count = False


class TransferInline(admin.TabularInline):
    """The transfer path at a glance. Read-only here because every editable foreign-key widget (select,
    raw id or autocomplete) looks up its current value with one query per row; a transfer is edited on
    its own page ("change" link), added from the Transfer admin, and normally comes from the importer."""

    model = Transfer
    extra = 0
    fields = ("sequence", "at", "from_department", "from_agent", "to_department", "to_agent", "reason")
    readonly_fields = fields
    ordering = ("sequence",)
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Call | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Transfer]:
        return (
            super()
            .get_queryset(request)
            .select_related("from_department", "to_department", "from_agent", "to_agent")
        )


class EscalationInline(admin.TabularInline):
    model = Escalation
    extra = 0
    fields = ("sequence", "level", "reason", "raised_at", "outcome", "resolved_at")
    ordering = ("sequence",)


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "started_at",
        "channel",
        "direction",
        "agent",
        "department",
        "customer",
        "handle_time",
        "is_resolved",
    )
    list_filter = ("channel", "direction", "is_resolved", "department")
    list_select_related = ("agent", "department", "customer")
    search_fields = ("external_id", "customer__external_id", "agent__employee_code")
    date_hierarchy = "started_at"
    autocomplete_fields = ("agent", "department", "customer")
    readonly_fields = ("content_hash", "created_at", "updated_at")
    inlines = (TransferInline, EscalationInline)
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("external_id", "channel", "direction", "customer", "agent", "department")}),
        ("Timing", {"fields": ("started_at", "answered_at", "ended_at")}),
        ("Durations (seconds)", {"fields": ("wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds")}),
        ("Outcome", {"fields": ("disposition", "is_resolved", "recording_url", "transcript")}),
        ("Import", {"classes": ("collapse",), "fields": ("content_hash", "created_at", "updated_at")}),
    )

    @admin.display(description="Handle (s)")
    def handle_time(self, obj: Call) -> int:
        return obj.handle_seconds

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Call], search_term: str
    ) -> tuple[QuerySet[Call], bool]:
        """A whole call id, customer id or agent code, as written, gives that call or those calls
        (selectors.call_exact_matches); anything else is split into words as Django's admin does (quotes keep
        a phrase together), and each word is searched as any part of the call id, customer id or agent code
        (selectors.call_text_search, through the trigram indexes) — the same calls as search_fields."""
        if term := search_term.strip():
            exact = call_exact_matches(queryset, term, agent_code=True)
            if exact is not None:
                return exact, False
        for bit in smart_split(search_term):
            if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
                bit = unescape_string_literal(bit)
            queryset = call_text_search(queryset, bit, customer_fields=("external_id",), agent_code=True)
        return queryset, False

    # The per-agent-day rollups (calls.rollups) follow every change made here, inline transfers and
    # escalations included: save_related runs after the inlines are saved. The form's initial start is the
    # call's start before the edit, whose days need refreshing as much as the new start's.
    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        call = form.instance
        agent_day_stats_refresh_on_commit(
            started_ats=[call.started_at, form.initial.get("started_at")],
            agent_ids=[call.agent_id, form.initial.get("agent")],
            customer_ids=[call.customer_id, form.initial.get("customer")],
            call_ids=[call.pk],
        )

    def delete_model(self, request: HttpRequest, obj: Call) -> None:
        started_at, agent_id, customer_id, call_id = obj.started_at, obj.agent_id, obj.customer_id, obj.pk
        super().delete_model(request, obj)
        agent_day_stats_refresh_on_commit(
            started_ats=[started_at], agent_ids=[agent_id], customer_ids=[customer_id], call_ids=[call_id]
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        deleted = list(queryset.values_list("started_at", "agent_id", "customer_id", "pk"))
        super().delete_queryset(request, queryset)
        agent_day_stats_refresh_on_commit(
            started_ats=[row[0] for row in deleted],
            agent_ids=[row[1] for row in deleted],
            customer_ids=[row[2] for row in deleted],
            call_ids=[row[3] for row in deleted],
        )


class CallPartAdmin(admin.ModelAdmin):
    """Transfers and escalations: a change refreshes the rollup days of the call it belongs (or belonged) to.
    Only that call's own flags can change, so no repeat window before it."""

    def _refresh_days_of_calls(self, call_ids: Iterable[int | None]) -> None:
        calls = list(
            Call.objects.filter(pk__in=[pk for pk in call_ids if pk is not None]).values_list(
                "started_at", "agent_id", "pk"
            )
        )
        agent_day_stats_refresh_on_commit(
            started_ats=[started_at for started_at, _, _ in calls],
            agent_ids=[agent_id for _, agent_id, _ in calls],
            call_ids=[pk for _, _, pk in calls],
            include_repeat_window=False,
        )

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The initial call is the one before the edit, if the part was moved to another call.
        self._refresh_days_of_calls([obj.call_id, form.initial.get("call")])

    def delete_model(self, request: HttpRequest, obj) -> None:
        super().delete_model(request, obj)
        self._refresh_days_of_calls([obj.call_id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        call_ids = set(queryset.values_list("call_id", flat=True))
        super().delete_queryset(request, queryset)
        self._refresh_days_of_calls(call_ids)


@admin.register(Transfer)
class TransferAdmin(CallPartAdmin):
    list_display = (
        "call",
        "sequence",
        "at",
        "from_department",
        "to_department",
        "from_agent",
        "to_agent",
        "reason",
    )
    list_filter = ("to_department", "from_department")
    list_select_related = ("call", "from_department", "to_department", "from_agent", "to_agent")
    search_fields = ("call__external_id", "reason")
    date_hierarchy = "at"
    raw_id_fields = ("call",)
    autocomplete_fields = ("from_department", "to_department", "from_agent", "to_agent")
    show_full_result_count = False


@admin.register(Escalation)
class EscalationAdmin(CallPartAdmin):
    list_display = ("call", "sequence", "level", "reason", "raised_at", "outcome", "resolved_at")
    list_filter = ("level",)
    list_select_related = ("call",)
    search_fields = ("call__external_id", "reason", "outcome")
    date_hierarchy = "raised_at"
    raw_id_fields = ("call",)
    show_full_result_count = False


class CallImportFileInline(admin.TabularInline):
    model = CallImportFile
    fields = ("position", "name", "size", "rejects_name")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallImportFile]:
        return super().get_queryset(request).defer("data", "rejects")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CallImport)
class CallImportAdmin(admin.ModelAdmin):
    """Uploaded imports, read-only (they are started on /calls/imports/); deleting one frees its files."""

    list_display = ("id", "created_at", "created_by", "status", "written", "created", "updated", "rejected")
    list_filter = ("status", "written")
    date_hierarchy = "created_at"
    list_select_related = ("created_by",)
    inlines = [CallImportFileInline]
    readonly_fields = [field.name for field in CallImport._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
