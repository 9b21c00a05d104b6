"""Call recordings in the page: which recording URLs the browser may play (the Content Security Policy's
media-src: this site and settings.RECORDING_SOURCES), and the player's speeds."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from .templatetags.calls_tags import http_url_or_empty

SPEEDS = ("0.75", "1", "1.25", "1.5", "2")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Recording:
    """`link`: the recording's URL if it is an http(s) link (else ""); `player`: the same when the page may
    play it (else "": the link opens it on its own site)."""

    link: str
    player: str


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def source_allows(source: str, url: str) -> bool:
    """Whether a CSP host source (scheme://host[:port], host possibly "*.domain") matches the URL: the same
    scheme, the same host or a subdomain of a wildcard's domain (not the domain itself), the same port (the
    scheme's default when the source names none), as browsers match them."""
    wanted, found = _origin(source.replace("://*.", "://wildcard.", 1)), _origin(url)
    if wanted is None or found is None or wanted[0] != found[0] or wanted[2] != found[2]:
        return False
    if "://*." in source:
        domain = wanted[1].removeprefix("wildcard.")
        return found[1].endswith("." + domain)
    return wanted[1] == found[1]


def recording_for(url: str | None, request: HttpRequest) -> Recording:
    link = http_url_or_empty(url)
    if not link:
        return Recording(link="", player="")
    sources = [request.build_absolute_uri("/").rstrip("/"), *settings.RECORDING_SOURCES]
    playable = any(source_allows(source, link) for source in sources)
    return Recording(link=link, player=link if playable else "")
