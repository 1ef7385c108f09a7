"""Request objects (RFC 9101) as data: which request URIs are registered, claims as parameters, conflicts."""

from __future__ import annotations

import pytest

from oidc_flows import requestobjects
from oidc_flows.models import Application


REGISTERED = "https://rp.example/requests/ https://rp.example/one.jwt http://127.0.0.1:8000/ro/"


@pytest.mark.parametrize(
    ("uri", "registered"),
    [
        ("https://rp.example/one.jwt", True),
        ("https://rp.example/requests/abc", True),
        ("http://127.0.0.1:8000/ro/1", True),  # development: loopback http
        ("https://rp.example/one.jwt2", False),  # exact unless the prefix ends in /
        ("https://rp.example/requests", False),
        ("https://rp.example/requestsX/abc", False),
        ("https://rp.example/requests/../admin", False),
        ("https://rp.example/requests/%2e%2e/admin", False),
        ("https://rp.example/requests/..%2Fadmin", False),
        ("https://rp.example/requests/a\\..\\b", False),
        ("http://rp.example/requests/abc", False),  # plain http off loopback
        ("https://rp.example.evil/requests/abc", False),
        ("https://rp.example/requests/" + "a" * 600, False),  # RFC 9101 §5.2: 512 characters
    ],
)
def test_only_registered_request_uris_are_fetched(uri, registered):
    assert requestobjects.is_registered(Application(request_uris=REGISTERED), uri) is registered


def test_claims_become_parameters():
    params = requestobjects._as_parameters(
        {
            "iss": "c",
            "aud": "x",
            "exp": 1,
            "scope": "openid",
            "max_age": 300,
            "claims": {"id_token": {"acr": None}},
            "resource": ["https://a.example", "https://b.example"],
        }
    )

    assert params == {
        "scope": ["openid"],
        "max_age": ["300"],
        "claims": ['{"id_token":{"acr":null}}'],
        "resource": ["https://a.example", "https://b.example"],
    }


@pytest.mark.parametrize(
    "payload", [{"request": "x"}, {"request_uri": "x"}, {"scope": ["a", "b"]}, {"state": True}, {"nonce": None}]
)
def test_claims_no_parameter_can_hold_are_refused(payload):
    with pytest.raises(requestobjects.RequestObjectError) as caught:
        requestobjects._as_parameters(payload)
    assert caught.value.error == "invalid_request_object"


def test_a_conflict_is_a_different_value_of_a_parameter_in_both():
    inner = {"client_id": ["c"], "scope": ["openid"], "state": ["s"]}

    assert requestobjects.conflicts({"client_id": ["c"], "scope": ["openid"], "request": ["jwt"]}, inner) is None
    assert requestobjects.conflicts({"nonce": ["n"]}, inner) is None  # only outside: ignored, no conflict
    assert requestobjects.conflicts({"state": ["other"]}, inner) == "state"
