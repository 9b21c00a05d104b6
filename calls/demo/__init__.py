"""Demo contact center: a pure, deterministic generator of call records in the JSON-contract shape.

Nothing here touches the database. `generate_calls(...)` is a function of its arguments only (same
arguments → the same records) and streams: it holds one day of start times and the repeat contacts
due within the next week, never the whole data set, so a million calls cost no more memory than six
thousand. `manage.py seed_demo` feeds it to the importer.

Agent behaviour comes from `agent_profile(employee_code)`, a function of the code alone (not of the
seed or of the agent count), so QA-score and survey demo data written elsewhere can stay consistent
with the transcripts: a good greeter greets well in every data set.
"""

from .catalog import (
    ANYTHING_ELSE,
    BRAND,
    DEFAULT_AGENTS,
    DEFAULT_CALLS,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEMO_TIMEZONE,
    DEPARTMENTS,
    TEAMS,
)
from .generator import generate_calls
from .profiles import DEMO_AGENTS, AgentProfile, agent_profile, demo_agents, employee_code

__all__ = [
    "ANYTHING_ELSE",
    "BRAND",
    "DEFAULT_AGENTS",
    "DEFAULT_CALLS",
    "DEFAULT_DAYS",
    "DEFAULT_SEED",
    "DEMO_AGENTS",
    "DEMO_TIMEZONE",
    "DEPARTMENTS",
    "TEAMS",
    "AgentProfile",
    "agent_profile",
    "demo_agents",
    "employee_code",
    "generate_calls",
]
