"""Roles are Django groups. One place knows their names and what each implies."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

AGENT = "agent"
REVIEWER = "reviewer"
SUPERVISOR = "supervisor"
ADMIN = "admin"
ALL_ROLES = (AGENT, REVIEWER, SUPERVISOR, ADMIN)


def roles_for(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The role names of a user, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_qa_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names & set(ALL_ROLES))
        user._qa_roles = cached
    return cached


def is_admin(user) -> bool:
    return ADMIN in roles_for(user)


def is_supervisor(user) -> bool:
    return SUPERVISOR in roles_for(user)


def is_reviewer(user) -> bool:
    return REVIEWER in roles_for(user)


def is_agent(user) -> bool:
    return AGENT in roles_for(user)


def can_import_calls(user) -> bool:
    """Admins, and users given the `calls.import_calls` permission (web upload and API)."""
    return bool(user.is_authenticated and (is_admin(user) or user.has_perm("calls.import_calls")))


def can_see_customer_phone(user) -> bool:
    """Full phone numbers are personal data: only supervisors and admins see them unmasked."""
    return bool(roles_for(user) & {SUPERVISOR, ADMIN})


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= 4:
        return "•" * len(digits)
    return "•" * (len(digits) - 4) + "".join(digits[-4:])
