"""Exactly once under concurrency, on PostgreSQL, against gunicorn with 2 workers of 8 threads.

20 clients present one authorization code, or one refresh token, at the same instant: exactly
one gets tokens, the others invalid_grant; nothing answers 500, nothing deadlocks.

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

import psycopg
import requests

from tests.support.oauth import Browser

from .conftest import RP_REDIRECT
from .test_two_nodes import endpoint, refresh, sign_in_and_authorize


RACERS = 20


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


def test_one_code_redeemed_by_20_at_once_gives_one_token_response(deployment, node_a):
    auth = (deployment.web_id, deployment.web_secret)
    responses = race(endpoint(node_a, "token"), code_request(deployment, node_a), auth)
    assert outcome(responses) == {"200": 1, "invalid_grant": RACERS - 1, "other": []}


def test_one_refresh_token_used_by_20_at_once_gives_one_new_member_then_revokes_the_family(deployment, node_a):
    auth = (deployment.web_id, deployment.web_secret)
    issued = requests.post(endpoint(node_a, "token"), data=code_request(deployment, node_a), auth=auth, timeout=20)
    assert issued.status_code == 200, issued.text
    refresh_token = issued.json()["refresh_token"]

    responses = race(endpoint(node_a, "token"), {"grant_type": "refresh_token", "refresh_token": refresh_token}, auth)

    assert outcome(responses) == {"200": 1, "invalid_grant": RACERS - 1, "other": []}
    winner = next(r for r in responses if r.status_code == 200).json()
    # The family: the presented token and exactly one successor, both revoked by the reuse rule.
    checksum = hashlib.sha256(refresh_token.encode()).hexdigest()
    with psycopg.connect(deployment.database_url, connect_timeout=5) as conn:
        members, live = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE revoked IS NULL) FROM oidc_flows_refreshtoken WHERE token_family ="
            " (SELECT token_family FROM oidc_flows_refreshtoken WHERE token_checksum = %s LIMIT 1)",
            [checksum],
        ).fetchone()
    assert (members, live) == (2, 0)
    assert refresh(node_a, deployment, winner["refresh_token"]).json()["error"] == "invalid_grant"
    introspected = requests.post(endpoint(node_a, "introspect"), data={"token": winner["access_token"]}, auth=auth)
    assert introspected.json() == {"active": False}
