"""OpenAPI schema hooks (drf-spectacular)."""

from __future__ import annotations


def drop_trailing_slash_aliases(endpoints: list[tuple]) -> list[tuple]:
    """Leave out `/x/` where `/x` is an endpoint too: the alias accepted for clients that add the slash."""
    paths = {path for path, *_ in endpoints}
    return [
        endpoint for endpoint in endpoints if not (endpoint[0].endswith("/") and endpoint[0][:-1] in paths)
    ]
