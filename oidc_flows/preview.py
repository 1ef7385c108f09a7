"""Token preview (Okta: Authorization Servers → Token Preview): the claims a request would get, and
which policy and rule decide it, without issuing anything.

It runs the token endpoint's own code: the validator's scope and policy checks, the access token
claim builder and the ID token claim builder, on an oauthlib request built like /token builds one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from . import policy, tokens
from .models import Application, AuthorizationServer
from .validators import FlowsValidator


@dataclass
class Preview:
    decided_by: str = ""
    issued: list[str] = field(default_factory=list)
    access_token: dict[str, Any] | None = None
    id_token: dict[str, Any] | None = None
    error: str = ""
    error_description: str = ""


def preview(
    server: AuthorizationServer,
    client: Application,
    grant_type: str,
    scopes: list[str],
    user: AbstractBaseUser | None = None,
) -> Preview:
    """What /token would answer for this request; nothing is signed or stored."""
    if grant_type not in policy.TOKEN_ENDPOINT_GRANTS:
        return Preview(error="unsupported_grant_type", error_description=f"{grant_type} has no /token step.")
    rule = policy.GRANTS[policy.Grant(grant_type)]
    if rule.has_user and user is None:
        return Preview(error="invalid_request", error_description=f"The {grant_type} grant needs a user.")
    validator = FlowsValidator(server)
    request = OAuthRequest(server.endpoint_url("token"))
    request.client, request.client_id, request.grant_type = client, client.client_id, grant_type
    request.user = user if rule.has_user else None
    request.scopes = list(scopes) or validator.get_default_scopes(client.client_id, request)
    try:
        if why := client.refusal(grant_type):
            return Preview(error="unauthorized_client", error_description=why)
        if not validator.validate_scopes(client.client_id, request.scopes, client, request):
            return Preview(error="invalid_scope", error_description="A requested scope is unknown or not allowed.")
        decision = validator.decide(request)
    except OAuth2Error as exc:
        return Preview(error=exc.error, error_description=exc.description or "")
    request.expires_in = decision.access_token_seconds
    granted = frozenset(request.scopes)
    result = Preview(
        decided_by=decision.describe(), issued=sorted(policy.issued_at_token_endpoint(grant_type, granted))
    )
    if server.issues_jwt_access_tokens:
        result.access_token = tokens.build_access_token_claims(server, request)
    else:
        result.access_token = {"opaque": True, "expires_in": decision.access_token_seconds, "scope": " ".join(granted)}
    if policy.Issued.ID_TOKEN in result.issued:
        request.auth_time = int(time.time())
        claims, _ = validator.get_id_token_dictionary(None, None, request)
        result.id_token = {"aud": client.client_id, "iat": int(time.time())} | claims
    return result
