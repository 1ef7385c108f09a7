"""Authorization servers and what hangs off them, in the shapes of Okta's Authorization Servers API.

Serializers here translate between Okta's JSON shapes and the admin's fields; the admin's own forms
(``admin_form``) then validate every write, so a value the admin refuses is refused here with the same
message, named by the API's field. Nothing here repeats a rule of the models or the forms.

Where our model differs from Okta's, the field says so in its name: lifetimes are in seconds
(``accessTokenLifetimeSeconds``; Okta counts minutes, ours are stored to the second), and a claim may go
into both token types (``claimType: "BOTH"``, where Okta would need two claims of the same name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django import forms
from django.db import models, transaction
from django.forms.models import modelform_factory
from rest_framework import serializers
from rest_framework.settings import api_settings

from ... import keys, servers
from ...models import AccessPolicy, AuthorizationServer, Claim, PolicyRule, Scope, SigningKey
from ...models.keys import KeyAlg, KeyStatus


ACTIVE, INACTIVE = "ACTIVE", "INACTIVE"
STATUS_CHOICES = [ACTIVE, INACTIVE]
#: Okta's word for "any scope" in a rule's scope condition, and "every application" in a policy's.
ANY_SCOPE, ALL_CLIENTS = "*", "ALL_CLIENTS"


def status_of(obj: Any) -> str:
    return ACTIVE if obj.is_active else INACTIVE


# -- the admin's forms --------------------------------------------------------------------------------


def _model_admins() -> dict[type[models.Model], type]:
    # Imported when a write needs them: importing oidc_flows.admin needs django.contrib.admin installed.
    from ...admin.access import AccessPolicyAdmin
    from ...admin.servers import AuthorizationServerAdmin, ClaimAdmin, ScopeAdmin

    return {
        AuthorizationServer: AuthorizationServerAdmin,
        Scope: ScopeAdmin,
        Claim: ClaimAdmin,
        AccessPolicy: AccessPolicyAdmin,
    }


def admin_form(model: type[models.Model], obj: models.Model | None = None, *, always: Iterable[str] = ()) -> type:
    """The form the admin shows for ``obj`` (None: the "add" page): its form class and its editable fields.

    ``always`` adds fields the admin makes read-only on a change page (``server``): sent unchanged,
    they let the form check the unique constraints they take part in.
    """
    from django.contrib.admin import site
    from django.contrib.admin.utils import flatten_fieldsets

    model_admin = _model_admins()[model](model, site)
    readonly = set(model_admin.get_readonly_fields(None, obj)) - set(always)
    fields = [f for f in flatten_fieldsets(model_admin.get_fieldsets(None, obj)) if f not in readonly]
    fields += [f for f in always if f not in fields]
    return modelform_factory(model, form=model_admin.form, fields=fields)


def rule_form() -> type:
    """The form of a rule in the policy's page (a rule has no page of its own in the admin)."""
    from django.contrib.admin.utils import flatten_fieldsets

    from ...admin.access import PolicyRuleInline

    return modelform_factory(
        PolicyRule, form=PolicyRuleInline.form, fields=flatten_fieldsets(PolicyRuleInline.fieldsets)
    )


def run_form(form: forms.BaseForm, names: Mapping[str, str]) -> forms.BaseForm:
    """Validate ``form``; its errors become a DRF ValidationError keyed by the API's field names."""
    if not form.is_valid():
        raise serializers.ValidationError(
            {
                (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else names.get(field, field)): list(errors)
                for field, errors in form.errors.items()
            }
        )
    return form


def put(data: dict[str, Any], name: str, value: Any) -> None:
    """Set a field of the form's data, unless the form has no such field (read-only in the admin)."""
    if name in data:
        data[name] = "" if value is None else value


def form_data(instance: models.Model, form_class: type) -> dict[str, Any]:
    """What the admin's form would post for ``instance`` unchanged: the base a (partial) update overlays."""
    form = form_class(instance=instance)
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if isinstance(field, forms.ModelMultipleChoiceField):
            value = [getattr(v, field.to_field_name or "pk") for v in value or ()]
        elif isinstance(field, forms.ModelChoiceField):
            value = getattr(value, "pk", value)
        data[name] = "" if value is None else value
    return data


class OktaSerializer(serializers.Serializer):
    """A serializer whose ``validate`` hands the admin's form the translated data.

    Subclasses say how the API's fields become the form's (``to_form``) and what the form's field
    names are called in the API (``FORM_NAMES``, for error messages).
    """

    FORM_NAMES: Mapping[str, str] = {}

    def form_class(self) -> type:
        raise NotImplementedError

    def new_instance(self) -> models.Model:
        raise NotImplementedError

    def to_form(self, attrs: dict[str, Any], data: dict[str, Any]) -> None:
        """Overlay the validated API ``attrs`` onto ``data``, the form's data."""
        raise NotImplementedError

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance if self.instance is not None else self.new_instance()
        form_class = self.form_class()
        data = form_data(instance, form_class)
        self.to_form(attrs, data)
        self.form = run_form(self.prepare(form_class(data=data, instance=instance), attrs), self.FORM_NAMES)
        return attrs

    def prepare(self, form: forms.BaseForm, attrs: dict[str, Any]) -> forms.BaseForm:
        """Adjust the bound form before it validates (the API names some things differently)."""
        return form

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        return self.form.save()

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        return self.form.save()

    @property
    def server(self) -> AuthorizationServer:
        return self.context["server"]


# -- authorization servers ----------------------------------------------------------------------------


class ServerSigningCredentialsSerializer(serializers.Serializer):
    rotationMode = serializers.CharField(read_only=True, help_text="AUTO: rotated every keyRotationDays; MANUAL.")
    kid = serializers.CharField(read_only=True, allow_null=True, help_text="The key signing now.")
    alg = serializers.CharField(read_only=True, allow_null=True)
    lastRotated = serializers.DateTimeField(read_only=True, allow_null=True)
    nextRotation = serializers.DateTimeField(read_only=True, allow_null=True)


class ServerCredentialsSerializer(serializers.Serializer):
    signing = ServerSigningCredentialsSerializer(read_only=True)


def _quiet(*args: Any) -> None:
    """The admin's ``message_user``, for callers that have no page to show a message on."""


class AuthorizationServerSerializer(OktaSerializer):
    """Okta's authorization server, with our security settings beside it."""

    id = serializers.CharField(
        source="server_id",
        help_text="The server's id in its URLs (/oauth2/ID/v1/...) and its issuer; fixed once created.",
    )
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    audiences = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        max_length=1,
        help_text="One audience: the aud of its access tokens. Empty: api://ID.",
    )
    issuer = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(STATUS_CHOICES, read_only=True, help_text="Changed by the lifecycle actions.")
    org = serializers.BooleanField(source="is_org", read_only=True, help_text="The org server (the IdP's own APIs).")
    keyRotationDays = serializers.IntegerField(source="key_rotation_days", required=False, min_value=0)
    fapiProfile = serializers.BooleanField(source="fapi_profile", required=False)
    requirePushedAuthorizationRequests = serializers.BooleanField(
        source="require_pushed_authorization_requests", required=False
    )
    requireSignedRequestObject = serializers.BooleanField(source="require_signed_request_object", required=False)
    signingAlg = serializers.ChoiceField(
        KeyAlg.values, required=False, help_text="Changing it rotates the key now (as in the admin)."
    )
    defaultPolicy = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text="On creation: start with the default access policy."
    )
    credentials = ServerCredentialsSerializer(read_only=True)
    created = serializers.DateTimeField(read_only=True)
    lastUpdated = serializers.DateTimeField(source="updated", read_only=True)

    FORM_NAMES = {
        "server_id": "id",
        "audience": "audiences",
        "key_rotation_days": "keyRotationDays",
        "fapi_profile": "fapiProfile",
        "require_pushed_authorization_requests": "requirePushedAuthorizationRequests",
        "require_signed_request_object": "requireSignedRequestObject",
        "signing_alg": "signingAlg",
        "default_policy": "defaultPolicy",
        "is_active": "status",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["id"].required = False  # fixed once created: a replacement may leave it out

    #: The form's name of each API field that is not already named like the form's.
    TO_FORM = {"signingAlg": "signing_alg", "defaultPolicy": "default_policy", "audiences": "audience"}

    def form_class(self) -> type:
        from ...admin.forms import SERVER_REQUEST_FIELDS

        # Pushed and signed requests may be set on creation too (the admin shows them once the server exists).
        return admin_form(AuthorizationServer, self.instance, always=SERVER_REQUEST_FIELDS)

    def new_instance(self) -> AuthorizationServer:
        return AuthorizationServer()

    def prepare(self, form: forms.BaseForm, attrs: dict[str, Any]) -> forms.BaseForm:
        if "signingAlg" in attrs:
            # Named in the request, it was chosen on purpose: the form then says why it cannot be, where the
            # admin's untouched select box (its initial value) is upgraded by the FAPI switch instead.
            form.fields["signing_alg"].initial = None
        return form

    def to_form(self, attrs: dict[str, Any], data: dict[str, Any]) -> None:
        if self.instance is not None and attrs.get("server_id", self.instance.server_id) != self.instance.server_id:
            raise serializers.ValidationError({"id": "The id is part of the issuer: it cannot change."})
        for key, value in attrs.items():
            if key == "audiences":
                value = value[0] if value else ""
            put(data, self.TO_FORM.get(key, key), value)

    def create(self, validated_data: dict[str, Any]) -> AuthorizationServer:
        data = self.form.cleaned_data
        with transaction.atomic():
            server = servers.create_server(
                data["server_id"],
                name=data["name"],
                description=data.get("description", ""),
                audience=data.get("audience", ""),
                default_policy=data.get("default_policy", False),
                fapi_profile=data.get("fapi_profile", False),
                signing_alg=data.get("signing_alg") or None,
            )
            # What create_server takes no argument for, as the admin's form cleaned it.
            rest = {
                f: data[f]
                for f in ("key_rotation_days", "require_pushed_authorization_requests", "require_signed_request_object")
                if f in data
            }
            if rest:
                AuthorizationServer.objects.filter(pk=server.pk).update(**rest)
                server.refresh_from_db()
        return server

    def update(self, instance: AuthorizationServer, validated_data: dict[str, Any]) -> AuthorizationServer:
        """Save as the admin's change page does: the form, the system scopes, the keys' algorithm."""
        with transaction.atomic():
            server = self.form.save()
            servers.ensure_system_scopes(server)
            # The admin's: a new algorithm rotates the key now (and that function records the rollover).
            from ...admin.security import apply_signing_alg

            apply_signing_alg(self.context["request"], server, self.form.cleaned_data.get("signing_alg"), _quiet)
        return server

    def to_representation(self, server: AuthorizationServer) -> dict[str, Any]:
        active = SigningKey.objects.filter(server=server, status=KeyStatus.ACTIVE).first()
        manual = not server.key_rotation_days
        next_rotation = None
        if active is not None and active.activated_at and not manual:
            next_rotation = active.activated_at + timedelta(days=server.key_rotation_days)
        field = serializers.DateTimeField()
        return {
            "id": server.server_id,
            "name": server.name,
            "description": server.description,
            "audiences": [server.effective_audience],
            "issuer": server.issuer,
            "status": status_of(server),
            "org": server.is_org,
            "keyRotationDays": server.key_rotation_days,
            "fapiProfile": server.fapi_profile,
            "requirePushedAuthorizationRequests": server.require_pushed_authorization_requests,
            "requireSignedRequestObject": server.require_signed_request_object,
            "signingAlg": active.alg if active else keys.alg_of(server),
            "credentials": {
                "signing": {
                    "rotationMode": "MANUAL" if manual else "AUTO",
                    "kid": active.kid if active else None,
                    "alg": active.alg if active else None,
                    "lastRotated": field.to_representation(active.activated_at) if active else None,
                    "nextRotation": field.to_representation(next_rotation) if next_rotation else None,
                }
            },
            "created": field.to_representation(server.created),
            "lastUpdated": field.to_representation(server.updated),
        }


# -- scopes -------------------------------------------------------------------------------------------


class ScopeSerializer(OktaSerializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(help_text="The value clients put in the scope parameter, e.g. payments:read.")
    description = serializers.CharField(help_text="Shown on the consent page.")
    consent = serializers.ChoiceField(
        ["REQUIRED", "IMPLICIT"], required=False, help_text="REQUIRED: users approve it on the consent page."
    )
    default = serializers.BooleanField(required=False, help_text="Granted when a request names no scope.")
    metadataPublish = serializers.ChoiceField(
        ["ALL_CLIENTS", "NO_CLIENTS"], required=False, help_text="ALL_CLIENTS: listed in discovery's scopes_supported."
    )
    system = serializers.BooleanField(read_only=True, help_text="An OpenID Connect scope: kept, never renamed.")

    FORM_NAMES = {
        "is_default": "default",
        "consent_required": "consent",
        "include_in_metadata": "metadataPublish",
        "server": "authorizationServer",
    }

    def form_class(self) -> type:
        return admin_form(Scope, self.instance, always=("server",))

    def new_instance(self) -> Scope:
        return Scope(server=self.server)

    def to_form(self, attrs: dict[str, Any], data: dict[str, Any]) -> None:
        if (
            self.instance is not None
            and self.instance.is_system
            and attrs.get("name", self.instance.name) != (self.instance.name)
        ):
            raise serializers.ValidationError(
                {"name": f"{self.instance.name} is an OpenID Connect scope: it keeps its name."}
            )
        data["server"] = self.server.pk
        for key in ("name", "description"):
            if key in attrs:
                data[key] = attrs[key]
        if "consent" in attrs:
            data["consent_required"] = attrs["consent"] == "REQUIRED"
        if "default" in attrs:
            data["is_default"] = attrs["default"]
        if "metadataPublish" in attrs:
            data["include_in_metadata"] = attrs["metadataPublish"] == "ALL_CLIENTS"

    def to_representation(self, scope: Scope) -> dict[str, Any]:
        return {
            "id": str(scope.pk),
            "name": scope.name,
            "description": scope.description,
            "consent": "REQUIRED" if scope.consent_required else "IMPLICIT",
            "default": scope.is_default,
            "metadataPublish": "ALL_CLIENTS" if scope.include_in_metadata else "NO_CLIENTS",
            "system": scope.is_system,
        }


# -- claims -------------------------------------------------------------------------------------------


class ClaimConditionsSerializer(serializers.Serializer):
    scopes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Added only when one of them is granted; []: always."
    )


CLAIM_TYPES = {"RESOURCE": (True, False), "IDENTITY": (False, True), "BOTH": (True, True)}
VALUE_TYPES = {
    "ATTRIBUTE": Claim.ValueType.ATTRIBUTE,
    "GROUPS": Claim.ValueType.GROUPS,
    "CONSTANT": Claim.ValueType.CONSTANT,
}
GROUP_FILTERS = {f.name: f.value for f in Claim.GroupFilter}


class ClaimSerializer(OktaSerializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField()
    status = serializers.ChoiceField(STATUS_CHOICES, required=False)
    claimType = serializers.ChoiceField(
        list(CLAIM_TYPES),
        required=False,
        help_text="RESOURCE: access tokens; IDENTITY: ID tokens and userinfo; BOTH (ours: Okta needs two claims).",
    )
    valueType = serializers.ChoiceField(
        list(VALUE_TYPES), required=False, help_text="A user attribute, the user's groups (filtered), or a constant."
    )
    value = serializers.CharField(help_text="Attribute name (email, department), group filter text, or the constant.")
    group_filter_type = serializers.ChoiceField(list(GROUP_FILTERS), required=False)
    conditions = ClaimConditionsSerializer(required=False)
    system = serializers.BooleanField(read_only=True)

    FORM_NAMES = {
        "is_active": "status",
        "value_type": "valueType",
        "group_filter": "group_filter_type",
        "in_access_token": "claimType",
        "in_id_token": "claimType",
        "scopes": "conditions.scopes",
        "server": "authorizationServer",
    }

    def form_class(self) -> type:
        return admin_form(Claim, self.instance, always=("server",))

    def new_instance(self) -> Claim:
        return Claim(server=self.server)

    def to_form(self, attrs: dict[str, Any], data: dict[str, Any]) -> None:
        data["server"] = self.server.pk
        for key in ("name", "value"):
            if key in attrs:
                data[key] = attrs[key]
        if "status" in attrs:
            data["is_active"] = attrs["status"] == ACTIVE
        if "claimType" in attrs:
            data["in_access_token"], data["in_id_token"] = CLAIM_TYPES[attrs["claimType"]]
        if "valueType" in attrs:
            data["value_type"] = VALUE_TYPES[attrs["valueType"]]
        if "group_filter_type" in attrs:
            data["group_filter"] = GROUP_FILTERS[attrs["group_filter_type"]]
        if "scopes" in attrs.get("conditions", {}):
            data["scopes"] = " ".join(attrs["conditions"]["scopes"])

    def to_representation(self, claim: Claim) -> dict[str, Any]:
        claim_type = {flags: name for name, flags in CLAIM_TYPES.items()}.get(
            (claim.in_access_token, claim.in_id_token)
        )
        return {
            "id": str(claim.pk),
            "name": claim.name,
            "status": status_of(claim),
            "claimType": claim_type,
            "valueType": Claim.ValueType(claim.value_type).name,
            "value": claim.value,
            "group_filter_type": Claim.GroupFilter(claim.group_filter).name,
            "conditions": {"scopes": sorted(claim.scope_set)},
            "system": False,
        }


# -- access policies ----------------------------------------------------------------------------------


class PolicyIncludeSerializer(serializers.Serializer):
    include = serializers.ListField(child=serializers.CharField(), required=False)


class PolicyConditionsSerializer(serializers.Serializer):
    clients = PolicyIncludeSerializer(required=False, help_text='{"include": ["ALL_CLIENTS"]} or client ids.')


class PolicySerializer(OktaSerializer):
    id = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(["OAUTH_AUTHORIZATION_POLICY"], required=False, default="OAUTH_AUTHORIZATION_POLICY")
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    priority = serializers.IntegerField(required=False, help_text="Lower numbers are evaluated first.")
    status = serializers.ChoiceField(STATUS_CHOICES, required=False)
    conditions = PolicyConditionsSerializer(required=False)
    system = serializers.BooleanField(read_only=True)
    created = serializers.DateTimeField(read_only=True)

    FORM_NAMES = {
        "is_active": "status",
        "clients": "conditions.clients.include",
        "all_clients": "conditions.clients.include",
        "server": "authorizationServer",
    }

    def form_class(self) -> type:
        return admin_form(AccessPolicy, self.instance, always=("server",))

    def new_instance(self) -> AccessPolicy:
        return AccessPolicy(server=self.server)

    def prepare(self, form: forms.BaseForm, attrs: dict[str, Any]) -> forms.BaseForm:
        form.fields["clients"].to_field_name = "client_id"  # the API names applications by client id
        return form

    def to_form(self, attrs: dict[str, Any], data: dict[str, Any]) -> None:
        if self.server.is_org:
            # The admin offers only custom servers here: the org server's lifetimes are fixed.
            raise serializers.ValidationError(
                {"authorizationServer": "The org server has no access policies: it issues tokens with fixed lifetimes."}
            )
        data["server"] = self.server.pk
        if self.instance is not None:  # the form posts client ids now (see prepare)
            data["clients"] = list(self.instance.clients.values_list("client_id", flat=True))
        for key in ("name", "description", "priority"):
            if key in attrs:
                data[key] = attrs[key]
        if "status" in attrs:
            data["is_active"] = attrs["status"] == ACTIVE
        include = attrs.get("conditions", {}).get("clients", {}).get("include")
        if include is not None:
            data["all_clients"] = ALL_CLIENTS in include
            data["clients"] = [c for c in include if c != ALL_CLIENTS]

    def to_representation(self, policy: AccessPolicy) -> dict[str, Any]:
        clients = [ALL_CLIENTS] if policy.all_clients else sorted(c.client_id for c in policy.clients.all())
        return {
            "id": str(policy.pk),
            "type": "OAUTH_AUTHORIZATION_POLICY",
            "name": policy.name,
            "description": policy.description,
            "priority": policy.priority,
            "status": status_of(policy),
            "conditions": {"clients": {"include": clients}},
            "system": False,
            "created": serializers.DateTimeField().to_representation(policy.created),
        }


# -- policy rules -------------------------------------------------------------------------------------


class RulePeopleSerializer(serializers.Serializer):
    users = PolicyIncludeSerializer(required=False, help_text="User ids.")
    groups = PolicyIncludeSerializer(required=False, help_text="Group ids.")


class RuleConditionsSerializer(serializers.Serializer):
    people = RulePeopleSerializer(required=False, help_text="No users and no groups: everyone, and services.")
    grantTypes = PolicyIncludeSerializer(required=False, help_text="[]: every grant type.")
    scopes = PolicyIncludeSerializer(required=False, help_text='["*"]: any scope of the server.')


class RuleTokenActionSerializer(serializers.Serializer):
    accessTokenLifetimeSeconds = serializers.IntegerField(required=False, help_text="60 to 86400.")
    refreshTokenLifetimeSeconds = serializers.IntegerField(
        required=False, allow_null=True, help_text="Total lifetime of a refresh token family; null: unlimited."
    )
    refreshTokenWindowSeconds = serializers.IntegerField(
        required=False, allow_null=True, help_text="A refresh token unused this long expires; null: never."
    )


class RuleActionsSerializer(serializers.Serializer):
    token = RuleTokenActionSerializer(required=False)


#: Where each of the rule form's fields lives in the API's JSON (for error messages).
RULE_PATHS = {
    "is_active": "status",
    "grant_types": "conditions.grantTypes.include",
    "users": "conditions.people.users.include",
    "groups": "conditions.people.groups.include",
    "scopes": "conditions.scopes.include",
    "access_token_seconds": "actions.token.accessTokenLifetimeSeconds",
    "refresh_token_seconds": "actions.token.refreshTokenLifetimeSeconds",
    "refresh_token_idle_seconds": "actions.token.refreshTokenWindowSeconds",
}
TOKEN_FIELDS = {
    "accessTokenLifetimeSeconds": "access_token_seconds",
    "refreshTokenLifetimeSeconds": "refresh_token_seconds",
    "refreshTokenWindowSeconds": "refresh_token_idle_seconds",
}


class RuleSerializer(OktaSerializer):
    id = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(["RESOURCE_ACCESS"], required=False, default="RESOURCE_ACCESS")
    name = serializers.CharField()
    priority = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(STATUS_CHOICES, required=False)
    conditions = RuleConditionsSerializer(required=False)
    actions = RuleActionsSerializer(required=False)
    system = serializers.BooleanField(read_only=True)

    FORM_NAMES = RULE_PATHS

    def form_class(self) -> type:
        return rule_form()

    def new_instance(self) -> PolicyRule:
        return PolicyRule(policy=self.context["policy"])

    def to_form(self, attrs: dict[str, Any], data: dict[str, Any]) -> None:
        for key in ("name", "priority"):
            if key in attrs:
                data[key] = attrs[key]
        if "status" in attrs:
            data["is_active"] = attrs["status"] == ACTIVE
        conditions = attrs.get("conditions", {})
        if "include" in conditions.get("grantTypes", {}):
            data["grant_types"] = conditions["grantTypes"]["include"]
        if "include" in conditions.get("scopes", {}):
            data["scopes"] = " ".join(s for s in conditions["scopes"]["include"] if s != ANY_SCOPE)
        for kind in ("users", "groups"):
            if "include" in conditions.get("people", {}).get(kind, {}):
                data[kind] = conditions["people"][kind]["include"]
        for key, value in attrs.get("actions", {}).get("token", {}).items():
            put(data, TOKEN_FIELDS[key], value)

    def to_representation(self, rule: PolicyRule) -> dict[str, Any]:
        return {
            "id": str(rule.pk),
            "type": "RESOURCE_ACCESS",
            "name": rule.name,
            "priority": rule.priority,
            "status": status_of(rule),
            "conditions": {
                "people": {
                    "users": {"include": [str(pk) for pk in rule.users.values_list("pk", flat=True)]},
                    "groups": {"include": [str(pk) for pk in rule.groups.values_list("pk", flat=True)]},
                },
                "grantTypes": {"include": sorted(rule.grant_type_set)},
                "scopes": {"include": sorted(rule.scope_set) or [ANY_SCOPE]},
            },
            "actions": {
                "token": {
                    "accessTokenLifetimeSeconds": rule.access_token_seconds,
                    "refreshTokenLifetimeSeconds": rule.refresh_token_seconds,
                    "refreshTokenWindowSeconds": rule.refresh_token_idle_seconds,
                }
            },
            "system": False,
        }


# -- keys ---------------------------------------------------------------------------------------------


#: Okta's key statuses; ours are named after what the key does.
KEY_STATUS = {KeyStatus.ACTIVE: "ACTIVE", KeyStatus.NEXT: "NEXT", KeyStatus.RETIRED: "EXPIRED"}
#: The members of a public JWK (RFC 7518 §6.2.1, §6.3.1) plus its metadata: never a private member.
PUBLIC_MEMBERS = ("kty", "alg", "use", "kid", "crv", "x", "y", "n", "e")


class SigningKeySerializer(serializers.Serializer):
    """A published signing key: its public JWK members and status, never private material."""

    kid = serializers.CharField(read_only=True)
    kty = serializers.CharField(read_only=True)
    alg = serializers.CharField(read_only=True)
    use = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="ACTIVE (signing), NEXT (published) or EXPIRED (retired).")
    n = serializers.CharField(read_only=True, required=False)
    e = serializers.CharField(read_only=True, required=False)
    crv = serializers.CharField(read_only=True, required=False)
    x = serializers.CharField(read_only=True, required=False)
    y = serializers.CharField(read_only=True, required=False)

    def to_representation(self, key: SigningKey) -> dict[str, Any]:
        # Picked member by member from the stored public JWK: a private member can never slip through.
        jwk = {m: key.public_jwk[m] for m in PUBLIC_MEMBERS if m in key.public_jwk}
        return jwk | {"kid": key.kid, "alg": key.alg, "status": KEY_STATUS[key.status]}


class KeyRotateSerializer(serializers.Serializer):
    use = serializers.ChoiceField(["sig"], required=False, default="sig", help_text="Okta's; signing keys only.")
    signingAlg = serializers.ChoiceField(
        KeyAlg.values, required=False, help_text="Algorithm of the new keys (ours; default: the server's)."
    )


# -- token preview ------------------------------------------------------------------------------------


class TokenPreviewRequestSerializer(serializers.Serializer):
    """The inputs of a /token request, as the admin's Token Preview takes them (its TokenPreviewForm)."""

    clientId = serializers.CharField(help_text="The client_id of the application that would ask.")
    grantType = serializers.CharField()
    scope = serializers.CharField(required=False, allow_blank=True, help_text="Space-separated; empty: the default.")
    userId = serializers.CharField(required=False, allow_blank=True, help_text="Username of the signed-in user.")

    FORM_NAMES = {"client": "clientId", "grant_type": "grantType", "scopes": "scope", "user": "userId"}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The form's cleaned data: ``client``, ``grant_type``, ``scopes`` and ``user``."""
        from ...admin.forms import TokenPreviewForm

        form = TokenPreviewForm(
            data={
                "client": attrs["clientId"],
                "grant_type": attrs["grantType"],
                "scopes": attrs.get("scope", ""),
                "user": attrs.get("userId", ""),
            },
            server=self.context["server"],
        )
        form.fields["client"].to_field_name = "client_id"  # the API names applications by client id
        return run_form(form, self.FORM_NAMES).cleaned_data


class TokenPreviewSerializer(serializers.Serializer):
    decidedBy = serializers.CharField(read_only=True, help_text="The policy and rule that decide.")
    issued = serializers.ListField(child=serializers.CharField(), read_only=True)
    accessToken = serializers.DictField(read_only=True, allow_null=True, help_text="Its claims (nothing is signed).")
    idToken = serializers.DictField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True, help_text="The error /token would answer; empty: tokens.")
    errorDescription = serializers.CharField(read_only=True)
    signOn = serializers.DictField(read_only=True, allow_null=True, help_text="The user's sign-on rule.")

    def to_representation(self, result: Any) -> dict[str, Any]:
        sign_on = None
        if result.sign_on is not None:
            sign_on = dict(result.sign_on_rows())
        return {
            "decidedBy": result.decided_by,
            "issued": list(result.issued),
            "accessToken": result.access_token,
            "idToken": result.id_token,
            "error": result.error,
            "errorDescription": result.error_description,
            "signOn": sign_on,
        }
