"""Groups (Django's ``auth.Group``), in the shape of Okta's Groups API.

``{"id", "type": "OKTA_GROUP", "profile": {"name"}, "_embedded": {"stats": {"usersCount"}}}``. Django's
groups have a name only: Okta's ``profile.description`` has nowhere to be stored, so it is not accepted
(an unknown attribute is an error, not silently dropped). ``id`` is the group's primary key: groups
are administrators' objects, their ids name nobody. The name is checked by the model's ``full_clean``
(required, at most 150 characters, unique), as in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers


GROUP_TYPE = "OKTA_GROUP"


class GroupProfileSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Unique; what groups claims and access policy rules name.")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict) and (extra := sorted(set(data) - {"name"})):
            raise serializers.ValidationError(
                {name: ["Groups have a name only: this attribute cannot be stored."] for name in extra}
            )
        return super().to_internal_value(data)


class GroupSerializer(serializers.Serializer):
    id = serializers.CharField(source="pk", read_only=True)
    type = serializers.SerializerMethodField()
    profile = GroupProfileSerializer(source="*")
    usersCount = serializers.SerializerMethodField()  # noqa: N815

    def get_type(self, group: Group) -> str:
        return GROUP_TYPE

    def get_usersCount(self, group: Group) -> int:  # noqa: N802
        count = getattr(group, "users_count", None)
        return count if count is not None else group.user_set.count()

    def to_representation(self, group: Group) -> dict[str, Any]:
        data = super().to_representation(group)
        data["profile"] = {"name": group.name}
        data["_embedded"] = {"stats": {"usersCount": data.pop("usersCount")}}
        return data

    def create(self, validated: dict[str, Any]) -> Group:
        return save_group(Group(), validated["name"])

    def update(self, group: Group, validated: dict[str, Any]) -> Group:
        return save_group(group, validated["name"])


@transaction.atomic
def save_group(group: Group, name: str) -> Group:
    """Name and save ``group`` once the model's ``full_clean`` accepts it (the admin's rules)."""
    group.name = name
    try:
        group.full_clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(
            {f"profile.{k}" if k != "__all__" else "profile.name": v for k, v in exc.message_dict.items()}
        ) from None
    group.save()
    return group
