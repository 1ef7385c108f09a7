"""granian_conf.forwarded_scheme keeps gunicorn's forwarded_allow_ips: only a trusted proxy makes a request https."""

from __future__ import annotations

import pytest

from granian_conf import forwarded_scheme


def scheme(allowed: str, peer: str, headers: dict[str, str]) -> str:
    seen = {}

    def app(environ, start_response):
        seen["scheme"] = environ["wsgi.url_scheme"]
        return [b""]

    environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http"} | headers
    forwarded_scheme(app, allowed)(environ, lambda *args: None)
    return seen["scheme"]


PROTO = {"HTTP_X_FORWARDED_PROTO": "https"}


@pytest.mark.parametrize(
    ("allowed", "peer", "headers", "expected"),
    [
        ("127.0.0.1", "127.0.0.1", PROTO, "https"),  # the trusted proxy
        ("127.0.0.1", "203.0.113.9", PROTO, "http"),  # anyone else: the header changes nothing
        ("10.0.0.0/8", "10.2.3.4", PROTO, "https"),  # a network
        ("10.0.0.0/8", "11.2.3.4", PROTO, "http"),
        ("*", "203.0.113.9", PROTO, "https"),  # any peer (the proxy is the only way in)
        ("::1", "::1", PROTO, "https"),
        ("127.0.0.1", "", PROTO, "http"),  # a Unix socket's peer has no address
        ("127.0.0.1", "127.0.0.1", {"HTTP_X_FORWARDED_SSL": "on"}, "https"),  # gunicorn's other two headers
        ("127.0.0.1", "127.0.0.1", {"HTTP_X_FORWARDED_PROTOCOL": "ssl"}, "https"),
        ("127.0.0.1", "127.0.0.1", {"HTTP_X_FORWARDED_PROTO": "http"}, "http"),
        ("127.0.0.1", "127.0.0.1", {}, "http"),
    ],
)
def test_only_a_trusted_peer_makes_a_request_https(allowed, peer, headers, expected):
    assert scheme(allowed, peer, headers) == expected
