"""Errors of the management API in Okta's shape, with RFC 6750 challenges for 401 and 403.

    {"errorCode": "E0000001", "errorSummary": "Api validation failed: name",
     "errorLink": "E0000001", "errorId": "<the request id>",
     "errorCauses": [{"errorSummary": "name: This field is required."}]}

``management_exception_handler`` is DRF's ``EXCEPTION_HANDLER`` (idp/settings.py sets it project-wide);
``ManagementViewSet.handle_exception`` also applies it, so a project that keeps DRF's default handler
still gets this shape on the management API. A 401 or 403 also carries ``error`` and
``error_description`` (RFC 6750 §3) in the body, and the ``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any, Final

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler


#: RFC 6750 §3: the realm of every challenge.
REALM: Final = "oidc_flows"

#: HTTP status → (Okta error code, summary). Codes are Okta's (developer.okta.com/docs/reference/error-codes);
#: 412 and 415 have no Okta code: E0000412 and E0000415 are ours.
ERRORS: Final = {
    400: ("E0000003", "The request was not well-formed."),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    406: ("E0000003", "The requested representation is not available."),
    409: ("E0000001", "Api validation failed: the resource changed"),
    412: ("E0000412", "Precondition failed: the resource has changed since it was read (If-Match)."),
    415: ("E0000415", "Unsupported media type: send application/json."),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
}
VALIDATION_CODE: Final = "E0000001"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class BearerChallenge(exceptions.APIException):
    """A 401 or 403 with an RFC 6750 §3 challenge (not DRF's AuthenticationFailed, whose challenge DRF
    would replace with the bare one)."""

    def __init__(self, status_code: int, error: str, description: str, scope: str = "") -> None:
        super().__init__(detail=description, code=error)
        self.status_code = status_code
        self.error = error
        self.auth_header = self.header(error=error, description=description, scope=scope)

    @staticmethod
    def header(*, error: str = "", description: str = "", scope: str = "") -> str:
        """The ``WWW-Authenticate`` value; without ``error``: the bare challenge (RFC 6750 §3.1: no token)."""
        parts = [f'realm="{REALM}"']
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quote(description)}"')
        if scope:
            parts.append(f'scope="{_quote(scope)}"')
        return "Bearer " + ", ".join(parts)

    @classmethod
    def invalid_token(cls, description: str) -> BearerChallenge:
        return cls(status.HTTP_401_UNAUTHORIZED, "invalid_token", description)

    @classmethod
    def invalid_request(cls, description: str) -> BearerChallenge:
        return cls(status.HTTP_400_BAD_REQUEST, "invalid_request", description)

    @classmethod
    def insufficient_scope(cls, description: str, scopes: tuple[str, ...] = ()) -> BearerChallenge:
        return cls(status.HTTP_403_FORBIDDEN, "insufficient_scope", description, " ".join(scopes))


class PreconditionFailed(exceptions.APIException):
    """RFC 9110 §13.1.1: ``If-Match`` names no current representation of the resource."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = ERRORS[412][1]
    default_code = "precondition_failed"


def _causes(detail: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, message) pairs of a DRF ValidationError's nested detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key in (NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY) else str(key)
            yield from _causes(value, f"{path}.{name}" if path and name else (name or path))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            yield from _causes(value, f"{path}[{index}]" if nested else path)
    else:
        yield path, str(detail)


def validation_body(detail: Any) -> dict[str, Any]:
    """Okta's E0000001 body for a ValidationError's detail: the summary names the (first) field."""
    causes = list(_causes(detail))
    fields = [field for field, _ in causes if field]
    return {
        "errorCode": VALIDATION_CODE,
        "errorSummary": f"Api validation failed: {fields[0] if fields else 'request'}",
        "errorLink": VALIDATION_CODE,
        "errorCauses": [{"errorSummary": f"{field}: {why}" if field else why} for field, why in causes],
    }


def _body(exc: exceptions.APIException, status_code: int) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return validation_body(exc.detail)
    code, summary = ERRORS.get(status_code, (f"E0000{status_code}", ""))
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if status_code in (400, 404, 409, 412, 429) and detail:
        summary = str(detail)  # e.g. "Not found: Resource not found: abc (App)", "Request was throttled..."
    body: dict[str, Any] = {"errorCode": code, "errorSummary": summary, "errorLink": code, "errorCauses": []}
    if isinstance(exc, BearerChallenge):
        body |= {"error": exc.error, "error_description": str(exc.detail)}
        if status_code == 400:
            body |= {"errorCode": "E0000003", "errorLink": "E0000003", "errorSummary": str(exc.detail)}
    elif isinstance(exc, exceptions.NotAuthenticated):
        body["errorSummary"] = str(exc.detail)  # RFC 6750 §3.1: no token, no error code
    elif status_code == 401:
        body |= {"error": "invalid_token", "error_description": str(exc.detail)}
    elif status_code == 403:
        body |= {"error": "insufficient_scope", "error_description": str(exc.detail)}
    return body


def management_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, ``WWW-Authenticate``, ``Retry-After``), with Okta's body and the request id."""
    if isinstance(exc, DjangoValidationError):
        # The model's clean() and the admin's validators raise Django's: the same messages, as a 400.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
        exc = exceptions.ValidationError(detail)
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a bug, which Django reports as such
    converted = exc if isinstance(exc, exceptions.APIException) else _as_api_exception(response)
    body = _body(converted, response.status_code)
    request = context.get("request")
    body["errorId"] = getattr(getattr(request, "_request", request), "request_id", None) or (
        "oae" + secrets.token_urlsafe(16)
    )
    response.data = body
    return response


def _as_api_exception(response: Response) -> exceptions.APIException:
    """DRF turned Http404 or Django's PermissionDenied into a response: the matching APIException."""
    if response.status_code == status.HTTP_404_NOT_FOUND:
        return exceptions.NotFound()
    return exceptions.PermissionDenied()
