"""Django REST framework authentication with our access tokens: ``Authorization: Bearer`` (RFC 6750 §2.1)
or, for DPoP-bound tokens, ``Authorization: DPoP`` with a ``DPoP`` proof (RFC 9449 §7).

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["oidc_flows.resource.authentication.BearerTokenAuthentication"],
    }

A valid token makes ``request.user`` a ``TokenUser`` (``sub``, ``client_id``, ``scopes``, ``claims``)
and ``request.auth`` its claims. A request without a bearer token is left to the other classes
(and to the permissions: ``permissions.HasScopes`` answers 401 with a bare ``Bearer`` challenge).
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .errors import BearerError
from .settings import ResourceSettings, resource_settings
from .tokens import TokenUser, authenticate_request


class BearerTokenFailed(exceptions.APIException):
    """A ``BearerError`` as DRF sees it: its status, JSON body and ``WWW-Authenticate`` challenge."""

    def __init__(self, error: BearerError) -> None:
        super().__init__(detail=error.body())
        self.status_code = int(error.status)
        # DRF's exception handler turns auth_header into WWW-Authenticate (RFC 6750 §3).
        self.auth_header = error.www_authenticate()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Accept access tokens of the authorization server that ``OIDC_RESOURCE`` names."""

    def get_settings(self) -> ResourceSettings:
        """Override to protect a view with another issuer or audience than ``OIDC_RESOURCE``'s."""
        return resource_settings()

    def authenticate(self, request: Request) -> tuple[TokenUser, dict[str, Any]] | None:
        try:
            user = authenticate_request(request._request, self.get_settings())
        except BearerError as error:
            raise BearerTokenFailed(error) from None
        if user is None:
            return None
        return user, dict(user.claims)

    def authenticate_header(self, request: Request) -> str:
        # RFC 6750 §3: DRF answers 401 (not 403) to unauthenticated requests; RFC 9449 §7.1: DPoP too.
        return BearerError.missing(self.get_settings().DPOP_ALGORITHMS).www_authenticate() or "Bearer"
