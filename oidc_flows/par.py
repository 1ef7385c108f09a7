"""Pushed authorization requests (RFC 9126): accept a client's push at /par, redeem it once at /authorize.

A push is client-authenticated exactly as /token is (``FlowsValidator.authenticate_client``, or
``client_id`` alone for a public client, RFC 9126 §2.1) and validated as /authorize validates a
request (oauthlib's ``validate_authorization_request`` on the server's core), so an invalid request
is refused to the client itself, before any browser sees it. What is stored is the only thing
/authorize uses (§4); its ``request_uri`` is single-use and lives ``policy.PAR_SECONDS``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from . import dpop, policy, replay, requestobjects, requestparams
from .errors import ERRORS, ProtocolError
from .models import Application, AuthorizationServer, PushedAuthorizationRequest


#: Parameters of client authentication (RFC 6749 §2.3.1, RFC 7523 §2.2): not part of the authorization request.
CLIENT_AUTH_PARAMETERS: Final = frozenset({"client_secret", "client_assertion", "client_assertion_type"})
#: The random part of our request URIs: secrets.token_urlsafe(32) is 43 characters of this alphabet.
_REFERENCE: Final = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True, slots=True)
class Pushed:
    request_uri: str
    expires_in: int

    def as_dict(self) -> dict[str, Any]:
        return {"request_uri": self.request_uri, "expires_in": self.expires_in}


class UnknownRequestUri(Exception):
    """Not one of this server's request URIs, or another client's."""


class SpentRequestUri(Exception):
    """One of this client's request URIs, already used or expired; ``parameters`` are what was pushed."""

    def __init__(self, parameters: dict[str, list[str]]) -> None:
        self.parameters = parameters
        super().__init__("request_uri used or expired")


def _protocol_error(exc: OAuth2Error) -> ProtocolError:
    """oauthlib's error as ours; a code our table lacks becomes invalid_request (never a 500)."""
    error = exc.error if exc.error in ERRORS else "invalid_request"
    return ProtocolError(error, exc.description or None)


# -- /par --------------------------------------------------------------------------------------------


def authenticate(core: OAuthLibCore, http_request: HttpRequest) -> Application:
    """The client of a push, authenticated as /token authenticates it (raises ``ProtocolError``)."""
    uri, method, body, headers = core._extract_params(http_request)
    oauth_request = OAuthRequest(uri, http_method=method, body=body, headers=headers)
    validator = core.server.request_validator
    try:
        # oauthlib's own rule (BaseEndpoint._raise_on_invalid_client), as at /introspect and /revoke.
        if validator.client_authentication_required(oauth_request):
            authenticated = validator.authenticate_client(oauth_request)
        else:
            authenticated = validator.authenticate_client_id(oauth_request.client_id, oauth_request)
    except OAuth2Error as exc:
        raise _protocol_error(exc) from None
    client = oauth_request.client
    if not authenticated or not isinstance(client, Application):
        raise ProtocolError("invalid_client")
    named = http_request.POST.get("client_id")
    if named is not None and named != client.client_id:
        raise ProtocolError("invalid_request", "client_id is not the authenticated client.")
    return client


def pushed_parameters(
    http_request: HttpRequest, client: Application, server: AuthorizationServer
) -> dict[str, list[str]]:
    """The authorization request a push stands for: its body, or its request object (RFC 9126 §3)."""
    body = {name: values for name, values in http_request.POST.lists() if name not in CLIENT_AUTH_PARAMETERS}
    if "request_uri" in body:
        # RFC 9126 §2.1: "The client MUST NOT provide the request_uri parameter" in a push.
        raise ProtocolError("invalid_request", "request_uri cannot be pushed.")
    if "request" not in body:
        if client.requires_signed_request_object(server):
            raise ProtocolError("invalid_request", requestparams.SIGNED_REQUIRED)
        return body | {"client_id": [client.client_id]}
    try:
        inner = requestobjects.verify(body["request"][0], client, server)
    except requestobjects.RequestObjectError as exc:
        raise ProtocolError(exc.error, exc.description) from None
    if name := requestobjects.conflicts(body, inner):
        raise ProtocolError("invalid_request", f"{name[:40]} conflicts with the request object.")
    return inner


def validate(core: OAuthLibCore, server: AuthorizationServer, params: dict[str, list[str]]) -> None:
    """Validate ``params`` as /authorize would, before any browser sees them (raises ``ProtocolError``)."""
    query = requestparams.querydict(params)
    if problem := requestparams.request_problem(query) or requestparams.response_mode_problem(query):
        raise ProtocolError("invalid_request", problem)
    pairs = [(name, value) for name, values in params.items() for value in values]
    if "none" in query.get("prompt", "").split():
        # prompt=none is about the browser session, which /authorize checks when the browser arrives.
        pairs = [(name, value) for name, value in pairs if name != "prompt"]
    path = urlsplit(server.endpoint_url("authorize")).path
    try:
        core.server.validate_authorization_request(f"{path}?{urlencode(pairs)}", http_method="GET", headers={})
    except OAuth2Error as exc:
        raise _protocol_error(exc) from None


def store(server: AuthorizationServer, client: Application, params: dict[str, list[str]]) -> Pushed:
    """Keep a validated push; return its single-use ``request_uri`` (RFC 9126 §2.2)."""
    reference = secrets.token_urlsafe(32)
    PushedAuthorizationRequest.objects.create(
        server=server,
        application=client,
        reference=reference,
        parameters=params,
        expires=timezone.now() + timedelta(seconds=policy.PAR_SECONDS),
    )
    return Pushed(request_uri=f"{policy.PAR_URN_PREFIX}{reference}", expires_in=policy.PAR_SECONDS)


def bind_to_proof(http_request: HttpRequest, server: AuthorizationServer, params: dict[str, list[str]]) -> None:
    """RFC 9449 §10.1: a DPoP proof sent with a push binds the code to its key, as ``dpop_jkt`` would.

    No nonce is demanded here: the token endpoint, where the code is redeemed, demands it where due.
    """
    header = http_request.headers.get("DPoP")
    if header is None:
        return
    try:
        proof = dpop.verify(
            header,
            method="POST",
            url=server.endpoint_url("par"),  # from BASE_URL, never the Host header
            algs=policy.DPOP_ALGS,
            first_use=replay.first_use,
        )
    except dpop.DPoPError as exc:
        raise ProtocolError("invalid_dpop_proof", exc.description) from None
    if params.get("dpop_jkt", [proof.jkt]) != [proof.jkt]:
        raise ProtocolError("invalid_dpop_proof", "dpop_jkt is not the thumbprint of the DPoP proof's key.")
    params["dpop_jkt"] = [proof.jkt]


def accept(core: OAuthLibCore, server: AuthorizationServer, http_request: HttpRequest) -> Pushed:
    """Authenticate the client of a push, validate what it pushed, and store it (raises ``ProtocolError``)."""
    client = authenticate(core, http_request)  # a FAPI server's profile refuses clients there (validators.py)
    params = pushed_parameters(http_request, client, server)
    bind_to_proof(http_request, server, params)
    validate(core, server, params)
    return store(server, client, params)


# -- /authorize --------------------------------------------------------------------------------------


def reference(request_uri: str) -> str | None:
    """The random part of one of our request URIs, or None when ``request_uri`` is not one."""
    if not request_uri.startswith(policy.PAR_URN_PREFIX):
        return None
    value = request_uri[len(policy.PAR_URN_PREFIX) :]
    return value if _REFERENCE.match(value) else None


def redeem(server: AuthorizationServer, client: Application, request_uri: str) -> dict[str, list[str]]:
    """Return the parameters pushed for ``client`` under ``request_uri``, once.

    Raises ``UnknownRequestUri`` (not ours, or not this client's) or ``SpentRequestUri`` (used or expired).

    One conditional UPDATE decides, so of any number of concurrent redemptions exactly one wins
    (PostgreSQL re-checks the condition after the row lock; SQLite writes one at a time).
    """
    ref = reference(request_uri)
    pushed = PushedAuthorizationRequest.objects.filter(server=server, reference=ref)
    row = pushed.only("pk", "application_id", "parameters").first() if ref else None
    if row is None or row.application_id != client.pk:
        raise UnknownRequestUri()
    now = timezone.now()
    unused = PushedAuthorizationRequest.objects.filter(pk=row.pk, used_at__isnull=True, expires__gt=now)
    if not unused.update(used_at=now):
        raise SpentRequestUri(row.parameters)
    return row.parameters
