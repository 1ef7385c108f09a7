"""User passwords: Argon2id at OWASP's parameters, and older hashes upgraded when their user signs in."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

import idp.settings
from tests.factories import PASSWORD, make_user
from tests.support.oauth import Browser


#: Argon2id, version 19, m=19 MiB, t=2, p=1 (OWASP Password Storage Cheat Sheet).
OWASP_ARGON2ID = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture
def project_hashers(settings) -> None:
    """The project's PASSWORD_HASHERS (tests/conftest.py swaps in MD5 for speed)."""
    settings.PASSWORD_HASHERS = idp.settings.PASSWORD_HASHERS


@pytest.mark.django_db
def test_a_new_password_is_stored_as_argon2id_at_owasp_parameters(project_hashers):
    user = make_user(username="new")

    assert user.password.startswith(OWASP_ARGON2ID)
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "x")


def test_a_pbkdf2_hash_is_upgraded_to_argon2id_when_its_user_signs_in(project_hashers, base_url, transactional_db):
    user = make_user(username="old")
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")  # stored before the switch
    user.save(update_fields=["password"])
    browser = Browser(base_url)

    signed_in = browser.sign_in("old", PASSWORD)

    assert signed_in.status_code == 302, signed_in.text[:300]
    stored = get_user_model().objects.get(pk=user.pk).password
    assert stored.startswith(OWASP_ARGON2ID)
    browser.http.close()
    again = Browser(base_url)
    assert again.sign_in("old", PASSWORD).status_code == 302  # the upgraded hash verifies the same password
    assert again.sign_in("old", PASSWORD + "x").status_code == 200  # and nothing else (the form again)
    again.http.close()
