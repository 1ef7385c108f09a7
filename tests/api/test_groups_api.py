"""/api/v1/groups with real org tokens (Django's test client; the HTTP end-to-end run is in test_users_api)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from oidc_flows.models import UserProfile
from tests.factories import make_user


pytestmark = pytest.mark.django_db

MANAGE = "oidc_flows.groups.manage"


def causes(response) -> list[str]:
    return [cause["errorSummary"] for cause in response.json()["errorCauses"]]


def test_groups_are_created_renamed_listed_and_deleted(django_api):
    api = django_api(MANAGE)
    created = api.post("/api/v1/groups", {"profile": {"name": "Engineering"}})
    assert created.status_code == 201, created.content
    group = created.json()
    assert group["profile"] == {"name": "Engineering"}
    assert group["_embedded"] == {"stats": {"usersCount": 0}}
    api.post("/api/v1/groups", {"profile": {"name": "Finance"}})

    assert [g["profile"]["name"] for g in api.get("/api/v1/groups", data={"q": "eng"}).json()] == ["Engineering"]
    url = f"/api/v1/groups/{group['id']}"
    tag = api.get(url).headers["ETag"]
    renamed = api.put(url, {"profile": {"name": "R&D"}}, headers={"If-Match": tag})
    assert renamed.json()["profile"]["name"] == "R&D"
    assert api.put(url, {"profile": {"name": "Stale"}}, headers={"If-Match": tag}).status_code == 412

    assert api.delete(url).status_code == 204
    assert list(Group.objects.values_list("name", flat=True)) == ["Finance"]


def test_the_models_rules_apply_and_a_description_is_refused(django_api):
    api = django_api(MANAGE)
    api.post("/api/v1/groups", {"profile": {"name": "Engineering"}})
    taken = api.post("/api/v1/groups", {"profile": {"name": "Engineering"}})
    assert taken.status_code == 400
    assert causes(taken) == ["profile.name: Group with this Name already exists."]
    described = api.post("/api/v1/groups", {"profile": {"name": "Ops", "description": "On call"}})
    assert described.status_code == 400
    assert causes(described) == ["profile.description: Groups have a name only: this attribute cannot be stored."]
    assert Group.objects.count() == 1


def test_members_are_added_listed_and_removed_by_their_opaque_id(django_api):
    alice = make_user()
    alice_id = UserProfile.objects.get(user=alice).subject
    group = Group.objects.create(name="Engineering")
    api = django_api(MANAGE)

    assert api.put(f"/api/v1/groups/{group.pk}/users/{alice_id}").status_code == 204
    assert list(alice.groups.all()) == [group]
    members = api.get(f"/api/v1/groups/{group.pk}/users").json()
    assert [(m["id"], m["profile"]["login"]) for m in members] == [(alice_id, "alice")]
    assert api.get(f"/api/v1/groups/{group.pk}").json()["_embedded"]["stats"]["usersCount"] == 1

    assert api.delete(f"/api/v1/groups/{group.pk}/users/{alice_id}").status_code == 204
    assert not alice.groups.exists()
    assert api.put(f"/api/v1/groups/{group.pk}/users/00uNobodyAtAll000000").status_code == 404


def test_reading_needs_a_groups_scope_and_writing_the_manage_one(django_api):
    group = Group.objects.create(name="Engineering")
    reader = django_api("oidc_flows.groups.read")
    assert reader.get(f"/api/v1/groups/{group.pk}").status_code == 200
    refused = reader.put(f"/api/v1/groups/{group.pk}/users/{UserProfile.objects.get(user=make_user()).subject}")
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert not group.user_set.exists()
    users_only = django_api("oidc_flows.users.manage", name="users only")
    assert users_only.get("/api/v1/groups").status_code == 403
