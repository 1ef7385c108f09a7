"""Users, their sessions and their consents ("grants"), in the shapes of Okta's Users API.

A user is ``{"id", "status", "created", "lastLogin", "lastUpdated", "passwordChanged", "profile": {"login",
"email", "firstName", "lastName"}, "credentials": {"password": {}}}``. ``id`` is the user's opaque public id
("00u…", ``oidc_flows.subjects.public_id``), never the primary key. ``status`` is ``DEPROVISIONED`` for an
inactive user, ``LOCKED_OUT`` while sign-in is locked (``oidc_flows.lockout``), else ``ACTIVE``.

Writes are checked by the admin's own code, never by rules of this module: a new user goes through the
"Add user" form of the registered user admin (username, password confirmation, Django's password
validators with the user's name and email at hand) and the user model's ``full_clean`` (email and
name fields); a profile update through ``full_clean``. Errors name the API's field (``profile.email``,
``credentials.password.value``) and carry Django's own messages. A password is never echoed back.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from ... import subjects
from ...models import BrowserSession, Consent, UserProfile


User = get_user_model()

ACTIVE = "ACTIVE"
DEPROVISIONED = "DEPROVISIONED"
LOCKED_OUT = "LOCKED_OUT"
STATUSES = (ACTIVE, DEPROVISIONED, LOCKED_OUT)

#: The API's profile attributes (Okta's names) and the user model's fields behind them.
PROFILE_FIELDS: dict[str, str] = {
    "login": User.USERNAME_FIELD,
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
}
#: The admin's form fields, as the API names them in errors.
FORM_FIELDS: dict[str, str] = {
    User.USERNAME_FIELD: "profile.login",
    "password1": "credentials.password.value",
    "password2": "credentials.password.value",
    "usable_password": "credentials.password.value",
    "email": "profile.email",
    "first_name": "profile.firstName",
    "last_name": "profile.lastName",
}
PASSWORD_FIELD = "credentials.password.value"


def status_of(user: AbstractBaseUser, *, now: Any = None) -> str:
    """Okta's status of ``user``; reads the profile the caller selected (no query when it is cached)."""
    if not user.is_active:
        return DEPROVISIONED
    profile = getattr(user, "oidc_profile", None)
    until = getattr(profile, "locked_until", None)
    if until is not None and until > (now or timezone.now()):
        return LOCKED_OUT
    return ACTIVE


def api_errors(exc: DjangoValidationError | dict[str, Any], names: dict[str, str] = FORM_FIELDS) -> dict[str, list]:
    """Django's errors (by model or form field) keyed by the API's field names, messages unchanged."""
    found = exc if isinstance(exc, dict) else exc.message_dict
    errors: dict[str, list] = {}
    for field, messages in found.items():
        key = names.get(field, field if field != "__all__" else "profile")
        for message in messages:
            if message not in errors.setdefault(key, []):
                errors[key].append(message)
    return errors


def user_admin_add_form() -> type:
    """The "Add user" form of whatever admin is registered for the user model (Django's by default)."""
    from django.apps import apps
    from django.contrib.auth.forms import AdminUserCreationForm

    if not apps.is_installed("django.contrib.admin"):
        return AdminUserCreationForm
    from django.contrib import admin  # only where the admin is installed

    model_admin = admin.site.get_model_admin(User) if admin.site.is_registered(User) else None

    return getattr(model_admin, "add_form", AdminUserCreationForm)


# -- users -----------------------------------------------------------------------------------------


class UserProfileSerializer(serializers.Serializer):
    """Okta's base profile. Lengths, formats and uniqueness are the user model's to check."""

    login = serializers.CharField(source=User.USERNAME_FIELD, help_text="The username the user signs in with.")
    email = serializers.CharField(required=False, allow_blank=True)
    firstName = serializers.CharField(source="first_name", required=False, allow_blank=True)  # noqa: N815
    lastName = serializers.CharField(source="last_name", required=False, allow_blank=True)  # noqa: N815


class UserPasswordSerializer(serializers.Serializer):
    value = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})


class UserCredentialsSerializer(serializers.Serializer):
    password = UserPasswordSerializer(required=False, help_text="Write only; reads show {} when one is set.")


class UserSerializer(serializers.Serializer):
    """A user. Create: ``profile`` (``login`` required) and optional ``credentials.password.value``; update:
    ``profile`` (PUT replaces the four attributes, PATCH changes those given). No password is ever returned."""

    id = serializers.SerializerMethodField(help_text='The user\'s opaque public id ("00u…"), its public `sub`.')
    status = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="date_joined", read_only=True)
    lastLogin = serializers.DateTimeField(source="last_login", read_only=True)  # noqa: N815
    lastUpdated = serializers.SerializerMethodField()  # noqa: N815
    passwordChanged = serializers.SerializerMethodField()  # noqa: N815
    # source="*": the profile's attributes are the user's own fields (validated data comes out flat).
    profile = UserProfileSerializer(source="*")
    credentials = UserCredentialsSerializer(source="*", required=False)

    def get_id(self, user: AbstractBaseUser) -> str:
        return subjects.public_id(user)

    def get_status(self, user: AbstractBaseUser) -> str:
        return status_of(user)

    def get_lastUpdated(self, user: AbstractBaseUser) -> str | None:  # noqa: N802
        profile = getattr(user, "oidc_profile", None)
        stamp = profile.updated if profile is not None else user.date_joined
        return serializers.DateTimeField().to_representation(stamp)

    def get_passwordChanged(self, user: AbstractBaseUser) -> str | None:  # noqa: N802
        profile = getattr(user, "oidc_profile", None)
        stamp = getattr(profile, "password_changed", None)
        return serializers.DateTimeField().to_representation(stamp) if stamp else None

    def to_representation(self, user: AbstractBaseUser) -> dict[str, Any]:
        data = super().to_representation(user)
        data["credentials"] = {"password": {}} if user.has_usable_password() else {}
        return data

    # -- writes: the admin's form and the model decide --------------------------------------------

    def create(self, validated: dict[str, Any]) -> AbstractBaseUser:
        profile = {field: validated[field] for field in PROFILE_FIELDS.values() if field in validated}
        password = (validated.get("password") or {}).get("value")
        return create_user(profile, password, active=self.context.get("activate", True))

    def update(self, user: AbstractBaseUser, validated: dict[str, Any]) -> AbstractBaseUser:
        if "password" in validated:
            raise serializers.ValidationError(
                {PASSWORD_FIELD: ["Passwords are set at creation or by the user (password recovery)."]}
            )
        changes = {field: validated[field] for field in PROFILE_FIELDS.values() if field in validated}
        if not self.partial:  # PUT: attributes left out are cleared (the login cannot be)
            changes = {field: "" for field in PROFILE_FIELDS.values()} | changes
        return update_profile(user, changes)


@transaction.atomic
def create_user(profile: dict[str, str], password: str | None, *, active: bool = True) -> AbstractBaseUser:
    """Create a user through the admin's "Add user" form, then the model's ``full_clean``; no password:
    an unusable one (the user sets one through password recovery). Raises DRF's ValidationError."""
    username = profile.get(User.USERNAME_FIELD, "")
    form = user_admin_add_form()(
        data={
            User.USERNAME_FIELD: username,
            "password1": password or "",
            "password2": password or "",
            "usable_password": "true" if password else "false",
        }
    )
    for field in ("email", "first_name", "last_name"):  # before validation: the similarity validator reads them
        setattr(form.instance, field, profile.get(field, ""))
    form.instance.is_active = active
    errors: dict[str, list] = {}
    if not form.is_valid():
        errors |= api_errors({field: list(messages) for field, messages in form.errors.items()})
    try:
        form.instance.full_clean(exclude=[User.USERNAME_FIELD, "password"])
    except DjangoValidationError as exc:
        for key, messages in api_errors(exc).items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise serializers.ValidationError(errors)
    user = form.save()
    UserProfile.objects.get_or_create(user=user)
    return User.objects.select_related("oidc_profile").get(pk=user.pk)


@transaction.atomic
def update_profile(user: AbstractBaseUser, changes: dict[str, str]) -> AbstractBaseUser:
    """Change the profile attributes given; the model's ``full_clean`` checks them (unique login, email)."""
    for field, value in changes.items():
        setattr(user, field, value)
    try:
        user.full_clean(exclude=["password"])
    except DjangoValidationError as exc:
        raise serializers.ValidationError(api_errors(exc)) from None
    user.save(update_fields=list(changes) or None)
    profile, _created = UserProfile.objects.get_or_create(user=user)
    profile.save(update_fields=["updated"])  # lastUpdated (and the ETag) move
    return User.objects.select_related("oidc_profile").get(pk=user.pk)


# -- sessions and grants -------------------------------------------------------------------------------


class UserSessionApplicationSerializer(serializers.Serializer):
    clientId = serializers.CharField(source="application.client_id")  # noqa: N815
    name = serializers.CharField(source="application.name")
    authorizationServerId = serializers.CharField(source="server.server_id")  # noqa: N815
    firstSeen = serializers.DateTimeField(source="first_seen")  # noqa: N815
    lastSeen = serializers.DateTimeField(source="last_seen")  # noqa: N815


class UserSessionSerializer(serializers.Serializer):
    """One signed-in browser (the IdP session): its ``id`` is the ``sid`` of the ID tokens issued in it."""

    id = serializers.UUIDField(source="sid")
    userId = serializers.SerializerMethodField()  # noqa: N815
    login = serializers.CharField(source="user.get_username")
    status = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created")  # noqa: N815
    lastSeenAt = serializers.DateTimeField(source="last_seen")  # noqa: N815
    expiresAt = serializers.DateTimeField(source="expires")  # noqa: N815
    userAgent = serializers.CharField(source="user_agent")  # noqa: N815
    applications = UserSessionApplicationSerializer(many=True)

    def get_userId(self, record: BrowserSession) -> str:  # noqa: N802
        return subjects.public_id(record.user)

    def get_status(self, record: BrowserSession) -> str:
        return ACTIVE


class UserGrantSerializer(serializers.Serializer):
    """A consent: the scopes the user allowed one application through one server. Okta has one grant per
    scope; here one grant holds them all, as the consent page asks for them together."""

    id = serializers.CharField(source="pk")
    status = serializers.SerializerMethodField()
    userId = serializers.SerializerMethodField()  # noqa: N815
    clientId = serializers.CharField(source="application.client_id")  # noqa: N815
    clientName = serializers.CharField(source="application.name")  # noqa: N815
    authorizationServerId = serializers.CharField(source="server.server_id")  # noqa: N815
    issuer = serializers.CharField(source="server.issuer")
    scopes = serializers.SerializerMethodField()
    created = serializers.DateTimeField()
    lastUpdated = serializers.DateTimeField(source="updated")  # noqa: N815

    def get_status(self, consent: Consent) -> str:
        return ACTIVE

    def get_userId(self, consent: Consent) -> str:  # noqa: N802
        return subjects.public_id(consent.user)

    def get_scopes(self, consent: Consent) -> list[str]:
        return sorted(consent.scopes)
