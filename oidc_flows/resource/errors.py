"""Bearer token errors (RFC 6750 §3) and their HTTP shape, shared by the DRF classes and the decorator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus

from django.http import JsonResponse

from .. import dpop
from ..policy import DPOP_ALGS


#: RFC 6750 §3: the characters a quoted error_description or scope may hold (no '"' and no '\').
_UNSAFE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


@dataclass(eq=False)  # not frozen: the interpreter sets __traceback__ and friends on exceptions
class BearerError(Exception):
    """Why a request was refused. ``error`` is None when no token was sent at all (RFC 6750 §3.1)."""

    status: HTTPStatus
    error: str | None
    description: str
    scope: str | None = None
    #: The scheme the client used; a DPoP request is answered with a DPoP challenge (RFC 9449 §7.1).
    scheme: str = "Bearer"
    #: The DPoP algorithms the resource accepts: named in the challenges (empty: no DPoP).
    dpop_algs: tuple[str, ...] = ()

    # RFC 6750 §3.1 error codes ---------------------------------------------------------------
    @classmethod
    def missing(cls, dpop_algs: tuple[str, ...] = DPOP_ALGS) -> BearerError:
        # "If the request lacks any authentication information ..., the resource server SHOULD NOT
        # include an error code or other error information."
        return cls(HTTPStatus.UNAUTHORIZED, None, "This resource needs an access token.", dpop_algs=dpop_algs)

    @classmethod
    def invalid_dpop_proof(cls, description: str, dpop_algs: tuple[str, ...]) -> BearerError:
        """RFC 9449 §7.1: the proof sent with a DPoP-bound token is wrong (401, DPoP challenge)."""
        return cls(HTTPStatus.UNAUTHORIZED, "invalid_dpop_proof", description, scheme="DPoP", dpop_algs=dpop_algs)

    @classmethod
    def invalid_request(cls, description: str) -> BearerError:
        return cls(HTTPStatus.BAD_REQUEST, "invalid_request", description)

    @classmethod
    def invalid_token(cls, description: str) -> BearerError:
        return cls(HTTPStatus.UNAUTHORIZED, "invalid_token", description)

    @classmethod
    def insufficient_scope(cls, required: tuple[str, ...] | list[str]) -> BearerError:
        scope = " ".join(required)
        return cls(HTTPStatus.FORBIDDEN, "insufficient_scope", f"The access token lacks a scope: {scope}.", scope)

    @classmethod
    def unavailable(cls) -> BearerError:
        # Not an RFC 6750 code: the token may well be good, we could not check it (IdP unreachable).
        return cls(HTTPStatus.SERVICE_UNAVAILABLE, "temporarily_unavailable", "Tokens cannot be verified right now.")

    # HTTP shape ------------------------------------------------------------------------------
    def www_authenticate(self) -> str | None:
        """The RFC 6750 §3 challenge, or None when a challenge would be wrong (503)."""
        if self.status == HTTPStatus.SERVICE_UNAVAILABLE:
            return None
        if self.error is None:
            # RFC 9449 §7.1: both schemes are offered, DPoP with the algorithms of its proofs.
            return "Bearer" + (f", {dpop.challenge(self.dpop_algs)}" if self.dpop_algs else "")
        if self.scheme == "DPoP":
            return dpop.challenge(self.dpop_algs, self.error, self.description)
        params = {"error": self.error, "error_description": self.description}
        if self.scope:
            params["scope"] = self.scope
        return "Bearer " + ", ".join(f'{name}="{_UNSAFE.sub("", value)}"' for name, value in params.items())

    def body(self) -> dict[str, str]:
        body = {"error": self.error} if self.error else {}
        body["error_description"] = self.description
        if self.scope:
            body["scope"] = self.scope
        return body

    def response(self) -> JsonResponse:
        """A plain Django response (the DRF classes raise ``authentication.BearerTokenFailed`` instead)."""
        response = JsonResponse(self.body(), status=self.status)
        if challenge := self.www_authenticate():
            response["WWW-Authenticate"] = challenge
        response["Cache-Control"] = "no-store"
        return response
