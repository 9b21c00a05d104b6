"""`manage.py seed_demo`: a realistic, reproducible demo contact center plus demo logins.

Calls are written through `calls.importers.import_records`, the same bulk path as a real import, so the
demo exercises it and a re-run with the same arguments changes nothing. The organisation (departments,
teams, agents) is created first so every transfer leg finds its agent and every team its department.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from calls import roles
from calls.demo import (
    DEFAULT_AGENTS,
    DEFAULT_CALLS,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEMO_TIMEZONE,
    TEAMS,
    AgentProfile,
    demo_agents,
    employee_code,
    generate_calls,
)
from calls.models import Agent, Call, Department, Team

DEMO_PASSWORD = "demo"  # noqa: S105 — printed on purpose: demo-only accounts


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    led_teams: tuple[str, ...] = ()
    agent_number: int | None = None
    is_superuser: bool = False


SUPERVISOR_TEAMS = ("Billing East", "Billing West")
DEMO_ACCOUNTS = (
    DemoAccount("admin", roles.ADMIN, is_superuser=True),
    DemoAccount("reviewer", roles.REVIEWER),
    # Two more reviewers, so calibration (several reviewers scoring the same calls) has demo data.
    DemoAccount("reviewer2", roles.REVIEWER),
    DemoAccount("reviewer3", roles.REVIEWER),
    DemoAccount("supervisor", roles.SUPERVISOR, led_teams=SUPERVISOR_TEAMS),
    DemoAccount(
        "supervisor2", roles.SUPERVISOR, led_teams=tuple(t for t in TEAMS if t not in SUPERVISOR_TEAMS)
    ),
    DemoAccount("agent", roles.AGENT, agent_number=1),
    DemoAccount("agent2", roles.AGENT, agent_number=2),
    DemoAccount("agent3", roles.AGENT, agent_number=3),
)


@transaction.atomic
def demo_organisation_ensure(*, profiles: list[AgentProfile]) -> int:
    """Create the demo departments, teams and missing agents; existing rows are left as they are.

    Returns the number of agents created.
    """
    departments = {
        name: Department.objects.get_or_create(name=name)[0]
        for name in {p.department for p in profiles} | set(TEAMS.values())
    }
    for team_name, department_name in TEAMS.items():
        team, _ = Team.objects.get_or_create(
            name=team_name, defaults={"department": departments[department_name]}
        )
        if team.department_id is None:
            team.department = departments[department_name]
            team.save(update_fields=["department"])
    teams = {team.name: team for team in Team.objects.filter(name__in=TEAMS)}
    existing = set(
        Agent.objects.filter(employee_code__in=[p.employee_code for p in profiles]).values_list(
            "employee_code", flat=True
        )
    )
    missing = [
        Agent(employee_code=p.employee_code, name=p.name, team=teams[p.team])
        for p in profiles
        if p.employee_code not in existing
    ]
    Agent.objects.bulk_create(missing, batch_size=1000)
    return len(missing)


@transaction.atomic
def demo_accounts_ensure(*, password: str = DEMO_PASSWORD) -> list[tuple[DemoAccount, bool, str]]:
    """Create the demo logins (password set only when an account is new), their groups, led teams and agent links.

    Returns (account, created, description) per account whose prerequisites exist.
    """
    user_model = get_user_model()
    result = []
    # One hash for every new demo account: a password hash costs ~0.4 s here, and these accounts share
    # a published password anyway, so per-account salts would protect nothing.
    hashed_password = None
    for account in DEMO_ACCOUNTS:
        agent = None
        if account.agent_number is not None:
            agent = (
                Agent.objects.select_related("team")
                .filter(employee_code=employee_code(account.agent_number))
                .first()
            )
            if agent is None:  # fewer demo agents than demo logins
                continue
        user, created = user_model.objects.get_or_create(username=account.username)
        if created:
            hashed_password = hashed_password or make_password(password)
            user.password = hashed_password
        if account.is_superuser:
            user.is_staff = user.is_superuser = True
        user.save()
        user.groups.add(Group.objects.get_or_create(name=account.role)[0])
        description = account.role
        if account.is_superuser:
            description += " (staff, superuser)"
        if account.led_teams:
            teams = list(Team.objects.filter(name__in=account.led_teams))
            for team in teams:
                team.supervisors.add(user)
            description += " of " + ", ".join(sorted(t.name for t in teams))
        if agent is not None:
            if agent.user_id != user.pk:
                Agent.objects.filter(user=user).exclude(pk=agent.pk).update(user=None)
                agent.user = user
                agent.save(update_fields=["user"])
            description += (
                f": {agent.name} ({agent.employee_code}, {agent.team.name if agent.team else 'no team'})"
            )
        result.append((account, created, description))
    return result


class Command(BaseCommand):
    help = (
        "Seed a realistic, reproducible demo contact center (calls go through the importer) and demo logins."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--calls", type=int, default=DEFAULT_CALLS, help=f"number of calls (default {DEFAULT_CALLS})"
        )
        parser.add_argument(
            "--agents", type=int, default=DEFAULT_AGENTS, help=f"number of agents (default {DEFAULT_AGENTS})"
        )
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"calls over this many past days (default {DEFAULT_DAYS})",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
        )
        parser.add_argument(
            "--end-date",
            type=date.fromisoformat,
            default=None,
            help="YYYY-MM-DD: calls end the day before this date (default: today), for fully reproducible data",
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing when calls already exist")

    def handle(self, *args, calls, agents, days, seed, end_date, if_empty, **options):
        if calls < 0 or not 1 <= agents <= 9999 or not 1 <= days <= 3660:
            raise CommandError("--calls must be >= 0, --agents between 1 and 9999, --days between 1 and 3660")
        if if_empty and Call.objects.exists():
            self.stdout.write("Calls already exist: demo data not seeded (--if-empty).")
            return
        from calls.importers import import_records

        end = (
            timezone.now() if end_date is None else datetime.combine(end_date, time(0), tzinfo=DEMO_TIMEZONE)
        )
        started = clock.perf_counter()
        created_agents = demo_organisation_ensure(profiles=demo_agents(agents))
        self.stdout.write(f"Organisation ready: {len(TEAMS)} teams, {agents} agents ({created_agents} new).")

        records = generate_calls(calls=calls, agents=agents, days=days, seed=seed, end=end)
        result = import_records(records, progress=self._progress(calls))
        elapsed = clock.perf_counter() - started
        self.stdout.write(
            f"Imported {calls:,} demo calls in {elapsed:.1f} s: {result.created:,} created, "
            f"{result.updated:,} updated, {result.unchanged:,} unchanged, {result.rejected:,} rejected."
        )
        if not result.ok:
            for error in list(result.errors)[:10]:
                self.stderr.write(f"  {error}")
            raise CommandError(f"the importer rejected {result.rejected} demo records")

        accounts = demo_accounts_ensure()
        self.stdout.write(
            self.style.WARNING(
                f"Demo accounts — DEMO ONLY, password '{DEMO_PASSWORD}': never use them on a reachable server."
            )
        )
        for account, created, description in accounts:
            password = DEMO_PASSWORD if created else "(existing account: password unchanged)"
            self.stdout.write(f"  {account.username:<12} {password:<8} {description}")

    def _progress(self, total: int):
        """A progress callback for the importer that prints about ten lines whatever the size."""
        step = max(1, total // 10)
        next_mark = step

        def report(done: int, _total: int | None = None) -> None:
            nonlocal next_mark
            if total >= 20_000 and done >= next_mark:
                self.stdout.write(f"  … {done:,} / {total:,} calls")
                next_mark = (done // step + 1) * step

        return report
