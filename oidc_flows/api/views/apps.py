"""/api/v1/apps: applications, as Okta's Apps API (``{id}`` is the client_id).

    GET    /apps                                 list (q, search, limit, after)
    POST   /apps                                 create (by settings.oauthClient.application_type)
    GET    /apps/{id}                            one (ETag)
    PUT    /apps/{id}, PATCH /apps/{id}          change (If-Match); members left out keep their values
    DELETE /apps/{id}                            delete an INACTIVE application (Okta: deactivate first)
    POST   /apps/{id}/lifecycle/activate|deactivate
    POST   /apps/{id}/credentials/secret/rotate  a new secret, shown once
    POST   /apps/{id}/tokens/revoke              revoke all its tokens, on every server
    GET    /apps/{id}/origins, PUT               its trusted origins (CORS at /token and /userinfo)

Every write is validated by the admin's ``ApplicationForm`` (its checks, ``Application.clean()``,
client authentication's rules), then saved by ``registration.register_application`` /
``registration.replace_settings``, as the admin and ``oidc_create_application`` do: one set of rules.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Q
from django.forms import modelform_factory
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from oauth2_provider.generators import generate_client_id
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from ... import registration
from ...models import Application
from ..base import ManagementViewSet
from ..serializers.apps import (
    FIELD_PATHS,
    AppSerializer,
    OriginsSerializer,
    RevokedSerializer,
    SecretSerializer,
    form_values,
    to_form_data,
)
from ..serializers.common import ErrorSerializer


#: What the API may set: the admin form's fields, without ``is_active`` (the lifecycle routes) and
#: ``management_scopes`` (a superuser's grant in the admin: an application must not widen its own).
API_FORM_FIELDS = tuple(name for name in FIELD_PATHS if name != "is_active")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1, for a response with a secret

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Validation failed (errorCauses name the fields)."),
    401: OpenApiResponse(ErrorSerializer, description="No valid org server access token."),
    403: OpenApiResponse(ErrorSerializer, description="insufficient_scope: scope or Django permission missing."),
    404: OpenApiResponse(ErrorSerializer, description="No such application."),
    412: OpenApiResponse(ErrorSerializer, description="If-Match names another state of the application."),
    429: OpenApiResponse(ErrorSerializer, description="Rate limit: retry after Retry-After seconds."),
}
IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="The ETag of the state you read.")
ID = OpenApiParameter("client_id", str, OpenApiParameter.PATH, description="The application's client_id.")


def _errors(form_errors: dict[str, list[str]]) -> exceptions.ValidationError:
    """The admin form's errors, keyed by the API's JSON paths."""
    return exceptions.ValidationError(
        {
            (FIELD_PATHS.get(field, field) if field != NON_FIELD_ERRORS else NON_FIELD_ERRORS): list(messages)
            for field, messages in form_errors.items()
        }
    )


def validated_form(app: Application, data: dict[str, Any]) -> Any:
    """The admin's application form over ``data``, validated; raise a 400 with its messages."""
    from ...admin.forms import ApplicationForm  # lazily: importing oidc_flows.admin needs django.contrib.admin

    form_class = modelform_factory(Application, form=ApplicationForm, fields=API_FORM_FIELDS)
    form = form_class(data=data, instance=app)
    if not form.is_valid():
        raise _errors(form.errors)
    return form


@extend_schema_view(
    list=extend_schema(
        summary="List applications",
        parameters=[
            OpenApiParameter("q", str, description="Label or client_id starts with this."),
            OpenApiParameter("search", str, description='e.g. status eq "ACTIVE" and label sw "Pay".'),
        ],
        responses={200: AppSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(summary="Get an application", parameters=[ID], responses={200: AppSerializer, **ERRORS}),
    create=extend_schema(summary="Create an application", responses={201: AppSerializer, **ERRORS}),
    update=extend_schema(
        summary="Replace an application's settings", parameters=[ID, IF_MATCH], responses={200: AppSerializer, **ERRORS}
    ),
    partial_update=extend_schema(
        summary="Change an application's settings", parameters=[ID, IF_MATCH], responses={200: AppSerializer, **ERRORS}
    ),
    destroy=extend_schema(
        summary="Delete an inactive application", parameters=[ID, IF_MATCH], responses={204: None, **ERRORS}
    ),
)
class AppViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ManagementViewSet,
):
    scope_family = "apps"
    queryset = Application.objects.all()
    serializer_class = AppSerializer
    lookup_field = "client_id"
    lookup_value_regex = "[^/]+"
    q_fields = ("name", "client_id")
    search_fields = {
        "label": "name",
        "id": "client_id",
        "application_type": "application_type",
        "status": lambda value: Q(is_active=value.upper() == "ACTIVE"),
    }

    # -- create, change, delete ------------------------------------------------------------------------
    @sensitive_variables("secret")
    def create(self, request: Request) -> Response:
        payload = self._validated(request)
        app_type = payload.get("settings", {}).get("oauthClient", {}).get("application_type")
        if not payload.get("label") or not app_type:
            missing = {"label": ["This field is required."]} if not payload.get("label") else {}
            if not app_type:
                missing["settings.oauthClient.application_type"] = ["This field is required."]
            raise exceptions.ValidationError(missing)
        start = form_values(Application(application_type=app_type, client_id=generate_client_id()))
        form = validated_form(Application(), to_form_data(payload, start))
        data = form.cleaned_data
        app, secret = registration.register_application(
            data["name"],
            data["application_type"],
            client_id=data["client_id"],
            redirect_uris=data["redirect_uris"].split(),
            post_logout_redirect_uris=data["post_logout_redirect_uris"].split(),
            grant_types=data["grant_types"].split(),
            token_endpoint_auth_method=data["token_endpoint_auth_method"],
            allowed_origins=data["allowed_origins"].split(),
            skip_consent=data["skip_authorization"],
            jwks=data["jwks"],
            jwks_uri=data["jwks_uri"],
            token_endpoint_auth_signing_alg=data["token_endpoint_auth_signing_alg"],
            backchannel_logout_uri=data["backchannel_logout_uri"],
            backchannel_logout_session_required=data["backchannel_logout_session_required"],
            frontchannel_logout_uri=data["frontchannel_logout_uri"],
            frontchannel_logout_session_required=data["frontchannel_logout_session_required"],
            subject_type=data["subject_type"],
            sector_identifier_uri=data["sector_identifier_uri"],
            extra={
                name: data[name]
                for name in (
                    "request_uris",
                    "require_pushed_authorization_requests",
                    "require_signed_request_object",
                    "dpop_bound_access_tokens",
                )
            },
        )
        self.record("application.lifecycle.create", app, detail={"application_type": app.application_type})
        body = AppSerializer(app).data
        if secret:
            body["credentials"]["oauthClient"]["client_secret"] = secret  # once; only its hash is stored
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    def update(self, request: Request, client_id: str, partial: bool = False) -> Response:
        app = self.get_object()
        payload = self._validated(request)
        oauth = payload.get("settings", {}).get("oauthClient", {})
        changes = {
            "credentials.oauthClient.client_id": payload.get("credentials", {}).get("oauthClient", {}).get("client_id"),
            "settings.oauthClient.application_type": oauth.get("application_type"),
        }
        current = {
            "credentials.oauthClient.client_id": app.client_id,
            "settings.oauthClient.application_type": app.application_type,
        }
        if fixed := [path for path, value in changes.items() if value is not None and value != current[path]]:
            raise exceptions.ValidationError(
                {path: ["Cannot change: create a new application instead."] for path in fixed}
            )
        form = validated_form(app, to_form_data(payload, form_values(app)))
        secret = registration.replace_settings(app, {name: form.cleaned_data[name] for name in form.changed_data})
        self.record("application.lifecycle.update", app, detail={"changed": sorted(form.changed_data)})
        body = AppSerializer(app).data
        if secret:  # switched to client_secret_jwt: the server must keep a secret it can read, a new one
            body["credentials"]["oauthClient"]["client_secret"] = secret
            return Response(body, headers=NO_STORE)
        return Response(body)

    def partial_update(self, request: Request, client_id: str) -> Response:
        return self.update(request, client_id, partial=True)

    def destroy(self, request: Request, client_id: str) -> Response:
        app = self.get_object()
        if app.is_active:
            raise exceptions.ValidationError({"status": ["Deactivate the application before deleting it."]})
        self.record("application.lifecycle.delete", app)
        app.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _validated(self, request: Request) -> dict[str, Any]:
        serializer = AppSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    # -- lifecycle and credentials -----------------------------------------------------------------------
    @extend_schema(
        summary="Activate an application", request=None, parameters=[ID], responses={200: AppSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"], url_path="lifecycle/activate")
    def activate(self, request: Request, client_id: str) -> Response:
        return self._set_active(True)

    @extend_schema(
        summary="Deactivate an application (no new tokens; its tokens stop being accepted here)",
        request=None,
        parameters=[ID],
        responses={200: AppSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="lifecycle/deactivate")
    def deactivate(self, request: Request, client_id: str) -> Response:
        return self._set_active(False)

    def _set_active(self, active: bool) -> Response:
        app = self.get_object()
        if app.is_active != active:
            app.is_active = active
            app.save(update_fields=["is_active", "updated"])  # `updated`: other processes' caches see it
            self.record(f"application.lifecycle.{'activate' if active else 'deactivate'}", app)
        return Response(AppSerializer(app).data)

    @extend_schema(
        summary="Rotate the client secret (the new one is in this response only; the old one stops working)",
        request=None,
        parameters=[ID, IF_MATCH],
        responses={200: SecretSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="credentials/secret/rotate")
    @sensitive_variables("secret")
    def rotate_secret(self, request: Request, client_id: str) -> Response:
        app = self.get_object()
        if not app.rule.confidential:
            raise exceptions.ValidationError(
                {"credentials.oauthClient": ["A public client has no secret: it proves itself with PKCE."]}
            )
        from ...admin.actions import rotate_client_secret

        secret = rotate_client_secret(app)  # the admin's action: hashed (and sealed for client_secret_jwt)
        self.record("application.lifecycle.update", app, detail={"credentials": "client secret rotated"})
        return Response({"client_id": app.client_id, "client_secret": secret}, headers=NO_STORE)

    @extend_schema(
        summary="Revoke every access and refresh token of the application, on every server",
        request=None,
        parameters=[ID],
        responses={200: RevokedSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="tokens/revoke")
    def revoke_tokens(self, request: Request, client_id: str) -> Response:
        app = self.get_object()
        from ...admin.actions import revoke_client_tokens

        revoked = revoke_client_tokens(Application.objects.filter(pk=app.pk))  # the admin's action
        counts = {"access_tokens": revoked.access_tokens, "refresh_tokens": revoked.refresh_tokens}
        self.record("app.oauth2.token.revoke", app, detail=counts)
        return Response(counts)

    # -- trusted origins (CORS) -------------------------------------------------------------------------
    @extend_schema(
        methods=["GET"],
        summary="The application's trusted origins",
        parameters=[ID],
        responses={200: OriginsSerializer, **ERRORS},
    )
    @extend_schema(
        methods=["PUT"],
        summary="Replace the application's trusted origins",
        parameters=[ID],
        request=OriginsSerializer,
        responses={200: OriginsSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get", "put"], url_path="origins")
    def origins(self, request: Request, client_id: str) -> Response:
        app = self.get_object()
        if request.method == "PUT":
            serializer = OriginsSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            payload = {"settings": {"oauthClient": {"allowed_origins": serializer.validated_data["origins"]}}}
            form = validated_form(app, to_form_data(payload, form_values(app)))
            registration.replace_settings(app, {"allowed_origins": form.cleaned_data["allowed_origins"]})
            self.record("application.lifecycle.update", app, detail={"allowed_origins": app.allowed_origins.split()})
        return Response({"origins": app.allowed_origins.split()})


def routes(router: BaseRouter) -> None:
    router.register("apps", AppViewSet, basename="apps")
