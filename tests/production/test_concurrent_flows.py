"""Users signing in side by side: every request of every flow answers, none with 500 or 503.

A few browsers at once, for a few seconds, each going round the whole flow again and again: sign-in
(password), consent, code exchange, refresh, userinfo. Each round writes the session, the browser
session record, the consent, the code, the tokens and the rotation, on a gunicorn with 2 workers of
8 threads. On SQLite, writers that cannot wait for each other fail with "database is locked", which
the IdP answers 503 temporarily_unavailable: this counts every response, so one such answer fails it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.oauth import Browser

from .conftest import RP_REDIRECT
from .test_two_nodes import endpoint, sign_in_and_authorize


BROWSERS = 5
SECONDS = 5.0


def one_flow(browser: Browser, deployment, node) -> None:
    """Sign in, consent, exchange the code, refresh, call userinfo; assert each step's answer."""
    params, verifier, _ = sign_in_and_authorize(
        browser, node, deployment, client_id=deployment.consent_id, prompt="consent"
    )
    assert "code" in params, params
    assert any('name="decision"' in page.text for page in browser.pages), "the consent page was shown"
    auth = (deployment.consent_id, deployment.consent_secret)
    code = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": RP_REDIRECT}
    tokens = browser.http.post(endpoint(node, "token"), data=code | {"code_verifier": verifier}, auth=auth, timeout=30)
    assert tokens.status_code == 200, tokens.text[:300]
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
    refreshed = browser.http.post(endpoint(node, "token"), data=refresh, auth=auth, timeout=30)
    assert refreshed.status_code == 200, refreshed.text[:300]
    bearer = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    userinfo = browser.http.get(endpoint(node, "userinfo"), headers=bearer, timeout=30)
    assert userinfo.status_code == 200, userinfo.text[:300]


def test_browsers_signing_in_side_by_side_never_get_500_or_503(idp):
    deployment, node = idp
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + SECONDS
    tally = threading.Lock()

    def count(response: requests.Response, *args, **kwargs) -> None:
        with tally:
            statuses[response.status_code] += 1

    def browse(_: int) -> int:
        flows = 0
        while not flows or time.monotonic() < deadline:  # at least one flow each, however slow the machine
            browser = Browser(node.url)  # a new browser each round: a new session, a password sign-in
            browser.http.hooks["response"].append(count)
            try:
                one_flow(browser, deployment, node)
            except AssertionError as failure:
                failures.append(str(failure)[:300])
            finally:
                browser.http.close()
            flows += 1
        return flows

    with ThreadPoolExecutor(BROWSERS) as pool:
        flows = sum(pool.map(browse, range(BROWSERS)))

    server_errors = {status: n for status, n in statuses.items() if status >= 500}
    summary = f"{flows} flows, {statuses.total()} responses: {dict(statuses)}"
    assert (server_errors, failures[:3]) == ({}, []), summary
