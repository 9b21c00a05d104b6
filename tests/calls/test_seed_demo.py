"""The demo generator (calls.demo) and `manage.py seed_demo`.

Every expected figure is recomputed here from the records themselves (regexes over transcripts,
customer timelines, transfer lists), never read back from the generator's internals.
"""

import itertools
import math
import re
import tracemalloc
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from calls import selectors
from calls.demo import (
    ANYTHING_ELSE,
    BRAND,
    DEMO_AGENTS,
    DEMO_TIMEZONE,
    DEPARTMENTS,
    TEAMS,
    agent_profile,
    demo_agents,
    generate_calls,
)
from calls.management.commands.seed_demo import Command as CallsSeedCommand
from calls.management.commands.seed_demo import demo_organisation_ensure
from calls.models import Agent, Call, Customer, Department, Escalation, Team, Transfer
from tests.factories import CallFactory

END = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
SKILLS = (
    "greeting",
    "verification",
    "history_use",
    "empathy",
    "script_adherence",
    "common_sense",
    "resolution",
    "transfer_propensity",
    "closing",
    "compliance",
)


def records(calls=3000, **kwargs):
    return list(generate_calls(calls=calls, end=END, **kwargs))


@pytest.fixture(scope="module")
def sample():
    """Four thousand calls of the default 40-agent center (module-scoped: generated once)."""
    return records(calls=4000)


def parse(moment):
    return datetime.fromisoformat(moment) if moment else None


def final_agent(record):
    return record["transfers"][-1]["to_agent"] if record["transfers"] else record["agent"]["employee_code"]


def within(observed, expected_sum, variance_sum, sigmas=4):
    """|observed − expected| within `sigmas` standard deviations of a sum of independent Bernoullis."""
    return abs(observed - expected_sum) <= sigmas * math.sqrt(variance_sum)


# --- determinism and shape ------------------------------------------------------------------------


def test_same_seed_and_arguments_give_identical_records():
    assert records(calls=800, seed=7) == records(calls=800, seed=7)


def test_different_seed_gives_different_records():
    first, second = records(calls=800, seed=7), records(calls=800, seed=8)
    differing = sum(a != b for a, b in zip(first, second, strict=True))
    assert differing > 700


def test_exact_count_unique_ids_time_order_within_the_requested_days():
    generated = records(calls=2500, days=30)
    assert len(generated) == 2500
    assert len({r["external_id"] for r in generated}) == 2500
    starts = [parse(r["started_at"]) for r in generated]
    assert starts == sorted(starts)
    first_day = date(2026, 11, 20) - timedelta(days=30)
    local_days = {s.astimezone(DEMO_TIMEZONE).date() for s in starts}
    assert min(local_days) >= first_day
    assert max(local_days) == date(2026, 11, 19)
    assert all(s.utcoffset() is not None for s in starts)


def test_weekdays_are_busier_than_weekends_and_nights_are_quiet(sample):
    local = [parse(r["started_at"]).astimezone(DEMO_TIMEZONE) for r in sample]
    weekday_days = {s.date() for s in local if s.weekday() < 5}
    weekend_days = {s.date() for s in local if s.weekday() >= 5}
    per_weekday = sum(s.weekday() < 5 for s in local) / len(weekday_days)
    per_weekend_day = sum(s.weekday() >= 5 for s in local) / len(weekend_days)
    assert per_weekday > 2 * per_weekend_day
    assert all(7 <= s.hour <= 20 for s in local)


def test_channels_are_mostly_phone(sample):
    channels = Counter(r["channel"] for r in sample)
    assert channels["phone"] / len(sample) > 0.7
    assert set(channels) <= {"phone", "chat", "email", "social", "in_person"}
    assert channels["chat"] > 0 and channels["email"] > 0


def test_timestamps_and_durations_are_consistent(sample):
    for r in sample:
        started, answered, ended = parse(r["started_at"]), parse(r["answered_at"]), parse(r["ended_at"])
        if answered is None:
            assert ended - started == timedelta(seconds=r["wait_seconds"])
            continue
        assert answered - started == timedelta(seconds=r["wait_seconds"])
        assert ended - answered == timedelta(seconds=r["talk_seconds"] + r["hold_seconds"])
        assert min(r["wait_seconds"], r["talk_seconds"], r["hold_seconds"], r["wrap_seconds"]) >= 0
        for transfer in r["transfers"]:
            assert answered <= parse(transfer["at"]) <= ended
        for escalation in r["escalations"]:
            assert answered <= parse(escalation["at"]) <= ended
            if escalation["resolved_at"]:
                assert parse(escalation["at"]) <= parse(escalation["resolved_at"]) <= END


# --- proportions ----------------------------------------------------------------------------------


def test_about_a_fifth_of_calls_are_transferred_some_over_several_legs(sample):
    legs = Counter(len(r["transfers"]) for r in sample)
    transferred = len(sample) - legs[0]
    assert abs(transferred / len(sample) - 0.20) < 0.03
    assert legs[2] > 0 and legs[3] > 0
    assert legs[2] + legs[3] < transferred / 2


def test_transfer_legs_chain_agents_across_departments(sample):
    profiles = {p.employee_code: p for p in DEMO_AGENTS}
    for r in (r for r in sample if r["transfers"]):
        assert [t["sequence"] for t in r["transfers"]] == list(range(1, len(r["transfers"]) + 1))
        assert r["transfers"][0]["from_agent"] == r["agent"]["employee_code"]
        assert r["transfers"][0]["from_department"] == r["department"]
        for before, after in itertools.pairwise(r["transfers"]):
            assert after["from_agent"] == before["to_agent"]
            assert after["from_department"] == before["to_department"]
        for transfer in r["transfers"]:
            assert transfer["to_department"] != transfer["from_department"]
            assert profiles[transfer["to_agent"]].department == transfer["to_department"]
            assert transfer["reason"]


def test_about_five_percent_of_calls_are_escalated_with_valid_levels(sample):
    escalated = [r for r in sample if r["escalations"]]
    assert abs(len(escalated) / len(sample) - 0.05) < 0.015
    levels = Counter(e["level"] for r in escalated for e in r["escalations"])
    assert set(levels) == {"tier2", "supervisor", "complaint"}
    assert all(e["reason"] for r in escalated for e in r["escalations"])
    # An escalation without an outcome is still open; one with an outcome has a resolution time.
    assert all(
        (e["outcome"] == "") == (e["resolved_at"] is None) for r in escalated for e in r["escalations"]
    )


def test_abandoned_calls_and_only_they_have_no_agent(sample):
    abandoned = [r for r in sample if r["disposition"] == "abandoned"]
    assert 0.01 < len(abandoned) / len(sample) < 0.05
    for r in abandoned:
        assert r["agent"] is None and r["answered_at"] is None
        assert r["talk_seconds"] == r["hold_seconds"] == 0
        assert (
            r["resolved"] is False
            and r["transfers"] == []
            and r["escalations"] == []
            and r["transcript"] == ""
        )
    assert [r for r in sample if r["agent"] is None] == abandoned


def test_dispositions_agree_with_resolution(sample):
    for r in sample:
        if r["resolved"]:
            assert r["disposition"] == "resolved"
        else:
            assert r["disposition"] in {
                "abandoned",
                "escalated",
                "unresolved",
                "callback_scheduled",
                "follow_up_required",
            }
    answered = [r for r in sample if r["agent"]]
    resolved_share = sum(r["resolved"] for r in answered) / len(answered)
    assert 0.55 < resolved_share < 0.85


def test_customers_have_stable_details_and_mostly_standard_tier(sample):
    seen = {}
    for r in sample:
        if r["customer"] is not None:
            assert seen.setdefault(r["customer"]["external_id"], r["customer"]) == r["customer"]
    tiers = Counter(c["tier"] for c in seen.values())
    assert tiers["standard"] / len(seen) > 0.7
    assert tiers["gold"] > tiers["platinum"] > 0
    anonymous = sum(r["customer"] is None for r in sample)
    assert 0 < anonymous < 0.1 * len(sample)


def test_repeat_contacts_within_a_week_are_likelier_after_unresolved_calls(sample):
    timeline = defaultdict(list)
    for r in sample:
        if r["customer"] is not None:
            timeline[r["customer"]["external_id"]].append((parse(r["started_at"]), r["resolved"]))
    outcomes = Counter()
    for contacts in timeline.values():
        contacts.sort()
        for (started, resolved), later in itertools.zip_longest(contacts, contacts[1:]):
            repeated = later is not None and later[0] - started <= timedelta(days=7)
            outcomes[resolved, repeated] += 1
    after_unresolved = outcomes[False, True] / (outcomes[False, True] + outcomes[False, False])
    after_resolved = outcomes[True, True] / (outcomes[True, True] + outcomes[True, False])
    assert outcomes[True, True] > 0 and outcomes[False, True] > 100
    assert after_unresolved > 2 * after_resolved


# --- agent profiles and transcripts ---------------------------------------------------------------


def test_agent_profile_depends_on_the_code_only():
    assert agent_profile("A-007") == DEMO_AGENTS[6]
    assert demo_agents(500)[:40] == list(DEMO_AGENTS)
    assert len({p.employee_code for p in demo_agents(500)}) == 500
    for profile in demo_agents(500):
        assert all(0 <= getattr(profile, skill) <= 1 for skill in SKILLS)
        assert TEAMS[profile.team] == profile.department
    assert len({p.archetype for p in DEMO_AGENTS}) >= 4
    assert {p.team for p in DEMO_AGENTS} == set(TEAMS)


def test_every_answered_transcript_is_speaker_labelled(sample):
    for r in (r for r in sample if r["agent"]):
        lines = r["transcript"].split("\n")
        assert lines[0].startswith("Agent: ") and lines[1].startswith("Customer: ")
        assert all(line.startswith(("Agent: ", "Customer: ")) for line in lines)


def brand_greeting(record):
    """The first line names the brand and the agent and offers help (computed here, not by the generator)."""
    first_line = record["transcript"].split("\n", 1)[0]
    first_name = record["agent"]["name"].split()[0]
    return (
        BRAND in first_line
        and re.search(rf"\b{re.escape(first_name)}\b", first_line)
        and "help" in first_line
    )


def test_strong_greeters_use_the_brand_greeting_more_often_than_weak_ones(sample):
    strong = max(DEMO_AGENTS, key=lambda p: p.greeting)
    weak = min(DEMO_AGENTS, key=lambda p: p.greeting)
    assert strong.greeting - weak.greeting > 0.5
    counts = {}
    for profile in (strong, weak):
        handled = [r for r in sample if r["agent"] and r["agent"]["employee_code"] == profile.employee_code]
        greeted = sum(bool(brand_greeting(r)) for r in handled)
        counts[profile.employee_code] = (greeted, len(handled))
        n, p = len(handled), profile.greeting
        assert n >= 30
        assert within(greeted, n * p, n * p * (1 - p))
    (strong_greeted, strong_calls), (weak_greeted, weak_calls) = (
        counts[strong.employee_code],
        counts[weak.employee_code],
    )
    assert strong_greeted * weak_calls > weak_greeted * strong_calls


def test_brand_greeting_rate_over_all_agents_matches_their_profiles(sample):
    profiles = {p.employee_code: p for p in DEMO_AGENTS}
    answered = [r for r in sample if r["agent"]]
    greeted = sum(bool(brand_greeting(r)) for r in answered)
    probabilities = [profiles[r["agent"]["employee_code"]].greeting for r in answered]
    assert within(greeted, sum(probabilities), sum(p * (1 - p) for p in probabilities))


def test_anything_else_on_unresolved_calls_follows_poor_common_sense(sample):
    profiles = {p.employee_code: p for p in DEMO_AGENTS}
    unresolved = [r for r in sample if r["agent"] and not r["resolved"]]
    asked = [ANYTHING_ELSE in r["transcript"] for r in unresolved]
    probabilities = [1 - profiles[final_agent(r)].common_sense for r in unresolved]
    assert within(sum(asked), sum(probabilities), sum(p * (1 - p) for p in probabilities))
    poor = [a for a, r in zip(asked, unresolved, strict=True) if profiles[final_agent(r)].common_sense < 0.5]
    good = [a for a, r in zip(asked, unresolved, strict=True) if profiles[final_agent(r)].common_sense > 0.8]
    assert len(poor) >= 30 and len(good) >= 30
    assert sum(poor) / len(poor) > 2 * sum(good) / len(good)


def test_history_is_used_only_on_repeat_contacts_and_verification_never_for_anonymous_callers(sample):
    for r in (r for r in sample if r["agent"]):
        if "I can see your contact from" in r["transcript"]:
            assert "I called on" in r["transcript"]
        if r["customer"] is None:
            assert "you're verified" not in r["transcript"]
        else:
            assert ("you're verified" in r["transcript"]) == (r["customer"]["phone"][-4:] in r["transcript"])


def test_generator_streams_a_million_calls_in_bounded_memory():
    stream = generate_calls(calls=1_000_000, agents=500, end=END)
    tracemalloc.start()
    try:
        consumed = sum(1 for _ in itertools.islice(stream, 15_000))  # more than a whole day (~11,100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert consumed == 15_000
    # Holding 15,000 records would take well over 20 MB; the stream keeps one day of start times.
    assert peak < 8 * 1024 * 1024


def test_invalid_generator_arguments_are_refused():
    with pytest.raises(ValueError):
        next(generate_calls(calls=10, agents=0, end=END))


# --- seed_demo against the database ----------------------------------------------------------------

SEED_END = date(2026, 11, 20)
SEED_END_AT = datetime(2026, 11, 20, tzinfo=DEMO_TIMEZONE)
TABLES = (Call, Transfer, Escalation, Customer, Agent, Team, Department, User)


def seed(**options):
    out = StringIO()
    # The calls app's own command (the project-level seed_demo adds the scoring demo on top of it).
    call_command(CallsSeedCommand(), end_date=SEED_END, stdout=out, **options)
    return out.getvalue()


def table_counts():
    return {model.__name__: model.objects.count() for model in TABLES}


def handled_by(record, codes):
    """True when any leg of the call was handled by one of `codes` (first agent or a transfer target)."""
    legs = [record["agent"]["employee_code"]] if record["agent"] else []
    legs += [t["to_agent"] for t in record["transfers"]]
    return bool(set(legs) & set(codes))


def test_every_generated_record_passes_the_importer(db):
    from calls.importers import import_records

    demo_organisation_ensure(profiles=demo_agents(40))
    generated = records(calls=1500)

    result = import_records(iter(generated))

    assert list(result.errors) == []
    assert (result.created, result.updated, result.rejected, result.ok) == (1500, 0, 0, True)
    assert Call.objects.count() == 1500
    assert Transfer.objects.count() == sum(len(r["transfers"]) for r in generated)
    assert Escalation.objects.count() == sum(len(r["escalations"]) for r in generated)
    assert Customer.objects.count() == len({r["customer"]["external_id"] for r in generated if r["customer"]})
    stored = {
        c.external_id: (
            c.agent.employee_code if c.agent else None,
            c.department.name,
            c.is_resolved,
            c.disposition,
        )
        for c in Call.objects.select_related("agent", "department")
    }
    assert stored == {
        r["external_id"]: (
            r["agent"]["employee_code"] if r["agent"] else None,
            r["department"],
            r["resolved"],
            r["disposition"],
        )
        for r in generated
    }
    stored_legs = set(
        Transfer.objects.values_list(
            "call__external_id",
            "sequence",
            "from_agent__employee_code",
            "to_agent__employee_code",
            "from_department__name",
            "to_department__name",
            "reason",
        )
    )
    assert stored_legs == {
        (
            r["external_id"],
            t["sequence"],
            t["from_agent"],
            t["to_agent"],
            t["from_department"],
            t["to_department"],
            t["reason"],
        )
        for r in generated
        for t in r["transfers"]
    }


def test_seed_demo_builds_the_organisation_and_demo_accounts(db):
    out = seed(calls=300)

    assert Call.objects.count() == 300
    assert set(Department.objects.values_list("name", flat=True)) == set(DEPARTMENTS)
    assert dict(Team.objects.values_list("name", "department__name")) == TEAMS
    assert Agent.objects.count() == 40
    assert dict(Agent.objects.values_list("employee_code", "team__name")) == {
        p.employee_code: p.team for p in DEMO_AGENTS
    }

    def groups(username):
        return set(User.objects.get(username=username).groups.values_list("name", flat=True))

    def led(username):
        return set(User.objects.get(username=username).led_teams.values_list("name", flat=True))

    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and groups("admin") == {"admin"}
    assert groups("reviewer") == groups("reviewer2") == groups("reviewer3") == {"reviewer"}
    assert not User.objects.filter(username__startswith="reviewer", is_staff=True).exists()
    assert groups("supervisor") == groups("supervisor2") == {"supervisor"}
    assert led("supervisor") == {"Billing East", "Billing West"}
    assert led("supervisor2") == set(TEAMS) - {"Billing East", "Billing West"}
    assert groups("agent") == groups("agent2") == groups("agent3") == {"agent"}
    linked = dict(Agent.objects.filter(user__isnull=False).values_list("user__username", "employee_code"))
    assert linked == {"agent": "A-001", "agent2": "A-002", "agent3": "A-003"}
    usernames = [
        "admin",
        "reviewer",
        "reviewer2",
        "reviewer3",
        "supervisor",
        "supervisor2",
        "agent",
        "agent2",
        "agent3",
    ]
    assert User.objects.count() == len(usernames)
    assert all(User.objects.get(username=name).check_password("demo") for name in usernames)
    assert "DEMO ONLY" in out
    for name in usernames:
        assert re.search(rf"^  {name} +demo ", out, re.MULTILINE)


def test_demo_logins_see_exactly_the_calls_of_their_teams(db):
    seed(calls=500)
    generated = list(generate_calls(calls=500, end=SEED_END_AT))
    billing = [p.employee_code for p in DEMO_AGENTS if p.team in {"Billing East", "Billing West"}]

    supervisor_calls = selectors.call_list_for_user(User.objects.get(username="supervisor"))
    agent_calls = selectors.call_list_for_user(User.objects.get(username="agent"))

    assert set(supervisor_calls.values_list("external_id", flat=True)) == {
        r["external_id"] for r in generated if handled_by(r, billing)
    }
    assert set(agent_calls.values_list("external_id", flat=True)) == {
        r["external_id"] for r in generated if handled_by(r, ["A-001"])
    }
    assert selectors.call_list_for_user(User.objects.get(username="reviewer")).count() == 500


def test_seeded_rates_match_an_independent_count_of_the_records(db):
    seed(calls=1200)
    generated = list(generate_calls(calls=1200, end=SEED_END_AT))
    starts = defaultdict(list)
    for r in generated:
        if r["customer"]:
            starts[r["customer"]["external_id"]].append(parse(r["started_at"]))
    # The summary's counts are of the calls an agent handled (an abandoned call is counted as abandoned).
    handled = [r for r in generated if r["agent"]]

    def has_repeat(r) -> bool:
        return any(
            parse(r["started_at"]) < later <= parse(r["started_at"]) + timedelta(days=7)
            for later in starts[r["customer"]["external_id"]]
        )

    # First-contact resolution and repeat contacts are counted for identified callers only.
    identified = [r for r in handled if r["customer"]]
    repeats = sum(1 for r in identified if has_repeat(r))
    first_contact = sum(1 for r in identified if r["resolved"] and not r["transfers"] and not has_repeat(r))

    summary = selectors.call_summary(Call.objects.all())

    assert summary["calls"] == 1200
    assert summary["abandoned"] == 1200 - len(handled) > 0
    assert summary["transferred"] == sum(bool(r["transfers"]) for r in handled)
    assert summary["escalated"] == sum(bool(r["escalations"]) for r in handled)
    assert summary["resolved"] == sum(r["resolved"] for r in handled)
    assert summary["repeat_contacts"] == repeats
    assert repeats > 50
    assert (summary["identified_calls"], summary["anonymous_calls"]) == (
        len(identified),
        len(handled) - len(identified),
    )
    assert summary["anonymous_calls"] > 0
    assert summary["first_contact_resolved"] == first_contact
    assert summary["first_contact_resolved_rate"] == first_contact / len(identified)


def test_rerunning_seed_demo_creates_no_duplicates_and_keeps_changed_passwords(db):
    seed(calls=400)
    admin = User.objects.get(username="admin")
    admin.set_password("changed-by-the-owner")
    admin.save()
    before = table_counts()
    memberships = Team.supervisors.through.objects.count(), User.groups.through.objects.count()

    out = seed(calls=400)

    assert table_counts() == before
    assert (Team.supervisors.through.objects.count(), User.groups.through.objects.count()) == memberships
    assert "0 created, 0 updated, 400 unchanged, 0 rejected" in out
    assert User.objects.get(username="admin").check_password("changed-by-the-owner")
    assert "password unchanged" in out


def test_if_empty_does_nothing_when_calls_exist(db):
    CallFactory()
    before = table_counts()

    out = seed(calls=50, if_empty=True)

    assert table_counts() == before
    assert not User.objects.filter(username="admin").exists()
    assert "already exist" in out


def test_if_empty_seeds_an_empty_database(db):
    seed(calls=50, if_empty=True)

    assert Call.objects.count() == 50
    assert User.objects.filter(username="admin").exists()


def test_few_agents_route_calls_only_to_staffed_departments_and_skip_missing_logins(db):
    seed(calls=200, agents=2)

    staffed = {"Billing", "Tech Support"}
    assert set(Call.objects.values_list("department__name", flat=True)) == staffed
    assert set(Transfer.objects.values_list("to_department__name", flat=True)) <= staffed
    assert dict(Agent.objects.filter(user__isnull=False).values_list("user__username", "employee_code")) == {
        "agent": "A-001",
        "agent2": "A-002",
    }
    assert not User.objects.filter(username="agent3").exists()


@pytest.mark.parametrize("options", [{"agents": 0}, {"calls": -1}, {"days": 0}])
def test_invalid_options_are_refused_and_change_nothing(db, options):
    with pytest.raises(CommandError):
        seed(**options)

    assert set(table_counts().values()) == {0}
