"""Read paths for calls. Derived metrics are SQL annotations; permission scoping lives here too."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import (
    Avg,
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from . import roles
from .models import Agent, Call, Escalation, Team, Transfer


def repeat_window() -> timedelta:
    return timedelta(days=settings.REPEAT_CONTACT_WINDOW_DAYS)


def call_annotate_metrics(queryset: QuerySet[Call]) -> QuerySet[Call]:
    """Annotate transfer_count, is_escalated, has_repeat_contact, is_first_contact_resolution, handle_seconds_total.

    A repeat contact is a later call by the same customer that starts within REPEAT_CONTACT_WINDOW_DAYS
    of this one. First-contact resolution = resolved, never transferred, no repeat contact.
    """
    transfer_counts = (
        Transfer.objects.filter(call=OuterRef("pk")).order_by().values("call").annotate(n=Count("*")).values("n")
    )
    later_contact = Call.objects.filter(
        customer_id=OuterRef("customer_id"),
        started_at__gt=OuterRef("started_at"),
        started_at__lte=ExpressionWrapper(OuterRef("started_at") + Value(repeat_window()), output_field=DateTimeField()),
    )
    return queryset.annotate(
        transfer_count=Coalesce(Subquery(transfer_counts, output_field=IntegerField()), 0),
        is_escalated=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
        has_repeat_contact=Exists(later_contact),
        handle_seconds_total=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
    ).annotate(
        is_first_contact_resolution=ExpressionWrapper(
            Q(is_resolved=True) & Q(transfer_count=0) & Q(has_repeat_contact=False),
            output_field=BooleanField(),
        )
    )


def call_summary(queryset: QuerySet[Call]) -> dict:
    """Totals and rates over a call queryset, in one SQL query. Rates are fractions in [0, 1] or None."""
    annotated = call_annotate_metrics(queryset.order_by())
    totals = annotated.aggregate(
        calls=Count("pk"),
        transferred=Count("pk", filter=Q(transfer_count__gt=0)),
        escalated=Count("pk", filter=Q(is_escalated=True)),
        resolved=Count("pk", filter=Q(is_resolved=True)),
        first_contact_resolved=Count("pk", filter=Q(is_first_contact_resolution=True)),
        repeat_contacts=Count("pk", filter=Q(has_repeat_contact=True)),
        average_handle_seconds=Avg("handle_seconds_total"),
        average_wait_seconds=Avg("wait_seconds"),
    )
    n = totals["calls"]
    for key in ("transferred", "escalated", "resolved", "first_contact_resolved", "repeat_contacts"):
        totals[f"{key}_rate"] = totals[key] / n if n else None
    return totals


# --- permission scoping --------------------------------------------------------------------------


def team_list_for_user(user) -> QuerySet[Team]:
    """Teams a user may look at: admins and reviewers all, supervisors the teams they lead, agents their own."""
    if roles.is_admin(user) or roles.is_reviewer(user):
        return Team.objects.all()
    if roles.is_supervisor(user):
        return Team.objects.filter(supervisors=user)
    agent = agent_for_user(user)
    if agent is not None and agent.team_id:
        return Team.objects.filter(pk=agent.team_id)
    return Team.objects.none()


def agent_for_user(user) -> Agent | None:
    if not user.is_authenticated:
        return None
    return Agent.objects.filter(user=user).first()


def agent_list_for_user(user) -> QuerySet[Agent]:
    if roles.is_admin(user) or roles.is_reviewer(user):
        return Agent.objects.select_related("team")
    if roles.is_supervisor(user):
        return Agent.objects.filter(team__supervisors=user).select_related("team")
    return Agent.objects.filter(user=user).select_related("team")


def call_list_for_user(user) -> QuerySet[Call]:
    """Calls a user may see: admins and reviewers all; supervisors calls handled (on any leg) by their
    teams' agents; agents calls they handled on any leg; anyone else nothing."""
    base = Call.objects.select_related("agent", "agent__team", "department", "customer")
    if not user.is_authenticated:
        return base.none()
    if roles.is_admin(user) or roles.is_reviewer(user):
        return base
    visible = Q(pk__in=[])
    if roles.is_supervisor(user):
        visible |= Q(agent__team__supervisors=user) | Exists(
            Transfer.objects.filter(call=OuterRef("pk"), to_agent__team__supervisors=user)
        )
    agent = agent_for_user(user)
    if agent is not None:
        visible |= Q(agent=agent) | Exists(Transfer.objects.filter(call=OuterRef("pk"), to_agent=agent))
    return base.filter(visible)


def call_get_for_user(user, *, pk: int) -> Call:
    """The call if the user may see it; 404 otherwise (a foreign call must look like a missing one)."""
    try:
        return call_list_for_user(user).get(pk=pk)
    except Call.DoesNotExist:
        raise Http404("No such call") from None


def call_timeline(call: Call) -> list[dict]:
    """Start, answer, transfers, escalations and end of a call in time order."""
    events: list[dict] = [{"at": call.started_at, "kind": "started", "call": call}]
    if call.answered_at:
        events.append({"at": call.answered_at, "kind": "answered", "call": call})
    for transfer in call.transfers.select_related("from_department", "to_department", "from_agent", "to_agent"):
        events.append({"at": transfer.at, "kind": "transfer", "transfer": transfer})
    for escalation in call.escalations.all():
        events.append({"at": escalation.raised_at, "kind": "escalation", "escalation": escalation})
        if escalation.resolved_at:
            events.append({"at": escalation.resolved_at, "kind": "escalation_resolved", "escalation": escalation})
    events.append({"at": call.ended_at, "kind": "ended", "call": call})
    order = {"started": 0, "answered": 1, "transfer": 2, "escalation": 3, "escalation_resolved": 4, "ended": 5}
    return sorted(events, key=lambda e: (e["at"], order[e["kind"]]))


def customer_contacts(call: Call, *, user) -> QuerySet[Call]:
    """The same customer's other contacts that the user may see, newest first."""
    if call.customer_id is None:
        return Call.objects.none()
    return call_annotate_metrics(
        call_list_for_user(user).filter(customer_id=call.customer_id).exclude(pk=call.pk)
    ).order_by("-started_at")
