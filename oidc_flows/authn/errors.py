"""Okta's error body (``errorCode``, ``errorSummary``, ``errorLink``, ``errorId``, ``errorCauses``) as one table."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Final

from django.http import JsonResponse


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: HTTPStatus
    summary: str


# Okta's documented codes (developer.okta.com/docs/reference/error-codes); the summaries are theirs.
ERRORS: Final = MappingProxyType({
    "E0000001": ErrorSpec(HTTPStatus.BAD_REQUEST,           "Api validation failed"),
    "E0000003": ErrorSpec(HTTPStatus.BAD_REQUEST,           "The request body was not well-formed."),
    "E0000004": ErrorSpec(HTTPStatus.UNAUTHORIZED,          "Authentication failed"),
    "E0000006": ErrorSpec(HTTPStatus.FORBIDDEN,             "You do not have permission to perform the requested action"),
    "E0000007": ErrorSpec(HTTPStatus.NOT_FOUND,             "Not found: Resource not found"),
    "E0000011": ErrorSpec(HTTPStatus.UNAUTHORIZED,          "Invalid token provided"),
    "E0000014": ErrorSpec(HTTPStatus.FORBIDDEN,             "Update of credentials failed"),
    "E0000022": ErrorSpec(HTTPStatus.METHOD_NOT_ALLOWED,    "The endpoint does not support the provided HTTP method"),
    "E0000047": ErrorSpec(HTTPStatus.TOO_MANY_REQUESTS,     "API call exceeded rate limit due to too many requests."),
    "E0000068": ErrorSpec(HTTPStatus.FORBIDDEN,             "Invalid Passcode/Answer"),
    "E0000069": ErrorSpec(HTTPStatus.FORBIDDEN,             "User Locked"),
    "E0000079": ErrorSpec(HTTPStatus.FORBIDDEN,             "This operation is not allowed in the current authentication state."),
    "E0000080": ErrorSpec(HTTPStatus.FORBIDDEN,             "The password does not meet the complexity requirements of the current password policy."),
    "E0000082": ErrorSpec(HTTPStatus.FORBIDDEN,             "Each code can only be used once. Please wait for a new code and try again."),
    "E0000084": ErrorSpec(HTTPStatus.FORBIDDEN,             "Factor not found, or not of this user."),
    "E0000113": ErrorSpec(HTTPStatus.BAD_REQUEST,           "This factor type is not allowed by the enrollment policy."),
    "E0000114": ErrorSpec(HTTPStatus.FORBIDDEN,             "The passkey could not be verified."),
})


class AuthnError(Exception):
    """An Okta error answer; ``causes`` become ``errorCauses[].errorSummary`` (what to fix, never a secret)."""

    def __init__(self, code: str, *causes: str, retry_after: int | None = None) -> None:
        self.code = code
        self.spec = ERRORS[code]  # KeyError on a typo, at the raise
        self.causes = causes
        self.retry_after = retry_after
        super().__init__(f"{code} {self.spec.summary}")

    def body(self) -> dict:
        summary = self.spec.summary
        if self.code == "E0000001" and self.causes:
            summary = f"{summary}: {self.causes[0]}"
        return {
            "errorCode": self.code,
            "errorSummary": summary,
            "errorLink": self.code,
            "errorId": "oae" + secrets.token_hex(10),
            "errorCauses": [{"errorSummary": cause} for cause in self.causes],
        }

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.spec.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response
