"""What an authorization request asks for: its query, a pushed request (RFC 9126 §4) or a request object (RFC 9101 §5).

/authorize calls ``resolve`` first. A plain request is its query. With ``request_uri`` or ``request``
(``client_id`` beside it), the parameters are the pushed ones or the request object's; the query's
others are ignored, and one whose value conflicts with the request object's is refused.

The browser comes back to /authorize from the sign-in page and with the consent form, at the same
URL, but a pushed request is redeemed once. So the first visit keeps the parameters in the
browser's session, a *continuation* keyed by a digest of the ``request_uri`` (or request object),
for ``CONTINUATION_SECONDS``; the visits after it take them from there, and the response to the
client ends it. Another browser presenting the same ``request_uri`` has no continuation and finds
the URI spent: ``invalid_request_uri``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from django.http import HttpRequest, QueryDict
from oauth2_provider.oauth2_backends import OAuthLibCore

from . import claimsrequest, par, policy, requestobjects, sessions
from .models import Application, AuthorizationServer


#: How long a browser may take to sign in and consent after it redeemed a pushed request.
CONTINUATION_SECONDS: Final = 1800
#: Continuations one session keeps at most (several tabs); the oldest go first.
MAX_CONTINUATIONS: Final = 8
#: OIDC Core §3.1.2.1 ``prompt`` values we understand (views/authorize.py: select_account).
PROMPT_VALUES: Final = frozenset({"none", "login", "consent", "select_account"})
PAR_REQUIRED: Final = "This application must push its authorization requests first (PAR, RFC 9126)."
SIGNED_REQUIRED: Final = "This application must send its authorization requests as signed request objects."


def querydict(params: dict[str, list[str]]) -> QueryDict:
    """``params`` (name: values) as an immutable QueryDict, like ``request.GET``."""
    result = QueryDict(mutable=True)
    for name, values in params.items():
        result.setlist(name, list(values))
    result._mutable = False
    return result


def request_problem(params: QueryDict) -> str | None:
    """Why the OIDC parameters that /authorize reads itself are malformed (``invalid_request``), or None."""
    if name := policy.repeated_parameter(params.lists()):
        return f"{name[:40]} must not be repeated."
    prompt = params.get("prompt", "").split()
    if unknown := sorted(set(prompt) - PROMPT_VALUES):
        return f"Unsupported prompt value: {unknown[0][:40]}."
    if "none" in prompt and len(set(prompt)) > 1:
        return "prompt=none cannot be combined with other values."
    if "openid" in params.get("scope", "").split():  # an OIDC parameter: plain OAuth requests ignore it
        return claimsrequest.problem(params.get("claims"))
    return None


def response_mode_problem(params: QueryDict) -> str | None:
    """OAuth 2.0 Multiple Response Types §5: why ``response_mode`` cannot carry this response, or None."""
    asked = params.get("response_mode")
    rule = policy.response_type_rule(params.get("response_type", ""))
    if asked and rule and not policy.response_mode_allowed(rule, asked):
        return f"response_mode={asked[:40]} is not allowed here."
    return None


def plain_refusal(client: Application, server: AuthorizationServer) -> str | None:
    """Why ``client`` may not send its parameters in the query on ``server`` (``invalid_request``), or None."""
    if client.requires_par(server):
        return PAR_REQUIRED
    if client.requires_signed_request_object(server):
        return SIGNED_REQUIRED
    return None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The parameters an /authorize request stands for; ``key`` names its continuation (None: a plain request)."""

    params: QueryDict
    key: str | None = None


class RequestError(Exception):
    """A request that cannot be resolved; redirected to the client when ``params`` name a registered redirect_uri."""

    def __init__(
        self, error: str, description: str, *, client: Application | None = None, params: QueryDict | None = None
    ) -> None:
        self.error, self.description, self.client, self.params = error, description, client, params
        super().__init__(f"{error}: {description}")


def _client(client_id: str) -> Application | None:
    from .validators import _application  # the validator's cached row (a stamp query); imported late: no cycle

    client = _application(client_id) if client_id else None
    return client if client is not None and client.is_active else None


def resolve(request: HttpRequest, server: AuthorizationServer) -> Resolved:
    """The parameters of this /authorize request (raises ``RequestError``)."""
    query = request.GET
    by_reference, by_value = query.get("request_uri"), query.get("request")
    if by_reference is None and by_value is None:
        return Resolved(query)
    if name := policy.repeated_parameter(query.lists()):
        raise RequestError("invalid_request", f"{name[:40]} must not be repeated.")
    client_id = query.get("client_id", "")
    if not client_id:
        raise RequestError("invalid_request", "client_id is required beside request and request_uri.")
    key = ("uri:" if by_value is None else "jws:") + requestobjects.digest(by_reference or by_value)
    if (kept := _kept(request, key, client_id)) is not None:
        return Resolved(kept, key)
    client = _client(client_id)
    if client is None:
        raise RequestError("invalid_request", "Invalid client_id parameter value.")
    if by_reference is not None and by_value is not None:
        description = "request and request_uri cannot both be used."
        raise RequestError("invalid_request", description, client=client, params=query)
    if by_value is None and by_reference.startswith(policy.PAR_URN_PREFIX):
        return Resolved(querydict(_redeem(server, client, by_reference)), key)
    try:
        if by_value is None:
            by_value = requestobjects.fetch(client, by_reference)
        inner = requestobjects.verify(by_value, client, server)
    except requestobjects.RequestObjectError as exc:
        raise RequestError(exc.error, exc.description, client=client, params=query) from None
    if client.requires_par(server):
        raise RequestError("invalid_request", PAR_REQUIRED, client=client, params=querydict(inner))
    if name := requestobjects.conflicts(dict(query.lists()), inner):
        description = f"{name[:40]} conflicts with the request object."
        raise RequestError("invalid_request", description, client=client, params=querydict(inner))
    return Resolved(querydict(inner), key)


def _redeem(server: AuthorizationServer, client: Application, request_uri: str) -> dict[str, list[str]]:
    try:
        return par.redeem(server, client, request_uri)
    except par.UnknownRequestUri:
        # Not ours, or another client's: nothing tells where an error could safely go.
        raise RequestError("invalid_request_uri", "The request_uri is unknown to this authorization server.") from None
    except par.SpentRequestUri as exc:
        # The pushed redirect_uri was validated at the push: the client hears of it (RFC 9101 §6.2).
        description = "The request_uri was used already or has expired; push the request again."
        params = querydict(exc.parameters)
        raise RequestError("invalid_request_uri", description, client=client, params=params) from None


# -- continuations -----------------------------------------------------------------------------------


def _continuations(request: HttpRequest) -> dict[str, Any]:
    found = request.session.get(sessions.CONTINUATIONS_KEY)
    return found if isinstance(found, dict) else {}


def _kept(request: HttpRequest, key: str, client_id: str) -> QueryDict | None:
    entry = _continuations(request).get(key)
    if not isinstance(entry, dict) or entry.get("until", 0) < time.time() or entry.get("client_id") != client_id:
        return None
    return querydict(entry["params"])


def keep(request: HttpRequest, resolved: Resolved | None, params: QueryDict) -> None:
    """Keep ``params`` in the session for this browser's next visit to /authorize (sign-in, consent)."""
    if resolved is None or resolved.key is None:
        return  # a plain request: its URL carries it
    now = time.time()
    kept = {k: v for k, v in _continuations(request).items() if isinstance(v, dict) and v.get("until", 0) > now}
    until = int(now) + CONTINUATION_SECONDS
    kept[resolved.key] = {"client_id": params.get("client_id"), "params": dict(params.lists()), "until": until}
    newest = sorted(kept, key=lambda k: kept[k]["until"])[-MAX_CONTINUATIONS:]
    request.session[sessions.CONTINUATIONS_KEY] = {k: kept[k] for k in newest}


def forget(request: HttpRequest, resolved: Resolved | None) -> None:
    """End the continuation: the client has its response."""
    if resolved is None or resolved.key is None or not hasattr(request, "session"):
        return
    kept = _continuations(request)
    if resolved.key in kept:
        request.session[sessions.CONTINUATIONS_KEY] = {k: v for k, v in kept.items() if k != resolved.key}


class ResolvedCore(OAuthLibCore):
    """The server's oauthlib core, reading the resolved parameters instead of the URL's query and the body."""

    def __init__(self, core: OAuthLibCore, params: QueryDict) -> None:  # no super(): DOT's builds a validator
        self.server = core.server
        self.query = params.urlencode()

    def _get_escaped_full_path(self, request: HttpRequest) -> str:
        return f"{request.path}?{self.query}"

    def extract_body(self, request: HttpRequest) -> list:
        return []  # the consent form's fields are not request parameters
