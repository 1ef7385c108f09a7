"""The real IdP as a subprocess, and the minimal API project (tests/resource/site) configured against it.

Run apart from the main suite, with the API project's settings:

    pytest tests/resource --ds=tests.resource.site.settings --confcutdir=tests/resource

(``--confcutdir`` keeps tests/conftest.py, which needs the IdP's models, from loading here.)
The IdP runs from this checkout with its own SQLite file: ``migrate``, one set-up script, then
``runserver --noreload`` on a free loopback port; it is always stopped at the end of the session.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from oidc_flows.resource import jwks, tokens
from tests.support.processes import free_port, is_up, manage


SITE_SETTINGS = "tests.resource.site.settings"
if os.environ.get("DJANGO_SETTINGS_MODULE") != SITE_SETTINGS:
    raise pytest.UsageError(f"Run apart: pytest tests/resource --ds={SITE_SETTINGS} --confcutdir=tests/resource")

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60  # migrate + set-up + first answer; typically about 5 s
SETUP = """
import io
from django.core.management import call_command
from oidc_flows.models import AuthorizationServer, Scope

quiet = io.StringIO()  # the commands print the secrets; keep them out of the log
for client_id, secret in {credentials!r}.items():
    # `=` form: a random secret may start with "-", which argparse would take for an option.
    call_command("oidc_create_application", "service", client_id, "--client-id", client_id,
                 f"--client-secret={{secret}}", stdout=quiet)
call_command("oidc_create_server", "other", "--name", "Other", "--default-policy", stdout=quiet)
call_command("idp_demo", stdout=quiet)  # the README's demo: demo-service and the reports:read scope
for server in AuthorizationServer.objects.filter(server_id__in=["default", "other"]):
    for name in ("reports:read", "reports:write"):
        Scope.objects.get_or_create(server=server, name=name, defaults={{"description": name}})
"""


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class IdP:
    """The running IdP, seen from outside: URLs and a few client calls over HTTP."""

    base_url: str
    var_dir: Path
    job: Client  # gets tokens
    api: Client  # the API's own credentials, for introspection

    def issuer(self, server: str = "default") -> str:
        return self.base_url if server == "org" else f"{self.base_url}/oauth2/{server}"

    def endpoint(self, name: str, server: str = "default") -> str:
        return f"{self.base_url}/oauth2/v1/{name}" if server == "org" else f"{self.issuer(server)}/v1/{name}"

    def token(self, scope: str = "", *, server: str = "default", client: Client | None = None) -> str:
        client = client or self.job
        data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
        response = requests.post(
            self.endpoint("token", server), data=data, auth=(client.client_id, client.secret), timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def revoke(self, token: str, *, server: str = "default") -> None:
        auth = (self.job.client_id, self.job.secret)
        response = requests.post(self.endpoint("revoke", server), data={"token": token}, auth=auth, timeout=10)
        assert response.status_code == 200, response.text


def _base_url(port: int) -> dict[str, str]:
    return {"IDP_BASE_URL": f"http://127.0.0.1:{port}", "PORT": str(port)}


def _serve(env: dict[str, str], log: Path, deadline: float) -> tuple[subprocess.Popen, str]:
    """Start ``runserver`` on the port of ``env``; on another one if something took it meanwhile.

    (Then the org server's audience, stored from IDP_BASE_URL at migrate, no longer matches its issuer.)
    """
    for attempt in range(3):
        if attempt:
            env = env | _base_url(free_port())
        port, base_url = env["PORT"], env["IDP_BASE_URL"]
        with log.open("a") as out:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
            )
        while time.monotonic() < deadline and process.poll() is None:
            if is_up(f"{base_url}/oauth2/default/.well-known/openid-configuration"):
                return process, base_url
            time.sleep(0.1)
        if process.poll() is None:
            _stop(process)
            pytest.fail(f"The IdP did not answer within {START_SECONDS} s:\n{log.read_text()[-3000:]}")
        if "already in use" not in log.read_text()[-500:]:
            break
    pytest.fail(f"The IdP stopped (exit {process.returncode}):\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def idp(tmp_path_factory) -> Iterator[IdP]:
    var_dir = tmp_path_factory.mktemp("idp")
    log = var_dir / "idp.log"
    env = {
        **os.environ,  # then ours: `make test` exports PORT, for one
        "DJANGO_SETTINGS_MODULE": "idp.settings",  # pytest-django set ours for this process
        "DATABASE_URL": f"sqlite:///{var_dir / 'idp.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "IDP_VAR_DIR": str(var_dir),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        **_base_url(free_port()),
    }
    job = Client("reports-job", secrets.token_urlsafe(32))
    api = Client("reports-api", secrets.token_urlsafe(32))
    deadline = time.monotonic() + START_SECONDS
    manage(env, log, "migrate", "--noinput", timeout=START_SECONDS)
    script = SETUP.format(credentials={job.client_id: job.secret, api.client_id: api.secret})
    manage(env, log, "shell", "-c", script, timeout=max(1.0, deadline - time.monotonic()))
    process, base_url = _serve(env, log, deadline)
    try:
        yield IdP(base_url, var_dir, job, api)
    finally:
        _stop(process)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Every test starts without cached keys, endpoints or introspection results."""
    from django.core.cache import cache

    jwks.keys.clear()
    jwks.endpoints.clear()
    cache.clear()
    yield
    jwks.keys.clear()
    jwks.endpoints.clear()


@pytest.fixture
def jwt_mode(settings, idp) -> dict:
    settings.OIDC_RESOURCE = {"ISSUER": idp.issuer(), "AUDIENCE": "api://default", "LEEWAY": 30}
    return settings.OIDC_RESOURCE


@pytest.fixture
def introspection_mode(settings, idp) -> dict:
    settings.OIDC_RESOURCE = {
        "ISSUER": idp.issuer(),
        "AUDIENCE": "api://default",
        "MODE": "introspection",
        "CLIENT_ID": idp.api.client_id,
        "CLIENT_SECRET": idp.api.secret,
        "INTROSPECTION_CACHE_SECONDS": 0,
    }
    return settings.OIDC_RESOURCE


class Clock:
    """An offset added to the API's clocks."""

    def __init__(self) -> None:
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Move the API's wall clock (``exp``/``nbf`` checks) and its cache clock (JWKS refetch limits)."""
    clock = Clock()
    monkeypatch.setattr(tokens, "clock", lambda: time.time() + clock.offset)
    monkeypatch.setattr(jwks.keys, "clock", lambda: time.monotonic() + clock.offset)
    return clock
