"""DRF's browsable API under the site's Content Security Policy.

DRF's own page (rest_framework/base.html, Bootstrap 3) writes `style="…"` attributes and one inline `<style>`
block (its code highlighting). The block gets the response's nonce (templates/rest_framework/api.html); the
attributes are allowed on these pages only: the rest of the site keeps the stricter policy. Scripts stay
`'self'` (DRF's are files; its CSRF data is a JSON block, never run)."""

from __future__ import annotations

from django.conf import settings
from django.utils.csp import CSP
from rest_framework import renderers


def browsable_api_policy() -> dict:
    return {**settings.SECURE_CSP, "style-src-attr": [CSP.UNSAFE_INLINE]}


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_config = browsable_api_policy()  # read by django.middleware.csp
        return super().render(data, accepted_media_type, renderer_context)
