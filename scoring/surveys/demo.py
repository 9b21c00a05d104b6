"""Demo survey data for the calls already in the database: decisions (invited, skipped with reasons),
deliveries, expired links, opt-outs and responses whose scores follow each agent's demo profile
(calls.demo.agent_profile) and the call's outcome (transfers, escalations, unresolved → lower scores).

Invitations, deliveries and non-detractor responses are bulk-inserted; detractors go through
services.response_record so their follow-up cases are opened exactly as in production. A re-run
creates nothing for calls that already have a decision.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Prefetch
from django.utils import timezone

from calls.demo import AgentProfile, agent_profile
from calls.models import Call, Transfer

from . import channels as channel_registry
from . import services
from .models import (
    CustomerOptOut,
    ResponseCredit,
    SurveyDelivery,
    SurveyInvitation,
    SurveyResponse,
    category_for_score,
)
from .tokens import token_generate

Status = SurveyInvitation.Status
SkipReason = SurveyInvitation.SkipReason

RESPONSE_RATE = 0.38
BOUNCE_RATE = 0.03
RETRIED_RATE = 0.06
OPT_OUT_AFTER_DETRACTOR = 0.12
OPT_OUT_AFTER_OTHER = 0.02
NEUTRAL_SKILL = 0.6

_PROMOTER_COMMENTS = (
    "Quick and friendly, sorted in one call.",
    "{agent} was great — really listened.",
    "Problem solved, thank you!",
    "Very helpful and polite.",
    "Easy. Didn't have to repeat myself.",
)
_PASSIVE_COMMENTS = (
    "Fine, but the wait was long.",
    "Got there in the end.",
    "OK. Took longer than I expected.",
    "Helpful, though I had to explain things twice.",
)
_DETRACTOR_TRANSFERRED = (
    "I was passed between {people} people and had to repeat my story each time.",
    "Transferred again and again. Nobody owned my problem.",
)
_DETRACTOR_UNRESOLVED = (
    "My problem still isn't fixed.",
    "They said it was sorted. It isn't.",
    "I'll have to call again, which is exactly what I didn't want.",
)
_DETRACTOR_ESCALATED = ("I had to ask for a manager to get anywhere.", "Only got help after complaining.")
_DETRACTOR_OTHER = ("Rude and rushed.", "Nobody seemed to know what to do.", "Too long on hold.")


def _profile(employee_code: str | None) -> AgentProfile | None:
    if not employee_code:
        return None
    try:
        return agent_profile(employee_code)
    except ValueError:  # not a demo code ("A-<n>"): a real agent, no profile
        return None


def demo_score(
    *,
    rng: random.Random,
    first: AgentProfile | None,
    final: AgentProfile | None,
    is_resolved: bool,
    transfers: int,
    is_escalated: bool,
) -> int:
    """A 0–10 answer: the final agent's resolution, empathy and closing and the first agent's greeting
    set the mean; unresolved, each transfer and an escalation pull it down."""

    def skill(profile: AgentProfile | None, name: str) -> float:
        return getattr(profile, name) if profile is not None else NEUTRAL_SKILL

    quality = (
        0.4 * skill(final, "resolution")
        + 0.25 * skill(final, "empathy")
        + 0.2 * skill(final, "closing")
        + 0.15 * skill(first, "greeting")
    )
    mean = (
        4.5
        + 5.2 * quality
        + (1.0 if is_resolved else -2.2)
        - 1.1 * transfers
        - (1.2 if is_escalated else 0.0)
    )
    return max(0, min(10, round(rng.gauss(mean, 1.6))))


CSAT_ANSWER_RATE = 0.75  # of respondents, who also answer the optional satisfaction question
CES_ANSWER_RATE = 0.6  # ... and the optional effort question


def _companion_answers(external_id: str, *, score: int, transfers: int) -> dict[str, int | None]:
    """Optional CSAT (1–5) and CES (1–7) answers that go with an NPS score: satisfaction follows the score,
    effort also suffers from each transfer. Drawn from their own generator, seeded by the call, so adding
    them left every other demo figure as it was."""
    rng = random.Random(f"companions:{external_id}")
    csat = ces = None
    if rng.random() < CSAT_ANSWER_RATE:
        csat = min(5, max(1, round(1 + score * 0.4 + rng.gauss(0, 0.6))))
    if rng.random() < CES_ANSWER_RATE:
        ces = min(7, max(1, round(1.5 + score * 0.5 - transfers + rng.gauss(0, 0.8))))
    return {"csat": csat, "ces": ces}


def _comment(
    rng: random.Random, *, score: int, call: Call, transfers: int, final: AgentProfile | None
) -> str:
    if rng.random() < 0.45:
        return ""
    category = category_for_score(score)
    if category == "promoter":
        text = rng.choice(_PROMOTER_COMMENTS)
    elif category == "passive":
        text = rng.choice(_PASSIVE_COMMENTS)
    elif transfers:
        text = rng.choice(_DETRACTOR_TRANSFERRED)
    elif not call.is_resolved:
        text = rng.choice(_DETRACTOR_UNRESOLVED)
    elif call.escalation_count:
        text = rng.choice(_DETRACTOR_ESCALATED)
    else:
        text = rng.choice(_DETRACTOR_OTHER)
    return text.format(agent=final.first_name if final else "The agent", people=transfers + 1)


@transaction.atomic
def seed_surveys(*, seed: int = 42, stdout=None, now: datetime | None = None) -> dict:
    """Survey decisions, deliveries and responses for every ended call without a decision. Returns counts."""
    now = now or timezone.now()
    rng = random.Random(f"surveys:{seed}")
    delay = timedelta(seconds=settings.SURVEY_DELAY_SECONDS)
    ttl = timedelta(days=settings.SURVEY_LINK_TTL_DAYS)
    fatigue = timedelta(days=settings.SURVEY_FATIGUE_DAYS)

    # What earlier runs (or production) already decided, so fatigue and opt-outs carry over.
    last_invited = dict(
        SurveyInvitation.objects.exclude(status=Status.SKIPPED)
        .values("customer_id")
        .annotate(last=Max("created_at"))
        .values_list("customer_id", "last")
    )
    opted_out_at = dict(CustomerOptOut.objects.values_list("customer_id", "created_at"))
    calls = (
        Call.objects.filter(survey_invitation__isnull=True, ended_at__lte=now - delay)
        .select_related("customer", "agent")
        .prefetch_related(
            Prefetch("transfers", queryset=Transfer.objects.select_related("to_agent").order_by("sequence"))
        )
        .annotate(escalation_count=Count("escalations"))
        .order_by("ended_at", "pk")
    )

    invitations: list[SurveyInvitation] = []
    plans: list[dict] = []  # per invited call: what happens to it after the invitation row exists
    new_opt_outs: dict[int, datetime] = {}
    skipped: Counter[str] = Counter()
    for call in calls.iterator(chunk_size=2000):
        decided_at = call.ended_at + delay
        customer = call.customer
        reason = ""
        choice = None
        if customer is None:
            reason = SkipReason.ANONYMOUS
        elif call.answered_at is None:
            reason = SkipReason.ABANDONED
        elif customer.pk in opted_out_at and opted_out_at[customer.pk] <= decided_at:
            reason = SkipReason.OPTED_OUT
        elif (choice := channel_registry.channel_choose(customer)) is None:
            reason = SkipReason.NO_CONTACT
        elif not services.survey_is_sampled(call.external_id, settings.SURVEY_SAMPLE_RATE):
            reason = SkipReason.SAMPLED_OUT
        elif fatigue and customer.pk in last_invited and decided_at - last_invited[customer.pk] < fatigue:
            reason = SkipReason.FATIGUE
        if reason:
            skipped[str(reason)] += 1
            invitations.append(
                SurveyInvitation(
                    call=call,
                    customer=customer,
                    status=Status.SKIPPED,
                    skip_reason=reason,
                    created_at=decided_at,
                )
            )
            continue
        channel_name, channel, address = choice
        last_invited[customer.pk] = decided_at
        bounced = rng.random() < BOUNCE_RATE
        attempts = 1 if bounced or rng.random() >= RETRIED_RATE else rng.randint(2, 3)
        sent_at = decided_at + timedelta(seconds=5 + 60 * (attempts - 1))
        expires_at = decided_at + ttl
        plan = {"call": call, "bounced": bounced, "attempts": attempts, "sent_at": sent_at, "to": address}
        plan["channel"] = channel_registry.channel_key(channel, channel_name)
        if not bounced and rng.random() < RESPONSE_RATE:
            answered_at = sent_at + timedelta(
                hours=min(rng.expovariate(1 / 10), ttl.total_seconds() / 3600 - 1)
            )
            if answered_at <= now:
                transfers = list(call.transfers.all())
                first = _profile(call.agent.employee_code if call.agent else None)
                final_agent = transfers[-1].to_agent if transfers and transfers[-1].to_agent else call.agent
                final = _profile(final_agent.employee_code if final_agent else None)
                score = demo_score(
                    rng=rng,
                    first=first,
                    final=final,
                    is_resolved=call.is_resolved,
                    transfers=len(transfers),
                    is_escalated=bool(call.escalation_count),
                )
                plan.update(
                    answered_at=answered_at,
                    score=score,
                    **_companion_answers(call.external_id, score=score, transfers=len(transfers)),
                    comment=_comment(rng, score=score, call=call, transfers=len(transfers), final=final),
                    transfers=[(t.sequence, t.from_agent_id, t.to_agent_id) for t in transfers],
                )
                opt_out_chance = OPT_OUT_AFTER_DETRACTOR if score <= 6 else OPT_OUT_AFTER_OTHER
                if rng.random() < opt_out_chance and customer.pk not in opted_out_at:
                    opted_out_at[customer.pk] = new_opt_outs[customer.pk] = answered_at
        _raw, digest = token_generate()
        invitations.append(
            SurveyInvitation(
                call=call,
                customer=customer,
                status=Status.FAILED if bounced else Status.SENT,
                channel=plan["channel"],
                token_hash=digest,
                expires_at=expires_at,
                sent_at=None if bounced else sent_at,
                used_at=plan.get("answered_at"),
                created_at=decided_at,
            )
        )
        plans.append(plan)

    SurveyInvitation.objects.bulk_create(invitations, batch_size=2000)
    invitation_by_call = {inv.call_id: inv for inv in invitations}
    SurveyDelivery.objects.bulk_create(
        [
            SurveyDelivery(
                invitation=invitation_by_call[plan["call"].pk],
                channel=plan["channel"],
                to=plan["to"],
                status=SurveyDelivery.Status.FAILED if plan["bounced"] else SurveyDelivery.Status.SENT,
                attempts=plan["attempts"],
                error="550 5.1.1 mailbox unavailable" if plan["bounced"] else "",
                next_attempt_at=plan["sent_at"],
                sent_at=None if plan["bounced"] else plan["sent_at"],
                created_at=invitation_by_call[plan["call"].pk].created_at,
            )
            for plan in plans
        ],
        batch_size=2000,
    )
    CustomerOptOut.objects.bulk_create(
        [CustomerOptOut(customer_id=pk, created_at=at) for pk, at in new_opt_outs.items()],
        batch_size=2000,
        ignore_conflicts=True,
    )

    answered = [plan for plan in plans if "score" in plan]
    bulk = [plan for plan in answered if category_for_score(plan["score"]) != "detractor"]
    responses = SurveyResponse.objects.bulk_create(
        [
            SurveyResponse(
                call=plan["call"],
                customer=plan["call"].customer,
                invitation=invitation_by_call[plan["call"].pk],
                score=plan["score"],
                category=category_for_score(plan["score"]),
                csat=plan["csat"],
                ces=plan["ces"],
                comment=plan["comment"],
                source=SurveyResponse.Source.SURVEY_LINK,
                received_at=plan["answered_at"],
                created_at=plan["answered_at"],
            )
            for plan in bulk
        ],
        batch_size=2000,
    )
    credits = [
        ResponseCredit(response=response, agent_id=agent_id, leg=leg, is_primary=is_primary)
        for response, plan in zip(responses, bulk, strict=True)
        for agent_id, leg, is_primary in services.credit_plan(
            services.call_legs(plan["call"].agent_id, plan["transfers"]),
            primary=settings.SURVEY_PRIMARY_AGENT,
        )
    ]
    ResponseCredit.objects.bulk_create(credits, batch_size=5000)
    # Detractors one by one through the real service: it credits the agents and opens the follow-up.
    detractors = 0
    for plan in answered:
        if category_for_score(plan["score"]) == "detractor":
            services.response_record(
                call=plan["call"],
                score=plan["score"],
                comment=plan["comment"],
                invitation=invitation_by_call[plan["call"].pk],
                source=SurveyResponse.Source.SURVEY_LINK,
                received_at=plan["answered_at"],
                csat=plan["csat"],
                ces=plan["ces"],
            )
            detractors += 1

    scores = Counter(category_for_score(plan["score"]).value for plan in answered)
    result = {
        "calls": len(invitations),
        "invited": len(plans),
        "skipped": dict(sorted(skipped.items())),
        "sent": sum(1 for plan in plans if not plan["bounced"]),
        "failed": sum(1 for plan in plans if plan["bounced"]),
        "expired": sum(
            1
            for plan in plans
            if not plan["bounced"]
            and "score" not in plan
            and invitation_by_call[plan["call"].pk].expires_at <= now
        ),
        "responses": len(answered),
        "promoters": scores["promoter"],
        "passives": scores["passive"],
        "detractors": detractors,
        "opt_outs": len(new_opt_outs),
    }
    if stdout is not None:
        stdout.write(
            f"surveys: {result['calls']} calls decided, {result['invited']} invited "
            f"({result['failed']} bounced, {result['expired']} expired unanswered), skipped {result['skipped']}; "
            f"{result['responses']} responses ({result['promoters']} promoters, {result['passives']} passives, "
            f"{result['detractors']} detractors → follow-ups), {result['opt_outs']} opt-outs\n"
        )
    return result
