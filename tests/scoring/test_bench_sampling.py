"""`manage.py bench sample` (scoring.bench_sampling): a small run end to end."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from calls.models import Agent, Call
from scoring.models import Assignment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_bench_sample_compares_identical_draws_and_leaves_the_database_as_it_was():
    UserFactory(username="rev-existing", roles=["reviewer"])
    before = (Call.objects.count(), Agent.objects.count(), Assignment.objects.count())
    out = io.StringIO()
    call_command(
        "bench",
        "sample",
        "--calls",
        "300",
        "--agents",
        "6",
        "--transcript-chars",
        "50",
        "--repeat",
        "1",
        stdout=out,
    )
    text = out.getvalue()
    # Both versions made the same assignments (3 per agent) for both seeds before anything was timed.
    assert re.findall(r"seed \d+: both made the same (\d+) assignments", text) == ["18", "18"]
    last = text.strip().splitlines()[-1]
    match = re.fullmatch(
        r"bench sample: 300 calls, before (\d+\.\d\d) s / (\d+) queries, after (\d+\.\d\d) s / (\d+) queries, "
        r"ratio (\d+\.\d)",
        last,
    )
    assert match, last
    # The previous code's extra query: the detractor weights, read apart from the calls.
    assert (int(match[2]), int(match[4])) == (12, 11)
    assert (Call.objects.count(), Agent.objects.count(), Assignment.objects.count()) == before
