"""Call recordings in the page (calls.recordings): which URLs the page may play (this site and
RECORDING_SOURCES, matched as browsers match a Content Security Policy source), and the player on the call
page and in the review workspace."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from calls.recordings import Recording, recording_for, source_allows
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db

URL = "https://recordings.example.com/2026/11/C-1.mp3"


@pytest.mark.parametrize(
    ("source", "url", "allowed"),
    [
        ("https://recordings.example.com", URL, True),
        ("https://recordings.example.com", "https://RECORDINGS.example.com:443/x.mp3", True),
        ("https://recordings.example.com", "http://recordings.example.com/x.mp3", False),  # another scheme
        (
            "https://recordings.example.com",
            "https://recordings.example.com:8443/x.mp3",
            False,
        ),  # another port
        ("https://recordings.example.com:8443", "https://recordings.example.com:8443/x.mp3", True),
        ("https://recordings.example.com", "https://recordings.example.com.evil.test/x.mp3", False),
        (
            "https://recordings.example.com",
            "https://recordings.example.com@evil.test/x.mp3",
            False,
        ),  # userinfo
        ("https://*.example.com", URL, True),
        ("https://*.example.com", "https://a.b.example.com/x.mp3", True),
        ("https://*.example.com", "https://example.com/x.mp3", False),  # the wildcard is for subdomains only
        ("https://*.example.com", "https://evilexample.com/x.mp3", False),
        (
            "https://recordings.example.com",
            "https://recordings.example.com:99999/x.mp3",
            False,
        ),  # no such port
    ],
)
def test_a_source_matches_as_the_browser_matches_it(source, url, allowed):
    assert source_allows(source, url) is allowed


def test_recording_for_plays_this_site_and_the_configured_sources_only(settings):
    request = RequestFactory().get("/", HTTP_HOST="qa.example.org")
    settings.ALLOWED_HOSTS = ["qa.example.org"]
    settings.RECORDING_SOURCES = ["https://recordings.example.com"]

    assert recording_for(URL, request) == Recording(link=URL, player=URL)
    assert recording_for("http://qa.example.org/media/C-1.mp3", request) == Recording(
        link="http://qa.example.org/media/C-1.mp3", player="http://qa.example.org/media/C-1.mp3"
    )
    assert recording_for("https://other.example.net/C-1.mp3", request) == Recording(
        link="https://other.example.net/C-1.mp3", player=""
    )
    assert recording_for("javascript:alert(1)", request) == Recording(link="", player="")
    assert recording_for("", request) == Recording(link="", player="")


def _call(**fields):
    return CallFactory(recording_url=URL, **fields)


def test_the_call_page_plays_a_recording_from_a_configured_source(client, admin_user, settings):
    settings.RECORDING_SOURCES = ["https://recordings.example.com"]
    call = _call()
    client.force_login(admin_user)

    html = client.get(f"/calls/{call.pk}/").content.decode()

    assert f'<audio controls preload="metadata" src="{URL}" aria-label="Call recording">' in html
    assert [f'value="{speed}"' in html for speed in ("0.75", "1", "1.25", "1.5", "2")] == [True] * 5
    assert '<option value="1" selected>1×</option>' in html
    assert "js/recording" in html
    assert "(opens on its own site)" not in html


def test_the_call_page_links_a_recording_it_may_not_play(client, admin_user, settings):
    settings.RECORDING_SOURCES = []
    call = _call()
    client.force_login(admin_user)

    html = client.get(f"/calls/{call.pk}/").content.decode()

    assert "<audio" not in html and "js/recording" not in html
    assert f'<a href="{URL}" rel="noopener noreferrer" target="_blank">Listen to the recording</a>' in html
    assert "(opens on its own site)" in html


def test_a_recording_url_is_escaped_in_the_player(client, admin_user, settings):
    settings.RECORDING_SOURCES = ["https://recordings.example.com"]
    call = CallFactory(recording_url='https://recordings.example.com/a"onerror="alert(1).mp3')
    client.force_login(admin_user)

    html = client.get(f"/calls/{call.pk}/").content.decode()

    assert 'src="https://recordings.example.com/a&quot;onerror=&quot;alert(1).mp3"' in html
    assert '"onerror="' not in html
