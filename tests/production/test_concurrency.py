"""Exactly once under concurrency, against gunicorn with 2 workers of 8 threads, on SQLite and on PostgreSQL.

20 clients present one authorization code, or one refresh token, at the same instant: exactly
one gets tokens, the others invalid_grant; nothing answers 500 or 503 ("database is locked" on
SQLite), nothing deadlocks. Each race runs a few rounds: one round can be won by luck.

The reuse rule (RFC 9700 §4.14.2) applies to the losers of a refresh race as to any replay of a
rotated refresh token: the server cannot tell a retrying client from an attacker racing it, so
the whole family is revoked, including the one new refresh token the winner received. (A code's
losers revoke what the code issued too, RFC 9700 §4.5, but whether a loser comes before or after
the winner stored its tokens is timing, so the code test asserts the responses only.)
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.oauth import Browser

from .conftest import RP_REDIRECT
from .test_two_nodes import endpoint, refresh, sign_in_and_authorize


RACERS = 20
ROUNDS = 3


def race(url: str, data: dict, auth: tuple[str, str]) -> list[requests.Response]:
    """POST ``data`` to ``url`` from RACERS threads released together."""
    start = threading.Barrier(RACERS)

    def one(_: int) -> requests.Response:
        with requests.Session() as http:
            start.wait(timeout=30)
            return http.post(url, data=data, auth=auth, timeout=60)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def outcome(responses: list[requests.Response]) -> dict:
    return {
        "200": sum(r.status_code == 200 for r in responses),
        "invalid_grant": sum(r.status_code == 400 and r.json().get("error") == "invalid_grant" for r in responses),
        "other": [(r.status_code, r.text[:200]) for r in responses if r.status_code not in (200, 400)],
    }


def code_request(deployment, node) -> dict:
    """A fresh code's token request (sign-in and /authorize on ``node``)."""
    browser = Browser(node.url)
    try:
        params, verifier, _ = sign_in_and_authorize(browser, node, deployment)
    finally:
        browser.http.close()
    return {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": RP_REDIRECT,
        "code_verifier": verifier,
    }


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_code_redeemed_by_20_at_once_gives_one_token_response(idp, round_):
    deployment, node = idp
    auth = (deployment.web_id, deployment.web_secret)
    responses = race(endpoint(node, "token"), code_request(deployment, node), auth)
    assert outcome(responses) == {"200": 1, "invalid_grant": RACERS - 1, "other": []}


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_refresh_token_used_by_20_at_once_gives_one_new_member_then_revokes_the_family(idp, round_):
    deployment, node = idp
    auth = (deployment.web_id, deployment.web_secret)
    issued = requests.post(endpoint(node, "token"), data=code_request(deployment, node), auth=auth, timeout=20)
    assert issued.status_code == 200, issued.text
    refresh_token = issued.json()["refresh_token"]

    responses = race(endpoint(node, "token"), {"grant_type": "refresh_token", "refresh_token": refresh_token}, auth)

    assert outcome(responses) == {"200": 1, "invalid_grant": RACERS - 1, "other": []}
    winner = next(r for r in responses if r.status_code == 200).json()
    # The family: the presented token and exactly one successor, both revoked by the reuse rule.
    checksum = hashlib.sha256(refresh_token.encode()).hexdigest()
    members, live = deployment.query_one(
        "SELECT count(*), count(*) FILTER (WHERE revoked IS NULL) FROM oidc_flows_refreshtoken WHERE token_family ="
        " (SELECT token_family FROM oidc_flows_refreshtoken WHERE token_checksum = %s LIMIT 1)",
        (checksum,),
    )
    assert (members, live) == (2, 0)
    assert refresh(node, deployment, winner["refresh_token"]).json()["error"] == "invalid_grant"
    introspected = requests.post(endpoint(node, "introspect"), data={"token": winner["access_token"]}, auth=auth)
    assert introspected.json() == {"active": False}
