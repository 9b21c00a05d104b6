"""API authentication shared by every endpoint: session, or an API token sent as `Token` or `Bearer`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """The same API tokens as `Authorization: Bearer <key>`, the scheme most HTTP clients and tools send."""

    keyword = "Bearer"


# Token first: a request without credentials gets 401 with `WWW-Authenticate: Token`, not a bare 403.
TOKEN_AUTHENTICATION = [TokenAuthentication, BearerTokenAuthentication]


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI: its own `bearerAuth` scheme (drf-spectacular's `tokenAuth` would otherwise match the subclass)."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=BearerTokenAuthentication.keyword
        )
