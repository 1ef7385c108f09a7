"""``OIDC_RESOURCE`` is checked when first read: a mistake is an error, never a weaker check."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from oidc_flows.resource.settings import ResourceSettings, resource_settings


GOOD = {"ISSUER": "https://login.example/oauth2/default", "AUDIENCE": "api://default"}


def test_defaults():
    conf = ResourceSettings.build(GOOD)

    assert (conf.MODE, conf.LEEWAY, conf.ALGORITHMS) == ("jwt", 30, ("RS256", "PS256", "ES256"))


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"ISSUER": GOOD["ISSUER"]},
        GOOD | {"MODE": "cookie"},
        GOOD | {"ALGORITHMS": ["none"]},
        GOOD | {"ALGORITHMS": ["RS256", "HS256"]},
        GOOD | {"ALGORITHMS": []},
        GOOD | {"MODE": "introspection", "CLIENT_ID": "api"},
        GOOD | {"AUDEINCE": "typo"},
    ],
)
def test_mistakes_are_errors(given):
    with pytest.raises(ImproperlyConfigured):
        ResourceSettings.build(given)


def test_settings_are_read_again_when_they_change(settings):
    settings.OIDC_RESOURCE = GOOD
    assert resource_settings().AUDIENCE == "api://default"

    settings.OIDC_RESOURCE = GOOD | {"AUDIENCE": "api://other"}

    assert resource_settings().AUDIENCE == "api://other"


def test_the_secret_never_shows_in_repr():
    conf = ResourceSettings.build(GOOD | {"MODE": "introspection", "CLIENT_ID": "api", "CLIENT_SECRET": "s3cr3t-value"})

    assert "s3cr3t-value" not in repr(conf)
