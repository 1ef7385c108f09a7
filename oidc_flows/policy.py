"""The protocol table: application types, grant types, response types and the tokens they give.

Everything here is data. The validator, the discovery documents, the admin forms and the public
flows page read it; nothing else in the code decides which client may use which flow.

Decisions where the seeds (drafts of Okta's docs) disagree with the RFCs; the RFCs win:
- 002 marks ``code`` as returning access and refresh tokens: from /authorize, ``code`` returns only
  the code (RFC 6749 §4.1.2); the tokens come from /token.
- 002 says a flow is OpenID Connect "if the request contains the ``oidc`` scope": it is ``openid``.
- 001 writes ``offline_scope``: it is ``offline_access`` (OIDC Core §11).
- 001 says password tokens carry the scopes "from /authorize": password has no /authorize step;
  the token request's ``scope`` decides (RFC 6749 §4.3.2).
- 003 gives SPAs no refresh tokens (older Okta). RFC 9700 §4.14 allows them for public clients
  with rotation and reuse detection, which we always apply.
- 004 says implicit returns the token "as a query parameter": it is the fragment (RFC 6749 §4.2.2).

Token exchange (RFC 8693, Okta's on-behalf-of flow; oidc_flows/exchange.py), decisions:
- Who: confidential clients only (``service`` and ``web``, optional): the caller is an API that
  authenticates, as Okta allows for API Services and web apps. Custom servers only, as at Okta;
  the org server answers ``unsupported_grant_type`` (CUSTOM_SERVER_GRANTS).
- What it gives: an access token only. No ID token (the user is not signing in to the caller) and no
  refresh token: RFC 8693 §2.2.1 leaves that to the server, and like Okta we issue none; the caller
  exchanges the user's token again when it needs a new one. The token lives no longer than the
  subject token (so revoking the user's token bounds what was exchanged from it).
- Errors: a subject or actor token that is invalid, expired, revoked, has no user, or is refused by
  policy is ``invalid_request``, as RFC 8693 §2.2.2 requires ("MUST"), not ``invalid_grant``.
  Scopes beyond the subject token's are ``invalid_scope`` (never silently reduced: RFC 6749 §6 treats
  a refresh the same way); an audience or resource we cannot issue for is ``invalid_target``.
- Not in the FAPI 2.0 profile (FAPI2.grants): FAPI 2.0 §5.3.2 admits the code flow, and an exchange
  would mint a new token from a sender-constrained one without proof of its key.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class AppType(StrEnum):
    WEB = "web"
    SPA = "spa"
    NATIVE = "native"
    SERVICE = "service"


class Grant(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    IMPLICIT = "implicit"
    PASSWORD = "password"
    CLIENT_CREDENTIALS = "client_credentials"
    REFRESH_TOKEN = "refresh_token"
    TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 §2.1
    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4


class SubjectType(StrEnum):
    """OIDC Core §8: one ``sub`` per user for every application, or one per sector (pairwise, §8.1)."""

    PUBLIC = "public"
    PAIRWISE = "pairwise"


class Issued(StrEnum):
    CODE = "code"
    ACCESS_TOKEN = "access_token"
    ID_TOKEN = "id_token"
    REFRESH_TOKEN = "refresh_token"


class Redirect(StrEnum):
    """Kinds of redirect URI an application type may register (RFC 8252 §7, RFC 9700 §2.1)."""

    HTTPS = "https"
    LOOPBACK = "loopback"  # http://127.0.0.1, http://[::1] or http://localhost, any port
    CUSTOM = "custom"  # private-use scheme such as com.example.app:/callback


@dataclass(frozen=True, slots=True)
class AppTypeRule:
    label: str
    confidential: bool
    default_grants: frozenset[Grant]  # what a new application of this type gets
    optional_grants: frozenset[Grant]  # what an administrator may also enable
    pkce_required: bool
    redirects: frozenset[Redirect]  # empty: this type never redirects

    @property
    def grants(self) -> frozenset[Grant]:
        return self.default_grants | self.optional_grants


@dataclass(frozen=True, slots=True)
class ResponseTypeRule:
    flow: str
    requires: Grant  # the grant the client must hold
    returns: frozenset[Issued]  # from /authorize
    default_mode: str  # "query" or "fragment" (OAuth 2.0 Multiple Response Types §2.1, §5)


@dataclass(frozen=True, slots=True)
class GrantRule:
    flow: str
    has_user: bool
    id_token_scope: str | None  # scope that adds an ID token
    refresh_token_scope: str | None  # scope that adds a refresh token


G = Grant
R = Redirect
APP_TYPES: Final = MappingProxyType({
    #                            label                       confidential default grants                                   optional grants                           pkce   redirect URIs
    AppType.WEB:     AppTypeRule("Web application",          True,  frozenset({G.AUTHORIZATION_CODE, G.REFRESH_TOKEN}), frozenset({G.IMPLICIT, G.PASSWORD, G.CLIENT_CREDENTIALS, G.TOKEN_EXCHANGE}), False, frozenset({R.HTTPS, R.LOOPBACK})),
    AppType.SPA:     AppTypeRule("Single-page application",  False, frozenset({G.AUTHORIZATION_CODE, G.REFRESH_TOKEN}), frozenset({G.IMPLICIT}),                              True,  frozenset({R.HTTPS, R.LOOPBACK})),
    AppType.NATIVE:  AppTypeRule("Native application",       False, frozenset({G.AUTHORIZATION_CODE, G.REFRESH_TOKEN}), frozenset({G.IMPLICIT, G.PASSWORD, G.DEVICE_CODE}),   True,  frozenset({R.HTTPS, R.LOOPBACK, R.CUSTOM})),
    AppType.SERVICE: AppTypeRule("Service (machine-to-machine)", True, frozenset({G.CLIENT_CREDENTIALS}),               frozenset({G.TOKEN_EXCHANGE}),                         False, frozenset()),
})

I = Issued  # noqa: E741
# Keys are space-separated and sorted; use response_type_rule() to look up a raw value.
RESPONSE_TYPES: Final = MappingProxyType({
    "code":                ResponseTypeRule("authorization code", G.AUTHORIZATION_CODE, frozenset({I.CODE}),                             "query"),
    "code id_token":       ResponseTypeRule("hybrid",             G.AUTHORIZATION_CODE, frozenset({I.CODE, I.ID_TOKEN}),                 "fragment"),
    "code id_token token": ResponseTypeRule("hybrid",             G.AUTHORIZATION_CODE, frozenset({I.CODE, I.ID_TOKEN, I.ACCESS_TOKEN}), "fragment"),
    "code token":          ResponseTypeRule("hybrid",             G.AUTHORIZATION_CODE, frozenset({I.CODE, I.ACCESS_TOKEN}),             "fragment"),
    "id_token":            ResponseTypeRule("implicit",           G.IMPLICIT,           frozenset({I.ID_TOKEN}),                         "fragment"),
    "id_token token":      ResponseTypeRule("implicit",           G.IMPLICIT,           frozenset({I.ID_TOKEN, I.ACCESS_TOKEN}),         "fragment"),
    "token":               ResponseTypeRule("implicit",           G.IMPLICIT,           frozenset({I.ACCESS_TOKEN}),                     "fragment"),
})

GRANTS: Final = MappingProxyType({
    #                                flow                              has_user id_token with  refresh_token with
    G.AUTHORIZATION_CODE: GrantRule("authorization code",              True,    "openid",      "offline_access"),
    G.CLIENT_CREDENTIALS: GrantRule("client credentials",              False,   None,          None),  # never an ID or refresh token
    G.PASSWORD:           GrantRule("resource owner password",         True,    "openid",      "offline_access"),
    G.REFRESH_TOKEN:      GrantRule("refresh token",                   True,    "openid",      "offline_access"),
    G.TOKEN_EXCHANGE:     GrantRule("token exchange (on behalf of)",   True,    None,          None),  # RFC 8693: access token only
    G.DEVICE_CODE:        GrantRule("device authorization",            True,    "openid",      "offline_access"),  # RFC 8628
})
# The implicit grant has no /token step: its tokens come from /authorize (RESPONSE_TYPES).
TOKEN_ENDPOINT_GRANTS: Final = frozenset(GRANTS)
#: Grants only custom servers offer: the org server issues tokens for the IdP's own APIs (Okta: the same).
CUSTOM_SERVER_GRANTS: Final = frozenset({Grant.TOKEN_EXCHANGE})

#: RFC 8693 §3 token type identifiers. Subject and actor tokens must be our access tokens, and the
#: exchange issues access tokens only (§2.2.1 ``issued_token_type``).
ACCESS_TOKEN_TYPE_URI: Final = "urn:ietf:params:oauth:token-type:access_token"
EXCHANGE_TOKEN_TYPES: Final = frozenset({ACCESS_TOKEN_TYPE_URI})
#: How many actors a delegation chain may name (nested ``act``, RFC 8693 §4.1) before we refuse to extend it.
EXCHANGE_MAX_ACTORS: Final = 5

#: Scopes every authorization server has (OIDC Core §5.4, §11); their descriptions show on consent.
SYSTEM_SCOPES: Final = MappingProxyType({
    "openid": "Sign you in with your account.",
    "profile": "See your name, username, picture, locale and time zone.",
    "email": "See your email address and whether it is verified.",
    "address": "See your postal address.",
    "phone": "See your phone number.",
    "offline_access": "Keep access while you are not using the application.",
})

#: The management API's scopes (oidc_flows.api, Okta's ``okta.apps.manage`` and so on): only the org
#: server has them. A family's ``.read`` allows GET/HEAD, its ``.manage`` every method (it implies
#: ``.read``). ``permissions``: the Django model permissions (actions on the family's models) the scope
#: stands for; a token with a user also needs that user's own permission at call time.
@dataclass(frozen=True, slots=True)
class ManagementScope:
    description: str
    family: str
    manage: bool
    permissions: tuple[str, ...]


_READ: Final = ("view",)
_MANAGE: Final = ("view", "add", "change", "delete")
MANAGEMENT_SCOPES: Final = MappingProxyType({
    "oidc_flows.apps.read":      ManagementScope("Read applications.",                                     "apps",    False, _READ),
    "oidc_flows.apps.manage":    ManagementScope("Create, change and delete applications.",                "apps",    True,  _MANAGE),
    "oidc_flows.servers.read":   ManagementScope("Read authorization servers, their scopes, claims and policies.", "servers", False, _READ),
    "oidc_flows.servers.manage": ManagementScope("Create and change authorization servers and rotate their keys.", "servers", True, _MANAGE),
    "oidc_flows.users.read":     ManagementScope("Read users, their sessions and consents.",               "users",   False, _READ),
    "oidc_flows.users.manage":   ManagementScope("Create, change, lock out and sign out users.",           "users",   True,  _MANAGE),
    "oidc_flows.groups.read":    ManagementScope("Read groups and their members.",                         "groups",  False, _READ),
    "oidc_flows.groups.manage":  ManagementScope("Create and change groups and their members.",            "groups",  True,  _MANAGE),
    "oidc_flows.logs.read":      ManagementScope("Read the system log.",                                   "logs",    False, _READ),
})


def management_scope_name(family: str, *, manage: bool) -> str:
    """The scope a request on ``family`` needs: ``oidc_flows.<family>.manage`` for writes, else ``.read``."""
    return f"oidc_flows.{family}.{'manage' if manage else 'read'}"


def management_scopes_allowing(family: str, *, manage: bool) -> frozenset[str]:
    """The scopes any one of which allows a request on ``family`` (``.manage`` implies ``.read``)."""
    return frozenset(
        name for name, s in MANAGEMENT_SCOPES.items() if s.family == family and (s.manage or not manage)
    )


#: How clients may authenticate at /token, /introspect, /revoke and /par (RFC 8414 §2, OIDC Core §9).
TOKEN_ENDPOINT_AUTH_METHODS: Final = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
#: The methods that prove the client with a JWT assertion (RFC 7523 §2.2), and the algorithms each
#: accepts: never "none", never an HMAC with a public key, never a public-key algorithm with a secret.
CLIENT_ASSERTION_ALGS: Final = MappingProxyType({
    "private_key_jwt": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"),
    "client_secret_jwt": ("HS256", "HS384", "HS512"),
})
#: A client assertion lives this long at most (``exp`` − ``iat``, or ``exp`` − now without ``iat``).
CLIENT_ASSERTION_MAX_SECONDS: Final = 300
#: Algorithms of request objects (RFC 9101) and DPoP proofs (RFC 9449): asymmetric only.
REQUEST_OBJECT_ALGS: Final = ("RS256", "PS256", "ES256")
DPOP_ALGS: Final = ("RS256", "PS256", "ES256", "EdDSA")
#: Seconds a DPoP proof's ``iat`` may lie in the past or the future (RFC 9449 §11.1).
DPOP_PROOF_WINDOW_SECONDS: Final = 60
#: A server nonce (``DPoP-Nonce``, RFC 9449 §8) is accepted in its time window and the next one.
DPOP_NONCE_SECONDS: Final = 300
#: A pushed authorization request's ``request_uri`` lives this long, and is used once (RFC 9126 §2.2).
PAR_SECONDS: Final = 60
PAR_URN_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"


@dataclass(frozen=True, slots=True)
class SecurityProfile:
    """What a profile switched on for an authorization server enforces there (FAPI 2.0 Security Profile §5)."""

    name: str
    response_types: frozenset[str]  # what /authorize accepts
    grants: frozenset[Grant]  # what /token accepts
    auth_methods: frozenset[str]  # how confidential clients authenticate; public clients are refused
    require_par: bool
    require_pkce: bool  # S256 (CODE_CHALLENGE_METHODS), for every client
    require_dpop: bool  # sender-constrained access tokens
    max_code_seconds: int
    signing_algs: frozenset[str]  # of the server's keys


#: FAPI 2.0 Security Profile (final, 2025): §5.3.2.1 PAR, PKCE S256, confidential clients with
#: private_key_jwt (or mTLS, which we do not offer), sender-constrained tokens (DPoP here),
#: ``iss`` in the authorization response (always sent), ``response_type=code`` only, codes of 60 s
#: at most (§5.3.2.1-14), and PS256 or ES256 signatures (§5.4.1).
FAPI2: Final = SecurityProfile(
    name="FAPI 2.0 Security Profile",
    response_types=frozenset({"code"}),
    grants=frozenset({Grant.AUTHORIZATION_CODE, Grant.REFRESH_TOKEN, Grant.CLIENT_CREDENTIALS}),
    auth_methods=frozenset({"private_key_jwt"}),
    require_par=True,
    require_pkce=True,
    require_dpop=True,
    max_code_seconds=60,
    signing_algs=frozenset({"PS256", "ES256"}),
)
#: The grants a client registered without an initial access token may hold (OIDC_FLOWS["OPEN_REGISTRATION"]):
#: only those where a signed-in user consents. No anonymous service may mint tokens on its own behalf.
OPEN_REGISTRATION_GRANTS: Final = frozenset({Grant.AUTHORIZATION_CODE, Grant.IMPLICIT, Grant.REFRESH_TOKEN})
#: OIDC Registration §2 ``application_type`` ("web", "native") and Okta's ("browser", "service") → ours.
REGISTRATION_APP_TYPES: Final = MappingProxyType({
    "web": AppType.WEB,
    "native": AppType.NATIVE,
    "browser": AppType.SPA,
    "service": AppType.SERVICE,
})

#: PKCE methods we accept: RFC 9700 §2.1.1 rules out "plain".
CODE_CHALLENGE_METHODS: Final = ("S256",)
RESPONSE_MODES: Final = ("query", "fragment", "form_post")
#: What /authorize may never put in a query string (OAuth 2.0 Multiple Response Types §5).
FRONT_CHANNEL_TOKENS: Final = frozenset({Issued.ACCESS_TOKEN, Issued.ID_TOKEN})
#: RFC 6749 §3.1: parameters "MUST NOT be included more than once"; RFC 8707 §2 lets ``resource`` repeat,
#: and RFC 8693 §2.1 lets ``audience`` repeat too.
REPEATABLE_PARAMETERS: Final = frozenset({"resource", "audience"})
#: The one body encoding of /token (RFC 6749 §3.2), /introspect (RFC 7662 §2.1) and /revoke (RFC 7009 §2.1).
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"


def response_type_rule(raw: str) -> ResponseTypeRule | None:
    """Look up a ``response_type`` parameter; word order does not matter."""
    return RESPONSE_TYPES.get(" ".join(sorted(set(raw.split()))))


def response_mode_allowed(rule: ResponseTypeRule, mode: str) -> bool:
    """Whether ``mode`` may carry what ``rule`` returns: tokens never go in the query."""
    return mode in RESPONSE_MODES and not (mode == "query" and rule.returns & FRONT_CHANNEL_TOKENS)


def repeated_parameter(params: Iterable[tuple[str, list[str]]]) -> str | None:
    """The first parameter of ``params`` (a QueryDict's ``lists()``) given more than once, if it may not be."""
    return next((name for name, values in params if len(values) > 1 and name not in REPEATABLE_PARAMETERS), None)


def may_use(app_type: str, grant: str) -> bool:
    """Return whether an application type can ever hold ``grant``."""
    return grant in APP_TYPES[AppType(app_type)].grants


def issued_at_token_endpoint(grant: str, scopes: frozenset[str]) -> frozenset[Issued]:
    """Return the tokens /token gives for ``grant`` with the granted ``scopes``."""
    rule = GRANTS[Grant(grant)]
    extra = {I.ID_TOKEN: rule.id_token_scope, I.REFRESH_TOKEN: rule.refresh_token_scope}
    return frozenset({I.ACCESS_TOKEN} | {kind for kind, scope in extra.items() if scope and scope in scopes})
