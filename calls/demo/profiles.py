"""Demo agents and their skill profiles: a pure function of the employee code."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from .catalog import DEFAULT_AGENTS, FIRST_NAMES, LAST_NAMES, TEAM_CYCLE, TEAMS


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """How a demo agent behaves. Skills are probabilities in [0, 1]; handle_time multiplies talk time."""

    employee_code: str
    name: str
    team: str
    department: str
    archetype: str
    greeting: float  # brand + own name + offer to help
    verification: float  # checks identity before touching the account
    history_use: float  # picks up the customer's previous contact instead of asking again
    empathy: float  # acknowledges frustration
    script_adherence: float  # hold/transfer explanations, the scripted closing question
    common_sense: float  # skips the "anything else?" line when the problem was not solved
    resolution: float  # solves the problem on this contact
    transfer_propensity: float  # passes the call on
    handle_time: float  # multiplier on the department's typical talk time
    closing: float  # ends on a positive, personal note
    compliance: float  # recording disclosure, never asks for a full card number

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


# Archetype → (weight, base skill, per-skill adjustments).
_ARCHETYPES: dict[str, tuple[float, float, dict[str, float]]] = {
    "star": (0.15, 0.90, {"transfer_propensity": -0.08, "handle_time": -0.1}),
    "solid": (0.30, 0.75, {}),
    "average": (0.25, 0.60, {}),
    "new hire": (
        0.12,
        0.45,
        {"verification": -0.15, "history_use": -0.2, "handle_time": 0.3, "transfer_propensity": 0.08},
    ),
    "script robot": (0.10, 0.70, {"script_adherence": 0.3, "common_sense": -0.55, "empathy": -0.2}),
    "struggling": (0.08, 0.30, {"transfer_propensity": 0.1, "handle_time": 0.2}),
}
_SKILLS = (
    "greeting",
    "verification",
    "history_use",
    "empathy",
    "script_adherence",
    "common_sense",
    "resolution",
    "closing",
    "compliance",
)


def _clamp(value: float, low: float, high: float) -> float:
    return round(min(high, max(low, value)), 3)


@lru_cache(maxsize=4096)
def agent_profile(employee_code: str) -> AgentProfile:
    """The profile of demo agent `A-<n>`: a pure function of the code, whatever the seed or agent count."""
    number = int(employee_code.removeprefix("A-"))
    rng = random.Random(f"agent:{number}")
    names = list(_ARCHETYPES)
    archetype = rng.choices(names, weights=[_ARCHETYPES[n][0] for n in names])[0]
    _, base, adjust = _ARCHETYPES[archetype]
    skills = {skill: _clamp(rng.gauss(base + adjust.get(skill, 0.0), 0.1), 0.02, 0.98) for skill in _SKILLS}
    team = TEAM_CYCLE[(number - 1) % len(TEAM_CYCLE)]
    return AgentProfile(
        employee_code=employee_code,
        name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        team=team,
        department=TEAMS[team],
        archetype=archetype,
        transfer_propensity=_clamp(rng.gauss(0.2 + adjust.get("transfer_propensity", 0.0), 0.05), 0.03, 0.45),
        handle_time=_clamp(rng.gauss(1.0 + adjust.get("handle_time", 0.0), 0.12), 0.6, 1.7),
        **skills,
    )


def employee_code(number: int) -> str:
    return f"A-{number:03d}"


def demo_agents(count: int = DEFAULT_AGENTS) -> list[AgentProfile]:
    """Agents A-001 … A-<count>."""
    return [agent_profile(employee_code(n)) for n in range(1, count + 1)]


DEMO_AGENTS: tuple[AgentProfile, ...] = tuple(demo_agents(DEFAULT_AGENTS))
