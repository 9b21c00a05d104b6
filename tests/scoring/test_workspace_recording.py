"""The review workspace plays the call's recording (calls.recordings) and gives it keyboard shortcuts."""

from __future__ import annotations

import pytest

from tests.factories import CallFactory
from tests.scoring.factories import AssignmentFactory

pytestmark = pytest.mark.django_db

URL = "https://recordings.example.com/2026/11/C-1.mp3"


TRANSCRIPT = (
    "[00:00:02] Agent: Thank you for calling.\n[00:01:15] Customer: My bill is wrong.\nAgent: Let me see."
)


def _assigned(reviewer, recording_url=URL):
    call = CallFactory(recording_url=recording_url, transcript=TRANSCRIPT)
    AssignmentFactory(call=call, reviewer=reviewer)
    return call


def test_the_review_workspace_plays_the_recording_with_its_shortcuts(client, reviewer, settings, scorecard):
    settings.RECORDING_SOURCES = ["https://*.example.com"]
    call = _assigned(reviewer)
    client.force_login(reviewer)

    html = client.get(f"/qa/calls/{call.pk}/review/").content.decode()

    assert '<h2 id="ws-recording">Recording' in html
    assert f'src="{URL}"' in html
    assert "<td>Play / pause the recording</td>" in html
    assert "<td>Recording back / forward 10 seconds</td>" in html
    assert html.index("js/recording") < html.index("js/scoring")  # the shortcuts find window.qaRecording
    # Each line with a time in the call can play the recording from there (the third has none).
    assert html.count('class="seek"') == 2
    assert 'data-seek="2" title="Play the recording from 00:00:02"' in html
    assert 'data-seek="75" title="Play the recording from 00:01:15"' in html


def test_the_review_workspace_without_a_playable_recording_has_no_player_or_its_keys(
    client, reviewer, settings, scorecard
):
    settings.RECORDING_SOURCES = []
    with_link = _assigned(reviewer)
    without = _assigned(reviewer, recording_url="")
    client.force_login(reviewer)

    linked = client.get(f"/qa/calls/{with_link.pk}/review/").content.decode()
    bare = client.get(f"/qa/calls/{without.pk}/review/").content.decode()

    assert "Listen to the recording" in linked and "<audio" not in linked
    assert "Play / pause the recording" not in linked and "js/recording" not in linked
    assert 'class="seek"' not in linked and "has-recording" not in linked
    assert 'id="ws-recording"' not in bare
