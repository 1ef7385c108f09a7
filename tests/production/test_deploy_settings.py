"""idp/settings.py with the production environment README documents: `check --deploy` passes, and
IDP_BEHIND_TLS_PROXY switches on the proxy header, https redirects (not for health checks), HSTS
and secure cookies.

Settings are read at start-up, so each case runs ``manage.py`` in a fresh process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from .conftest import ROOT


def production_env(tmp_path, **overrides: str) -> dict[str, str]:
    """The documented production variables (README: Production deployment), on a throwaway SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    return (
        env
        | {
            "DJANGO_SETTINGS_MODULE": "idp.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "IDP_BASE_URL": "https://login.example.com",
            "ALLOWED_HOSTS": "login.example.com,testserver",
            "IDP_BEHIND_TLS_PROXY": "1",
            "SECURE_HSTS_PRELOAD": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CACHE_URL": "locmemcache://",
            "IDP_VAR_DIR": str(tmp_path),
        }
        | overrides
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_passes_with_the_documented_environment(tmp_path):
    done = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize(
    ("missing", "reported"),
    [
        ({"IDP_BEHIND_TLS_PROXY": "0"}, ["security.W004", "security.W008", "security.W012", "security.W016"]),
        ({"IDP_BASE_URL": "http://login.example.com"}, ["oidc_flows.E005"]),
    ],
)
def test_check_deploy_reports_what_is_missing(tmp_path, missing, reported):
    done = manage(production_env(tmp_path, **missing), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    assert [check for check in reported if check not in done.stderr] == []


PROBE = """
import json
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="login.example.com")
http_page = client.get("/flows.json")
https_page = client.get("/flows.json", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "http_page": [http_page.status_code, http_page.get("Location")],
    "http_healthz": client.get("/healthz").status_code,
    "https_page": https_page.status_code,
    "hsts": https_page.get("Strict-Transport-Security"),
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
}))
"""


def test_behind_a_tls_proxy_http_is_redirected_except_health_checks_and_https_gets_hsts(tmp_path):
    done = manage(production_env(tmp_path), "shell", "-c", PROBE)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "http_page": [301, "https://login.example.com/flows.json"],
        "http_healthz": 200,  # a load balancer probes over plain http
        "https_page": 200,
        "hsts": "max-age=31536000; includeSubDomains; preload",
        "secure_cookies": [True, True],
    }
