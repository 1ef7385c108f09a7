"""``/api/v1/groups``: Django's groups and their members, as Okta's Groups API.

- ``GET/POST /groups`` (``?q=`` name prefix, ``?search=profile.name sw "eng"``), ``GET/PUT/PATCH/DELETE
  /groups/{id}``. A group has a name only (``profile.name``): Django's groups store nothing else.
- ``GET /groups/{id}/users`` (the members, as users of /api/v1/users, paged), ``PUT/DELETE
  /groups/{id}/users/{userId}`` (``userId``: the "00u…" id or the login) add and remove a member.

Groups feed the ``groups`` claims and access policy rules: a membership change counts at the member's next
token (tokens already issued keep their claims until they expire).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from ... import subjects
from ..base import ManagementViewSet
from ..serializers.groups import GroupSerializer
from ..serializers.users import UserSerializer
from .users import SubjectCursorPagination, ensure_profiles, find_user


User = get_user_model()

# Okta's System Log event types of this module's writes.
CREATE = "group.lifecycle.create"
UPDATE = "group.profile.update"
DELETE = "group.lifecycle.delete"
MEMBER_ADD = "group.user_membership.add"
MEMBER_REMOVE = "group.user_membership.remove"

GROUP_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The group's id.")
USER_ID = OpenApiParameter(
    "user_id", OpenApiTypes.STR, OpenApiParameter.PATH, description='The user\'s "00u…" id, or the login.'
)


@extend_schema_view(
    list=extend_schema(
        summary="List groups",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Prefix of the name."),
            OpenApiParameter("search", OpenApiTypes.STR, description='e.g. profile.name sw "eng" (eq, sw, co).'),
        ],
    ),
    create=extend_schema(summary="Create a group"),
    retrieve=extend_schema(summary="Get a group", parameters=[GROUP_ID]),
    update=extend_schema(summary="Rename a group", parameters=[GROUP_ID]),
    partial_update=extend_schema(summary="Rename a group", parameters=[GROUP_ID]),
    destroy=extend_schema(summary="Delete a group", parameters=[GROUP_ID]),
)
class GroupViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ManagementViewSet,
):
    scope_family = "groups"
    queryset = Group.objects.all()
    serializer_class = GroupSerializer
    lookup_url_kwarg = "id"  # {id} in paths and in the schema (Okta's)
    q_fields = ("name",)
    search_fields = {"id": "pk", "profile.name": "name"}

    def get_queryset(self) -> QuerySet[Group]:
        return Group.objects.annotate(users_count=Count("user", distinct=True))

    def perform_create(self, serializer: GroupSerializer) -> None:
        self.record(CREATE, serializer.save())

    def perform_update(self, serializer: GroupSerializer) -> None:
        self.record(UPDATE, serializer.save())

    def perform_destroy(self, group: Group) -> None:
        self.record(DELETE, group)
        group.delete()

    # -- members --------------------------------------------------------------------------------------

    @extend_schema(summary="List a group's members", parameters=[GROUP_ID], responses=UserSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="users", pagination_class=SubjectCursorPagination)
    def members(self, request: Request, id: str) -> Response:
        group = self.get_object()
        ensure_profiles()
        page = self.paginate_queryset(User.objects.filter(groups=group).select_related("oidc_profile"))
        return self.get_paginated_response(UserSerializer(page, many=True, context=self.get_serializer_context()).data)

    @extend_schema(methods=["PUT"], summary="Add a user to a group", parameters=[GROUP_ID, USER_ID], request=None)
    @extend_schema(
        methods=["DELETE"], summary="Remove a user from a group", parameters=[GROUP_ID, USER_ID], request=None
    )
    @action(detail=True, methods=["put", "delete"], url_path=r"users/(?P<user_id>[^/]+)")
    def member(self, request: Request, id: str, user_id: str) -> Response:
        group = self.get_object()
        user = find_user(user_id)
        is_member = user.groups.filter(pk=group.pk).exists()
        if request.method == "PUT" and not is_member:
            user.groups.add(group)
            self.record(MEMBER_ADD, group, detail=self._member(user))
        elif request.method == "DELETE" and is_member:
            user.groups.remove(group)
            self.record(MEMBER_REMOVE, group, detail=self._member(user))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _member(user: Any) -> dict[str, str]:
        return {"user_id": subjects.public_id(user), "login": user.get_username()}


def routes(router: BaseRouter) -> None:
    router.register("groups", GroupViewSet, basename="groups")
