"""OpenAPI schema hooks (drf-spectacular)."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny


def drop_trailing_slash_aliases(endpoints: list[tuple]) -> list[tuple]:
    """Leave out `/x/` where `/x` is an endpoint too: the alias accepted for clients that add the slash."""
    paths = {path for path, *_ in endpoints}
    return [
        endpoint for endpoint in endpoints if not (endpoint[0].endswith("/") and endpoint[0][:-1] in paths)
    ]


# DRF's own error bodies: {"detail": ...} for authentication, permission, not found, media type, throttling
# and unreadable bodies; {"field": [messages], "non_field_errors": [...]} for validation errors.
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Messages per field (non_field_errors: about several fields), or `detail` when the "
    "body itself cannot be read.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error answers DRF gives on its own, which the generator leaves out:
    generated clients must know them, and the contract test (tests/qa_center/test_api_contract.py) checks
    that every status code an endpoint answers is in the schema. An operation's own declaration of a code
    wins."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, description, component in self._error_responses(operation):
            content = {"application/json": {"schema": self._error_component(component)}}
            if code not in responses:
                responses[code] = {"content": content, "description": description}
            elif "content" not in responses[code]:
                # Declared with a description only: DRF's body all the same.
                responses[code]["content"] = content
        return operation

    def _error_component(self, name: str) -> dict:
        schema = VALIDATION_ERROR_SCHEMA if name == "ValidationError" else ERROR_SCHEMA
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return component.ref

    def _error_responses(self, operation: dict) -> list[tuple[str, str, str]]:
        view = self.view
        errors = []
        paginator = self._get_paginator() if self._is_list_view() else None
        # A page number out of range is a 404 (below), not a 400.
        paging = {p["name"] for p in paginator.get_schema_operation_parameters(view)} if paginator else set()
        query = [p for p in operation.get("parameters", []) if p["in"] == "query" and p["name"] not in paging]
        has_body = self.method in BODY_METHODS and "requestBody" in operation
        if query or has_body:
            errors.append(("400", "Invalid parameters or body", "ValidationError"))
        if view.get_authenticators() and not all(
            isinstance(permission, AllowAny) for permission in view.get_permissions()
        ):
            errors.append(("401", "No credentials, or wrong ones", "Error"))
            errors.append(("403", "The caller may not do this", "Error"))
        if any(p["in"] == "path" for p in operation.get("parameters", [])) or paginator:
            errors.append(("404", "No such object the caller may see, or no such page", "Error"))
        if has_body:
            errors.append(("413", "The body is over the limit", "Error"))
            errors.append(("415", "A media type the endpoint does not read", "Error"))
        if view.get_throttles():
            errors.append(("429", "Too many requests: wait (Retry-After) and try again", "Error"))
        return errors
