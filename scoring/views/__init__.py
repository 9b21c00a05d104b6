"""QA web UI views (see scoring/urls.py). Views validate and render; services change state; selectors read."""
