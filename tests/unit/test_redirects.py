"""Redirect URI kinds (RFC 8252 §7) and exact matching (RFC 9700 §4.1.3, loopback ports: RFC 8252 §7.3)."""

from __future__ import annotations

import pytest

from oidc_flows.redirects import classify, matches


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("https://rp.example/cb", "https"),
        ("https://rp.example:8443/cb?x=1", "https"),
        ("http://127.0.0.1/cb", "loopback"),
        ("http://127.0.0.1:51004/cb", "loopback"),
        ("http://[::1]:8080/cb", "loopback"),
        ("http://localhost:3000/cb", "loopback"),
        ("com.example.app:/callback", "custom"),
        ("com.example.app://callback", "custom"),
    ],
)
def test_usable_redirect_uris_are_classified(uri, kind):
    assert classify(uri) == kind


@pytest.mark.parametrize(
    "uri",
    [
        "http://rp.example/cb",  # plain http off the loopback interface
        "http://127.0.0.2.example/cb",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,hi",
        "https://rp.example/cb#frag",
        "https://rp.example/cb#",
        "http://127.0.0.1/cb#frag",
        "https://a@b",
        "https://user:pass@rp.example/cb",
        "http://alice@127.0.0.1/cb",
        "/cb",
        "rp.example/cb",
        "https://rp.example/c b",
        "https:///cb",
        "https://rp.example:99999/cb",
    ],
)
def test_unusable_redirect_uris_are_refused(uri):
    assert classify(uri) is None


REGISTERED_HTTPS = ["https://rp.example/cb"]


@pytest.mark.parametrize(
    "uri",
    [
        "https://rp.example/c",  # prefix
        "https://rp.example/cb/more",  # suffix
        "https://rp.example/cb?x=1",
        "https://rp.example/CB",  # different case of path
        "https://rp.example/cb/",  # trailing slash
        "https://rp.example:443/cb",
        "https://rp.example.evil/cb",
        "http://rp.example/cb",
    ],
)
def test_https_redirects_match_only_exactly(uri):
    assert not matches(uri, REGISTERED_HTTPS)


def test_the_registered_https_uri_matches():
    assert matches("https://rp.example/cb", REGISTERED_HTTPS)


@pytest.mark.parametrize(
    ("uri", "registered"),
    [
        ("http://127.0.0.1:51004/cb", "http://127.0.0.1/cb"),
        ("http://127.0.0.1/cb", "http://127.0.0.1:8080/cb"),
        ("http://127.0.0.1:9999/cb", "http://127.0.0.1:8080/cb"),
        ("http://[::1]:9999/cb", "http://[::1]/cb"),
        ("http://localhost:3000/cb", "http://localhost/cb"),
    ],
)
def test_loopback_redirects_match_on_any_port(uri, registered):
    assert matches(uri, [registered])


@pytest.mark.parametrize(
    ("uri", "registered"),
    [
        ("http://127.0.0.1:51004/other", "http://127.0.0.1/cb"),
        ("http://127.0.0.1:51004/cb/", "http://127.0.0.1/cb"),
        ("http://localhost:51004/cb", "http://127.0.0.1/cb"),  # another host, even if it resolves the same
        ("http://127.0.0.1:51004/cb?x=1", "http://127.0.0.1/cb"),
        ("http://127.0.0.1:51004/cb", "https://rp.example/cb"),
        ("https://127.0.0.1:51004/cb", "https://127.0.0.1/cb"),  # the port exception is for http loopback only
    ],
)
def test_loopback_redirects_must_otherwise_match_exactly(uri, registered):
    assert not matches(uri, [registered])
