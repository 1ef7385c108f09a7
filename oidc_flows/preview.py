"""Token preview (Okta: Authorization Servers → Token Preview): the claims a request would get, and
which policy and rule decide it, without issuing anything.

It runs the token endpoint's own code: the validator's scope and policy checks, the access token
claim builder and the ID token claim builder, on an oauthlib request built like /token builds one.
For a flow with a user it also shows the sign-on rule of that user, application and server, from
``authn.policies.sign_on`` (what the sign-in itself would ask for).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext, ngettext
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from . import policy, tokens
from .authn import policies
from .authn.models import FactorType, MfaRequirement
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
    #: The sign-on rule of the user, application and server; None for flows without a user.
    sign_on: policies.SignOn | None = None

    def sign_on_rows(self) -> list[tuple[str, str]]:
        """The sign-on decision as label/value rows for the page."""
        return describe_sign_on(self.sign_on) if self.sign_on is not None else []


def _duration(seconds: int) -> str:
    minutes = seconds // 60
    if minutes % 60:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return ngettext("%(n)d hour", "%(n)d hours", minutes // 60) % {"n": minutes // 60}


def describe_sign_on(rule: policies.SignOn) -> list[tuple[str, str]]:
    """What a sign-on decision means, one row per action, in the admin's words."""
    if not rule.rule:
        return [(gettext("access"), gettext("denied: no sign-on rule matches"))]
    types = ", ".join(str(label) for value, label in FactorType.choices if value in rule.factor_types)
    types = types or gettext("any")
    return [
        (gettext("policy"), rule.policy),
        (gettext("rule"), rule.rule),
        (gettext("access"), gettext("allowed") if rule.allowed else gettext("denied")),
        (gettext("primary factor"), gettext("password or passkey") if rule.passwordless else gettext("password")),
        (gettext("multi-factor authentication"), str(MfaRequirement(rule.mfa).label)),
        (
            gettext("second factor asked"),
            gettext("once per session") if rule.once_per_session else gettext("at every sign-in"),
        ),
        (gettext("factor types"), types),
        (gettext("session lifetime"), _duration(rule.session_lifetime)),
        (gettext("session idle timeout"), _duration(rule.session_idle)),
    ]


def preview(
    server: AuthorizationServer,
    client: Application,
    grant_type: str,
    scopes: list[str],
    user: AbstractBaseUser | None = None,
) -> Preview:
    """What /token would answer for this request, and the user's sign-on rule; nothing is signed or stored."""
    result = _tokens(server, client, grant_type, scopes, user)
    with_user = grant_type in policy.TOKEN_ENDPOINT_GRANTS and policy.GRANTS[policy.Grant(grant_type)].has_user
    if with_user and user is not None:
        result.sign_on = policies.sign_on(user, client=client, server=server)
    return result


def _tokens(
    server: AuthorizationServer,
    client: Application,
    grant_type: str,
    scopes: list[str],
    user: AbstractBaseUser | None,
) -> Preview:
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
