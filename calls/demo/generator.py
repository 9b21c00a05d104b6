"""The demo call stream: one record per call in the JSON-contract shape, oldest first."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from .catalog import (
    ABANDONED,
    ANONYMOUS,
    ANYTHING_ELSE,
    BRAND,
    CHANNELS,
    DEFAULT_AGENTS,
    DEFAULT_CALLS,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEMO_TIMEZONE,
    DEPARTMENTS,
    DIFFICULTY,
    ESCALATION_BASE,
    ESCALATIONS,
    FIRST_NAMES,
    HOUR_WEIGHT,
    ISSUES,
    LAST_NAMES,
    TALK_SECONDS,
    TIERS,
    TRANSFER_REASONS,
    TRANSFER_ROUTES,
    TRANSFER_SCALE,
    WEEKDAY_WEIGHT,
)
from .profiles import AgentProfile, demo_agents


@dataclass(frozen=True, slots=True)
class _Customer:
    external_id: str
    name: str
    phone: str
    tier: str
    email: str

    def as_record(self) -> dict:
        return {
            "external_id": self.external_id,
            "name": self.name,
            "phone": self.phone,
            "tier": self.tier,
            "email": self.email,
        }


@lru_cache(maxsize=8192)  # frequent and returning callers; bounded, so memory stays constant
def _customer(seed: int, index: int) -> _Customer:
    """Customer number `index`: always the same details within one seed, so re-imports change nothing."""
    rng = random.Random(f"customer:{seed}:{index}")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}{index}@example.com".lower() if rng.random() < 0.7 else ""
    tier = rng.choices(list(TIERS), weights=list(TIERS.values()))[0]
    return _Customer(f"CU-{index:06d}", f"{first} {last}", f"+1555{index:07d}", tier, email)


@dataclass(slots=True)
class _Prior:
    """What a customer's earlier unresolved contact was about (for a repeat contact)."""

    department: str
    issue: tuple[str, str, str]
    started_at: datetime


def _day_counts(rng: random.Random, calls: int, days: list[date]) -> list[int]:
    """Split `calls` over days by weekday weight with a little noise; exact total (largest remainder)."""
    weights = [WEEKDAY_WEIGHT[d.weekday()] * rng.uniform(0.85, 1.15) for d in days]
    total = sum(weights)
    exact = [calls * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(days)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: calls - sum(counts)]:
        counts[i] += 1
    return counts


def generate_calls(
    *,
    calls: int = DEFAULT_CALLS,
    agents: int = DEFAULT_AGENTS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    end: datetime,
) -> Iterator[dict]:
    """Yield `calls` call records, oldest first, spread over the `days` whole days before `end`'s date."""
    if calls < 0 or agents < 1 or days < 1:
        raise ValueError("calls must be >= 0, agents and days >= 1")
    rng = random.Random(seed)
    roster = demo_agents(agents)
    staff: dict[str, list[AgentProfile]] = {}
    for profile in roster:
        staff.setdefault(profile.department, []).append(profile)
    departments = [d for d in DEPARTMENTS if d in staff]
    department_weights = [DEPARTMENTS[d] for d in departments]
    customer_count = max(20, calls // 2)
    frequent_callers = max(1, customer_count // 20)
    hours, hour_weights = list(HOUR_WEIGHT), list(HOUR_WEIGHT.values())
    channels, channel_weights = list(CHANNELS), list(CHANNELS.values())

    end_day = end.astimezone(DEMO_TIMEZONE).date()
    day_list = [end_day - timedelta(days=days - i) for i in range(days)]
    due: list[tuple[datetime, int, int, _Prior]] = []  # heap of (due, tiebreak, customer, prior)
    pushed = 0
    number = 0
    for day, count in zip(day_list, _day_counts(rng, calls, day_list), strict=True):
        midnight = datetime.combine(day, time(0), tzinfo=DEMO_TIMEZONE)
        offsets = sorted(
            hour * 3600 + rng.randrange(3600) for hour in rng.choices(hours, weights=hour_weights, k=count)
        )
        for offset in offsets:
            number += 1
            started = midnight + timedelta(seconds=offset)
            prior: _Prior | None = None
            if due and due[0][0] <= started:
                _, _, customer_index, prior = heapq.heappop(due)
                customer: _Customer | None = _customer(seed, customer_index)
            elif rng.random() < ANONYMOUS:
                customer = None
            else:
                if rng.random() < 0.12:
                    customer_index = rng.randrange(frequent_callers)
                else:
                    customer_index = rng.randrange(customer_count)
                customer = _customer(seed, customer_index)
            record, callback = _one_call(
                rng,
                number,
                started,
                end,
                customer,
                prior,
                staff,
                departments,
                department_weights,
                channels,
                channel_weights,
            )
            if callback is not None and customer is not None:
                pushed += 1
                heapq.heappush(due, (callback[0], pushed, int(customer.external_id[3:]), callback[1]))
            yield record


def _pick_weighted(rng: random.Random, options: dict[str, float], allowed: list[str] | dict) -> str | None:
    names = [name for name in options if name in allowed]
    if not names:
        return None
    return rng.choices(names, weights=[options[n] for n in names])[0]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _one_call(
    rng: random.Random,
    number: int,
    started: datetime,
    end: datetime,
    customer: _Customer | None,
    prior: _Prior | None,
    staff: dict[str, list[AgentProfile]],
    departments: list[str],
    department_weights: list[float],
    channels: list[str],
    channel_weights: list[float],
) -> tuple[dict, tuple[datetime, _Prior] | None]:
    """One call record, plus (when, what) if this customer will call again about the same thing."""
    if prior is not None and prior.department in staff:
        department, issue = prior.department, prior.issue
    else:
        prior = None
        department = rng.choices(departments, weights=department_weights)[0]
        issue = rng.choice(ISSUES[department])
    channel = rng.choices(channels, weights=channel_weights)[0]
    record = {
        "external_id": f"C-{number:07d}",
        "channel": channel,
        "direction": "inbound",
        "started_at": _iso(started),
        "department": department,
        "customer": customer.as_record() if customer else None,
        "recording_url": None,
        "transfers": [],
        "escalations": [],
    }

    if channel in ("phone", "chat") and rng.random() < ABANDONED:
        wait = int(rng.expovariate(1 / 150)) + 10
        record.update(
            answered_at=None,
            ended_at=_iso(started + timedelta(seconds=wait)),
            wait_seconds=wait,
            talk_seconds=0,
            hold_seconds=0,
            wrap_seconds=0,
            agent=None,
            disposition="abandoned",
            resolved=False,
            transcript="",
        )
        # Callers who hang up in the queue often try again the same day.
        if rng.random() < 0.5:
            return record, (
                started + timedelta(minutes=rng.randint(10, 240)),
                _Prior(department, issue, started),
            )
        return record, None

    agent = rng.choice(staff[department])
    wait = int(rng.expovariate(1 / 45))
    answered = started + timedelta(seconds=wait)
    talk = max(60, int(rng.lognormvariate(0, 0.4) * TALK_SECONDS[department] * agent.handle_time))
    hold = rng.randint(20, 240) if rng.random() < 0.35 else 0

    # The transfer path: each leg goes to another staffed department.
    legs: list[tuple[AgentProfile, AgentProfile, str]] = []
    current = agent
    if rng.random() < agent.transfer_propensity * TRANSFER_SCALE:
        leg_count = 1 + (rng.random() < 0.2) + (rng.random() < 0.05)
        for _ in range(leg_count):
            target = _pick_weighted(rng, TRANSFER_ROUTES[current.department], staff)
            if target is None:
                break
            to_agent = rng.choice(staff[target])
            legs.append((current, to_agent, rng.choice(TRANSFER_REASONS[target])))
            current = to_agent
        talk = int(talk * (1 + 0.35 * len(legs)))
    final = current
    resolved = rng.random() < (0.35 + 0.6 * final.resolution) * DIFFICULTY[final.department] * (
        0.9 if prior else 1.0
    )

    tier_factor = {"standard": 1.0, "gold": 1.2, "platinum": 1.5}[customer.tier if customer else "standard"]
    escalation_chance = (
        ESCALATION_BASE * (0.4 + 1.2 * (1 - agent.empathy)) * (1.6 if not resolved else 0.7) * tier_factor
    )
    escalation = None
    if rng.random() < escalation_chance:
        levels = list(ESCALATIONS)
        level = rng.choices(levels, weights=[ESCALATIONS[lv][0] for lv in levels])[0]
        _, reasons, good, bad = ESCALATIONS[level]
        escalation = (level, rng.choice(reasons), rng.choice(good if resolved else bad))

    ended = answered + timedelta(seconds=talk + hold)
    span = max(1, int((ended - answered).total_seconds()))
    marks = sorted(rng.randrange(span) for _ in range(len(legs) + (escalation is not None)))
    for sequence, (source, target, reason) in enumerate(legs, start=1):
        record["transfers"].append(
            {
                "sequence": sequence,
                "at": _iso(answered + timedelta(seconds=marks[sequence - 1])),
                "from_department": source.department,
                "to_department": target.department,
                "from_agent": source.employee_code,
                "to_agent": target.employee_code,
                "reason": reason,
            }
        )
    if escalation is not None:
        level, reason, outcome = escalation
        raised = answered + timedelta(seconds=marks[-1])
        settled_at = raised + timedelta(hours=rng.randint(1, 72))
        # An escalation cannot have been settled after the moment the data set is generated for.
        settled = (resolved or rng.random() < 0.5) and settled_at <= end
        record["escalations"].append(
            {
                "at": _iso(raised),
                "level": level,
                "reason": reason,
                "outcome": outcome if settled else "",
                "resolved_at": _iso(settled_at) if settled else None,
            }
        )

    if resolved:
        disposition = "resolved"
    elif escalation is not None:
        disposition = "escalated"
    else:
        disposition = rng.choice(("unresolved", "callback_scheduled", "follow_up_required"))
    record.update(
        answered_at=_iso(answered),
        ended_at=_iso(ended),
        wait_seconds=wait,
        talk_seconds=talk,
        hold_seconds=hold,
        wrap_seconds=int(rng.randint(20, 120) * final.handle_time),
        agent={"employee_code": agent.employee_code, "name": agent.name, "team": agent.team},
        disposition=disposition,
        resolved=resolved,
        transcript=_transcript(
            rng, agent, legs, final, customer, prior, issue, resolved, hold, escalation, started
        ),
    )
    # Unresolved problems bring the customer back within the week; a few resolved ones do too.
    if customer is not None and rng.random() < (0.55 if not resolved else 0.04):
        return record, (ended + timedelta(hours=rng.uniform(2, 140)), _Prior(department, issue, started))
    return record, None


def _transcript(
    rng: random.Random,
    agent: AgentProfile,
    legs: list[tuple[AgentProfile, AgentProfile, str]],
    final: AgentProfile,
    customer: _Customer | None,
    prior: _Prior | None,
    issue: tuple[str, str, str],
    resolved: bool,
    hold: int,
    escalation: tuple[str, str, str] | None,
    started: datetime,
) -> str:
    """Speaker-labelled lines whose good and bad habits follow each agent's profile."""
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(f"Agent: {text}")

    def hear(text: str) -> None:
        lines.append(f"Customer: {text}")

    # Now and then a wording the seeded auto-check phrases miss (a good greeting without "my name is"/"how can I
    # help") or wrongly catch ("this is" with no name): what a QA lead tunes the phrases on, seen on the
    # Disagreements pages. Picked by the start minute, not the generator's random stream, so every other
    # record and figure of a seeded data set is what it was.
    if rng.random() < agent.greeting:
        greeting = rng.choice(
            (
                f"Thank you for calling {BRAND}, my name is {agent.first_name}. How can I help you today?",
                f"Good {'morning' if started.hour < 12 else 'afternoon'}, {BRAND}, this is {agent.first_name}. How may I help you?",
            )
        )
        if started.minute % 10 == 0 and greeting.startswith("Thank you"):
            greeting = f"{BRAND}, you're speaking with {agent.first_name}. What can I help you with today?"
        say(greeting)
    else:
        greeting = rng.choice(
            ("Hello?", "Yeah, go ahead.", f"{agent.department}, what's the problem?", "Hi.")
        )
        if started.minute % 3 == 0 and greeting == "Yeah, go ahead.":
            greeting = f"Yeah, this is {agent.department}, go ahead."
        say(greeting)
    if prior is not None:
        hear(f"I called on {prior.started_at:%A} about this already. {issue[1]}")
    else:
        hear(issue[1])
    if rng.random() < agent.compliance:
        say("Before we continue, this call is recorded for quality and training purposes.")
    if customer is not None and rng.random() < agent.verification:
        say("Can I confirm your full name and the last four digits of the phone number on the account?")
        hear(f"{customer.name}, ending {customer.phone[-4:]}.")
        say("Thank you, you're verified.")
    if agent.department == "Billing" and rng.random() < (1 - agent.compliance) * 0.3:
        say("Can you read me your full card number and the security code?")
        hear("Uh, okay, it's the Visa card...")
    if prior is not None:
        if rng.random() < agent.history_use:
            say(
                f"I can see your contact from {prior.started_at:%A} about the {issue[0]}, so you don't need to explain it again."
            )
        else:
            say("Can you explain the problem from the beginning?")
            hear("I already went through all of this last time.")
    if rng.random() < agent.empathy:
        say(
            rng.choice(
                (
                    "I'm sorry about that, I understand how frustrating it is.",
                    "I'm sorry you've had this trouble; let's sort it out.",
                )
            )
        )
    else:
        say("Okay.")
    if hold:
        if rng.random() < agent.script_adherence:
            say("May I place you on a brief hold while I check this? It should take about two minutes.")
            hear("Sure.")
            say("Thank you for holding.")
        else:
            say("Hold on.")
    for source, target, reason in legs:
        if rng.random() < source.script_adherence:
            say(
                f"This needs our {target.department} team ({reason}). I'm transferring you now and passing on the details so you won't have to repeat them."
            )
        else:
            say("I'll transfer you.")
        if rng.random() < target.history_use:
            say(
                f"Hi, this is {target.first_name} in {target.department}. I have the notes from my colleague about the {issue[0]}."
            )
        else:
            say(f"{target.department}, how can I help?")
            hear("I just explained everything to the last person.")
    if escalation is not None:
        say(
            {
                "tier2": "I'm escalating this to our tier 2 specialists.",
                "supervisor": "Let me bring in my supervisor on this.",
                "complaint": "I'll log this as a formal complaint.",
            }[escalation[0]]
        )
    if resolved:
        say(issue[2])
        hear("Great, thanks.")
        if rng.random() < final.script_adherence:
            say(ANYTHING_ELSE)
            hear("No, that's everything.")
    else:
        if rng.random() < final.common_sense:
            say(
                f"I can't fix this today. I've opened a case for the {issue[0]} and we'll call you back within 48 hours."
            )
        else:
            say("That's all I can do for now.")
            say(ANYTHING_ELSE)
            hear("Well, you haven't actually fixed the first thing.")
    if rng.random() < final.closing:
        name = f", {customer.name.split()[0]}" if customer else ""
        say(f"Thank you for calling {BRAND}{name}. Have a great rest of your day!")
    else:
        say("Bye.")
    return "\n".join(lines)
