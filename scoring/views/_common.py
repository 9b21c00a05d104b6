"""Small helpers shared by the QA views."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from calls import roles


def require_any_role(user, *names: str) -> None:
    """403 unless the user has one of the roles (admins always pass)."""
    if roles.is_admin(user):
        return
    if not (roles.roles_for(user) & set(names)):
        raise PermissionDenied("Your role does not give access to this page.")


def can_assign(user) -> bool:
    """Whether to show the manual assignment page (the service still checks each call)."""
    return roles.is_admin(user) or roles.is_supervisor(user) or user.has_perm("scoring.assign_calls")


def error_messages(error: ValidationError) -> list[str]:
    """A service's ValidationError as plain sentences (dict errors flattened, field names dropped)."""
    if hasattr(error, "error_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return list(error.messages)


def form_add_service_errors(form, error: ValidationError) -> None:
    """A service's ValidationError on the form: each message on its field when the form has one, else on
    the form as a whole."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            for message in field_errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def querystring_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
