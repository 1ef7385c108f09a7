"""The lean middleware stack (oidc_flows.lean) as deployed: gunicorn serving idp.wsgi on PostgreSQL.

test_lean_stack.py checks the same in-process; test_resilience.py checks the 503 for a database
outage on /token (a lean endpoint) against gunicorn.
"""

from __future__ import annotations

import time
import uuid

import requests


def _log_line(node, request_id: str) -> dict:
    deadline = time.monotonic() + 5  # the worker writes its line as it answers; give the file a moment
    while True:
        found = [line for line in node.log_lines() if line.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.05)


def test_protocol_endpoints_log_their_request_and_set_no_cookie_while_pages_do(deployment, node_a):
    request_id = f"lean-{uuid.uuid4().hex}"
    token = requests.post(
        f"{node_a.url}/oauth2/default/v1/token",
        data={"grant_type": "client_credentials"},
        auth=(deployment.service_id, deployment.service_secret),
        headers={"X-Request-ID": request_id},
        timeout=20,
    )
    keys = requests.get(f"{node_a.url}/oauth2/default/v1/keys", timeout=20)
    discovery = requests.get(f"{node_a.url}/.well-known/openid-configuration", timeout=20)
    login = requests.get(f"{node_a.url}/login/", timeout=20)

    assert token.status_code == 200, token.text
    assert token.headers["X-Request-ID"] == request_id
    assert (keys.status_code, keys.headers["Cache-Control"]) == (200, "public, max-age=300")
    assert discovery.json()["issuer"] == deployment.base_url
    for answer in (token, keys, discovery):
        assert "Set-Cookie" not in answer.headers
        assert "X-Frame-Options" not in answer.headers  # the lean stack: no clickjacking middleware
        assert answer.headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware stays
    assert "csrftoken" in login.cookies
    assert login.headers["X-Frame-Options"] == "DENY"
    line = _log_line(node_a, request_id)
    assert {k: line[k] for k in ("method", "path", "status", "server", "client_id")} == {
        "method": "POST",
        "path": "/oauth2/default/v1/token",
        "status": 200,
        "server": "default",
        "client_id": deployment.service_id,
    }
