"""Dynamic Client Registration (RFC 7591, OIDC Registration 1.0) and its management (RFC 7592).

Registration is POST /oauth2/v1/clients, as Okta has it: one endpoint at the org level, for every
authorization server. It needs an initial access token an administrator issued (RFC 7591 §3,
``InitialAccessToken``), unless ``OIDC_FLOWS["OPEN_REGISTRATION"]`` is on. The registered client gets
a registration access token for its client configuration endpoint ``/oauth2/v1/clients/<client_id>``
(RFC 7592 §1): GET reads, PUT replaces, DELETE removes. Applications an administrator created have
none, so the API cannot touch them.

Decisions:
- The metadata ↔ model mapping is the table ``METADATA``; unknown metadata is ignored (RFC 7591 §2).
  The rules per application type are ``policy.APP_TYPES``' and are applied by the same validation as
  in the admin and the commands (``registration.register_application`` / ``replace_settings``).
- ``application_type``: OIDC's "web" (the default) and "native", and Okta's "browser" (our spa) and
  "service" (``policy.REGISTRATION_APP_TYPES``). A PUT cannot change it: register a new client.
- The registration access token is stored hashed, so a read answers with the token presented; each
  PUT rotates it (RFC 7592 §2.2: the old one stops working, the response carries the new one).
- A browser (spa) client's CORS origins are the origins of its redirect URIs; RFC 7591 has no field.
- Dynamically registered clients always ask the user's consent (Okta: ``consent_method=REQUIRED``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.utils import parse_bearer_token

from . import policy, redirects, registration, revocation
from .errors import ProtocolError
from .models import Application, InitialAccessToken
from .models.registration import hash_token, token_matches
from .settings import flows_settings


JSON_CONTENT_TYPE: Final = "application/json"
#: RFC 7592 §2.2: never part of an update request; ignored when a client echoes them back.
SERVER_ASSIGNED: Final = frozenset(
    {"registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"}
)
_WIRE_TYPES: Final = {app_type: wire for wire, app_type in policy.REGISTRATION_APP_TYPES.items()}


def endpoint_url() -> str:
    """The registration endpoint, the same for every authorization server (as Okta's)."""
    return f"{flows_settings().BASE_URL}/oauth2/v1/clients"


def client_uri(client_id: str) -> str:
    """The client configuration endpoint of ``client_id`` (RFC 7592 §2)."""
    return f"{endpoint_url()}/{client_id}"


def _invalid(name: str, why: str) -> ProtocolError:
    return ProtocolError("invalid_client_metadata", f"{name}: {why}")


# -- the metadata table ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    """How one kind of metadata value is read from JSON into the model, and shown back."""

    parse: Callable[[str, Any], Any]  # (name, JSON value) → model value; raises ProtocolError
    show: Callable[[Any], Any]  # model value → JSON value
    empty: Any  # the model value when the metadata is omitted (RFC 7592 §2.2: omitted = deleted)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 255:
        raise _invalid(name, "a string of at most 255 characters")
    return value.strip()


def _list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v and len(v) <= 2000 for v in value):
        raise _invalid(name, "an array of non-empty strings")
    return value


def _strings(name: str, value: Any) -> list[str]:
    """An array of strings that our space-separated columns can hold."""
    if any(any(c.isspace() for c in v) for v in _list(name, value)):
        raise _invalid(name, "values must not contain spaces")
    return value


def _web_uri(name: str, value: Any) -> str:
    """An https URL (plain http only on a loopback host), as jwks_uri and request_uris must be."""
    if not isinstance(value, str) or redirects.classify(value) not in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK):
        raise _invalid(name, "an https URL without a fragment")
    return value


def _fetched_uri(name: str, value: Any) -> str:
    """An https URL that the IdP itself calls or fetches: never plain http, never a loopback host, so
    that a self-registered client cannot point the IdP at its own machine's services (SSRF)."""
    if not isinstance(value, str) or redirects.classify(value) != policy.Redirect.HTTPS or _loopback(value):
        raise _invalid(name, "an https URL on a public host, without a fragment")
    return value


def _loopback(uri: str) -> bool:
    host = (urlsplit(uri).hostname or "").lower()
    return host == "localhost" or host.endswith(".localhost") or host.startswith("127.") or host in ("::1", "0.0.0.0")


def _web_uris(name: str, value: Any) -> str:
    return " ".join(_web_uri(name, v) for v in _strings(name, value))


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid(name, "true or false")
    return value


def _one_of(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(name: str, value: Any) -> str:
        if value not in choices:
            raise _invalid(name, f"one of {', '.join(choices)}")
        return value

    return parse


def _grants(name: str, value: Any) -> str:
    unknown = sorted(set(_strings(name, value)) - set(policy.Grant))
    if unknown:
        raise _invalid(name, f"unsupported grant type {unknown[0][:60]}")
    return " ".join(sorted(set(value)))


def _jwks(name: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise _invalid(name, "a JWK Set object")
    return value


def _split(value: str) -> list[str]:
    return value.split()


def _same(value: Any) -> Any:
    return value


TEXT = Kind(_text, _same, "")
URI_LIST = Kind(lambda name, value: " ".join(_strings(name, value)), _split, "")  # the model checks each
WEB_URI = Kind(_web_uri, _same, "")
WEB_URI_LIST = Kind(_web_uris, _split, "")
FETCHED_URI = Kind(_fetched_uri, _same, "")
FETCHED_URIS = Kind(lambda name, value: " ".join(_fetched_uri(name, v) for v in _strings(name, value)), _split, "")
STRINGS = Kind(_strings, _same, [])
FLAG = Kind(_flag, _same, False)
GRANTS = Kind(_grants, _split, "")  # empty: the type's default grants (Application.save)
AUTH_METHOD = Kind(_one_of(policy.TOKEN_ENDPOINT_AUTH_METHODS), _same, "")
ASSERTION_ALG = Kind(_text, _same, "")  # registration.client_auth_errors checks it against the method
JWKS = Kind(_jwks, _same, {})
SUBJECT_TYPE = Kind(_one_of(tuple(policy.SubjectType)), _same, policy.SubjectType.PUBLIC.value)


@dataclass(frozen=True, slots=True)
class Metadata:
    name: str  # the JSON name (RFC 7591 §2, OIDC Registration §2, and the RFC named in the comment)
    attribute: str | None  # of Application; None: kept as given in Application.client_metadata
    kind: Kind


M = Metadata
# fmt: off
#: Every client metadata value we register; ``application_type`` and ``response_types`` are read apart
#: (they depend on the type's rule). Add a row here to support a new one.
METADATA: Final = (
    #  name                                    Application attribute (None: client_metadata)  kind
    M("client_name",                            "name",                                   TEXT),
    M("redirect_uris",                          "redirect_uris",                          URI_LIST),
    M("post_logout_redirect_uris",              "post_logout_redirect_uris",              URI_LIST),   # RP-Init. Logout
    M("grant_types",                            "grant_types",                            GRANTS),
    M("token_endpoint_auth_method",             "token_endpoint_auth_method",             AUTH_METHOD),
    M("token_endpoint_auth_signing_alg",        "token_endpoint_auth_signing_alg",        ASSERTION_ALG),
    M("jwks",                                   "jwks",                                   JWKS),
    M("jwks_uri",                               "jwks_uri",                               FETCHED_URI),
    M("request_uris",                           "request_uris",                           FETCHED_URIS),  # OIDC Reg. §2
    M("require_pushed_authorization_requests",  "require_pushed_authorization_requests",  FLAG),       # RFC 9126 §6
    M("require_signed_request_object",          "require_signed_request_object",          FLAG),       # RFC 9101 §10.5
    M("dpop_bound_access_tokens",               "dpop_bound_access_tokens",               FLAG),       # RFC 9449 §5.2
    M("backchannel_logout_uri",                 "backchannel_logout_uri",                 FETCHED_URI),    # BCL §2.2
    M("backchannel_logout_session_required",    "backchannel_logout_session_required",    FLAG),
    M("frontchannel_logout_uri",                "frontchannel_logout_uri",                WEB_URI),    # FCL §2
    M("frontchannel_logout_session_required",   "frontchannel_logout_session_required",   FLAG),
    M("subject_type",                           "subject_type",                           SUBJECT_TYPE),  # Core §8
    M("sector_identifier_uri",                  "sector_identifier_uri",                  FETCHED_URI),   # Core §8.1
    M("initiate_login_uri",                     None,                                     WEB_URI),
    M("client_uri",                             None,                                     WEB_URI),
    M("logo_uri",                               None,                                     WEB_URI),
    M("policy_uri",                             None,                                     WEB_URI),
    M("tos_uri",                                None,                                     WEB_URI),
    M("contacts",                               None,                                     STRINGS),
    M("software_id",                            None,                                     TEXT),
    M("software_version",                       None,                                     TEXT),
)
# fmt: on
_WIRE_NAMES: Final = {m.attribute: m.name for m in METADATA if m.attribute} | {"allowed_origins": "redirect_uris"}


# -- reading a request ------------------------------------------------------------------------------


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def read_body(request: HttpRequest) -> dict[str, Any]:
    """The request's client metadata: a JSON object (RFC 7591 §3.1)."""
    if request.content_type != JSON_CONTENT_TYPE:
        raise ProtocolError("invalid_client_metadata", f"The request body must be {JSON_CONTENT_TYPE}.")
    try:
        metadata = json.loads(request.body)
    except RequestDataTooBig:
        raise ProtocolError("invalid_client_metadata", "The request body is too large.") from None
    except ValueError:
        raise ProtocolError("invalid_client_metadata", "The request body is not valid JSON.") from None
    if not isinstance(metadata, dict):
        raise ProtocolError("invalid_client_metadata", "The request body must be a JSON object.")
    if _has_nul(metadata):  # no metadata holds a NUL byte, and PostgreSQL text cannot store one
        raise ProtocolError("invalid_client_metadata", "Values must not contain NUL bytes.")
    return metadata


def _app_type(metadata: dict[str, Any]) -> policy.AppType:
    wire = metadata.get("application_type")
    if wire is None:
        return policy.AppType.WEB  # OIDC Registration §2: the default is "web"
    if wire not in policy.REGISTRATION_APP_TYPES:
        raise _invalid("application_type", f"one of {', '.join(policy.REGISTRATION_APP_TYPES)}")
    return policy.REGISTRATION_APP_TYPES[wire]


def _origins(uris: str) -> str:
    """The https (or loopback) origins of a browser client's redirect URIs: where it calls /token from."""
    found = []
    for uri in uris.split():
        if redirects.classify(uri) in (policy.Redirect.HTTPS, policy.Redirect.LOOPBACK):
            parts = urlsplit(uri)
            found.append(f"{parts.scheme}://{parts.netloc}")
    return " ".join(dict.fromkeys(found))


def settings_from(metadata: dict[str, Any], app_type: policy.AppType, *, open_registration: bool) -> dict[str, Any]:
    """The application's attributes for ``metadata``; omitted metadata gets its empty value (RFC 7592 §2.2)."""
    rule = policy.APP_TYPES[app_type]
    attributes: dict[str, Any] = {}
    informational: dict[str, Any] = {}
    for row in METADATA:
        value = metadata.get(row.name)
        value = row.kind.empty if value is None else row.kind.parse(row.name, value)
        if row.attribute:
            attributes[row.attribute] = value
        elif value not in ("", [], {}):
            informational[row.name] = value
    if not attributes["name"]:
        raise _invalid("client_name", "required")  # as Okta's /oauth2/v1/clients
    attributes["client_metadata"] = informational
    attributes["allowed_origins"] = _origins(attributes["redirect_uris"]) if app_type == policy.AppType.SPA else ""
    attributes["skip_authorization"] = False
    attributes["token_endpoint_auth_method"] = attributes["token_endpoint_auth_method"] or (
        "client_secret_basic" if rule.confidential else "none"  # RFC 7591 §2's default; public clients: none
    )
    grants = frozenset(attributes["grant_types"].split()) or rule.default_grants
    for raw in _list("response_types", metadata.get("response_types") or []):
        # RFC 7591 §2.1: response_types and grant_types must agree. ("code id_token" holds a space.)
        found = policy.response_type_rule(raw)
        if found is None:
            raise _invalid("response_types", f"unsupported response type {str(raw)[:40]}")
        if found.requires not in grants:
            raise _invalid("response_types", f"{raw} needs the {found.requires} grant in grant_types")
    if open_registration and (refused := sorted(grants - policy.OPEN_REGISTRATION_GRANTS)):
        raise _invalid("grant_types", f"{', '.join(refused)} needs an initial access token")
    return attributes


def metadata_error(exc: ValidationError) -> ProtocolError:
    """A model validation error as RFC 7591 §3.2.2 answers it, with the metadata's JSON names."""
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    parts = [
        " ".join(messages) if field == "__all__" else f"{_WIRE_NAMES.get(field, field)}: {' '.join(messages)}"
        for field, messages in by_field.items()
    ]
    error = "invalid_redirect_uri" if "redirect_uris" in by_field else "invalid_client_metadata"
    return ProtocolError(error, "; ".join(str(p) for p in parts)[:1000])


# -- tokens ------------------------------------------------------------------------------------------


def bearer(request: HttpRequest) -> str | None:
    """The Bearer token of the Authorization header (RFC 6750 §2.1), or None."""
    return parse_bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))


@sensitive_variables("value")
def initial_token(request: HttpRequest) -> InitialAccessToken | None:
    """The usable initial access token the request presents; None for open registration without one.

    Raises ``ProtocolError("invalid_token")`` (401) when one is needed and missing, or is not usable.
    """
    value = bearer(request)
    if value is None:
        if flows_settings().OPEN_REGISTRATION and "HTTP_AUTHORIZATION" not in request.META:
            return None
        raise ProtocolError("invalid_token", "An initial access token is required (Authorization: Bearer).")
    token = InitialAccessToken.find(value)
    if token is None:
        raise ProtocolError("invalid_token", "The initial access token is invalid.")
    if why := token.refusal():
        raise ProtocolError("invalid_token", why)
    return token


@sensitive_variables("value")
def registered_client(request: HttpRequest, client_id: str) -> Application:
    """The dynamically registered client whose registration access token the request presents (RFC 7592 §2).

    Unknown clients, administrators' applications, and another client's token all get 401 invalid_token
    (RFC 7592 §2.1), so the answer tells nothing about which clients exist.
    """
    value = bearer(request)
    if value is None:
        raise ProtocolError("invalid_token", "A registration access token is required (Authorization: Bearer).")
    app = Application.objects.filter(
        client_id=client_id, registration_source=Application.RegistrationSource.DCR
    ).first()
    if app is None or not token_matches(value, app.registration_access_token):
        raise ProtocolError("invalid_token", "The registration access token is invalid for this client.")
    return app


# -- the operations ----------------------------------------------------------------------------------


def client_information(app: Application, *, registration_token: str, secret: str | None = None) -> dict[str, Any]:
    """The client information response (RFC 7591 §3.2.1, RFC 7592 §3): everything registered."""
    doc: dict[str, Any] = {
        "client_id": app.client_id,
        "client_id_issued_at": int(app.created.timestamp()),
        "application_type": _WIRE_TYPES[policy.AppType(app.application_type)],
    }
    if app.rule.confidential:
        if secret:
            doc["client_secret"] = secret
        doc["client_secret_expires_at"] = 0  # never expires (RFC 7591 §3.2.1)
    for row in METADATA:
        value = getattr(app, row.attribute) if row.attribute else app.client_metadata.get(row.name)
        if value not in (None, "", {}):
            doc[row.name] = row.kind.show(value)
    doc["grant_types"] = sorted(app.grant_type_set)
    # RFC 7591 §2.1: the response types its grants allow (what /authorize accepts from it).
    usable = (name for name, rule in policy.RESPONSE_TYPES.items() if rule.requires in app.grant_type_set)
    doc["response_types"] = sorted(usable)
    return doc | {"registration_client_uri": client_uri(app.client_id), "registration_access_token": registration_token}


@sensitive_variables("secret", "token")
def register(metadata: dict[str, Any], initial: InitialAccessToken | None) -> dict[str, Any]:
    """Register a client (RFC 7591 §3.1); return its client information response, with its secrets once."""
    app_type = _app_type(metadata)
    attributes = settings_from(metadata, app_type, open_registration=initial is None)
    token = generate_client_secret()
    attributes |= {
        "registration_source": Application.RegistrationSource.DCR,
        "registration_access_token": hash_token(token),
        "initial_access_token": initial,
    }
    try:
        with transaction.atomic():
            app, secret = registration.register_application(attributes["name"], app_type, extra=attributes)
            if initial is not None and not initial.consume():
                # Used up or revoked since it was checked: the registration rolls back.
                raise ProtocolError("invalid_token", "The initial access token is no longer usable.")
    except ValidationError as exc:
        raise metadata_error(exc) from None
    return client_information(app, registration_token=token, secret=secret)


@sensitive_variables("secret", "token", "given")
def update(app: Application, metadata: dict[str, Any]) -> dict[str, Any]:
    """Replace the client's metadata (RFC 7592 §2.2); the response carries a new registration access token."""
    if metadata.get("client_id") != app.client_id:
        raise _invalid("client_id", "must be included, and be this client's")
    given = metadata.get("client_secret")
    if given is not None and not (app.rule.confidential and token_matches(str(given), app.client_secret)):
        # RFC 7592 §2.2: it must be the current secret; a client never chooses its own.
        raise _invalid("client_secret", "is not this client's current secret")
    # Omitted: the current type (it cannot change, so "omitted = deleted" cannot apply).
    app_type = _app_type(metadata) if "application_type" in metadata else policy.AppType(app.application_type)
    if app_type != app.application_type:
        raise _invalid("application_type", "cannot change; register a new client")
    metadata = {k: v for k, v in metadata.items() if k not in SERVER_ASSIGNED}
    attributes = settings_from(metadata, app_type, open_registration=app.initial_access_token_id is None)
    token = generate_client_secret()
    attributes["registration_access_token"] = hash_token(token)
    try:
        secret = registration.replace_settings(app, attributes)
    except ValidationError as exc:
        raise metadata_error(exc) from None
    return client_information(app, registration_token=token, secret=secret)


@transaction.atomic
def delete(app: Application) -> None:
    """Delete the client (RFC 7592 §2.3): its client_id, secret and registration access token stop
    working; its tokens, grants and consents go with it, and its JWT access tokens are revoked."""
    revocation.revoke_client(app.client_id)  # JWT access tokens have no rows to delete
    app.delete()  # tokens, grants, consents and sessions' records: ON DELETE CASCADE
