"""Discovery documents (OIDC Discovery §3, RFC 8414 §2), built from policy.py and the server's rows."""

from __future__ import annotations

from typing import Any

from . import claims, clientauth, dcr, keys, policy
from .authn import policies as authn_policies
from .models import AuthorizationServer, Scope, SigningKey


#: Claims of our own making that appear in ID tokens, besides the user's (OIDC Core §2).
TOKEN_CLAIMS = ("iss", "aud", "exp", "iat", "jti", "auth_time", "nonce", "amr", "acr", "at_hash", "c_hash", "sid")


def build_metadata(server: AuthorizationServer) -> dict[str, Any]:
    """The server's metadata: the same document at both well-known addresses."""
    return _profile_overrides(server, _base_metadata(server))


def _base_metadata(server: AuthorizationServer) -> dict[str, Any]:
    url = server.endpoint_url
    return {
        "issuer": server.issuer,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "userinfo_endpoint": url("userinfo"),
        "end_session_endpoint": url("logout"),  # OpenID Connect RP-Initiated Logout 1.0 §2.1
        # Back-Channel Logout 1.0 §2.1 and Front-Channel Logout 1.0 §3: logout tokens and iframes carry sid.
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "introspection_endpoint": url("introspect"),  # RFC 8414 §2 / RFC 7662
        "revocation_endpoint": url("revoke"),  # RFC 8414 §2 / RFC 7009
        "registration_endpoint": dcr.endpoint_url(),  # RFC 8414 §2 / RFC 7591: the org's, for every server (Okta)
        "jwks_uri": url("keys"),
        "response_types_supported": sorted(policy.RESPONSE_TYPES),
        "response_modes_supported": list(policy.RESPONSE_MODES),
        "grant_types_supported": sorted(
            {*policy.TOKEN_ENDPOINT_GRANTS, policy.Grant.IMPLICIT}
            - (policy.CUSTOM_SERVER_GRANTS if server.is_org else frozenset())
        ),
        "subject_types_supported": [t.value for t in policy.SubjectType],  # OIDC Core §8; oidc_flows.subjects
        "id_token_signing_alg_values_supported": sorted(
            set(SigningKey.objects.filter(server=server).values_list("alg", flat=True))
        ),
        "scopes_supported": list(
            Scope.objects.filter(server=server, include_in_metadata=True)
            .order_by("name")
            .values_list("name", flat=True)
        ),
        "claims_supported": sorted({*claims.SUPPORTED_CLAIMS, *TOKEN_CLAIMS}),
        # Client authentication, the same at /token, /introspect and /revoke ("none": public clients, for
        # their own tokens only), with the assertion algorithms; a security profile narrows both.
        **clientauth.metadata(server),
        "code_challenge_methods_supported": list(policy.CODE_CHALLENGE_METHODS),
        # select_account is answered per OIDC Core §3.1.2.6 (account_selection_required), see views/authorize.py.
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        # Okta's levels of assurance; acr_values asking for more than the session proved trigger a step-up.
        "acr_values_supported": list(authn_policies.ACR),
        "claims_parameter_supported": True,  # OIDC Core §5.5; oidc_flows.claimsrequest
        # RFC 9126 §5 and RFC 9101 §10.5: pushed requests and signed request objects, by value or by a
        # request_uri that is ours (PAR) or that the application registered.
        "pushed_authorization_request_endpoint": url("par"),
        "device_authorization_endpoint": url("device/authorize"),  # RFC 8628 §4
        "require_pushed_authorization_requests": server.requires_par,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "request_object_signing_alg_values_supported": list(policy.REQUEST_OBJECT_ALGS),
        "require_signed_request_object": server.require_signed_request_object,
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": list(policy.DPOP_ALGS),  # RFC 9449 §5.1
    }


def _profile_overrides(server: AuthorizationServer, doc: dict[str, Any]) -> dict[str, Any]:
    """What a server's security profile (policy.FAPI2) narrows: response and grant types, PKCE, algorithms.

    Client authentication methods, PAR and DPoP metadata are their features' own keys.
    """
    profile = server.profile
    if profile is None:
        return doc
    if policy.Grant.DEVICE_CODE not in profile.grants:  # RFC 8628 §4: no grant, no endpoint
        doc = {k: v for k, v in doc.items() if k != "device_authorization_endpoint"}
    return doc | {
        "response_types_supported": sorted(t for t in doc["response_types_supported"] if t in profile.response_types),
        "grant_types_supported": sorted(g for g in doc["grant_types_supported"] if g in profile.grants),
        "code_challenge_methods_supported": list(policy.CODE_CHALLENGE_METHODS),
        # Retired keys of another algorithm may still be published; nothing is signed with them any more.
        # Before its first signature under the switch, a server may hold no such key yet: it rotates then.
        "id_token_signing_alg_values_supported": sorted(
            a for a in doc["id_token_signing_alg_values_supported"] if a in profile.signing_algs
        )
        or [keys.PROFILE_FALLBACK_ALG],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207, FAPI 2.0 §5.3.2.2
    }
