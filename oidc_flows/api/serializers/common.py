"""Shapes every family shares: Okta's error body (for the OpenAPI schema; exceptions.py renders it)."""

from __future__ import annotations

from rest_framework import serializers


class ErrorCauseSerializer(serializers.Serializer):
    errorSummary = serializers.CharField()  # noqa: N815 - Okta's JSON names


class ErrorSerializer(serializers.Serializer):
    errorCode = serializers.CharField(help_text="Okta's error code, e.g. E0000001 (validation).")  # noqa: N815
    errorSummary = serializers.CharField()  # noqa: N815
    errorLink = serializers.CharField()  # noqa: N815
    errorId = serializers.CharField(help_text="The request id (X-Request-ID).")  # noqa: N815
    errorCauses = ErrorCauseSerializer(many=True)  # noqa: N815
    error = serializers.CharField(required=False, help_text="401/403: the RFC 6750 error code.")
    error_description = serializers.CharField(required=False)
