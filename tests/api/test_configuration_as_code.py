"""Issue 16's "Done when", over HTTP with real tokens: a service application granted
oidc_flows.apps.manage and oidc_flows.servers.manage runs the README's "Configuration as code" script
(docs/examples/configure.py): it creates a web application, a new server with a scope, a claim and an
access policy rule, and rotates that server's key. A real client then signs in against the new server
and gets exactly the configured claims, signed by the new key (verified with joserfc); the system log
shows every step with the service application as its actor."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

import requests

from oidc_flows.models import Application, AuthorizationServer
from oidc_flows.models.claims import RESERVED_CLAIMS
from tests.api.conftest import grant_service_app
from tests.factories import RP_REDIRECT, make_user
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser


SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "configure.py"
#: What the system log holds after the script, in order: one event per write, each by the service app.
EXPECTED_EVENTS = (
    "application.lifecycle.create",
    "oauth2.as.created",
    "oauth2.scope.created",
    "oauth2.claim.created",
    "oauth2.policy.created",
    "oauth2.policy.rule.created",
    "app.oauth2.as.key.rollover",
)


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("configure_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def logged_steps(base_url: str, token: str, actor_client_id: str) -> list[str]:
    """The event types the system log (GET /api/v1/logs, Okta's System Log API) shows ``actor_client_id``
    doing, oldest first; ``token`` needs oidc_flows.logs.read. Assert: ``== list(EXPECTED_EVENTS)``."""
    response = requests.get(
        f"{base_url}/api/v1/logs", params={"limit": 200}, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    events = sorted(response.json(), key=lambda e: e["published"])
    mine = [e for e in events if actor_client_id in (e["actor"].get("id"), e["actor"].get("alternateId"))]
    return [e["eventType"] for e in mine if e["eventType"] in EXPECTED_EVENTS]


def test_the_readme_shows_the_script_the_test_runs():
    readme = (SCRIPT.parents[2] / "README.md").read_text()
    assert f"```python\n{SCRIPT.read_text()}```" in readme


def test_a_service_configures_a_server_and_a_user_signs_in_with_the_configured_claims(base_url):
    scopes = ("oidc_flows.apps.manage", "oidc_flows.servers.manage", "oidc_flows.logs.read")
    automation, secret = grant_service_app(*scopes)
    make_user(username="bob", attributes={"department": "Finance"})

    result = load_script().configure(base_url, automation.client_id, secret, RP_REDIRECT)

    # The system log (GET /api/v1/logs) shows each step, in order, with the service application as actor.
    org = AuthorizationServer.objects.get(is_org=True)
    token = requests.post(
        org.endpoint_url("token"),
        data={"grant_type": "client_credentials", "scope": "oidc_flows.logs.read"},
        auth=(automation.client_id, secret),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    assert logged_steps(base_url, token.json()["access_token"], automation.client_id) == list(EXPECTED_EVENTS)

    server = AuthorizationServer.objects.get(server_id=result["server"]["id"])
    oauth_client = result["app"]["credentials"]["oauthClient"]
    client = Application.objects.get(client_id=oauth_client["client_id"])
    client.secret = oauth_client["client_secret"]
    signing = next(k["kid"] for k in result["keys"] if k["status"] == "ACTIVE")
    assert signing != result["server"]["credentials"]["signing"]["kid"]  # rotated after creation

    browser = Browser(base_url)
    request = AuthorizationRequest(client, server, scope="openid invoices:read")
    tokens = request.exchange(browser.authorize(request.url, username="bob"))
    browser.http.close()
    request.session.close()  # kept-alive connections would outlive the test's database

    keys_url = server.endpoint_url("keys")
    id_token = verify_jwt(tokens["id_token"], jwks_url=keys_url, issuer=server.issuer, audience=client.client_id)
    access = verify_jwt(tokens["access_token"], jwks_url=keys_url, issuer=server.issuer, audience="api://billing")
    assert kid_of(tokens["id_token"]) == kid_of(tokens["access_token"]) == signing
    # Exactly the configured claim beside the protocol's own (openid releases no profile claims).
    assert {k: v for k, v in access.items() if k not in RESERVED_CLAIMS} == {"department": "Finance"}
    assert {k: v for k, v in id_token.items() if k not in RESERVED_CLAIMS} == {"department": "Finance"}
    assert sorted(access["scp"]) == ["invoices:read", "openid"]
    assert access["exp"] - access["iat"] == 300  # the rule's lifetime
