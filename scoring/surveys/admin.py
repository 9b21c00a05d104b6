from django.contrib import admin

from .models import CustomerOptOut, ResponseCredit, SurveyDelivery, SurveyInvitation, SurveyResponse


class ReadOnlyAdminMixin:
    """Responses, credits, invitations and deliveries are written by services (which keep category,
    credits, follow-ups and tokens consistent); the admin only shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ResponseCreditInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ResponseCredit
    extra = 0
    raw_id_fields = ["agent"]
    readonly_fields = ["agent", "leg", "is_primary"]
    can_delete = False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "call", "score", "category", "csat", "ces", "source", "received_at"]
    list_filter = ["category", "source"]
    search_fields = ["call__external_id", "customer__external_id", "idempotency_key"]
    raw_id_fields = ["call", "customer", "invitation"]
    readonly_fields = ["category", "created_at"]
    date_hierarchy = "received_at"
    inlines = [ResponseCreditInline]


class SurveyDeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SurveyDelivery
    extra = 0
    readonly_fields = ["channel", "to", "status", "attempts", "error", "next_attempt_at", "sent_at"]
    can_delete = False


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "call",
        "customer",
        "status",
        "skip_reason",
        "channel",
        "created_at",
        "expires_at",
        "used_at",
    ]
    list_filter = ["status", "skip_reason", "channel"]
    search_fields = ["call__external_id", "customer__external_id"]
    raw_id_fields = ["call", "customer"]
    # The hash is useless to a human and must never be edited into a guessable value.
    readonly_fields = ["token_hash", "used_at", "sent_at", "created_at", "updated_at"]
    inlines = [SurveyDeliveryInline]


@admin.register(CustomerOptOut)
class CustomerOptOutAdmin(admin.ModelAdmin):
    list_display = ["customer", "source", "created_at"]
    raw_id_fields = ["customer"]
    search_fields = ["customer__external_id", "customer__email"]
