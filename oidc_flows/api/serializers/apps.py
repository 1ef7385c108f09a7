"""Applications in Okta's shape (/api/v1/apps), and the mapping onto the admin's application form.

    {"id": "<client_id>", "label": "Payments", "status": "ACTIVE", "signOnMode": "OPENID_CONNECT",
     "credentials": {"oauthClient": {"client_id": "...", "token_endpoint_auth_method": "client_secret_basic"}},
     "settings": {"oauthClient": {"application_type": "web", "grant_types": ["authorization_code"],
                                  "redirect_uris": ["https://app.example/cb"], ...}},
     "managementScopes": [], "created": "...", "lastUpdated": "..."}

These serializers only check JSON types. The rules are the admin's: writes are validated by the admin's
``ApplicationForm`` (its field checks, the model's ``clean()``, client authentication's rules), so a
request the admin refuses is refused here with the same message (oidc_flows.api.views.apps).
"""

from __future__ import annotations

import json
from typing import Any, Final

from rest_framework import serializers

from ... import policy
from ...models import Application


#: The admin form's field → where it is in the API's JSON (error causes name the JSON path).
FIELD_PATHS: Final = {
    "name": "label",
    "client_id": "credentials.oauthClient.client_id",
    "token_endpoint_auth_method": "credentials.oauthClient.token_endpoint_auth_method",
    "token_endpoint_auth_signing_alg": "credentials.oauthClient.token_endpoint_auth_signing_alg",
    "skip_authorization": "settings.oauthClient.consent_method",
    **{
        name: f"settings.oauthClient.{name}"
        for name in (
            "application_type",
            "grant_types",
            "redirect_uris",
            "post_logout_redirect_uris",
            "allowed_origins",
            "jwks",
            "jwks_uri",
            "request_uris",
            "require_pushed_authorization_requests",
            "require_signed_request_object",
            "dpop_bound_access_tokens",
            "backchannel_logout_uri",
            "backchannel_logout_session_required",
            "frontchannel_logout_uri",
            "frontchannel_logout_session_required",
            "subject_type",
            "sector_identifier_uri",
        )
    },
}
#: Form fields that hold a list of URIs (space-separated in the column, one per line in the form).
URI_LISTS: Final = ("redirect_uris", "post_logout_redirect_uris", "allowed_origins", "request_uris")
BOOLEANS: Final = (
    "require_pushed_authorization_requests",
    "require_signed_request_object",
    "dpop_bound_access_tokens",
    "backchannel_logout_session_required",
    "frontchannel_logout_session_required",
)
STRINGS: Final = (
    "jwks_uri",
    "backchannel_logout_uri",
    "frontchannel_logout_uri",
    "subject_type",
    "sector_identifier_uri",
)
CONSENT_METHODS: Final = {"REQUIRED": False, "TRUSTED": True}  # Okta's consent_method → skip_authorization


def _uris(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=500), required=False, **kwargs)


class OAuthClientCredentialsSerializer(serializers.Serializer):
    client_id = serializers.CharField(
        max_length=100, required=False, help_text="On creation only; generated when left out. Cannot change."
    )
    token_endpoint_auth_method = serializers.ChoiceField(
        choices=policy.TOKEN_ENDPOINT_AUTH_METHODS, required=False, help_text="How the application proves itself."
    )
    token_endpoint_auth_signing_alg = serializers.CharField(max_length=8, required=False, allow_blank=True)
    client_secret = serializers.CharField(
        read_only=True, help_text="In the response to creation only (and to a rotation): shown once, stored hashed."
    )


class CredentialsSerializer(serializers.Serializer):
    oauthClient = OAuthClientCredentialsSerializer(required=False)  # noqa: N815 - Okta's JSON name


class OAuthClientSettingsSerializer(serializers.Serializer):
    application_type = serializers.ChoiceField(
        choices=[t.value for t in policy.AppType], required=False, help_text="Required on creation; cannot change."
    )
    grant_types = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, help_text="Empty: the type's defaults."
    )
    redirect_uris = _uris()
    post_logout_redirect_uris = _uris()
    allowed_origins = _uris(help_text="Origins whose JavaScript may call /token (CORS); see /apps/{id}/origins.")
    consent_method = serializers.ChoiceField(
        choices=list(CONSENT_METHODS), required=False, help_text="TRUSTED: users are not asked to consent."
    )
    jwks = serializers.DictField(required=False, help_text='The application\'s public keys: {"keys": [...]}.')
    request_uris = _uris()
    require_pushed_authorization_requests = serializers.BooleanField(required=False)
    require_signed_request_object = serializers.BooleanField(required=False)
    dpop_bound_access_tokens = serializers.BooleanField(required=False)
    backchannel_logout_session_required = serializers.BooleanField(required=False)
    frontchannel_logout_session_required = serializers.BooleanField(required=False)
    jwks_uri = serializers.CharField(max_length=500, required=False, allow_blank=True)
    backchannel_logout_uri = serializers.CharField(max_length=500, required=False, allow_blank=True)
    frontchannel_logout_uri = serializers.CharField(max_length=500, required=False, allow_blank=True)
    subject_type = serializers.ChoiceField(choices=[s.value for s in policy.SubjectType], required=False)
    sector_identifier_uri = serializers.CharField(max_length=500, required=False, allow_blank=True)


class SettingsSerializer(serializers.Serializer):
    oauthClient = OAuthClientSettingsSerializer(required=False)  # noqa: N815 - Okta's JSON name


class AppSerializer(serializers.Serializer):
    """An application (see the module); read-only members are ignored in requests."""

    id = serializers.CharField(read_only=True, help_text="The client_id.")
    label = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(choices=["ACTIVE", "INACTIVE"], read_only=True)
    signOnMode = serializers.CharField(read_only=True, default="OPENID_CONNECT")  # noqa: N815
    credentials = CredentialsSerializer(required=False)
    settings = SettingsSerializer(required=False)
    managementScopes = serializers.ListField(  # noqa: N815
        child=serializers.CharField(),
        read_only=True,
        help_text="Management API scopes granted by a superuser in the admin; not settable through the API.",
    )
    created = serializers.DateTimeField(read_only=True)
    lastUpdated = serializers.DateTimeField(read_only=True)  # noqa: N815

    def to_representation(self, app: Application) -> dict[str, Any]:
        oauth_settings: dict[str, Any] = {
            "application_type": app.application_type,
            "grant_types": sorted(app.grant_type_set),
            "consent_method": "TRUSTED" if app.skip_authorization else "REQUIRED",
            "jwks": app.jwks or {},
            **{name: getattr(app, name).split() for name in URI_LISTS},
            **{name: getattr(app, name) for name in BOOLEANS + STRINGS},
        }
        return {
            "id": app.client_id,
            "label": app.name,
            "status": "ACTIVE" if app.is_active else "INACTIVE",
            "signOnMode": "OPENID_CONNECT",
            "credentials": {
                "oauthClient": {
                    "client_id": app.client_id,
                    "token_endpoint_auth_method": app.token_endpoint_auth_method,
                    "token_endpoint_auth_signing_alg": app.token_endpoint_auth_signing_alg,
                }
            },
            "settings": {"oauthClient": oauth_settings},
            "managementScopes": sorted(app.management_scope_set),
            "created": serializers.DateTimeField().to_representation(app.created),
            "lastUpdated": serializers.DateTimeField().to_representation(app.updated),
        }


def form_values(app: Application) -> dict[str, Any]:
    """The admin form's data for ``app`` as it is (what a partial update starts from)."""
    return {
        "name": app.name,
        "application_type": app.application_type,
        "client_id": app.client_id,
        "grant_types": sorted(app.grant_type_set) if app.application_type in policy.APP_TYPES else [],
        "token_endpoint_auth_method": app.token_endpoint_auth_method,
        "token_endpoint_auth_signing_alg": app.token_endpoint_auth_signing_alg,
        "skip_authorization": app.skip_authorization,
        "jwks": json.dumps(app.jwks) if app.jwks else "",
        **{name: "\n".join(getattr(app, name).split()) for name in URI_LISTS},
        **{name: getattr(app, name) for name in BOOLEANS + STRINGS},
    }


def to_form_data(validated: dict[str, Any], start: dict[str, Any]) -> dict[str, Any]:
    """The admin form's data: ``start`` (the application's values) with the request's members over it."""
    data = dict(start)
    if "label" in validated:
        data["name"] = validated["label"]
    creds = validated.get("credentials", {}).get("oauthClient", {})
    for name in ("client_id", "token_endpoint_auth_method", "token_endpoint_auth_signing_alg"):
        if name in creds:
            data[name] = creds[name]
    oauth = validated.get("settings", {}).get("oauthClient", {})
    for name, value in oauth.items():
        if name in URI_LISTS:
            data[name] = "\n".join(value)
        elif name == "consent_method":
            data["skip_authorization"] = CONSENT_METHODS[value]
        elif name == "jwks":
            data["jwks"] = json.dumps(value) if value else ""
        else:
            data[name] = value
    return data


class OriginsSerializer(serializers.Serializer):
    """The origins whose JavaScript may call /token and /userinfo for this application (CORS)."""

    origins = serializers.ListField(child=serializers.CharField(max_length=255))


class SecretSerializer(serializers.Serializer):
    """A new client secret: shown in this response only; only its hash is stored."""

    client_id = serializers.CharField(read_only=True)
    client_secret = serializers.CharField(read_only=True)


class RevokedSerializer(serializers.Serializer):
    access_tokens = serializers.IntegerField(read_only=True)
    refresh_tokens = serializers.IntegerField(read_only=True)
