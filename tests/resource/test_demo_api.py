"""The IdP's own demo API (idp/api.py, README "Protecting your APIs"), over HTTP: the README's curl steps.

``idp_demo`` (run by the IdP fixture, as ``make run`` does) creates ``demo-service`` and the
``reports:read`` scope; its secret is kept in the IdP's var/demo.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests


@pytest.fixture
def demo_service(idp) -> tuple[str, str]:
    return "demo-service", json.loads((idp.var_dir / "demo.json").read_text())["service_secret"]


def demo_token(idp, demo_service, scope: str) -> str:
    data = {"grant_type": "client_credentials", "scope": scope}
    response = requests.post(idp.endpoint("token"), data=data, auth=demo_service, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def call(idp, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{idp.base_url}/api/demo/{path}", headers=headers, timeout=10)


def test_reports_with_the_reports_scope(idp, demo_service):
    response = call(idp, "reports", demo_token(idp, demo_service, "reports:read"))

    assert response.status_code == 200, response.text
    assert response.json()["for"] == "demo-service" and response.json()["reports"]


def test_whoami_with_any_token_of_default(idp, demo_service):
    token = demo_token(idp, demo_service, "reports:read")

    assert call(idp, "whoami", token).json() == {
        "sub": "demo-service",
        "client_id": "demo-service",
        "scopes": ["reports:read"],
    }


def test_refusals(idp, demo_service):
    no_scope = call(idp, "reports", idp.token("reports:write"))
    assert no_scope.status_code == 403
    assert no_scope.headers["WWW-Authenticate"].endswith('scope="reports:read"')
    assert call(idp, "whoami", None).headers["WWW-Authenticate"].startswith("Bearer, DPoP algs=")
    other = call(idp, "whoami", idp.token(server="other"))
    assert other.status_code == 401 and other.json()["error"] == "invalid_token"


def test_the_readme_dpop_example_runs(idp, demo_service, capsys):
    """README "DPoP (sender-constrained tokens)": its client code, as written, against this IdP."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### DPoP (sender-constrained tokens)", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("http://127.0.0.1:8000", idp.base_url).replace("<its secret>", demo_service[1])
    namespace: dict = {}

    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README

    assert namespace["token"]["token_type"] == "DPoP"
    assert namespace["reports"].status_code == 200, namespace["reports"].text
    assert namespace["reports"].json()["for"] == "demo-service"
