"""The management API's rate limits per caller (the token's application and user): 429, Retry-After.

``OIDC_FLOWS["API_RATE_LIMITS"]`` overrides the defaults: ``{"read": "600/minute", "write": "120/minute"}``.
"""

from __future__ import annotations

from typing import Any, Final

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..settings import flows_settings
from .authentication import ManagementToken


DEFAULT_RATES: Final = {"read": "600/minute", "write": "120/minute"}


class TokenRateThrottle(SimpleRateThrottle):
    """Counts the requests of one access token, reads and writes apart (cache: Django's default)."""

    cache_format = "oidc_flows:api:throttle:%(scope)s:%(ident)s"

    def __init__(self) -> None:
        pass  # the rate depends on the request (read or write): see allow_request

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = "read" if request.method in SAFE_METHODS else "write"
        rates = DEFAULT_RATES | flows_settings().API_RATE_LIMITS
        self.rate = rates.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ManagementToken):
            return None  # refused by the permission anyway
        return self.cache_format % {"scope": self.scope, "ident": token.throttle_key}
