"""Read paths for surveys: permission-scoped response lists and NPS aggregates in SQL."""

from __future__ import annotations

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from calls import roles
from calls.models import Call
from calls.selectors import agent_for_user

from .metrics import NpsInterval, csat_interval, mean_interval, nps_interval
from .models import (
    CES_MAX,
    CSAT_SATISFIED_MIN,
    Category,
    ResponseCredit,
    SurveyInvitation,
    SurveyResponse,
)


def response_list_for_user(user) -> QuerySet[SurveyResponse]:
    """Responses a user may see: reviewers and admins all; supervisors those credited to an agent of a
    team they lead; agents those credited to them (on any leg); anyone else none."""
    base = SurveyResponse.objects.select_related(
        "call", "call__agent", "call__department", "customer", "invitation"
    ).prefetch_related(
        Prefetch(
            "credits", queryset=ResponseCredit.objects.select_related("agent", "agent__team").order_by("leg")
        )
    )
    if not user.is_authenticated:
        return base.none()
    if roles.is_admin(user) or roles.is_reviewer(user):
        return base
    visible = Q(pk__in=[])
    if roles.is_supervisor(user):
        visible |= Exists(
            ResponseCredit.objects.filter(response=OuterRef("pk"), agent__team__supervisors=user)
        )
    agent = agent_for_user(user)
    if agent is not None:
        visible |= Exists(ResponseCredit.objects.filter(response=OuterRef("pk"), agent=agent))
    return base.filter(visible)


def response_get_for_user(user, *, pk: int) -> SurveyResponse:
    """The response if the user may see it; 404 otherwise (a foreign response looks like a missing one)."""
    try:
        return response_list_for_user(user).get(pk=pk)
    except SurveyResponse.DoesNotExist:
        raise Http404("No such response") from None


def response_for_call_for_user(user, *, call: Call) -> SurveyResponse | None:
    """The call's response, if it has one the user may see."""
    return response_list_for_user(user).filter(call=call).first()


def response_filter(
    queryset: QuerySet[SurveyResponse],
    *,
    category: str = "",
    agent_id: int | None = None,
    team_id: int | None = None,
    source: str = "",
    date_from=None,
    date_to=None,
    primary_only: bool = False,
) -> QuerySet[SurveyResponse]:
    """Narrow a response queryset; agent/team filters match any credited leg (or only the primary)."""
    if category:
        queryset = queryset.filter(category=category)
    if source:
        queryset = queryset.filter(source=source)
    if date_from:
        queryset = queryset.filter(received_at__date__gte=date_from)
    if date_to:
        queryset = queryset.filter(received_at__date__lte=date_to)
    credit_filter = Q(response=OuterRef("pk"))
    if primary_only:
        credit_filter &= Q(is_primary=True)
    if agent_id:
        queryset = queryset.filter(Exists(ResponseCredit.objects.filter(credit_filter, agent_id=agent_id)))
    if team_id:
        queryset = queryset.filter(
            Exists(ResponseCredit.objects.filter(credit_filter, agent__team_id=team_id))
        )
    return queryset


def nps_counts(queryset: QuerySet[SurveyResponse]) -> dict[str, int]:
    """Promoter, passive and detractor counts of a response queryset in one SQL query."""
    return queryset.order_by().aggregate(
        promoters=Count("pk", filter=Q(category=Category.PROMOTER)),
        passives=Count("pk", filter=Q(category=Category.PASSIVE)),
        detractors=Count("pk", filter=Q(category=Category.DETRACTOR)),
    )


def nps_summary(queryset: QuerySet[SurveyResponse]) -> dict:
    """Counts plus NPS and its 95% interval (see metrics.nps_interval), and the optional companions:
    CSAT (share of 4–5 answers, Wilson interval) and CES (mean effort, t-interval) over the responses that
    answered them. One SQL query."""
    row = queryset.order_by().aggregate(
        promoters=Count("pk", filter=Q(category=Category.PROMOTER)),
        passives=Count("pk", filter=Q(category=Category.PASSIVE)),
        detractors=Count("pk", filter=Q(category=Category.DETRACTOR)),
        csat_n=Count("csat"),
        csat_satisfied=Count("pk", filter=Q(csat__gte=CSAT_SATISFIED_MIN)),
        ces_n=Count("ces"),
        ces_sum=Sum("ces"),
        ces_sum_squares=Sum(F("ces") * F("ces")),
    )
    counts = {key: row[key] for key in ("promoters", "passives", "detractors")}
    interval: NpsInterval = nps_interval(counts["promoters"], counts["passives"], counts["detractors"])
    return {
        **counts,
        "n": interval.n,
        "interval": interval,
        "csat": csat_interval(row["csat_satisfied"], row["csat_n"]),
        "ces": mean_interval(
            float(row["ces_sum"] or 0),
            float(row["ces_sum_squares"] or 0),
            row["ces_n"],
            lowest=1,
            highest=CES_MAX,
        ),
    }


def nps_by_agent(queryset: QuerySet[SurveyResponse], *, primary_only: bool = False) -> QuerySet:
    """Per credited agent: promoter/passive/detractor counts (SQL GROUP BY over credits)."""
    credits = ResponseCredit.objects.filter(response__in=queryset.order_by().values("pk"))
    if primary_only:
        credits = credits.filter(is_primary=True)
    return (
        credits.values("agent_id", "agent__name", "agent__employee_code")
        .annotate(
            responses=Count("pk"),
            promoters=Count("pk", filter=Q(response__category=Category.PROMOTER)),
            passives=Count("pk", filter=Q(response__category=Category.PASSIVE)),
            detractors=Count("pk", filter=Q(response__category=Category.DETRACTOR)),
        )
        .order_by("agent__name", "agent_id")
    )


def invitation_decision_counts(queryset: QuerySet[SurveyInvitation] | None = None) -> dict[str, int]:
    """How many invitations per status and per skip reason, in one query."""
    queryset = SurveyInvitation.objects.all() if queryset is None else queryset
    statuses = {
        f"status_{value}": Count("pk", filter=Q(status=value)) for value in SurveyInvitation.Status.values
    }
    reasons = {
        f"skipped_{value}": Count("pk", filter=Q(skip_reason=value))
        for value in SurveyInvitation.SkipReason.values
        if value
    }
    return queryset.order_by().aggregate(total=Count("pk"), **statuses, **reasons)
