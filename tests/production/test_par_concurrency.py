"""A pushed request_uri is redeemed once under concurrency, against gunicorn, on SQLite and on PostgreSQL.

10 browsers open /authorize with the same ``request_uri`` at the same instant (RFC 9126 §4:
single use). Exactly one is sent on to sign in; the other nine are answered
``invalid_request_uri`` at the client's redirect_uri. Nothing answers 500. A few rounds: one round
can be won by luck.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from .conftest import RP_REDIRECT
from .test_two_nodes import endpoint


RACERS = 10
ROUNDS = 3


def pushed_uri(deployment, node) -> str:
    data = {
        "response_type": "code",
        "redirect_uri": RP_REDIRECT,
        "scope": "openid",
        "state": generate_token(20),
        "code_challenge": create_s256_code_challenge(generate_token(48)),
        "code_challenge_method": "S256",
    }
    auth = (deployment.web_id, deployment.web_secret)
    response = requests.post(endpoint(node, "par"), data=data, auth=auth, timeout=20)
    assert response.status_code == 201, response.text
    return response.json()["request_uri"]


def race(url: str) -> list[requests.Response]:
    start = threading.Barrier(RACERS)

    def one(_: int) -> requests.Response:
        with requests.Session() as browser:  # each its own cookies: nobody else's continuation
            start.wait(timeout=30)
            return browser.get(url, allow_redirects=False, timeout=60)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def outcome(responses: list[requests.Response]) -> dict:
    def error(response: requests.Response) -> str | None:
        location = response.headers.get("Location", "")
        if not location.startswith(RP_REDIRECT):
            return None
        return parse_qs(urlsplit(location).query).get("error", [None])[0]

    return {
        "sign-in": sum(r.status_code == 302 and "/login/" in r.headers["Location"] for r in responses),
        "invalid_request_uri": sum(r.status_code == 302 and error(r) == "invalid_request_uri" for r in responses),
        "other": [(r.status_code, r.headers.get("Location", r.text[:200])) for r in responses if r.status_code != 302],
    }


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_request_uri_opened_by_10_browsers_at_once_is_redeemed_once(idp, round_):
    deployment, node = idp
    query = urlencode({"client_id": deployment.web_id, "request_uri": pushed_uri(deployment, node)})

    responses = race(f"{endpoint(node, 'authorize')}?{query}")

    assert outcome(responses) == {"sign-in": 1, "invalid_request_uri": RACERS - 1, "other": []}
