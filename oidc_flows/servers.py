"""Which authorization server a request is for, the built-in servers, and per-server oauthlib cores."""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import request_finished, setting_changed
from django.db import transaction
from django.http import HttpRequest
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types import ResourceOwnerPasswordCredentialsGrant
from oauthlib.oauth2.rfc6749.tokens import BearerToken, OAuth2Token
from oauthlib.openid import Server
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase

from . import device, dpop, exchange, policy, snapshots
from .errors import ProtocolError
from .models import AuthorizationServer, Scope
from .models.servers import ORG_SERVER_ID


def resolve(server_id: str | None) -> AuthorizationServer:
    """Return the active server a URL names; ``None`` means the org server.

    Every request reads the server's id and ``updated`` stamp (one small query with SQL compiled
    once: this runs on every request of every endpoint); the row itself comes from this process's
    cache for that stamp (oidc_flows.snapshots), so a change on any node is seen at once.
    """
    if server_id is None:
        stamp = snapshots.read_stamp(AuthorizationServer, ("id", "updated"), ("is_org", "is_active"), [True, True])
    else:
        where = ("server_id", "is_org", "is_active")
        stamp = snapshots.read_stamp(AuthorizationServer, ("id", "updated"), where, [server_id, False, True])
    if stamp is None:
        raise ProtocolError("not_found")
    found = snapshots.servers.get(stamp)
    if found is None:
        found = AuthorizationServer.objects.active().filter(pk=stamp[0]).first()
        if found is None:
            raise ProtocolError("not_found")  # deactivated or deleted between the two reads
        snapshots.servers.put(stamp, found)
    found._snapshot_stamp = stamp  # the stamp as read: snapshots.of keys the server's other rows by it
    return found


class PolicyBearerToken(BearerToken):
    """oauthlib's bearer token, but a refresh token only where policy.GRANTS says so.

    oauthlib issues one on every code and password grant; the seeds (001) issue one only
    when ``offline_access`` was granted.
    """

    def create_token(self, request: OAuthRequest, refresh_token: bool = False, **kwargs: Any) -> OAuth2Token:
        if refresh_token and request.grant_type in policy.TOKEN_ENDPOINT_GRANTS:
            issued = policy.issued_at_token_endpoint(request.grant_type, frozenset(request.scopes or ()))
            refresh_token = policy.Issued.REFRESH_TOKEN in issued
        token = super().create_token(request, refresh_token=refresh_token, **kwargs)
        if vars(request).get("dpop_proof") is not None:  # ours, never a parameter (tokens.request_state)
            token["token_type"] = dpop.SCHEME  # RFC 9449 §5: bound to the proof's key (FlowsValidator)
        return token

    def validate_request(self, request: OAuthRequest) -> bool:
        """oauthlib's, but the token may come with the DPoP scheme too (RFC 9449 §7.1); the validator
        then checks the binding (FlowsValidator.validate_bearer_token)."""
        if "Authorization" not in request.headers:
            return super().validate_request(request)  # oauthlib: a form-encoded access_token, if any
        found = dpop.authorization(request.headers["Authorization"])
        token = found[1] if found and found[1] else None
        return self.request_validator.validate_bearer_token(token, request.scopes, request)


class PasswordGrant(OpenIDGrantTypeBase):
    """The password grant with an ID token when ``openid`` is granted (001's grant table).

    oauthlib's password grant is OAuth 2.0 only; this wraps it the way oauthlib wraps the code grant.
    """

    def __init__(self, request_validator=None, **kwargs: Any) -> None:
        self.proxy_target = ResourceOwnerPasswordCredentialsGrant(request_validator=request_validator, **kwargs)

    def create_token_response(self, request: OAuthRequest, token_handler: BearerToken) -> tuple:
        # oauthlib calls the password grant's modifiers with the token only; bind the rest here. This
        # grant object serves one request at a time (oauthlib_core: one server per thread), and the
        # binding is dropped afterwards so that no request outlives its own.
        self.proxy_target._token_modifiers = [lambda token: self.add_id_token(token, token_handler, request)]
        try:
            return self.proxy_target.create_token_response(request, token_handler)
        finally:
            self.proxy_target._token_modifiers = []


def _check_dpop_jkt(request: OAuthRequest) -> dict:
    """RFC 9449 §10: ``dpop_jkt`` at /authorize, if sent, is a JWK SHA-256 thumbprint (the code is bound to it)."""
    value = getattr(request, "dpop_jkt", None)  # the parameter: oauthlib exposes every one as an attribute
    if value is not None and not dpop.is_thumbprint(value):
        raise errors.InvalidRequestError(description="dpop_jkt is not a JWK SHA-256 thumbprint.", request=request)
    return {}


class FlowsServer(Server):
    """oauthlib's OpenID Connect server with the policy-aware bearer token handler."""

    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        **kwargs: Any,
    ) -> None:
        super().__init__(request_validator, token_expires_in, token_generator, refresh_token_generator, **kwargs)
        bearer = PolicyBearerToken(request_validator, token_generator, token_expires_in, refresh_token_generator)
        # The authorization and token endpoints share `_default_token_type`; the resource endpoint `_tokens`.
        self.bearer = self._default_token_type = self._tokens["Bearer"] = bearer
        self.password_grant = self._grant_types["password"] = PasswordGrant(request_validator)
        self._grant_types[policy.Grant.TOKEN_EXCHANGE] = exchange.TokenExchangeGrant(request_validator)  # RFC 8693
        # RFC 8628 §3.4, with an ID token (oauthlib registers its OAuth 2.0-only grant under the same name).
        self.device_code_grant = self._grant_types[policy.Grant.DEVICE_CODE] = device.DeviceCodeGrant(request_validator)
        for code_grant in (
            self.auth_grant,
            self.openid_connect_auth.proxy_target,
            self.openid_connect_hybrid.proxy_target,
        ):
            # RFC 9700 §2.1.1: S256 only; oauthlib also knows "plain".
            methods = code_grant._code_challenge_methods
            code_grant._code_challenge_methods = {m: methods[m] for m in policy.CODE_CHALLENGE_METHODS}
            code_grant.custom_validators.post_auth.append(_check_dpop_jkt)

    def validate_userinfo_request(self, request: OAuthRequest) -> None:
        # oauthlib validates the token *for* openid, so a good token without openid looked invalid
        # (401). Validate the token alone; its scopes then decide: 403 insufficient_scope (RFC 6750 §3.1).
        request.scopes = []
        super().validate_userinfo_request(request)


#: This thread's oauthlib cores: {server pk: (key, core, validator)}. One per thread, never shared:
#: the validator is rebound to each request (gthread workers serve requests on several threads).
_cores = threading.local()
#: Bumped when settings change (tests): DOT and oauthlib read some of them when a server is built.
_settings_generation = 0
_MAX_CORES_PER_THREAD = 64


def _settings_changed(**kwargs: Any) -> None:
    global _settings_generation
    _settings_generation += 1


def _request_finished(**kwargs: Any) -> None:
    # Sent from the thread that served the request: its answer is out, so let go of the request.
    for _, _, validator in getattr(_cores, "by_server", {}).values():
        validator.http_request = None


setting_changed.connect(_settings_changed, dispatch_uid="oidc_flows.servers.cores")
request_finished.connect(_request_finished, dispatch_uid="oidc_flows.servers.cores-release")


def _build_core(server: AuthorizationServer) -> tuple[OAuthLibCore, Any]:
    from . import tokens  # tokens imports the validator's helpers; keep the import graph acyclic
    from .validators import FlowsValidator

    validator = FlowsValidator(server)

    def token_generator(request: OAuthRequest) -> str:
        return tokens.access_token_generator(validator.server)(request)  # the server of this request

    oauth_server = FlowsServer(
        validator,
        token_expires_in=validator.access_token_seconds,  # the access policy rule decides
        token_generator=token_generator,
        refresh_token_generator=tokens.opaque_token,
    )
    return OAuthLibCore(oauth_server), validator


def oauthlib_core(server: AuthorizationServer, *, http_request: HttpRequest | None = None) -> OAuthLibCore:
    """An oauthlib server whose validator and token generator are bound to ``server`` and ``http_request``.

    Building one (validator, grant types, token handlers) on every request is wasted work, so each
    thread keeps one per server and configuration stamp and binds it to the request at hand; the
    binding is dropped when the response is finished (``request_finished``).
    """
    key = (getattr(server, "_snapshot_stamp", None) or (server.pk, server.updated), _settings_generation)
    cores: dict[Any, tuple] = _cores.__dict__.setdefault("by_server", {})
    found = cores.get(server.pk)
    if found is None or found[0] != key:
        if len(cores) >= _MAX_CORES_PER_THREAD:
            cores.clear()  # servers come and go (tests); the live ones are built again at once
        found = cores[server.pk] = (key, *_build_core(server))
    _, core, validator = found
    validator.server = server
    validator.http_request = http_request
    return core


@transaction.atomic
def create_server(
    server_id: str,
    *,
    name: str,
    description: str = "",
    audience: str = "",
    is_org: bool = False,
    default_policy: bool = False,
    fapi_profile: bool = False,
    signing_alg: str | None = None,
) -> AuthorizationServer:
    """Create an authorization server with its system scopes and a signing key (of ``signing_alg``).

    Like Okta, a new custom server issues nothing until an access policy allows it; pass
    ``default_policy=True`` for the permissive policy that ``default`` ships with.
    """
    from .access import create_default_policy
    from .keys import ensure_signing_key

    server = AuthorizationServer(
        server_id=server_id,
        name=name,
        description=description,
        audience=audience,
        is_org=is_org,
        fapi_profile=fapi_profile,
    )
    server.full_clean()
    server.save()
    ensure_system_scopes(server)
    ensure_signing_key(server, alg=signing_alg)  # None: SIGNING_ALG, or PS256 where the profile wants it
    if default_policy and not is_org:
        create_default_policy(server)
    return server


def ensure_system_scopes(server: AuthorizationServer) -> None:
    """Give ``server`` the OIDC scopes (OIDC Core §5.4, §11) it must always have."""
    for name, description in policy.SYSTEM_SCOPES.items():
        Scope.objects.get_or_create(
            server=server,
            name=name,
            defaults={"description": description, "is_system": True, "consent_required": name != "openid"},
        )
    if server.is_org:
        ensure_management_scopes(server)


def ensure_management_scopes(server: AuthorizationServer) -> None:
    """Give the org server the management API's scopes (policy.MANAGEMENT_SCOPES): system scopes that a
    user consents to, and that an application gets with client credentials only when granted them."""
    for name, scope in policy.MANAGEMENT_SCOPES.items():
        Scope.objects.get_or_create(
            server=server,
            name=name,
            defaults={"description": scope.description, "is_system": True, "consent_required": True},
        )


def ensure_builtin_servers(**kwargs: Any) -> None:
    """Create the org server and ``default`` if they are missing (post_migrate handler)."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    if not AuthorizationServer.objects.filter(is_org=True).exists():
        create_server(
            ORG_SERVER_ID,
            name="Org authorization server",
            is_org=True,
            description="Issues tokens for the identity provider's own APIs.",
        )
    if not AuthorizationServer.objects.filter(server_id="default").exists():
        create_server("default", name="default", description="Default custom authorization server", default_policy=True)
