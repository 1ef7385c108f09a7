"""validators.user_with_profile: the user and profile a bearer token's check reads, as the ORM would load them."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model

from oidc_flows import claims
from oidc_flows.models import UserProfile
from oidc_flows.validators import user_with_profile
from tests.factories import make_user


ALL = frozenset({"openid", "profile", "email", "address", "phone"})


def test_a_user_with_a_profile_loads_as_the_orm_loads_it(db):
    user = make_user()
    user.last_login = datetime.datetime(2026, 12, 1, 8, 30, tzinfo=datetime.UTC)
    user.save()
    UserProfile.objects.update_or_create(
        user=user,
        defaults={"birthdate": datetime.date(1990, 5, 17), "attributes": {"team": "blue"}, "email_verified": True},
    )
    orm = get_user_model().objects.select_related("oidc_profile").get(pk=user.pk)

    loaded = user_with_profile(user.pk)

    assert loaded.last_login == orm.last_login and loaded.date_joined == orm.date_joined
    assert loaded.oidc_profile.birthdate == datetime.date(1990, 5, 17)
    assert loaded.oidc_profile.attributes == {"team": "blue"}
    assert claims.user_claims(loaded, ALL) == claims.user_claims(orm, ALL)


def test_a_user_without_a_profile_has_none(db):
    user = make_user()
    UserProfile.objects.filter(user=user).delete()

    loaded = user_with_profile(user.pk)

    assert loaded.pk == user.pk and getattr(loaded, "oidc_profile", None) is None
    assert claims.user_claims(loaded, ALL) == claims.user_claims(get_user_model().objects.get(pk=user.pk), ALL)


def test_unknown_or_malformed_ids_are_nobody(db):
    assert user_with_profile(999_999) is None
    assert user_with_profile("not-a-number") is None
