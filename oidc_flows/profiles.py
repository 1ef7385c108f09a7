"""What a security profile switched on for an authorization server refuses, and why (FAPI 2.0 §5).

The rules are data (``policy.SecurityProfile``, ``policy.FAPI2``); this module turns them into
refusals a developer can act on, for the validator, and into the sentences the admin page shows.
PAR and DPoP are enforced where those features live (``server.requires_par``, ``requires_dpop``).
"""

from __future__ import annotations

from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from . import keys, policy


def response_type_refusal(profile: policy.SecurityProfile | None, response_type: str) -> str | None:
    """Why /authorize refuses ``response_type`` under ``profile``; None if it does not."""
    rule = policy.response_type_rule(response_type)
    if profile is None or rule is None or " ".join(sorted(response_type.split())) in profile.response_types:
        return None
    return f"The {profile.name} of this server allows response_type={_words(profile.response_types)} only."


def grant_refusal(profile: policy.SecurityProfile | None, grant_type: str) -> str | None:
    """Why /token refuses ``grant_type`` under ``profile``; None if it does not."""
    if profile is None or grant_type in profile.grants:
        return None
    return f"The {profile.name} of this server does not allow the {grant_type} grant."


def client_refusal(profile: policy.SecurityProfile | None, client: Any) -> str | None:
    """Why ``client`` (an Application) gets no tokens under ``profile``: public, or the wrong authentication."""
    if profile is None:
        return None
    if not client.rule.confidential:
        return f"The {profile.name} of this server issues tokens to confidential clients only."
    if client.token_endpoint_auth_method not in profile.auth_methods:
        return (
            f"The {profile.name} of this server requires token_endpoint_auth_method "
            f"{_words(profile.auth_methods, ' or ')}; this application uses {client.token_endpoint_auth_method}."
        )
    return None


def code_seconds(profile: policy.SecurityProfile | None, configured: int) -> int:
    """How long an authorization code lives: the configured lifetime, capped by the profile."""
    return configured if profile is None else min(configured, profile.max_code_seconds)


def rules(profile: policy.SecurityProfile) -> list[str]:
    """The profile's rules as sentences for administrators (translatable), generated from its data."""
    refused_grants = sorted(set(policy.TOKEN_ENDPOINT_GRANTS) - profile.grants)
    refused_flows = {rule.flow for name, rule in policy.RESPONSE_TYPES.items() if name not in profile.response_types}
    items = [
        format_lazy(
            _("/authorize accepts response_type {allowed} only ({refused}: unsupported_response_type)."),
            allowed=_words(profile.response_types),
            refused=_words(refused_flows),
        ),
        format_lazy(
            _("/token accepts the grants {allowed} only ({refused}: unsupported_grant_type)."),
            allowed=_words(profile.grants),
            refused=_words(refused_grants) or "-",
        ),
        format_lazy(
            _(
                "Only confidential applications authenticating with {methods} get tokens; public clients and client "
                "secrets are refused (invalid_client)."
            ),
            methods=_words(profile.auth_methods, " or "),
        ),
    ]
    if profile.require_pkce:
        items.append(
            format_lazy(_("PKCE with {methods} for every request."), methods=_words(policy.CODE_CHALLENGE_METHODS))
        )
    if profile.require_par:
        items.append(_("Authorization requests only as pushed authorization requests (PAR, RFC 9126)."))
    if profile.require_dpop:
        items.append(_("Access tokens bound to the client's key with DPoP (RFC 9449)."))
    items += [
        format_lazy(_("Authorization codes live {seconds} seconds at most."), seconds=profile.max_code_seconds),
        _("Authorization responses carry iss (RFC 9207), as on every server."),
        format_lazy(
            _(
                "Tokens are signed with {algs} only: turning the switch on with a key of another algorithm rotates "
                "to a new {fallback} key at once."
            ),
            algs=_words(profile.signing_algs, " or "),
            fallback=keys.PROFILE_FALLBACK_ALG,
        ),
    ]
    return [str(item) for item in items]


def _words(values: Any, sep: str = ", ") -> str:
    return sep.join(sorted(str(v) for v in values))
