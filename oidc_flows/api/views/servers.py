"""``/api/v1/authorizationServers``: Okta's Authorization Servers API.

    /authorizationServers[/{id}]                                    list, create, read, replace, change, delete
    /authorizationServers/{id}/lifecycle/activate|deactivate        POST
    /authorizationServers/{id}/credentials/keys                     GET: published keys, public parts only
    /authorizationServers/{id}/credentials/lifecycle/keyRotate      POST: rotate the signing key
    /authorizationServers/{id}/tokenPreview                         GET: the admin's Token Preview
    /authorizationServers/{id}/scopes[/{scopeId}]
    /authorizationServers/{id}/claims[/{claimId}]
    /authorizationServers/{id}/policies[/{policyId}]                + /lifecycle/activate|deactivate
    /authorizationServers/{id}/policies/{policyId}/rules[/{ruleId}] + /lifecycle/activate|deactivate

``{id}`` is the server id of the URLs (/oauth2/{id}/v1/...). Every write runs the admin's form (see
``serializers.servers``), ``servers.create_server`` and ``keys.rotate`` (as the admin and the management
commands do), and is recorded in the system log with the event types of ``EVENTS``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from django.db.models import Model, Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is a 404 too, not a 500
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from ... import keys
from ...models import AccessPolicy, AuthorizationServer, Claim, PolicyRule, Scope
from ...preview import preview
from ..base import ManagementViewSet
from ..serializers import servers as s


SERVER_ID = OpenApiParameter("server_id", str, OpenApiParameter.PATH, description="The server's id, as in its URLs.")
POLICY_ID = OpenApiParameter("policy_id", str, OpenApiParameter.PATH, description="The access policy's id.")


def _status_filter(value: str) -> Q:
    return Q(is_active=value.upper() == s.ACTIVE)


class CrudMixin:
    """List, create, read, replace (PUT), change (PATCH) and delete, each write in the system log.

    ``events`` names the system log's event types: create, update, delete, activate, deactivate.
    """

    events: ClassVar[dict[str, str]] = {}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = serializer.save()
        self.record(self.events["create"], created)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, partial: bool = False, **kwargs: Any) -> Response:
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changed = serializer.save()
        self.record(self.events["update"], changed, detail={"changed": sorted(serializer.form.changed_data)})
        return Response(self.get_serializer(changed).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        self.refuse_delete(instance)
        self.record(self.events["delete"], instance)
        instance.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def refuse_delete(self, instance: Model) -> None:
        """Raise when the admin would refuse to delete ``instance`` too."""

    def set_active(self, active: bool) -> Response:
        """Okta's lifecycle actions: the same as ticking "active" in the admin."""
        instance = self.get_object()
        if instance.is_active != active:
            instance.is_active = active
            instance.save(update_fields=["is_active", *(["updated"] if hasattr(instance, "updated") else [])])
            self.record(
                self.events["activate" if active else "deactivate"], instance, detail={"status": s.status_of(instance)}
            )
        return Response(self.get_serializer(instance).data)


class ServerChildViewSet(CrudMixin, ManagementViewSet):
    """A resource of one server (its scopes, claims or policies), found by the server id in the URL."""

    scope_family = "servers"
    lookup_value_regex = r"[^/.]+"  # any id reaches the API: one it does not know is a 404 in Okta's shape
    q_fields = ("name",)
    search_fields: ClassVar[dict[str, Any]] = {"name": "name"}

    @cached_property
    def server(self) -> AuthorizationServer:
        return get_object_or_404(AuthorizationServer, server_id=self.kwargs["server_id"])

    def get_queryset(self) -> QuerySet:
        return self.queryset.model.objects.filter(server=self.server)

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"server": self.server}


# -- servers ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List authorization servers", description="The org server and the custom ones."),
    create=extend_schema(summary="Create an authorization server", description="With the OIDC scopes and keys."),
    retrieve=extend_schema(summary="Read an authorization server", parameters=[SERVER_ID]),
    update=extend_schema(summary="Replace an authorization server", parameters=[SERVER_ID]),
    partial_update=extend_schema(summary="Change an authorization server", parameters=[SERVER_ID]),
    destroy=extend_schema(summary="Delete a custom authorization server", parameters=[SERVER_ID]),
)
class AuthorizationServerViewSet(CrudMixin, ManagementViewSet):
    scope_family = "servers"
    queryset = AuthorizationServer.objects.all()
    serializer_class = s.AuthorizationServerSerializer
    lookup_field = lookup_url_kwarg = "server_id"
    lookup_value_regex = r"[a-z0-9][a-z0-9-]*"
    q_fields = ("name", "server_id", "audience")
    search_fields: ClassVar[dict[str, Any]] = {
        "name": "name",
        "id": "server_id",
        "audiences": "audience",
        "status": _status_filter,
    }
    events: ClassVar[dict[str, str]] = {
        "create": "oauth2.as.created",
        "update": "oauth2.as.updated",
        "delete": "oauth2.as.deleted",
        "activate": "oauth2.as.activated",
        "deactivate": "oauth2.as.deactivated",
        "rotate": "app.oauth2.as.key.rollover",
    }

    def refuse_delete(self, instance: AuthorizationServer) -> None:
        if instance.is_org:  # the admin has no delete button for it either
            raise exceptions.PermissionDenied("The org server issues the tokens of this API: it cannot be deleted.")

    @extend_schema(summary="Activate an authorization server", request=None, parameters=[SERVER_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/activate")
    def activate(self, request: Request, server_id: str) -> Response:
        return self.set_active(True)

    @extend_schema(summary="Deactivate an authorization server", request=None, parameters=[SERVER_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/deactivate")
    def deactivate(self, request: Request, server_id: str) -> Response:
        if self.get_object().is_org:
            # Its tokens are this API's: deactivated, nothing could reactivate it but the admin.
            raise exceptions.ValidationError(
                {"status": ["The org server issues the tokens of this API: it stays active."]}
            )
        return self.set_active(False)

    @extend_schema(
        summary="List the server's signing keys",
        description="The published keys (next, active, retired within their grace period): public parts only.",
        parameters=[SERVER_ID],
        responses=s.SigningKeySerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="credentials/keys", pagination_class=None)
    def credentials_keys(self, request: Request, server_id: str) -> Response:
        return Response(s.SigningKeySerializer(keys.published(self.get_object()), many=True).data)

    @extend_schema(
        summary="Rotate the server's signing key",
        description="The published next key starts signing; the active one retires but stays published "
        '(as `manage.py oidc_rotate_keys` and the admin\'s "Rotate signing key"). Answers the published keys.',
        parameters=[SERVER_ID],
        request=s.KeyRotateSerializer,
        responses=s.SigningKeySerializer(many=True),
    )
    @action(detail=True, methods=["post"], url_path="credentials/lifecycle/keyRotate", pagination_class=None)
    def key_rotate(self, request: Request, server_id: str) -> Response:
        server = self.get_object()
        body = s.KeyRotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            key = keys.rotate(server, alg=body.validated_data.get("signingAlg"))
        except ValueError as exc:  # an algorithm the server's security profile forbids
            raise exceptions.ValidationError({"signingAlg": [str(exc)]}) from None
        self.record(self.events["rotate"], server, detail={"kid": key.kid, "alg": key.alg})
        return Response(s.SigningKeySerializer(keys.published(server), many=True).data)

    @extend_schema(
        summary="Token preview",
        description="What /token would answer for this application, grant, scopes and user, and the policy and "
        "rule that decide; nothing is signed or stored (the admin's Token Preview).",
        parameters=[
            SERVER_ID,
            OpenApiParameter("clientId", str, required=True, description="The application's client_id."),
            OpenApiParameter("grantType", str, required=True),
            OpenApiParameter("scope", str, description="Space-separated; empty: the server's default scopes."),
            OpenApiParameter("userId", str, description="Username of the signed-in user (flows with a user)."),
        ],
        responses=s.TokenPreviewSerializer,
    )
    @action(detail=True, methods=["get"], url_path="tokenPreview", pagination_class=None)
    def token_preview(self, request: Request, server_id: str) -> Response:
        server = self.get_object()
        query = s.TokenPreviewRequestSerializer(data=request.query_params.dict(), context={"server": server})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = preview(server, data["client"], data["grant_type"], data["scopes"].split(), data.get("user"))
        return Response(s.TokenPreviewSerializer(result).data)


# -- scopes, claims, policies, rules -------------------------------------------------------------------


def _child_schema(noun: str, *parents: OpenApiParameter) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=f"List the server's {noun}s", parameters=list(parents)),
        create=extend_schema(summary=f"Create a {noun}", parameters=list(parents)),
        retrieve=extend_schema(summary=f"Read a {noun}", parameters=list(parents)),
        update=extend_schema(summary=f"Replace a {noun}", parameters=list(parents)),
        partial_update=extend_schema(summary=f"Change a {noun}", parameters=list(parents)),
        destroy=extend_schema(summary=f"Delete a {noun}", parameters=list(parents)),
    )


@_child_schema("scope", SERVER_ID)
class ScopeViewSet(ServerChildViewSet):
    queryset = Scope.objects.all()
    lookup_url_kwarg = "scope_id"
    serializer_class = s.ScopeSerializer
    search_fields: ClassVar[dict[str, Any]] = {"name": "name", "description": "description"}
    events: ClassVar[dict[str, str]] = {
        "create": "oauth2.scope.created",
        "update": "oauth2.scope.updated",
        "delete": "oauth2.scope.deleted",
    }

    def refuse_delete(self, instance: Scope) -> None:
        from ...admin.servers import system_scope_refusal  # lazily: oidc_flows.admin needs django.contrib.admin

        if why := system_scope_refusal(instance):
            raise exceptions.ValidationError({"system": [why]})


@_child_schema("claim", SERVER_ID)
class ClaimViewSet(ServerChildViewSet):
    queryset = Claim.objects.all()
    lookup_url_kwarg = "claim_id"
    serializer_class = s.ClaimSerializer
    search_fields: ClassVar[dict[str, Any]] = {"name": "name", "value": "value", "status": _status_filter}
    events: ClassVar[dict[str, str]] = {
        "create": "oauth2.claim.created",
        "update": "oauth2.claim.updated",
        "delete": "oauth2.claim.deleted",
    }


LIFECYCLE = {
    "activate": extend_schema(summary="Activate", request=None),
    "deactivate": extend_schema(summary="Deactivate", request=None),
}


@_child_schema("access policy", SERVER_ID)
class PolicyViewSet(ServerChildViewSet):
    queryset = AccessPolicy.objects.all()
    lookup_url_kwarg = "policy_id"
    serializer_class = s.PolicySerializer
    search_fields: ClassVar[dict[str, Any]] = {"name": "name", "status": _status_filter}
    events: ClassVar[dict[str, str]] = {
        "create": "oauth2.policy.created",
        "update": "oauth2.policy.updated",
        "delete": "oauth2.policy.deleted",
        "activate": "oauth2.policy.activated",
        "deactivate": "oauth2.policy.deactivated",
    }

    @extend_schema(summary="Activate an access policy", request=None, parameters=[SERVER_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/activate")
    def activate(self, request: Request, **kwargs: Any) -> Response:
        return self.set_active(True)

    @extend_schema(summary="Deactivate an access policy", request=None, parameters=[SERVER_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/deactivate")
    def deactivate(self, request: Request, **kwargs: Any) -> Response:
        return self.set_active(False)


@_child_schema("policy rule", SERVER_ID, POLICY_ID)
class RuleViewSet(ServerChildViewSet):
    queryset = PolicyRule.objects.all()
    lookup_url_kwarg = "rule_id"
    serializer_class = s.RuleSerializer
    search_fields: ClassVar[dict[str, Any]] = {"name": "name", "status": _status_filter}
    events: ClassVar[dict[str, str]] = {
        "create": "oauth2.policy.rule.created",
        "update": "oauth2.policy.rule.updated",
        "delete": "oauth2.policy.rule.deleted",
        "activate": "oauth2.policy.rule.activated",
        "deactivate": "oauth2.policy.rule.deactivated",
    }

    @cached_property
    def policy(self) -> AccessPolicy:
        return get_object_or_404(AccessPolicy.objects.filter(server=self.server), pk=self.kwargs["policy_id"])

    def get_queryset(self) -> QuerySet:
        return PolicyRule.objects.filter(policy=self.policy)

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"policy": self.policy}

    @extend_schema(summary="Activate a policy rule", request=None, parameters=[SERVER_ID, POLICY_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/activate")
    def activate(self, request: Request, **kwargs: Any) -> Response:
        return self.set_active(True)

    @extend_schema(summary="Deactivate a policy rule", request=None, parameters=[SERVER_ID, POLICY_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/deactivate")
    def deactivate(self, request: Request, **kwargs: Any) -> Response:
        return self.set_active(False)


SERVER = r"authorizationServers/(?P<server_id>[a-z0-9][a-z0-9-]*)"


def routes(router: BaseRouter) -> None:
    """Register the family's routes on the API's router (``oidc_flows/api/urls.py``)."""
    router.register("authorizationServers", AuthorizationServerViewSet, basename="authorizationserver")
    router.register(f"{SERVER}/scopes", ScopeViewSet, basename="authorizationserver-scope")
    router.register(f"{SERVER}/claims", ClaimViewSet, basename="authorizationserver-claim")
    router.register(f"{SERVER}/policies", PolicyViewSet, basename="authorizationserver-policy")
    router.register(
        rf"{SERVER}/policies/(?P<policy_id>[^/.]+)/rules", RuleViewSet, basename="authorizationserver-policy-rule"
    )
