"""Protocol errors of our own endpoints (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).

Inside /authorize and /token errors travel through oauthlib, which DOT renders; everything else
(server resolution, discovery, keys) raises ``ProtocolError`` and is answered in the same shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: HTTPStatus
    redirectable: bool  # may be returned to the client's (validated) redirect_uri
    description: str


ERRORS: Final = MappingProxyType({
    "invalid_request":           ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "The request is missing a parameter or is malformed."),
    "unauthorized_client":       ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "This client may not use this flow."),
    "unsupported_response_type": ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "This response_type is not supported."),
    "invalid_scope":             ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "A requested scope is unknown or not allowed."),
    "access_denied":             ErrorSpec(HTTPStatus.FORBIDDEN,    True,  "The user or a policy denied the request."),
    "login_required":            ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "prompt=none but no user is signed in."),
    "consent_required":          ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "prompt=none but the user has not consented."),
    "invalid_request_uri":       ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "The request_uri is unknown, expired or already used."),
    "invalid_request_object":    ErrorSpec(HTTPStatus.BAD_REQUEST,  True,  "The request object is invalid."),
    "invalid_dpop_proof":        ErrorSpec(HTTPStatus.BAD_REQUEST,  False, "The DPoP proof is invalid."),
    "invalid_client":            ErrorSpec(HTTPStatus.UNAUTHORIZED, False, "Client authentication failed."),
    "invalid_grant":             ErrorSpec(HTTPStatus.BAD_REQUEST,  False, "The grant is invalid, expired or revoked."),
    "invalid_token":             ErrorSpec(HTTPStatus.UNAUTHORIZED, False, "The access token is invalid."),
    "insufficient_scope":        ErrorSpec(HTTPStatus.FORBIDDEN,    False, "The access token lacks a required scope."),
    # RFC 7591 §3.2.2 (registration and RFC 7592 management); 429: RFC 6585 §4, no OAuth code exists.
    "invalid_redirect_uri":      ErrorSpec(HTTPStatus.BAD_REQUEST,  False, "A redirect URI is not allowed for this client."),
    "invalid_client_metadata":   ErrorSpec(HTTPStatus.BAD_REQUEST,  False, "A client metadata value is invalid."),
    "too_many_requests":         ErrorSpec(HTTPStatus.TOO_MANY_REQUESTS, False, "Too many requests; retry later."),
    "not_found":                 ErrorSpec(HTTPStatus.NOT_FOUND,    False, "No such authorization server."),
})


class ProtocolError(Exception):
    """An error with a spec code; the code must be a key of ERRORS."""

    def __init__(self, error: str, description: str | None = None, *, state: str | None = None) -> None:
        self.spec = ERRORS[error]  # a typo here is a bug the tests should hit
        self.error = error
        self.description = description or self.spec.description
        self.state = state
        super().__init__(f"{error}: {self.description}")

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.error, "error_description": self.description}
        return body | ({"state": self.state} if self.state else {})
