"""Django REST framework permissions: the access token must hold the view's scopes (RFC 6750 §3.1).

    class Reports(APIView):
        authentication_classes = [BearerTokenAuthentication]
        permission_classes = [HasScopes]
        required_scopes = ["reports:read"]

    # or, without a view attribute:
        permission_classes = [RequireScopes("reports:read", "reports:write")]

No bearer token: 401 with a bare ``WWW-Authenticate: Bearer``; a token without a required scope:
403 ``insufficient_scope`` naming the scopes needed.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .authentication import BearerTokenFailed
from .errors import BearerError
from .tokens import TokenUser


class HasScopes(BasePermission):
    """Allow requests whose access token holds every scope in the view's ``required_scopes``."""

    def required_scopes(self, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "required_scopes", ()))

    def has_permission(self, request: Request, view: Any) -> bool:
        user = getattr(request, "user", None)
        if not isinstance(user, TokenUser):
            raise BearerTokenFailed(BearerError.missing())
        required = self.required_scopes(view)
        if not user.has_scopes(required):
            raise BearerTokenFailed(BearerError.insufficient_scope(required))
        return True


def RequireScopes(*scopes: str) -> type[HasScopes]:  # named like the class it returns
    """A ``HasScopes`` class that requires ``scopes`` whatever the view says."""
    if not scopes:
        raise ValueError("RequireScopes needs at least one scope; use HasScopes for any valid token.")

    class RequireTheseScopes(HasScopes):
        def required_scopes(self, view: Any) -> tuple[str, ...]:
            return scopes

    RequireTheseScopes.__name__ = RequireTheseScopes.__qualname__ = f"RequireScopes({', '.join(scopes)})"
    return RequireTheseScopes
