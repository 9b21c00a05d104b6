"""Survey link tokens: 32 random bytes, URL-safe; only their SHA-256 is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; accept a little slack but refuse absurd input before hashing.
MAX_TOKEN_LENGTH = 128


def token_generate() -> tuple[str, str]:
    """A new (raw token, SHA-256 hex digest) pair. The raw token goes in the link and nowhere else."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_is_well_formed(raw: str) -> bool:
    return 0 < len(raw) <= MAX_TOKEN_LENGTH and all(c.isalnum() or c in "-_" for c in raw)


def signature_for(body: bytes, secret: str) -> str:
    """The X-QA-Signature header value for a body: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str, secret: str) -> bool:
    """Constant-time check of a ``sha256=<hex>`` signature header against the body (the scheme's name and
    the hex digits in any case, as senders' libraries write them)."""
    if not secret or not header:
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme.strip().lower() != "sha256":
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), digest.strip().lower().encode("utf-8"))
