"""In headless Chromium: the review workspace plays a call's recording from a configured source under the
site's Content Security Policy, with its skip buttons, speed choice and keyboard shortcuts."""

from __future__ import annotations

import io
import re
import wave

import pytest
from playwright.sync_api import expect

from calls.models import Call
from tests.browser.helpers import AxeSweep, chat_call_to_review, login
from tests.scoring.factories import simple_scorecard

SOURCE = "https://recordings.test"
SECONDS = 30


def _silence() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(b"\x80" * 8000 * SECONDS)
    return out.getvalue()


def _serve(body: bytes):
    """The recordings host, answering range requests as a storage service does (the player seeks with them)."""

    def handle(route):
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", route.request.headers.get("range", ""))
        if not wanted:
            route.fulfill(
                status=200, body=body, headers={"Content-Type": "audio/wav", "Accept-Ranges": "bytes"}
            )
            return
        start = int(wanted[1])
        end = int(wanted[2]) if wanted[2] else len(body) - 1
        route.fulfill(
            status=206,
            body=body[start : end + 1],
            headers={
                "Content-Type": "audio/wav",
                "Accept-Ranges": "bytes",
                "Content-Range": f"bytes {start}-{end}/{len(body)}",
            },
        )

    return handle


def _audio(page, prop: str):
    return page.evaluate(f"() => document.querySelector('figure.recording audio').{prop}")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_reviewer_plays_skips_and_speeds_up_the_recording(page, live_server, settings):
    settings.RECORDING_SOURCES = [SOURCE]
    settings.SECURE_CSP = {**settings.SECURE_CSP, "media-src": ["'self'", SOURCE]}
    simple_scorecard(family="recording")
    call = chat_call_to_review(
        team="Recorded", code="A-REC", agent_name="Rae Cord", reviewer="rec-reviewer", external_id="REC-1",
        transcript="[00:00:02] Agent: Thank you for calling.\n[00:00:15] Customer: My bill is wrong.\nNo stamp here.",
    )  # fmt: skip
    Call.objects.filter(pk=call.pk).update(recording_url=f"{SOURCE}/2026/REC-1.wav")
    page.route(f"{SOURCE}/**", _serve(_silence()))

    login(page, live_server, "rec-reviewer")
    page.goto(f"{live_server.url}/qa/calls/{call.pk}/review/")
    expect(page.locator("#ws-recording")).to_contain_text("Recording")
    page.wait_for_function("() => document.querySelector('figure.recording audio').readyState >= 1")
    assert _audio(page, "duration") == SECONDS
    sweep = AxeSweep(
        page, live_server.url
    )  # the player, its controls and the ▶ buttons: axe and 320 px reflow
    sweep.visit("review workspace with a recording", None, heading="Review of")
    sweep.visit("call page with a recording", f"/calls/{call.pk}/", heading="Call REC-1")
    assert sweep.violations == []
    page.goto(f"{live_server.url}/qa/calls/{call.pk}/review/")
    page.wait_for_function("() => document.querySelector('figure.recording audio').readyState >= 1")

    page.get_by_label("Speed").select_option("1.5")
    assert _audio(page, "playbackRate") == 1.5
    page.locator("h1").click()  # out of the select: the shortcuts are for the page, not a control
    page.keyboard.press("f")
    page.keyboard.press("f")
    assert _audio(page, "currentTime") == 20
    page.keyboard.press("b")
    assert _audio(page, "currentTime") == 10
    page.get_by_role("button", name="−10 s").click()
    page.get_by_role("button", name="−10 s").click()  # not before the start
    assert _audio(page, "currentTime") == 0
    for _ in range(4):
        page.get_by_role("button", name="+10 s").click()  # not past the end
    assert _audio(page, "currentTime") == SECONDS

    page.evaluate("() => { document.querySelector('figure.recording audio').currentTime = 0; }")
    page.locator("h1").click()
    page.keyboard.press("p")
    page.wait_for_function("() => !document.querySelector('figure.recording audio').paused")
    page.keyboard.press("p")
    page.wait_for_function("() => document.querySelector('figure.recording audio').paused")
    # ▶ on a stamped line plays from its time and marks the line being heard.
    page.keyboard.press("p")
    page.wait_for_function("() => document.querySelector('figure.recording audio').paused")
    page.get_by_role("button", name="Play the recording from 00:00:15").click()
    page.wait_for_function("() => !document.querySelector('figure.recording audio').paused")
    assert 15 <= _audio(page, "currentTime") < 20
    expect(page.locator("#line-2")).to_have_class(re.compile(r"\bis-playing\b"))
    expect(page.locator(".ws-transcript .is-playing")).to_have_count(1)
    expect(page.locator("#line-1 .seek")).to_have_count(1)
    page.keyboard.press("p")
    # The scoring keys still work beside the recording's.
    page.keyboard.press("y")
    expect(page.get_by_test_id("running-score")).not_to_have_text("—")
