"""OAuth 2.0 Token Exchange (RFC 8693): an API trades a user's access token for one to call another API.

Okta's on-behalf-of flow. A confidential client S (the API a user's token was meant for) presents
that token as ``subject_token`` at a custom server's /token and names the API it wants to call with
``audience`` (or ``resource``). The answer is an access token of the *target* server, for the same
user, with ``act: {"sub": S}`` (RFC 8693 §4.1) and never more scopes than the subject token had.

The rules, checked in this order (the grant class below; ``validate`` does the exchange's own part):

1. S authenticates and holds the grant (``policy.APP_TYPES``: optional for ``web`` and ``service``);
   custom servers only (``policy.CUSTOM_SERVER_GRANTS``).
2. ``subject_token_type`` (and ``actor_token_type``, ``requested_token_type``) is an access token:
   the only kind we accept and issue (RFC 8693 §2.2.2: anything else is ``invalid_request``).
3. The subject token is an access token of one of our custom servers X: X's key signed it (its
   ``iss`` names X, whose keys alone are tried), it is unexpired and on no revocation list, its
   ``aud`` is X's audience, and it names a user who is still active. A client-credentials token has
   no user, so there is no one to act for. Any failure here is ``invalid_request`` (§2.2.2 "MUST").
4. The target T is the server whose audience ``audience``/``resource`` name (one server per
   request; none given: this server). Unknown, inactive, or the org server: ``invalid_target``.
5. The request goes to X's or T's token endpoint: those are the two servers that take part.
6. Two access policies must agree (Okta: a trusted server plus a rule for the grant):
   X's rules must let S use this grant (S is an API that X's administrator lets act for X's users:
   "the subject token's audience is the API the caller represents"; else ``invalid_request``,
   §2.2.2 "unacceptable based on policy"), and T's rules must let S use it for this user and
   these scopes (else ``invalid_target``: T will not issue to S, §2.2.2).
7. Scopes: the requested ones must all be in the subject token (else ``invalid_scope``: a delegate
   never gets more than the user granted) and known to T; none requested: those of the subject
   token that T knows.
8. ``actor_token`` (optional): validated as in 3, except that it may name no user, and it must have
   been issued to S itself (a client cannot borrow another's identity). Then the current actor is
   the actor token's ``sub`` (with its ``iss``), else S's ``client_id``. A subject token that already
   has ``act`` is a delegation chain: its ``act`` nests inside the new one (§4.1), up to
   ``policy.EXCHANGE_MAX_ACTORS`` actors. A subject token with ``may_act`` (§4.4) names the only
   actor allowed.

The token is T's (signed with T's key, T's ``iss`` and ``aud``, T's rule's lifetime but never past
the subject token's ``exp``), so only T's introspection accepts it; no refresh or ID token
(policy.py's docstring). It carries no grant family of the subject token: revoking the exchanged
token must not end the user's session with the first application.
"""

from __future__ import annotations

import binascii
import dataclasses
import json
import time
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from jwcrypto.common import base64url_decode
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from . import access, policy, profiles, servers, snapshots, subjects, tokens
from .errors import ProtocolError
from .models import Application, AuthorizationServer
from .settings import flows_settings


GRANT = policy.Grant.TOKEN_EXCHANGE


class InvalidTargetError(errors.OAuth2Error):
    """RFC 8693 §2.2.2: the server will not issue a token for the requested audience or resource."""

    error = "invalid_target"
    status_code = 400


@dataclasses.dataclass(frozen=True, slots=True)
class Presented:
    """A verified subject or actor token: the server that issued it and its claims."""

    server: AuthorizationServer
    payload: dict[str, Any]

    @property
    def scopes(self) -> list[str]:
        scp = self.payload.get("scp")
        if isinstance(scp, list):
            return [s for s in scp if isinstance(s, str)]
        return str(self.payload.get("scope", "")).split()


# -- users: the one place a token's user is resolved (subjects may become opaque or pairwise) --------
def token_user(payload: dict[str, Any]) -> AbstractBaseUser | None:
    """The active user a verified access token of ours was issued for, or None (no user, or gone).

    Our tokens name the user by ``uid``, the ``sub`` that the token's application sees (public, or
    pairwise for its sector: oidc_flows.subjects), so the lookup goes through that application.
    """
    from .validators import _application  # the validator imports this module

    uid, client_id = payload.get("uid"), payload.get("client_id")
    if not isinstance(uid, str) or not isinstance(client_id, str):
        return None
    application = _application(client_id)
    if application is None:
        return None
    user = subjects.user_for(uid, application)
    return user if user is not None and getattr(user, "is_active", True) else None


# -- parameters -----------------------------------------------------------------------------------
def _values(request: OAuthRequest, name: str, http_request: HttpRequest | None = None) -> list[str]:
    """Every value of a body parameter: ``audience`` and ``resource`` may repeat (RFC 8693 §2.1), and
    DOT passes oauthlib only the last value of a repeated parameter other than ``resource``."""
    if http_request is not None and http_request.method == "POST":
        return http_request.POST.getlist(name)
    return [value for key, value in (request.decoded_body or []) if key == name]


def _one(request: OAuthRequest, name: str) -> str | None:
    found = _values(request, name)
    return found[0] if found else None


def _refuse(description: str, request: OAuthRequest) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(description=description, request=request)


def _check_types(request: OAuthRequest) -> None:
    """RFC 8693 §2.1: the parameters and their token types; §2.2.2: unsupported types are invalid_request."""
    if not _one(request, "subject_token"):
        raise _refuse("subject_token is required.", request)
    kind = _one(request, "subject_token_type")
    if not kind:
        raise _refuse("subject_token_type is required.", request)
    if kind not in policy.EXCHANGE_TOKEN_TYPES:
        raise _refuse(f"subject_token_type must be {policy.ACCESS_TOKEN_TYPE_URI}.", request)
    actor, actor_kind = _one(request, "actor_token"), _one(request, "actor_token_type")
    if bool(actor) != bool(actor_kind):
        # §2.1: actor_token_type is REQUIRED with an actor_token and MUST NOT be sent without one.
        raise _refuse("actor_token and actor_token_type go together.", request)
    if actor_kind and actor_kind not in policy.EXCHANGE_TOKEN_TYPES:
        raise _refuse(f"actor_token_type must be {policy.ACCESS_TOKEN_TYPE_URI}.", request)
    wanted = _one(request, "requested_token_type")
    if wanted and wanted not in policy.EXCHANGE_TOKEN_TYPES:
        raise _refuse(f"This server issues only {policy.ACCESS_TOKEN_TYPE_URI} by token exchange.", request)


# -- presented tokens -----------------------------------------------------------------------------
def _claimed_issuer(token: str) -> str | None:
    """The ``iss`` a JWT claims, unverified: it only picks whose keys to verify the token with."""
    if len(token) > tokens.MAX_JWT_CHARS or token.count(".") != 2:
        return None
    try:
        payload = json.loads(base64url_decode(token.split(".")[1]))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    iss = payload.get("iss") if isinstance(payload, dict) else None
    return iss if isinstance(iss, str) else None


def _server_of(issuer: str | None) -> AuthorizationServer | None:
    """The active custom server whose issuer is ``issuer`` (org server tokens are opaque: never exchanged)."""
    prefix = f"{flows_settings().BASE_URL}/oauth2/"
    if not issuer or not issuer.startswith(prefix):
        return None
    try:
        server = servers.resolve(issuer.removeprefix(prefix))
    except ProtocolError:
        return None
    return server if server.issues_jwt_access_tokens and server.issuer == issuer else None


def verify(token: str, name: str, request: OAuthRequest) -> Presented:
    """An active access token of one of our custom servers (rule 3), or invalid_request (RFC 8693 §2.2.2)."""
    server = _server_of(_claimed_issuer(token))
    payload = tokens.verify_access_token(server, token) if server is not None else None
    if payload is None:
        raise _refuse(f"The {name} is not an access token of this identity provider's custom servers.", request)
    if not tokens.is_active(server, payload):
        raise _refuse(f"The {name} has expired or was revoked.", request)
    aud = payload.get("aud")
    if server.effective_audience not in (aud if isinstance(aud, list) else [aud]):
        raise _refuse(f"The {name} was not issued for its server's audience.", request)
    from .validators import _application  # the validator imports this module

    application = _application(payload.get("client_id"))
    if application is None or not application.is_active:
        raise _refuse(f"The {name} belongs to an application that is no longer active.", request)
    return Presented(server, payload)


def _actors(act: Any) -> int:
    """How many actors a (verified) ``act`` claim names: the current one and its nested prior ones."""
    depth = 0
    while isinstance(act, dict) and depth <= policy.EXCHANGE_MAX_ACTORS:
        depth, act = depth + 1, act.get("act")
    return depth


def act_claim(client: Application, subject: Presented, actor: Presented | None) -> dict[str, Any]:
    """RFC 8693 §4.1: the current actor outermost, the subject token's actors (if any) nested in it."""
    current: dict[str, Any] = {"sub": actor.payload["sub"], "iss": actor.server.issuer} if actor else {}
    current = current or {"sub": client.client_id}
    if isinstance(prior := subject.payload.get("act"), dict):
        current["act"] = prior
    return current


# -- the target -----------------------------------------------------------------------------------
def _server_with_audience(value: str, endpoint: AuthorizationServer) -> AuthorizationServer | None:
    if value == endpoint.effective_audience:
        return endpoint
    same = AuthorizationServer.objects.active().filter(is_org=False, audience=value)
    found = list(same.values_list("server_id", flat=True)[:2])
    if len(found) != 1:
        return None  # unknown, or several servers share it: which one is meant cannot be told
    try:
        return servers.resolve(found[0])
    except ProtocolError:
        return None


def target(endpoint: AuthorizationServer, values: Iterable[str], request: OAuthRequest) -> AuthorizationServer:
    """The one server ``audience`` and ``resource`` name (rule 4); this server when they name none."""
    values = [v for v in values if v]
    if not values:
        return endpoint
    found = {v: _server_with_audience(v, endpoint) for v in values}
    if unknown := [v for v, server in found.items() if server is None]:
        why = f"No authorization server issues tokens for {unknown[0][:200]}."
        raise InvalidTargetError(description=why, request=request)
    if len({server.pk for server in found.values()}) > 1:
        why = "Ask for one audience (one authorization server) per exchange."
        raise InvalidTargetError(description=why, request=request)
    return next(iter(found.values()))


# -- the exchange ---------------------------------------------------------------------------------
def validate(endpoint: AuthorizationServer, request: OAuthRequest, http_request: HttpRequest | None = None) -> None:
    """Check a token exchange request (rules 2-8) and set what issuing reads from ``request``.

    Sets ``user``, ``scopes``, ``act``, ``auth_time``, ``access_decision`` (T's rule, its lifetime cut
    to the subject token's) and ``exchange_target``. The client is authenticated and holds the grant.
    """
    client = request.client
    _check_types(request)
    subject = verify(_one(request, "subject_token"), "subject_token", request)
    user = token_user(subject.payload)
    if user is None:
        # A client-credentials token (or a deleted user's): nobody to act on behalf of.
        raise _refuse(
            "The subject_token names no active user (client credentials tokens cannot be exchanged).", request
        )
    targets = [*_values(request, "audience", http_request), *_values(request, "resource", http_request)]
    to = target(endpoint, targets, request)
    if endpoint.pk not in (subject.server.pk, to.pk):
        raise _refuse("Exchange at the token endpoint of the subject token's server or of the target.", request)
    if why := profiles.grant_refusal(to.profile, GRANT):
        raise InvalidTargetError(description=why, request=request)

    actor = None
    if actor_token := _one(request, "actor_token"):
        actor = verify(actor_token, "actor_token", request)
        if actor.payload.get("client_id") != client.client_id:
            raise _refuse("The actor_token must have been issued to this client.", request)
    act = act_claim(client, subject, actor)
    if _actors(act) > policy.EXCHANGE_MAX_ACTORS:
        raise _refuse(f"The delegation chain would name more than {policy.EXCHANGE_MAX_ACTORS} actors.", request)
    may_act = subject.payload.get("may_act")
    if isinstance(may_act, dict) and may_act.get("sub") != act["sub"]:
        raise _refuse("The subject_token does not allow this actor (may_act).", request)

    granted = subject.scopes
    known = snapshots.of(to).scopes.keys()
    if request.scopes:
        wanted = list(dict.fromkeys(s for s in request.scopes if s))
        if beyond := [s for s in wanted if s not in granted]:
            raise errors.InvalidScopeError(
                description=f"The subject_token was not granted {beyond[0][:80]}: a delegate gets no more.",
                request=request,
            )
        if unknown := [s for s in wanted if s not in known]:
            why = f"{to.server_id} has no scope {unknown[0][:80]}."
            raise errors.InvalidScopeError(description=why, request=request)
    else:
        wanted = [s for s in granted if s in known]

    if subject.server.pk != to.pk and access.evaluate(subject.server, client, GRANT, user, wanted) is None:
        raise _refuse("The subject_token's authorization server does not let this client exchange its tokens.", request)
    decision = access.evaluate(to, client, GRANT, user, wanted)
    if decision is None:
        why = f"No access policy of {to.server_id} lets this client exchange tokens for this user and these scopes."
        raise InvalidTargetError(description=why, request=request)
    seconds = max(1, min(int(subject.payload["exp"] - time.time()), decision.access_token_seconds))
    request.access_decision = dataclasses.replace(decision, access_token_seconds=seconds)
    request.user, request.scopes, request.act = user, wanted, act
    if isinstance(auth_time := subject.payload.get("auth_time"), int):
        request.auth_time = auth_time  # the user's sign-in behind the chain
    request.exchange_target = to


class TokenExchangeGrant(GrantTypeBase):
    """``urn:ietf:params:oauth:grant-type:token-exchange`` at /token (RFC 8693 §2), for FlowsServer."""

    def create_token_response(self, request: OAuthRequest, token_handler: Any) -> tuple[dict, str, int]:
        headers = self._get_default_headers()  # Cache-Control: no-store (RFC 6749 §5.1)
        validator = self.request_validator
        endpoint = validator.server
        try:
            self.validate_token_request(request)
            # The target server issues, decides the lifetime of and describes the token. The validator
            # serves this request alone (servers.oauthlib_core) and is bound back before it answers.
            validator.server = request.exchange_target
            token = token_handler.create_token(request, refresh_token=False)
            token["issued_token_type"] = policy.ACCESS_TOKEN_TYPE_URI  # RFC 8693 §2.2.1
            validator.save_token(token, request)
        except errors.OAuth2Error as exc:
            headers.update(exc.headers)
            return headers, exc.json, exc.status_code
        finally:
            validator.server = endpoint
        return headers, json.dumps(token), 200

    def validate_token_request(self, request: OAuthRequest) -> None:
        for check in self.custom_validators.pre_token:
            check(request)
        if request.grant_type != GRANT:
            raise errors.UnsupportedGrantTypeError(request=request)
        # RFC 8693 §2.1 uses RFC 6749 §3.2.1 client authentication; only confidential clients hold the grant.
        self.validate_client_confidential(request)
        self.validate_grant_type(request)  # holds the grant, custom servers only, the DPoP proof
        self.request_validator.validate_token_exchange(request)
        for check in self.custom_validators.post_token:
            check(request)
