"""The request log, request ids, health checks and the 503 for a database outage, on any database.

These run in-process (Django's test client); tests/production/test_two_nodes.py and
test_resilience.py check the same against gunicorn on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import logging
import sys

import pytest
from django.db import OperationalError

from oidc_flows import health, servers
from oidc_flows.observability import JsonFormatter
from tests.factories import make_client


pytestmark = pytest.mark.django_db

SECRET_VALUES = ("the-client-secret-value", "the-code-value", "the-refresh-token-value", "the-password-value")


@pytest.fixture
def request_lines(caplog):
    """The request log as the JSON lines production writes (LOGGING's formatter)."""
    caplog.set_level(logging.INFO, logger="oidc_flows.requests")
    formatter = JsonFormatter()

    def lines() -> list[dict]:
        out = [formatter.format(r) for r in caplog.records if r.name == "oidc_flows.requests"]
        assert all("\n" not in line for line in out)
        return [json.loads(line) for line in out]

    return lines


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_a_token_request_is_one_line_without_its_secrets(client, request_lines):
    app = make_client(app_type="web")
    response = client.post(
        "/oauth2/default/v1/token?code=the-code-value",
        {"grant_type": "refresh_token", "refresh_token": "the-refresh-token-value", "password": "the-password-value"},
        HTTP_AUTHORIZATION=basic(app.client_id, "the-client-secret-value"),
    )
    assert response.status_code == 400  # parameters in the query string: invalid_request
    (line,) = request_lines()
    assert line.keys() == {"time", "level", "logger", "message", "request_id", "method", "path", "status"} | {
        "duration_ms",
        "server",
        "client_id",
    }
    assert line["message"] == f"POST /oauth2/default/v1/token 400 {line['duration_ms']} ms"
    assert line | {"time": None, "request_id": None, "duration_ms": None, "message": None} == {
        "time": None,
        "level": "INFO",
        "logger": "oidc_flows.requests",
        "message": None,
        "request_id": None,
        "method": "POST",
        "path": "/oauth2/default/v1/token",  # no query string
        "status": 400,
        "duration_ms": None,
        "server": "default",
        "client_id": app.client_id,
    }
    assert line["request_id"] == response["X-Request-ID"]
    assert not [value for value in SECRET_VALUES if value in json.dumps(line)]


def test_authorize_logs_the_client_and_the_org_server_but_not_the_query(client, request_lines):
    client.get("/oauth2/v1/authorize?client_id=spa-1&state=the-code-value&code_challenge=the-password-value")
    (line,) = request_lines()
    assert (line["path"], line["server"], line["client_id"]) == ("/oauth2/v1/authorize", "org", "spa-1")
    assert not [value for value in SECRET_VALUES if value in json.dumps(line)]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("4bf92f3577b34da6a3ce929d0e0e4736", True),
        ("req-2024.11.22:node-a/42", True),
        ("short", False),  # under 8 characters
        ("x" * 129, False),
        ("with space or\nnewline", False),
        ('{"json": "injection"}', False),
    ],
)
def test_a_valid_incoming_request_id_is_kept_anything_else_replaced(client, request_lines, incoming, kept):
    response = client.get("/flows.json", HTTP_X_REQUEST_ID=incoming)
    assert (response["X-Request-ID"] == incoming) is kept
    assert len(response["X-Request-ID"]) >= 8
    assert request_lines()[0]["request_id"] == response["X-Request-ID"]


def test_json_formatter_keeps_an_exception_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line)["message"] == "failed here"
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_healthz_and_readyz(client, request_lines):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert client.get("/healthz")["Cache-Control"].startswith("max-age=0")
    assert request_lines() == []  # successful health checks are not logged


def test_readyz_answers_503_when_the_cache_fails(client, monkeypatch):
    monkeypatch.setattr(health, "caches", {"default": BrokenCache()})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["checks"] == {"database": "ok", "cache": "unavailable"}


class BrokenCache:
    def set(self, *args, **kwargs):
        raise ConnectionError("redis is down")


def test_a_view_that_cannot_reach_the_database_answers_503_json(client, monkeypatch):
    def unreachable(server_id):
        raise OperationalError("connection failed: password=should-not-leak")

    monkeypatch.setattr(servers, "resolve", unreachable)
    response = client.get("/oauth2/default/v1/keys")
    assert response.status_code == 503
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "The service is temporarily unavailable. Try again shortly.",
    }
    assert (response["Retry-After"], response["Cache-Control"]) == ("5", "no-store")
    assert "should-not-leak" not in response.content.decode()


def test_the_500_handler_answers_503_for_a_database_outage_outside_views(rf):
    request = rf.get("/account/")
    try:
        raise OperationalError("the session could not be saved")
    except OperationalError:
        response = health.server_error(request)
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "temporarily_unavailable"
    try:
        raise ValueError("a bug")
    except ValueError:
        assert health.server_error(request).status_code == 500
