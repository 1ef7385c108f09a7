"""``/api/v1/users``: users, their lifecycle, sessions and consents, as Okta's Users API.

- ``GET/POST /users`` (``?q=`` prefix of login, email, first or last name; ``?search=`` e.g.
  ``status eq "LOCKED_OUT"``; ``POST ?activate=false`` creates an inactive user);
  ``GET/PUT/PATCH/DELETE /users/{id}``: ``id`` is the opaque "00u…" id (a login works too, as in Okta).
  DELETE as Okta: an active user is deactivated; deleting a DEPROVISIONED one deletes it.
- ``POST /users/{id}/lifecycle/activate|deactivate|unlock|reset_factors``. Deactivating ends the user's
  sessions (back-channel logouts are sent) and revokes their tokens.
- ``GET/DELETE /users/{id}/sessions`` (``?oauthTokens=true`` revokes the tokens too), ``DELETE
  /users/{id}/sessions/{sid}``: through ``sessions.end_session``, as the admin and /account.
- ``GET/DELETE /users/{id}/grants``, ``DELETE /users/{id}/grants/{grantId}``: consents; withdrawing one is
  /account's "Withdraw" (``views.account.withdraw_consent``), which revokes what was issued under it.

Each of these calls the function the admin's button calls; this module adds no rule of its own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from ... import sessions
from ...models import BrowserSession, Consent, UserProfile
from ...views.account import withdraw_consent
from .. import concurrency
from ..base import ManagementViewSet
from ..pagination import AfterCursorPagination
from ..serializers.users import (
    ACTIVE,
    DEPROVISIONED,
    LOCKED_OUT,
    PROFILE_FIELDS,
    STATUSES,
    UserGrantSerializer,
    UserSerializer,
    UserSessionSerializer,
)


User = get_user_model()

# Okta's System Log event types of this module's writes, named as the admin's same changes are (unlock and
# reset_factors are written by the admin's functions themselves: events.UNLOCK, events.FACTOR_RESET).
CREATE = "user.lifecycle.create"
UPDATE = "user.account.update_profile"
ACTIVATE = "user.lifecycle.activate"
DEACTIVATE = "user.lifecycle.deactivate"
DELETE = "user.lifecycle.delete.completed"
SESSION_END = "user.session.clear"  # Okta: an administrator clears a user's session
CONSENT_REVOKE = "app.oauth2.as.consent.revoke"
TOKENS_REVOKE = "user.authentication.token.revoke"


def _status_q(value: str) -> Q:
    """``search=status eq "..."``: the stored facts behind each status."""
    wanted = value.upper()
    if wanted not in STATUSES:
        raise exceptions.ValidationError({"search": [f"status is one of {', '.join(STATUSES)}."]})
    locked = Q(oidc_profile__locked_until__gt=timezone.now())
    return {
        ACTIVE: Q(is_active=True) & ~locked,
        LOCKED_OUT: Q(is_active=True) & locked,
        DEPROVISIONED: Q(is_active=False),
    }[wanted]


class SubjectCursorPagination(AfterCursorPagination):
    """Pages of users ordered by their opaque id, which is also the cursor: a page link tells nothing of the
    primary keys (sequential: they would tell how many users there are)."""

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list:
        self.request = request
        self.limit = self._limit(request)
        queryset = queryset.order_by("oidc_profile__subject")
        if after := request.query_params.get("after", ""):
            queryset = queryset.filter(oidc_profile__subject__gt=after)
        page = list(queryset[: self.limit + 1])
        self.has_next = len(page) > self.limit
        page = page[: self.limit]
        self.next_cursor = page[-1].oidc_profile.subject if page and self.has_next else None
        return page


def ensure_profiles() -> None:
    """Give every user an opaque id (users made before profiles, or by ``createsuperuser``): one query when
    none is missing. Ids are created on first need anyway (``subjects.public_id``); a list needs them all."""
    missing = list(User.objects.filter(oidc_profile__isnull=True).values_list("pk", flat=True)[:10_000])
    if missing:
        UserProfile.objects.bulk_create([UserProfile(user_id=pk) for pk in missing], ignore_conflicts=True)


def find_user(key: str) -> AbstractBaseUser:
    """The user whose opaque id (or, as Okta allows, login) is ``key``; 404 otherwise."""
    users = User.objects.select_related("oidc_profile")
    found = users.filter(oidc_profile__subject=key).first()
    if found is None:
        found = users.filter(**{User.USERNAME_FIELD: key}).first()
    if found is None:
        raise Http404
    return found


# The admin's functions are imported on first use: importing oidc_flows.admin needs django.contrib.admin,
# which a site serving the API need not install.


def admin_actions() -> Any:
    from ...admin import actions

    return actions


def user_admin() -> Any:
    from ...admin import users

    return users


def deactivate_user(user: AbstractBaseUser) -> tuple[int, Any]:
    """Okta's deactivate: the user can no longer sign in, every browser is signed out (back-channel logouts
    are owed) and every token issued for the user is revoked. Returns (sessions ended, ``Revoked`` counts)."""
    actions = admin_actions()
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    ended = actions.end_sessions(BrowserSession.objects.filter(user=user))
    return ended, actions.revoke_user_tokens([user])


USER_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description='The "00u…" id, or the login.')
SID = OpenApiParameter("sid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The session's id (its sid).")
GRANT_ID = OpenApiParameter("grant_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The grant's id.")


@extend_schema_view(
    list=extend_schema(
        summary="List users",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Prefix of login, email, first or last name."),
            OpenApiParameter(
                "search",
                OpenApiTypes.STR,
                description='e.g. status eq "ACTIVE" and profile.email sw "a" (eq, sw, co; and).',
            ),
        ],
    ),
    create=extend_schema(
        summary="Create a user",
        parameters=[
            OpenApiParameter("activate", OpenApiTypes.BOOL, description="false: the user is created inactive.")
        ],
    ),
    retrieve=extend_schema(summary="Get a user", parameters=[USER_ID]),
    update=extend_schema(summary="Replace a user's profile", parameters=[USER_ID]),
    partial_update=extend_schema(summary="Change a user's profile attributes", parameters=[USER_ID]),
    destroy=extend_schema(
        summary="Deactivate, then delete a user",
        description="An active user is deactivated (as lifecycle/deactivate); a DEPROVISIONED user is deleted.",
        parameters=[USER_ID],
    ),
)
class UserViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    ManagementViewSet,
):
    scope_family = "users"
    queryset = User.objects.select_related("oidc_profile")
    serializer_class = UserSerializer
    pagination_class = SubjectCursorPagination
    lookup_url_kwarg = "id"  # {id} in paths and in the schema (Okta's)
    lookup_value_regex = "[^/]+"
    q_fields = (User.USERNAME_FIELD, "email", "first_name", "last_name")
    search_fields = {
        "id": "oidc_profile__subject",
        "status": _status_q,
        "profile.login": User.USERNAME_FIELD,
        "profile.email": "email",
        "profile.firstName": "first_name",
        "profile.lastName": "last_name",
    }

    def get_object(self) -> AbstractBaseUser:
        user = find_user(self.kwargs["id"])
        self.check_object_permissions(self.request, user)
        if self.request.method not in SAFE_METHODS:
            concurrency.check_if_match(self.request, concurrency.etag(self.represent(user)))
        return user

    def get_serializer_context(self) -> dict[str, Any]:
        activate = self.request.query_params.get("activate", "true").lower() != "false"
        return super().get_serializer_context() | {"activate": activate}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ensure_profiles()
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: UserSerializer) -> None:
        user = serializer.save()
        self.record(CREATE, user, detail={"status": ACTIVE if user.is_active else DEPROVISIONED})

    def perform_update(self, serializer: UserSerializer) -> None:
        user = serializer.save()
        self.record(
            UPDATE,
            user,
            detail={"fields": sorted(k for k, f in PROFILE_FIELDS.items() if f in serializer.validated_data)},
        )

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.get_object()
        if user.is_active:
            self._deactivate(user)
        else:
            self.record(DELETE, user)
            user.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    # -- lifecycle -----------------------------------------------------------------------------------

    def _user_response(self, user: AbstractBaseUser) -> Response:
        return Response(self.get_serializer(User.objects.select_related("oidc_profile").get(pk=user.pk)).data)

    def _deactivate(self, user: AbstractBaseUser) -> None:
        ended, revoked = deactivate_user(user)
        self.record(
            DEACTIVATE,
            user,
            detail={
                "sessions_ended": ended,
                "access_tokens_revoked": revoked.access_tokens,
                "refresh_tokens_revoked": revoked.refresh_tokens,
            },
        )

    @extend_schema(summary="Activate a user", request=None, responses=UserSerializer, parameters=[USER_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/activate")
    def activate(self, request: Request, id: str) -> Response:
        user = self.get_object()
        if not user.is_active:
            User.objects.filter(pk=user.pk).update(is_active=True)
            self.record(ACTIVATE, user)
        return self._user_response(user)

    @extend_schema(
        summary="Deactivate a user",
        description="The user can no longer sign in; their sessions end and their tokens are revoked.",
        request=None,
        responses=UserSerializer,
        parameters=[USER_ID],
    )
    @action(detail=True, methods=["post"], url_path="lifecycle/deactivate")
    def deactivate(self, request: Request, id: str) -> Response:
        user = self.get_object()
        if user.is_active:
            self._deactivate(user)
        return self._user_response(user)

    @extend_schema(summary="Unlock a user's sign-in", request=None, responses=UserSerializer, parameters=[USER_ID])
    @action(detail=True, methods=["post"], url_path="lifecycle/unlock")
    def unlock(self, request: Request, id: str) -> Response:
        user = self.get_object()
        user_admin().unlock_users(request, [user])  # the admin's "Unlock sign-in"; it logs user.account.unlock
        return self._user_response(user)

    @extend_schema(
        summary="Reset a user's factors",
        description="Deletes every factor (MFA) of the user: the next sign-in enrolls again, as the policies say.",
        request=None,
        responses=UserSerializer,
        parameters=[USER_ID],
    )
    @action(detail=True, methods=["post"], url_path="lifecycle/reset_factors")
    def reset_factors(self, request: Request, id: str) -> Response:
        user = self.get_object()
        user_admin().reset_factors(request, user)  # the admin's "Reset factors"; it logs user.mfa.factor.reset_all
        return self._user_response(user)

    # -- sessions ------------------------------------------------------------------------------------

    def _end(self, user: AbstractBaseUser, records: list[BrowserSession]) -> None:
        for record in records:
            sessions.end_session(record)  # as the admin and /account: back-channel logouts are owed
            self.record(SESSION_END, user, detail={"sid": str(record.sid)})

    @extend_schema(
        methods=["GET"],
        summary="List a user's sessions",
        responses=UserSessionSerializer(many=True),
        parameters=[USER_ID],
    )
    @extend_schema(
        methods=["DELETE"],
        summary="End all of a user's sessions",
        parameters=[
            USER_ID,
            OpenApiParameter("oauthTokens", OpenApiTypes.BOOL, description="true: revoke the user's tokens too."),
        ],
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["get", "delete"], url_path="sessions", pagination_class=None)
    def sessions(self, request: Request, id: str) -> Response:
        user = self.get_object()
        records = sessions.live_sessions(user)
        if request.method == "GET":
            return Response(UserSessionSerializer(records, many=True).data)
        self._end(user, list(BrowserSession.objects.filter(user=user)))
        if request.query_params.get("oauthTokens", "").lower() == "true":
            revoked = admin_actions().revoke_user_tokens([user])
            self.record(
                TOKENS_REVOKE,
                user,
                detail={"access_tokens": revoked.access_tokens, "refresh_tokens": revoked.refresh_tokens},
            )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="users_session_end",
        summary="End one session of a user",
        parameters=[USER_ID, SID],
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["delete"], url_path=r"sessions/(?P<sid>[0-9a-fA-F-]{36})")
    def end_session(self, request: Request, id: str, sid: str) -> Response:
        user = self.get_object()
        self._end(user, [get_object_or_404(BrowserSession, user=user, sid=sid)])
        return Response(status=status.HTTP_204_NO_CONTENT)

    # -- grants (consents) ---------------------------------------------------------------------------

    def _consents(self, user: AbstractBaseUser) -> QuerySet[Consent]:
        return Consent.objects.filter(user=user).select_related("user__oidc_profile", "application", "server")

    def _withdraw(self, user: AbstractBaseUser, consents: list[Consent]) -> None:
        for consent in consents:
            detail = {"client_id": consent.application.client_id, "server": consent.server.server_id}
            detail["scopes"] = sorted(consent.scopes)
            withdraw_consent(consent)  # /account's "Withdraw": revokes what was issued under it
            self.record(CONSENT_REVOKE, user, detail=detail)

    @extend_schema(
        methods=["GET"],
        summary="List a user's grants (consents)",
        parameters=[USER_ID, OpenApiParameter("clientId", OpenApiTypes.STR, description="Only this application's.")],
        responses=UserGrantSerializer(many=True),
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Withdraw all of a user's grants",
        parameters=[USER_ID],
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["get", "delete"], url_path="grants", pagination_class=None)
    def grants(self, request: Request, id: str) -> Response:
        user = self.get_object()
        consents = self._consents(user).order_by("-updated")
        if client_id := request.query_params.get("clientId"):
            consents = consents.filter(application__client_id=client_id)
        if request.method == "GET":
            return Response(UserGrantSerializer(consents, many=True).data)
        self._withdraw(user, list(consents))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="users_grant_withdraw",
        summary="Withdraw one grant (consent)",
        parameters=[USER_ID, GRANT_ID],
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["delete"], url_path=r"grants/(?P<grant_id>[0-9]+)")
    def withdraw_grant(self, request: Request, id: str, grant_id: str) -> Response:
        user = self.get_object()
        self._withdraw(user, [get_object_or_404(self._consents(user), pk=grant_id)])
        return Response(status=status.HTTP_204_NO_CONTENT)


def routes(router: BaseRouter) -> None:
    router.register("users", UserViewSet, basename="users")
