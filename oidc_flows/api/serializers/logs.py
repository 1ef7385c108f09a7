"""System log events in Okta's LogEvent shape (GET /api/v1/logs).

{"uuid": "...", "published": "2026-01-02T03:04:05.678Z", "eventType": "app.oauth2.as.key.rollover",
 "version": "0", "severity": "INFO", "displayMessage": "...",
 "outcome": {"result": "SUCCESS", "reason": null},
 "actor": {"id": "...", "type": "PublicClientApp", "alternateId": "...", "displayName": "..."},
 "target": [{"id": "default", "type": "AuthorizationServer", "alternateId": "default", "displayName": "..."}],
 "client": {"ipAddress": "203.0.113.9", "userAgent": {"rawUserAgent": "..."}},
 "transaction": {"type": "WEB", "id": "<request id>"},
 "debugContext": {"debugData": {"requestId": "<request id>", ...}}}
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ... import systemlog
from ...models import AuthEvent


class PartySerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    alternateId = serializers.CharField()  # noqa: N815  (Okta's field names)
    displayName = serializers.CharField()  # noqa: N815


class OutcomeSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["SUCCESS", "FAILURE", "DENY"])
    reason = serializers.CharField(allow_null=True)


class ClientSerializer(serializers.Serializer):
    ipAddress = serializers.CharField(allow_null=True)  # noqa: N815
    userAgent = serializers.DictField(child=serializers.CharField())  # noqa: N815


class TransactionSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField(allow_null=True)


class DebugContextSerializer(serializers.Serializer):
    debugData = serializers.DictField()  # noqa: N815


def _actor(event: AuthEvent) -> dict[str, str]:
    if event.actor_type:
        kind, ident, alternate, name = (
            event.actor_type,
            event.actor_id,
            event.actor_alternate_id,
            event.actor_display,
        )
    elif event.username or event.user_id:  # a sign-in event written before the system log had actors
        kind, ident, alternate, name = "User", str(event.user_id or ""), event.username, event.username
    else:
        kind, ident, alternate, name = systemlog.SYSTEM
    return {"id": ident, "type": kind, "alternateId": alternate, "displayName": name or alternate}


def _target(event: AuthEvent) -> list[dict[str, str]]:
    if not event.target_type:
        return []
    return [
        {
            "id": event.target_id,
            "type": event.target_type,
            "alternateId": event.target_alternate_id,
            "displayName": event.target_display or event.target_alternate_id,
        }
    ]


class LogEventSerializer(serializers.ModelSerializer):
    """One event (read-only); field names are Okta's."""

    published = serializers.SerializerMethodField()
    eventType = serializers.CharField(source="event_type")  # noqa: N815
    version = serializers.SerializerMethodField()
    severity = serializers.SerializerMethodField()
    displayMessage = serializers.SerializerMethodField()  # noqa: N815
    outcome = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    client = serializers.SerializerMethodField()
    transaction = serializers.SerializerMethodField()
    debugContext = serializers.SerializerMethodField()  # noqa: N815

    class Meta:
        model = AuthEvent
        fields = (
            "uuid",
            "published",
            "eventType",
            "version",
            "severity",
            "displayMessage",
            "outcome",
            "actor",
            "target",
            "client",
            "transaction",
            "debugContext",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_published(self, event: AuthEvent) -> str:
        return event.created.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @extend_schema_field(OpenApiTypes.STR)
    def get_version(self, event: AuthEvent) -> str:
        return "0"

    @extend_schema_field(OpenApiTypes.STR)
    def get_severity(self, event: AuthEvent) -> str:
        return systemlog.severity(event)

    @extend_schema_field(OpenApiTypes.STR)
    def get_displayMessage(self, event: AuthEvent) -> str:  # noqa: N802
        return systemlog.display_message(event)

    @extend_schema_field(OutcomeSerializer)
    def get_outcome(self, event: AuthEvent) -> dict[str, str | None]:
        return {"result": event.outcome, "reason": event.reason or None}

    @extend_schema_field(PartySerializer)
    def get_actor(self, event: AuthEvent) -> dict[str, str]:
        return _actor(event)

    @extend_schema_field(PartySerializer(many=True))
    def get_target(self, event: AuthEvent) -> list[dict[str, str]]:
        return _target(event)

    @extend_schema_field(ClientSerializer)
    def get_client(self, event: AuthEvent) -> dict[str, Any]:
        return {"ipAddress": event.client_ip, "userAgent": {"rawUserAgent": event.user_agent}}

    @extend_schema_field(TransactionSerializer)
    def get_transaction(self, event: AuthEvent) -> dict[str, str | None]:
        return {"type": "WEB" if event.request_id else "JOB", "id": event.request_id or None}

    @extend_schema_field(DebugContextSerializer)
    def get_debugContext(self, event: AuthEvent) -> dict[str, Any]:  # noqa: N802
        data = dict(event.detail) if isinstance(event.detail, dict) else {}
        if event.request_id:
            data["requestId"] = event.request_id
        if event.factor_type:
            data["factor"] = event.factor_type
        return {"debugData": data}
