"""DOT's OAuth2Validator bound to one authorization server; protocol rules come from policy.py.

Every lookup of a code or token filters on ``self.server``: that is what keeps servers apart.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749 import errors

from . import (
    access,
    claims,
    claimsrequest,
    clientauth,
    consent,
    device,
    dpop,
    exchange,
    policy,
    profiles,
    replay,
    sessions,
    snapshots,
    subjects,
    systemlog,
    tokens,
)
from .authn import machine as authn_machine
from .authn import policies as authn_policies
from .models import AccessToken, Application, AuthorizationServer, Grant, RefreshToken
from .settings import flows_settings
from .tokens import request_state as state


#: ORDER BY for rows sharing a checksum: the live (unrevoked) one first, then the latest revoked.
LIVE_FIRST = "(revoked IS NULL) DESC, revoked DESC"


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class DPoPProofError(errors.OAuth2Error):
    """A token request's refused DPoP proof (RFC 9449 §5, §8): 400 ``invalid_dpop_proof``, or
    ``use_dpop_nonce`` with the nonce to use in a ``DPoP-Nonce`` header (openid-client retries on it)."""

    status_code = 400

    def __init__(self, refused: dpop.DPoPError, request: OAuthRequest) -> None:
        self.error = refused.error
        super().__init__(description=refused.description, request=request)

    @property
    def headers(self) -> dict[str, str]:
        return {"DPoP-Nonce": dpop.new_nonce()} if self.error == "use_dpop_nonce" else {}


def dpop_proof(request: OAuthRequest) -> dpop.Proof | None:
    """The token request's checked DPoP proof. Read from the instance only: oauthlib answers any
    other attribute name with the request parameter of that name, which the client chooses."""
    found = state(request, "dpop_proof")
    return found if isinstance(found, dpop.Proof) else None


class FlowsValidator(OAuth2Validator):
    def __init__(self, server: AuthorizationServer, http_request: HttpRequest | None = None) -> None:
        super().__init__()
        self.server = server
        self.http_request = http_request  # the browser request at /authorize: its session decides prompt=none

    # -- clients ---------------------------------------------------------------------------------
    def _load_application(self, client_id, request: OAuthRequest):
        if not request.client and client_id:
            # A stamp query and this process's cached row (oidc_flows.snapshots) instead of the ORM's
            # query; DOT still checks the client (usable, same id) and looks it up itself if none is found.
            request.client = _application(client_id)
        return super()._load_application(client_id, request)

    def client_authentication_required(self, request: OAuthRequest, *args, **kwargs) -> bool:
        # DOT looks for a Basic header or a secret; an assertion is client authentication too (RFC 7521 §4.2).
        return clientauth.presents_assertion(request) or super().client_authentication_required(
            request, *args, **kwargs
        )

    def authenticate_client(self, request: OAuthRequest, *args, **kwargs) -> bool:
        # RFC 6749 §2.3: one method per request (else invalid_request), and the one the client registered.
        method = clientauth.presented_method(request, basic=self._extract_basic_auth(request) is not None)
        if method == clientauth.JWT:
            request.client = clientauth.authenticate_assertion(
                request,
                self.server,
                endpoint=self._endpoint_name(),
                load=lambda cid: self._load_application(cid, request),
            )
            return self._allowed_by_profile(request)
        if method == "client_secret_basic":
            ok = self._authenticate_basic_auth(request)
            if ok and request.client_id and request.client_id != request.client.client_id:
                # The request names two clients, so it proves neither: invalid_client (401, RFC 6749 §5.2),
                # as RFC 7521 §4.2 answers a client_id unlike the assertion's. oauthlib would say server_error.
                raise errors.InvalidClientError(
                    description="client_id differs from the client of the Authorization header.", request=request
                )
        else:
            ok = self._authenticate_request_body(request)
            method = "client_secret_post"
        if ok and request.client.token_endpoint_auth_method != method:
            raise errors.InvalidClientError(
                description="Client authentication failed: not the method the application registered.", request=request
            )
        return ok and self._allowed_by_profile(request)

    def authenticate_client_id(self, client_id, request: OAuthRequest, *args, **kwargs) -> bool:
        # A public client (client_id alone).
        return super().authenticate_client_id(client_id, request, *args, **kwargs) and self._allowed_by_profile(request)

    def _allowed_by_profile(self, request: OAuthRequest) -> bool:
        """True, or invalid_client where the server's profile refuses the client (FAPI 2.0: public clients
        and secrets), wherever clients authenticate: /token, /introspect, /revoke and /par alike, as
        discovery lists for each (RFC 6749 §5.2: "unsupported authentication method"). oauthlib
        authenticates before it looks at a code or refresh token, so nothing is spent."""
        if why := profiles.client_refusal(self.server.profile, request.client):
            raise errors.InvalidClientError(description=why, request=request)
        return True

    def _endpoint_name(self) -> str | None:
        """The URL name of the endpoint this request came to (token, introspect, revoke, par), if known."""
        match = getattr(self.http_request, "resolver_match", None)
        return match.url_name if match is not None else None

    def validate_grant_type(self, client_id, grant_type, client, request: OAuthRequest, *args, **kwargs) -> bool:
        if grant_type not in policy.TOKEN_ENDPOINT_GRANTS:
            raise errors.UnsupportedGrantTypeError(request=request)
        if self.server.is_org and grant_type in policy.CUSTOM_SERVER_GRANTS:
            raise errors.UnsupportedGrantTypeError(
                description=f"{grant_type} is offered by custom authorization servers only.", request=request
            )
        profile = self.server.profile
        if why := profiles.grant_refusal(profile, grant_type):
            # RFC 6749 §5.2: the server does not support it (for any client), as discovery says.
            raise errors.UnsupportedGrantTypeError(description=why, request=request)
        if why := client.refusal(grant_type):
            raise errors.UnauthorizedClientError(description=why, request=request)
        # Every token grant calls this once the client is authenticated and before its code or refresh
        # token is spent: a use_dpop_nonce answer must leave them good for the client's retry.
        self.check_dpop_proof(request)
        return True

    def check_dpop_proof(self, request: OAuthRequest) -> None:
        """Check the token request's DPoP proof (RFC 9449 §4.3, §5); its key binds what is issued."""
        request.dpop_proof = None
        required = request.client.requires_dpop(self.server)
        header = request.headers.get("DPoP", request.headers.get("HTTP_DPOP"))
        if header is None:
            if required:
                raise errors.InvalidRequestError(
                    description="This client must send a DPoP proof with its token requests.", request=request
                )
            return
        try:
            request.dpop_proof = dpop.verify(
                header,
                method=request.http_method,
                url=self.server.endpoint_url("token"),  # from BASE_URL, never the Host header
                algs=policy.DPOP_ALGS,
                first_use=replay.first_use,
                nonce_required=dpop.nonce_required(dpop_required=required),
            )
        except dpop.DPoPError as exc:
            raise DPoPProofError(exc, request) from None

    def validate_response_type(self, client_id, response_type, client, request: OAuthRequest, *args, **kwargs) -> bool:
        rule = policy.response_type_rule(response_type or "")
        if rule is None:
            # RFC 6749 §4.1.2.1: unknown to us ("code bogus", "none"); oauthlib would say unauthorized_client.
            raise errors.UnsupportedResponseTypeError(request=request)
        if why := profiles.response_type_refusal(self.server.profile, response_type):
            # RFC 6749 §4.1.2.1: the server does not support it for any client (discovery lists "code" only).
            raise errors.UnsupportedResponseTypeError(description=why, request=request)
        if why := client.refusal(rule.requires):
            raise errors.UnauthorizedClientError(description=f"response_type={response_type}: {why}", request=request)
        return True

    def is_pkce_required(self, client_id, request: OAuthRequest) -> bool:
        profile = self.server.profile
        return request.client.rule.pkce_required or bool(profile and profile.require_pkce)

    def validate_user(self, username, password, client, request: OAuthRequest, *args, **kwargs) -> bool:
        if not super().validate_user(username, password, client, request, *args, **kwargs):
            return False
        # A password is all this grant proves: a sign-on policy that wants more (MFA, or no access) refuses it.
        if authn_machine.requirement(request.user, client=client, server=self.server, amr=["pwd"]) != "allow":
            return False
        request.auth_time = int(time.time())  # the password grant authenticates the user right now
        request.amr = ["pwd"]
        request.token_family = uuid.uuid4()  # its tokens, and the refreshes after them, are one family
        return True

    def validate_token_exchange(self, request: OAuthRequest) -> None:
        """RFC 8693 §2.1: the subject (and actor) token, the target server, the scopes and both servers'
        access policies; sets the user, scopes and ``act`` of the token to issue (oidc_flows/exchange.py)."""
        exchange.validate(self.server, request, self.http_request)

    def validate_device_code(self, client_id, code, request: OAuthRequest, *args, **kwargs) -> str | None:
        """RFC 8628 §3.5: where the device's request stands (oidc_flows.device); redeems it once approved."""
        return device.poll(self, code, request)

    # -- access policies (access.py) -------------------------------------------------------------
    def decide(self, request: OAuthRequest) -> access.Decision:
        """The access policy decision for this request, evaluated once; raise when no rule allows it."""
        decision = state(request, "access_decision")
        if decision is not None:
            return decision
        grant = request.grant_type or policy.response_type_rule(request.response_type or "").requires
        decision = access.evaluate(self.server, request.client, grant, request.user, request.scopes or ())
        if decision is None:
            at_authorize = request.grant_type is None
            if self.http_request is not None:  # a real request (the admin's token preview has none)
                self._log_refusal(request, grant, at_authorize)
            error = errors.AccessDeniedError if at_authorize else errors.UnauthorizedClientError
            raise error(description=access.NO_MATCH, request=request)
        request.access_decision = decision
        return decision

    def _log_refusal(self, request: OAuthRequest, grant: str, at_authorize: bool) -> None:
        """The system log event of a request no access policy allows (a refusal; an issued token writes none)."""
        user = request.user if getattr(request.user, "pk", None) else None
        systemlog.record(
            systemlog.AUTHORIZE_REFUSED if at_authorize else systemlog.TOKEN_REFUSED,
            actor=request.client,
            target=self.server,
            outcome=systemlog.DENY,
            request=self.http_request,
            reason=access.NO_MATCH,
            user=user,
            detail={"grant_type": grant, "scopes": sorted(request.scopes or ())},
        )

    def _log_reuse(self, request: OAuthRequest, client: Any, kind: str, family: Any, *, user_id: Any = None) -> None:
        """A spent code or refresh token presented again (RFC 9700 §4.14.2, §4.5): what it issued is revoked."""
        systemlog.record(
            systemlog.TOKEN_REUSE,
            actor=client,
            target=("TokenFamily", str(family or ""), f"{kind} family"),
            outcome=systemlog.DENY,
            request=self.http_request,
            reason=f"{kind} presented again: its token family is revoked",
            detail={"grant_type": kind, "server": self.server.server_id, "user_id": user_id},
        )

    def access_token_seconds(self, request: OAuthRequest) -> int:
        """oauthlib's ``token_expires_in``: called just before an access token is generated."""
        return self.decide(request).access_token_seconds

    # -- scopes ----------------------------------------------------------------------------------
    def validate_scopes(self, client_id, scopes, client, request: OAuthRequest, *args, **kwargs) -> bool:
        if "" in scopes:  # oauthlib turns `scope=` into [""]: an empty parameter is an absent one
            scopes = request.scopes = [s for s in scopes if s] or self.get_default_scopes(client_id, request)
        requested = set(scopes)
        if requested - snapshots.of(self.server).scopes.keys():
            return False
        grant = policy.GRANTS.get(request.grant_type) if request.grant_type else None
        # A token without a user cannot carry the OIDC user scopes (openid, profile, offline_access...).
        if grant and not grant.has_user and requested & policy.SYSTEM_SCOPES.keys():
            return False
        if self.server.is_org and requested & policy.MANAGEMENT_SCOPES.keys():
            # The management API's scopes: granted by an administrator, or a staff user's (oidc_flows.api.grants).
            from .api import grants

            user = request.user or getattr(self.http_request, "user", None)
            return not grants.refused(client, user, requested, has_user=grant is None or grant.has_user)
        return True

    def get_default_scopes(self, client_id, request: OAuthRequest, *args, **kwargs) -> list[str]:
        return [name for name, scope in snapshots.of(self.server).scopes.items() if scope.is_default]

    # -- prompt=none (OIDC Core §3.1.2.1): decided from the browser session --------------------
    def validate_silent_login(self, request: OAuthRequest) -> bool:
        return self.http_request is not None and sessions.is_fresh(self.http_request)

    def validate_silent_authorization(self, request: OAuthRequest) -> bool:
        http = self.http_request
        return http is not None and not consent.needed(http.user, request.client, self.server, request.scopes)

    # -- authorization codes ---------------------------------------------------------------------
    def _create_authorization_code(self, request: OAuthRequest, code: dict, expires=None) -> Grant:
        self.decide(request)  # no code for a request that no access policy allows
        seconds = profiles.code_seconds(self.server.profile, flows_settings().AUTHORIZATION_CODE_SECONDS)
        auth_time = state(request, "auth_time")
        return Grant.objects.create(
            server=self.server,
            application=request.client,
            user=request.user,
            code=code["code"],
            expires=timezone.now() + timedelta(seconds=seconds),
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
            nonce=request.nonce or "",
            claims=claimsrequest.to_json(state(request, "claims")),  # OIDC Core §5.5, for every token of the code
            auth_time=datetime.fromtimestamp(auth_time, UTC) if auth_time else None,
            amr=" ".join(state(request, "amr") or ()),
            acr=state(request, "acr") or "",
            dpop_jkt=authorization_dpop_jkt(request),
            sid=state(request, "sid") or "",
        )

    def validate_code(self, client_id, code, client, request: OAuthRequest, *args, **kwargs) -> bool:
        grant = (
            Grant.objects.filter(server=self.server, code=code, application=client)
            .select_related("user", "user__oidc_profile")  # the ID token's claims and sub read both
            .first()
        )
        if grant is None or grant.is_expired():
            return False
        if grant.dpop_jkt and getattr(dpop_proof(request), "jkt", None) != grant.dpop_jkt:
            # RFC 9449 §10: a code bound with dpop_jkt is redeemed with that key only. Checked before the
            # code is spent, so a thief's attempt leaves it to the legitimate client.
            raise errors.InvalidGrantError(
                description="The authorization code is bound to another DPoP key (dpop_jkt).", request=request
            )
        # Redeem atomically: of two concurrent requests exactly one updates the row. The tokens it is
        # exchanged for start a grant family (the access tokens' `grant_id`), recorded on the code.
        family = uuid.uuid4()
        claimed = Grant.objects.filter(pk=grant.pk, redeemed_at__isnull=True).update(
            redeemed_at=timezone.now(), token_family=family
        )
        if not claimed:
            # RFC 6749 §4.1.2 / RFC 9700 §4.5: a replayed code revokes what its first use issued.
            revoke_tokens_of_grant(grant)
            self._log_reuse(request, client, "authorization_code", grant.token_family, user_id=grant.user_id)
            return False
        request.grant, request.token_family = grant, family
        request.scopes = grant.scope.split()
        request.user = grant.user
        request.auth_time = int(grant.auth_time.timestamp()) if grant.auth_time else None
        request.amr, request.acr = grant.amr.split(), grant.acr
        request.sid = grant.sid
        request.claims = claimsrequest.parse(grant.claims)
        if grant.nonce:
            request.nonce = grant.nonce
        return True

    def _grant(self, code: str, request: OAuthRequest) -> Grant | None:
        grant = state(request, "grant")
        if grant is not None and grant.code == code:
            return grant
        return Grant.objects.filter(server=self.server, code=code, application=request.client).first()

    def confirm_redirect_uri(
        self, client_id, code, redirect_uri, client, request: OAuthRequest, *args, **kwargs
    ) -> bool:
        grant = self._grant(code, request)
        if grant is None or grant.redirect_uri != redirect_uri:
            # RFC 6749 §4.1.3 / §5.2: a redirect_uri unlike the authorization request's is invalid_grant.
            raise errors.InvalidGrantError(
                description="redirect_uri differs from the authorization request.", request=request
            )
        return True

    def get_code_challenge(self, code, request: OAuthRequest) -> str | None:
        grant = self._grant(code, request)
        challenge = (grant.code_challenge or None) if grant else None
        if challenge is None and request.code_verifier is not None:
            # RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a PKCE downgrade attempt.
            raise errors.InvalidGrantError(
                description="code_verifier given, but the code has no code_challenge.", request=request
            )
        return challenge

    def get_code_challenge_method(self, code, request: OAuthRequest) -> str | None:
        grant = self._grant(code, request)
        return (grant.code_challenge_method or None) if grant else None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request: OAuthRequest) -> list[str]:
        scope = Grant.objects.filter(server=self.server, code=code).values_list("scope", flat=True).first()
        return scope.split() if scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request: OAuthRequest) -> str | None:
        grant = self._grant(code, request)
        return (grant.nonce or None) if grant else None

    def invalidate_authorization_code(self, client_id, code, request: OAuthRequest, *args, **kwargs) -> None:
        pass  # redeemed in validate_code; the row stays until it expires so replays are detected

    # -- tokens ----------------------------------------------------------------------------------
    def rotate_refresh_token(self, request: OAuthRequest) -> bool:
        return True  # RFC 9700 §4.14.2: rotation with reuse detection, for every client

    def save_bearer_token(self, token, request: OAuthRequest, *args, **kwargs) -> None:
        if self.server.issues_jwt_access_tokens and "refresh_token" not in token and not request.refresh_token:
            # Nothing to store (a JWT alone, e.g. client credentials): no transaction, which on SQLite
            # (BEGIN IMMEDIATE) would take the database's write lock for nothing.
            return self._save_bearer_token(token, request, *args, **kwargs)
        try:
            super().save_bearer_token(token, request, *args, **kwargs)
        except errors.InvalidGrantError:
            if family := state(request, "reused_token_family"):
                # RFC 9700 §4.14.2: the loser of a race is a reuse too; revoke after the rollback.
                RefreshToken.revoke_family(family)
                self._log_reuse(request, request.client, "refresh_token", family)
            raise

    def _save_bearer_token(self, token, request: OAuthRequest, *args, **kwargs) -> None:
        """Store what a token response issued (in save_bearer_token's transaction). DOT's, except:

        - a JWT access token gets no row (``_create_access_token``);
        - a refresh spends the presented refresh token and leaves the access token issued with it
          alone: access tokens "can be reused until they expire" (seed 001); DOT deletes it.
        """
        if "scope" not in token:
            raise errors.FatalClientError("Failed to renew access token: missing scope")
        self._check_and_set_request_resource(request)
        seconds = token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        expires = timezone.now() + timedelta(seconds=seconds)
        if request.grant_type == "client_credentials":
            request.user = None
        presented = state(request, "refresh_token_instance")
        if presented is not None:
            # Concurrent uses of one refresh token all passed validate_refresh_token: the conditional
            # UPDATE lets exactly one spend it (the others wait for its row lock, then match nothing).
            now = timezone.now()
            spent = RefreshToken.objects.filter(pk=presented.pk, revoked__isnull=True).update(revoked=now, updated=now)
            if not spent:
                request.reused_token_family = presented.token_family
                raise errors.InvalidGrantError(request=request)
        access_token = self._create_access_token(expires, request, token, source_refresh_token=presented)
        if refresh_token_code := token.get("refresh_token"):
            self._create_refresh_token(request, refresh_token_code, access_token, presented)

    def _create_access_token(self, expires, request: OAuthRequest, token, source_refresh_token=None) -> AccessToken:
        """The issued access token as a model instance; saved only when opaque (the org server's).

        A JWT access token (``request.access_token_payload``, set by its generator) proves itself: no
        row, no INSERT. Revocation lists end it early (oidc_flows/revocation.py).
        """
        payload = state(request, "access_token_payload")
        access_token = AccessToken(
            server=self.server,
            user=request.user,
            scope=token["scope"],
            expires=expires,
            application=request.client,
            source_refresh_token=source_refresh_token,
            grant=state(request, "grant"),
            jti=payload["jti"] if payload else "",
            resource=getattr(request, "resource", []),
            dpop_jkt=proof.jkt if (proof := dpop_proof(request)) else "",
            userinfo_claims=" ".join(sorted(claimsrequest.names(state(request, "claims"), "userinfo"))),
        )
        if payload is None:
            self._set_token_value(access_token, token["access_token"])
            access_token.save()
        if self.http_request is not None:
            self.http_request.oidc_flows_access_token = access_token  # TokenView sends app_authorized with it
        return access_token

    def _create_refresh_token(self, request: OAuthRequest, refresh_token_code, access_token, previous_refresh_token):
        decision = self.decide(request)
        refresh_token = RefreshToken(
            server=self.server,
            user=request.user,
            application=request.client,
            access_token=access_token if access_token.pk else None,
            scope=access_token.scope,
            # RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential
            # client's is bound to its credentials already.
            dpop_jkt=proof.jkt
            if (proof := dpop_proof(request)) and request.client.client_type != Application.CLIENT_CONFIDENTIAL
            else "",
            token_family=previous_refresh_token.token_family
            if previous_refresh_token
            else state(request, "token_family") or uuid.uuid4(),
            grant=previous_refresh_token.grant if previous_refresh_token else state(request, "grant"),
            resource=getattr(request, "resource", []),
            # The family's deadline is set once, when it starts; rotation never extends it.
            family_expires=previous_refresh_token.family_expires
            if previous_refresh_token
            else decision.family_expires(),
            idle_seconds=decision.refresh_token_idle_seconds,
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token

    def _load_access_token(self, token: str) -> AccessToken | None:
        """The access token a resource request presents (userinfo, bearer checks), if it is active."""
        if self.server.issues_jwt_access_tokens:
            payload = tokens.verify_access_token(self.server, token)
            if payload is None or not tokens.is_active(self.server, payload):
                return None
            return _described(self.server, payload)
        found = (
            AccessToken.objects.select_related("user")
            .filter(server=self.server, token_checksum=_checksum(token))
            .first()
        )
        if found is not None and found.application_id is not None:
            # The application from this process's row cache (a stamp query) rather than a join of all its columns.
            found.application = _application(pk=found.application_id) or found.application
        return found

    def validate_refresh_token(self, refresh_token, client, request: OAuthRequest, *args, **kwargs) -> bool:
        """DOT's check, without its reliance on the access token's row (JWT access tokens have none)."""
        # Never another server's token; the live row first, if any (several rows may share a checksum).
        found = snapshots.read_row(
            RefreshToken,
            ("server", "token_checksum"),
            [self.server.pk, _checksum(refresh_token)],
            order=LIVE_FIRST,
        )
        if found is None:
            return False
        if found.revoked is not None:
            # RFC 9700 §4.14.2: a spent (rotated) or revoked refresh token presented again revokes its family.
            RefreshToken.revoke_family(found.token_family)
            self._log_reuse(request, client, "refresh_token", found.token_family, user_id=found.user_id)
            return False
        if refresh_token_expired(found):
            return False  # past its family's lifetime or unused for too long (the access policy rule)
        if found.application_id != client.pk:
            return False
        if found.dpop_jkt and getattr(dpop_proof(request), "jkt", None) != found.dpop_jkt:
            # RFC 9449 §5: a public client's bound refresh token needs a proof with the same key.
            raise errors.InvalidGrantError(
                description="The refresh token is bound to another DPoP key.", request=request
            )
        found.user = user_with_profile(found.user_id)  # the ID token's claims read both
        if found.grant_id is not None:  # its auth_time, amr, acr and claims request go into the new tokens
            found.grant = snapshots.read_row(Grant, ("id",), [found.grant_id])
            request.claims = claimsrequest.parse(found.grant.claims) if found.grant is not None else {}
        request.user = found.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = found
        request.token_family = found.token_family
        return True

    def get_original_scopes(self, refresh_token, request: OAuthRequest, *args, **kwargs) -> str:
        return request.refresh_token_instance.scope

    # -- ID tokens -------------------------------------------------------------------------------
    def get_oidc_issuer_endpoint(self, request: OAuthRequest) -> str:
        return self.server.issuer  # from BASE_URL, never from the Host header

    def _auth_time(self, request: OAuthRequest) -> int:
        if auth_time := state(request, "auth_time"):
            return int(auth_time)
        previous = state(request, "refresh_token_instance")
        if previous is not None and previous.grant_id and previous.grant.auth_time:
            return int(previous.grant.auth_time.timestamp())
        last_login = getattr(request.user, "last_login", None)
        return int(last_login.timestamp()) if last_login else int(time.time())

    def _amr_and_acr(self, request: OAuthRequest) -> tuple[list[str], str]:
        """RFC 8176 ``amr`` and ``acr`` of the sign-in behind this token: the request's, its code's, its family's."""
        amr, acr = state(request, "amr"), state(request, "acr")
        previous = state(request, "refresh_token_instance")
        if not amr and previous is not None and previous.grant_id:
            amr, acr = previous.grant.amr.split(), previous.grant.acr
        amr = list(amr or ["pwd"])
        return amr, acr or authn_policies.acr_for(amr)

    def _sid(self, request: OAuthRequest) -> str:
        """The IdP session behind this token (Front-Channel §3, Back-Channel §2.1): the request's, its code's or
        its family's code's; none for grants without a browser session (password)."""
        if sid := state(request, "sid"):
            return str(sid)
        previous = state(request, "refresh_token_instance")
        if previous is not None and previous.grant_id and previous.grant is not None:
            return previous.grant.sid
        return ""

    def get_id_token_dictionary(self, token, token_handler, request: OAuthRequest) -> tuple[dict[str, Any], datetime]:
        lifetime = tokens.id_token_lifetime()
        expires = timezone.now() + timedelta(seconds=lifetime)
        payload = self._user_claims(request, request.client, claimsrequest.names(state(request, "claims"), "id_token"))
        payload |= {
            "iss": self.server.issuer,
            "exp": int(expires.timestamp()),
            "auth_time": self._auth_time(request),
            "jti": str(uuid.uuid4()),
        }
        payload["amr"], payload["acr"] = self._amr_and_acr(request)
        if sid := self._sid(request):
            payload["sid"] = sid
        return payload, expires

    def finalize_id_token(self, id_token: dict, token: dict, token_handler, request: OAuthRequest) -> str:
        # DOT signs with the *client's* key; ours belong to the server (DESIGN.md: Tokens).
        payload, expires = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(payload)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        # No IDToken row: nothing reads one (hints and logout verify the signature), and it cost an INSERT.
        return tokens.sign(self.server, id_token)

    def validate_jwt_bearer_token(self, token, scopes, request: OAuthRequest) -> bool:
        # Our JWT access tokens look like ID tokens to oauthlib's token-type sniffing; they are bearer tokens.
        return self.validate_bearer_token(token, scopes, request)

    def validate_bearer_token(self, token, scopes, request: OAuthRequest) -> bool:
        """DOT's check, then the token's DPoP binding (RFC 9449 §7): a bound token needs the DPoP scheme
        and a proof with its key (checked by the view, views/userinfo.py); an unbound one is a bearer token."""
        if not super().validate_bearer_token(token, scopes, request):
            return False
        scheme = (request.headers.get("Authorization") or "").strip().partition(" ")[0].lower()
        bound = request.access_token.dpop_jkt
        if not bound:
            return scheme != "dpop"
        proven = getattr(self.http_request, "oidc_flows_dpop_jkt", None)
        return scheme == "dpop" and proven == bound

    def get_userinfo_claims(self, request: OAuthRequest) -> dict[str, Any]:
        """The userinfo response (OIDC Core §5.3): what the access token's scopes and claims request release."""
        token = request.access_token
        return self._user_claims(request, token.application, frozenset(token.userinfo_claims.split()))

    def _user_claims(self, request: OAuthRequest, application: Application, requested: frozenset[str]) -> dict:
        """Standard claims of the granted scopes and those ``requested`` by the ``claims`` parameter, with the
        ``sub`` ``application`` sees, plus the server's custom ID-token claims (Okta does the same)."""
        scopes = frozenset(request.scopes or ())
        custom = claims.custom_claims(self.server, request.user, scopes, for_id_token=True)
        return custom | claims.user_claims(request.user, scopes, application=application, requested=requested)

    # -- introspection (RFC 7662) and revocation (RFC 7009): who may see or revoke what, in introspection.py
    def introspect_token(self, token, token_type_hint, request: OAuthRequest, *args, **kwargs) -> dict[str, Any] | None:
        from . import introspection

        return introspection.introspect(self.server, token, token_type_hint, request.client)

    def revoke_token(self, token, token_type_hint, request: OAuthRequest, *args, **kwargs) -> None:
        from . import introspection

        if kind := introspection.revoke(self.server, token, token_type_hint, request.client):
            # The token's kind only, never the token: the client revoked one of its own (RFC 7009 §2.1).
            systemlog.record(
                systemlog.TOKEN_REVOKE,
                actor=request.client,
                target=(kind, "", kind.replace("_", " ")),
                request=self.http_request,
                detail={"server": self.server.server_id},
            )

    # -- id_token_hint (OIDC Core §3.1.2.1); the interactive case is views/authorize.py's -------------
    def validate_user_match(self, id_token_hint, scopes, claims, request: OAuthRequest) -> bool:
        """A hint must be an ID token of this server (else invalid_request); with prompt=none it must
        name the signed-in user (else oauthlib answers login_required). Without prompt=none a
        mismatch sends the user to the sign-in page instead, which /authorize decides."""
        if not id_token_hint:
            return True
        try:
            hint = sessions.verify_id_token_hint(self.server, id_token_hint)
        except sessions.InvalidHint as exc:
            raise errors.InvalidRequestError(description=str(exc), request=request) from exc
        prompt = request.prompt or ()
        if "none" not in (prompt.split() if isinstance(prompt, str) else prompt):  # oauthlib turns it into a set
            return True
        return self.http_request is not None and hint.names(self.http_request.user)


def _application(client_id: str | None = None, *, pk: int | None = None) -> Application | None:
    """The application with this ``client_id`` (or pk): its stamp from the database, the row from this process."""
    where, value = ("client_id", client_id) if pk is None else ("id", pk)
    try:
        stamp = snapshots.read_stamp(Application, ("id", "updated", "is_active"), (where,), [value])
    except ValueError:  # a NUL byte: PostgreSQL cannot even compare it; DOT answers invalid_client
        return None
    if stamp is None:
        return None
    found = snapshots.applications.get(stamp)
    if found is None:
        found = Application.objects.filter(pk=stamp[0]).first()
        if found is not None:
            snapshots.applications.put(stamp, found)
    return found


#: Per (user model, database vendor, lookup): the SQL, the fields it reads, and each column's converters.
_USER_SQL: dict[tuple[str, str, str], tuple[str, list, list, list]] = {}


def user_with_profile(value: Any, *, by: str = "pk") -> Any | None:
    """The user whose ``pk`` (or profile ``subject``, the public sub) is ``value``, with its ``oidc_profile``
    (claims read both), in one query with SQL compiled once.

    What checking a bearer token cost was mostly the ORM compiling this join on every request.
    """
    from .models import UserProfile

    model = get_user_model()
    conn = connections[model.objects.db]
    key = (model._meta.label, conn.vendor, by)
    if key not in _USER_SQL:
        qn = conn.ops.quote_name
        user_fields, profile_fields = list(model._meta.concrete_fields), list(UserProfile._meta.concrete_fields)
        columns = [f"u.{qn(f.column)}" for f in user_fields] + [f"p.{qn(f.column)}" for f in profile_fields]
        user_fk, user_pk = qn(UserProfile._meta.get_field("user").column), qn(model._meta.pk.column)
        where = f"u.{user_pk}" if by == "pk" else f"p.{qn(UserProfile._meta.get_field('subject').column)}"
        sql = (
            f"SELECT {', '.join(columns)} FROM {qn(model._meta.db_table)} u "
            f"LEFT JOIN {qn(UserProfile._meta.db_table)} p ON p.{user_fk} = u.{user_pk} WHERE {where} = %s"
        )
        _USER_SQL[key] = (
            sql,
            user_fields,
            profile_fields,
            snapshots.column_converters(conn, user_fields + profile_fields),
        )
    sql, user_fields, profile_fields, converters = _USER_SQL[key]
    try:
        value = model._meta.pk.to_python(value) if by == "pk" else str(value)
    except ValidationError:
        return None
    with conn.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    values = snapshots.convert(conn, row, converters)
    user = model.from_db(conn.alias, [f.attname for f in user_fields], values[: len(user_fields)])
    profile = None
    if (profile_values := values[len(user_fields) :])[0] is not None:  # the profile's pk: NULL without a profile
        profile = UserProfile.from_db(conn.alias, [f.attname for f in profile_fields], profile_values)
        profile._state.fields_cache["user"] = user
    user._state.fields_cache["oidc_profile"] = profile  # None: getattr(user, "oidc_profile", None) is None
    return user


def refresh_token_expired(token: RefreshToken) -> bool:
    """Whether a live refresh token is past its family deadline or its idle window."""
    return token.deadline is not None and token.deadline <= timezone.now()


def revoke_tokens_of_grant(grant: Grant) -> None:
    """Revoke every token issued from an authorization code: its grant family and its access token rows."""
    with transaction.atomic():
        families = set(
            RefreshToken.objects.filter(grant=grant).exclude(token_family=None).values_list("token_family", flat=True)
        )
        # The family the code's first use started (read again: that use set it after this request read the row).
        families |= set(
            Grant.objects.filter(pk=grant.pk).exclude(token_family=None).values_list("token_family", flat=True)
        )
        for family in families:
            RefreshToken.revoke_family(family)
        AccessToken.objects.filter(grant=grant).delete()


def _described(server: AuthorizationServer, payload: dict[str, Any]) -> AccessToken | None:
    """A verified, active JWT access token as an (unsaved) ``AccessToken``, for DOT's bearer checks."""
    application = _application(payload.get("client_id"))
    if application is None:
        return None
    user = None
    if (uid := payload.get("uid")) is not None:
        user = subjects.user_for(uid, application)  # the user's id as this application knows it (its sub)
        if user is None or not getattr(user, "is_active", True):
            return None  # deleted or deactivated since: the token is no longer good
    asked = payload.get(claimsrequest.ACCESS_TOKEN_CLAIM)
    return AccessToken(
        server=server,
        user=user,
        application=application,
        scope=payload.get("scope", ""),
        expires=datetime.fromtimestamp(payload["exp"], UTC),
        jti=payload.get("jti", ""),
        dpop_jkt=tokens.bound_key(payload) or "",
        userinfo_claims=" ".join(n for n in asked if isinstance(n, str)) if isinstance(asked, list) else "",
    )


def authorization_dpop_jkt(request: OAuthRequest) -> str:
    """The ``dpop_jkt`` parameter of an authorization request (RFC 9449 §10): the code's key, or ""."""
    value = getattr(request, "dpop_jkt", None)  # the parameter (oauthlib exposes every one as an attribute)
    return value if dpop.is_thumbprint(value) else ""
