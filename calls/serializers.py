"""Read API representations of calls (GET /api/calls/, /api/calls/{id}/): what the calls list and the call page
show, with the same masking. Expects the rows of calls.selectors (metrics and repeat flags annotated, related
rows joined or prefetched) and `can_see_phone` in the serializer context."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Call, Channel, Customer, Direction
from .templatetags.calls_tags import http_url_or_empty, phone_for


class CallAgentSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The `agent` filter takes it.")
    employee_code = serializers.CharField()
    name = serializers.CharField()


class CallTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The `team` filter takes it.")
    name = serializers.CharField()


class CallDepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The `department` filter takes it.")
    name = serializers.CharField()


class CallCustomerSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()
    tier = serializers.ChoiceField(choices=Customer.Tier.choices)
    phone = serializers.SerializerMethodField(
        help_text="In full for supervisors and admins; others get it masked to its last four digits "
        "(•••••••1234), as on the calls pages. Empty when unknown."
    )

    @extend_schema_field(OpenApiTypes.STR)
    def get_phone(self, customer: Customer) -> str:
        return phone_for(customer.phone, self.context["can_see_phone"])


_WINDOW = "REPEAT_CONTACT_WINDOW_DAYS days (7 unless configured)"


class CallSerializer(serializers.Serializer):
    """A call as the calls list shows it (no transcript)."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Direction.choices)
    started_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True, help_text="Null: never answered.")
    ended_at = serializers.DateTimeField()
    wait_seconds = serializers.IntegerField()
    talk_seconds = serializers.IntegerField()
    hold_seconds = serializers.IntegerField()
    wrap_seconds = serializers.IntegerField()
    handle_seconds = serializers.IntegerField(
        source="handle_seconds_total", help_text="talk + hold + wrap seconds (the wait is apart)."
    )
    disposition = serializers.CharField()
    resolved = serializers.BooleanField(source="is_resolved")
    agent = CallAgentSerializer(
        allow_null=True, help_text="The agent who handled the call first; null: nobody took it (abandoned)."
    )
    # Null when the call has no agent too (DRF answers null for a missing link of an allow_null source).
    team = CallTeamSerializer(source="agent.team", allow_null=True, help_text="The handling agent's team.")
    department = CallDepartmentSerializer(allow_null=True)
    customer = CallCustomerSerializer(allow_null=True, help_text="Null: an anonymous caller.")
    transfer_count = serializers.IntegerField()
    escalated = serializers.BooleanField(source="is_escalated")
    first_contact_resolution = serializers.BooleanField(
        source="is_first_contact_resolution",
        allow_null=True,
        help_text="Resolved, never transferred and no repeat contact (has_repeat_contact false); null for an "
        "anonymous caller (whether they called again cannot be known).",
    )
    has_repeat_contact = serializers.BooleanField(
        allow_null=True,
        help_text=f"The same customer made another contact within {_WINDOW} after this call; null for an "
        "anonymous caller. While that window is open it may still turn true (and first_contact_resolution false).",
    )
    is_repeat_contact = serializers.BooleanField(
        allow_null=True,
        help_text=f"This call came within {_WINDOW} after an earlier contact of the same customer; null for an "
        "anonymous caller.",
    )
    updated_at = serializers.DateTimeField(
        help_text="When the record (with its transfers and escalations) last changed: an import that changed it, "
        "or an edit. A client syncs by asking for `updated_since` the moment its previous sync started. The "
        "derived flags above are not part of the record: a later contact of the customer can change them "
        f"within {_WINDOW} without changing updated_at."
    )


class CallTransferSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    at = serializers.DateTimeField()
    from_department = CallDepartmentSerializer(allow_null=True)
    to_department = CallDepartmentSerializer(allow_null=True)
    from_agent = CallAgentSerializer(allow_null=True)
    to_agent = CallAgentSerializer(allow_null=True)
    reason = serializers.CharField()


class CallEscalationSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    level = serializers.CharField(
        help_text="tier2, supervisor, complaint or other; an imported level outside these as it was written."
    )
    reason = serializers.CharField()
    raised_at = serializers.DateTimeField()
    outcome = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True, help_text="Null: not resolved (yet).")


class CallDetailSerializer(CallSerializer):
    """A call as its page shows it: the list's fields, the transcript, the recording and the timeline's
    transfers and escalations in sequence order."""

    transcript = serializers.CharField()
    recording_url = serializers.SerializerMethodField(
        help_text="The recording's http(s) address, as the call page links it; null without one."
    )
    transfers = CallTransferSerializer(many=True)
    escalations = CallEscalationSerializer(many=True)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_recording_url(self, call: Call) -> str | None:
        return http_url_or_empty(call.recording_url) or None
