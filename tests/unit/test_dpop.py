"""oidc_flows.dpop on its own: htu normalisation (RFC 3986 §6.2.2-6.2.3), server nonce windows, key types."""

from __future__ import annotations

import pytest

from oidc_flows import dpop, policy
from tests.support.dpop import DPoPKey


TOKEN_URL = "https://login.example.com/oauth2/default/v1/token"


@pytest.mark.parametrize(
    "sent",
    [
        "https://login.example.com/oauth2/default/v1/token",
        "HTTPS://LOGIN.example.COM/oauth2/default/v1/token",
        "https://login.example.com:443/oauth2/default/v1/token",
        "https://login.example.com/oauth2/default/v1/token?x=1#y",
        "https://login.example.com/oauth2/%64efault/v1/token",  # %64 is "d", unreserved
    ],
)
def test_htu_variants_that_name_the_same_url(sent):
    assert dpop.normalise_url(sent) == dpop.normalise_url(TOKEN_URL)


@pytest.mark.parametrize(
    "sent",
    [
        "http://login.example.com/oauth2/default/v1/token",  # another scheme
        "https://login.example.com:8443/oauth2/default/v1/token",  # another port
        "https://login.example.com/oauth2/default/v1/token/",
        "https://login.example.com/oauth2/Default/v1/token",  # paths are case-sensitive
        "https://evil.example/oauth2/default/v1/token",
        "https://login.example.com:bad/oauth2/default/v1/token",
        "",
    ],
)
def test_htu_variants_that_name_another_url(sent):
    assert dpop.normalise_url(sent) != dpop.normalise_url(TOKEN_URL)


def test_a_nonce_lives_for_its_window_and_the_next():
    window = policy.DPOP_NONCE_SECONDS
    now = 1_800_000_000 - 1_800_000_000 % window  # the start of a window
    nonce = dpop.new_nonce(now=now)

    assert dpop.nonce_valid(nonce, now=now + window - 1)
    assert dpop.nonce_valid(nonce, now=now + 2 * window - 1)
    assert not dpop.nonce_valid(nonce, now=now + 2 * window)
    assert not dpop.nonce_valid(nonce, now=now - 1)


def test_nonces_depend_on_the_secret_key(settings):
    nonce = dpop.new_nonce(now=0)
    settings.SECRET_KEY = "another secret key for this test only, long enough to be a key"

    assert not dpop.nonce_valid(nonce, now=0)


@pytest.mark.parametrize("kty", ["EC", "RSA", "OKP"])
def test_each_accepted_key_type_verifies(kty):
    key = DPoPKey(kty)
    seen: list[str] = []

    proof = dpop.verify(
        key.proof("POST", TOKEN_URL),
        method="POST",
        url=TOKEN_URL,
        algs=policy.DPOP_ALGS,
        first_use=lambda kind, value, expires_at: seen.append(kind) or True,
    )

    assert proof.jkt == key.jkt  # RFC 7638, computed independently in tests/support/dpop.py
    assert seen == [f"dpop:{key.jkt}"]  # replay records are per key


def test_an_algorithm_outside_the_list_is_refused():
    key = DPoPKey("RSA")  # PS256

    with pytest.raises(dpop.DPoPError) as refused:
        dpop.verify(
            key.proof("POST", TOKEN_URL), method="POST", url=TOKEN_URL, algs=["ES256"], first_use=lambda *a: True
        )

    assert refused.value.error == "invalid_dpop_proof"
