"""The WSGI entry (idp/wsgi.py): protocol endpoints through the lean middleware stack (oidc_flows.lean).

Django's test client and pytest-django's live server never come through the WSGI entry, so these
tests call the WSGI application itself with a WSGI environ, as gunicorn does.
test_lean_gunicorn.py checks the same under gunicorn on PostgreSQL.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.core import signals
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, close_old_connections

from oidc_flows import lean, servers
from oidc_flows.observability import JsonFormatter
from tests.factories import PASSWORD, make_client, make_user


pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
SPA_ORIGIN = "https://spa.example"


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def cookies(self) -> list[str]:
        return [v.split("=", 1)[0].strip() for k, v in self.headers if k.lower() == "set-cookie"]


def call(app, method: str, path: str, *, query: str = "", body: bytes = b"", **headers: str) -> Answer:
    """One request to the WSGI application ``app``, as a WSGI server makes it."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    started: list = []

    def start_response(status: str, response_headers: list, exc_info=None) -> None:
        started.extend([status, response_headers])

    # As Django's test client does: the test's transaction must outlive the request's connection handling.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        try:
            body_out = b"".join(result)
        finally:
            result.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return Answer(int(started[0].split()[0]), started[1], body_out)


def client_credentials(app, service, **headers: str) -> Answer:
    """A client-credentials token request of ``service`` to ``default``'s /token."""
    auth = basic(service.client_id, service.secret)
    body = form(grant_type="client_credentials")
    return call(app, "POST", "/oauth2/default/v1/token", body=body, content_type=FORM, authorization=auth, **headers)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


@pytest.fixture
def app():
    """The application idp/wsgi.py serves, built with the settings of the test."""
    return lean.get_wsgi_application()


@pytest.fixture
def request_lines(caplog):
    caplog.set_level(logging.INFO, logger="oidc_flows.requests")
    formatter = JsonFormatter()
    return lambda: [json.loads(formatter.format(r)) for r in caplog.records if r.name == "oidc_flows.requests"]


@pytest.fixture
def service():
    return make_client(app_type="service")


def test_the_wsgi_entry_serves_the_lean_handler():
    from idp.wsgi import application

    assert isinstance(application, lean.LeanWSGIHandler)
    assert "oidc_flows:token" in application.lean_views


def test_a_client_credentials_token_sets_no_cookie_while_the_sign_in_page_does(app, service):
    token = client_credentials(app, service)
    login = call(app, "GET", "/login/")

    assert token.status == 200, token.body
    assert token.json()["token_type"] == "Bearer"
    assert token.cookies == []
    assert token.header("Cache-Control") == "no-store"
    assert login.status == 200
    assert "csrftoken" in login.cookies
    # The pages keep the browser middleware (clickjacking); the JSON endpoints run without it.
    assert (login.header("X-Frame-Options"), token.header("X-Frame-Options")) == ("DENY", None)


def test_introspection_revocation_and_userinfo_through_the_lean_stack(app):
    make_user()
    web = make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])
    auth = basic(web.client_id, web.secret)
    issued = call(
        app,
        "POST",
        "/oauth2/default/v1/token",
        body=form(grant_type="password", username="alice", password=PASSWORD, scope="openid profile email"),
        content_type=FORM,
        authorization=auth,
    )
    assert issued.status == 200, issued.body
    access_token = issued.json()["access_token"]
    assert "id_token" in issued.json()  # the password grant's ID token (servers.PasswordGrant)

    userinfo = call(app, "GET", "/oauth2/default/v1/userinfo", authorization=f"Bearer {access_token}")
    assert userinfo.status == 200, userinfo.body
    assert userinfo.json()["email"] == "alice@example.com"
    introspected = call(
        app,
        "POST",
        "/oauth2/default/v1/introspect",
        body=form(token=access_token),
        content_type=FORM,
        authorization=auth,
    )
    assert introspected.json()["active"] is True
    revoked = call(
        app, "POST", "/oauth2/default/v1/revoke", body=form(token=access_token), content_type=FORM, authorization=auth
    )
    assert revoked.status == 200
    after = call(app, "GET", "/oauth2/default/v1/userinfo", authorization=f"Bearer {access_token}")
    assert after.status == 401
    assert [a.cookies for a in (issued, userinfo, introspected, revoked, after)] == [[]] * 5


def test_the_request_log_and_request_id_on_a_lean_endpoint(app, service, request_lines):
    answer = client_credentials(app, service, x_request_id="lean-request-0001")

    assert answer.status == 200
    assert answer.header("X-Request-ID") == "lean-request-0001"
    (line,) = request_lines()
    assert {k: line[k] for k in ("request_id", "method", "path", "status", "server", "client_id")} == {
        "request_id": "lean-request-0001",
        "method": "POST",
        "path": "/oauth2/default/v1/token",
        "status": 200,
        "server": "default",
        "client_id": service.client_id,
    }


@pytest.mark.parametrize("path", ["/oauth2/default/v1/keys", "/.well-known/openid-configuration"])
def test_a_database_outage_answers_503_json_on_the_lean_stack(app, monkeypatch, request_lines, path):
    def unreachable(server_id):
        raise OperationalError("connection failed")

    monkeypatch.setattr(servers, "resolve", unreachable)
    answer = call(app, "GET", path)

    assert answer.status == 503
    assert answer.json()["error"] == "temporarily_unavailable"
    assert (answer.header("Retry-After"), answer.header("Cache-Control")) == ("5", "no-store")
    assert request_lines()[0]["status"] == 503


def test_malformed_token_requests_get_protocol_errors_and_cors(app):
    spa = make_client(app_type="spa", redirect_uris=("https://spa.example/cb",), allowed_origins=[SPA_ORIGIN])
    as_json = call(
        app,
        "POST",
        "/oauth2/default/v1/token",
        body=json.dumps({"grant_type": "client_credentials"}).encode(),
        content_type="application/json",
    )
    with_nul = call(
        app,
        "POST",
        "/oauth2/default/v1/token",
        body=form(grant_type="authorization_code", code="a\x00b", client_id=spa.client_id),
        content_type=FORM,
        origin=SPA_ORIGIN,
    )

    assert (as_json.status, as_json.json()["error"]) == (400, "invalid_request")
    assert (with_nul.status, with_nul.json()["error"]) == (400, "invalid_request")
    assert with_nul.header("Access-Control-Allow-Origin") == SPA_ORIGIN  # the SPA may read its error


def test_jwks_and_discovery_are_public_cacheable_and_answer_304(app):
    for path in ("/oauth2/default/v1/keys", "/oauth2/default/.well-known/openid-configuration"):
        first = call(app, "GET", path, origin=SPA_ORIGIN)
        again = call(app, "GET", path, if_none_match=first.header("ETag"))

        assert first.status == 200 and first.json()
        assert first.header("Cache-Control") == "public, max-age=300"
        assert first.header("Access-Control-Allow-Origin") == "*"
        assert first.header("X-Content-Type-Options") == "nosniff"  # SecurityMiddleware is on the lean stack
        assert (again.status, again.body, again.header("ETag")) == (304, b"", first.header("ETag"))
        # Both took the lean stack: the second from the URL match kept for the path.
        assert first.header("X-Frame-Options") is None and again.header("X-Frame-Options") is None


def test_unknown_paths_and_pages_take_the_full_stack(app):
    missing = call(app, "GET", "/oauth2/default/v1/nothing-here")
    unknown_server = call(app, "GET", "/oauth2/nosuchserver/v1/keys")

    assert missing.status == 404
    assert (unknown_server.status, unknown_server.json()["error"]) == (404, "not_found")


def test_behind_the_tls_proxy_lean_endpoints_redirect_to_https_and_send_hsts(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    settings.SECURE_HSTS_SECONDS = 3600
    app = lean.get_wsgi_application()  # SecurityMiddleware reads its settings when the stack is built

    plain = call(app, "GET", "/oauth2/default/v1/keys")
    tls = call(app, "GET", "/oauth2/default/v1/keys", x_forwarded_proto="https")
    health = call(app, "GET", "/healthz")

    assert (plain.status, plain.header("Location")) == (301, "https://testserver/oauth2/default/v1/keys")
    assert tls.status == 200
    assert tls.header("Strict-Transport-Security") == "max-age=3600"
    assert health.status == 200


@pytest.mark.parametrize(
    "middleware",
    [
        ["oidc_flows.middleware.RequestLogMiddleware", "tests.not.in.MIDDLEWARE"],
        ["django.middleware.security.SecurityMiddleware", "oidc_flows.middleware.RequestLogMiddleware"],
    ],
)
def test_the_lean_stack_only_ever_drops_middleware(settings, middleware):
    settings.OIDC_FLOWS_LEAN = {**settings.OIDC_FLOWS_LEAN, "MIDDLEWARE": middleware}

    with pytest.raises(ImproperlyConfigured):
        lean.get_wsgi_application()


def test_without_the_setting_every_request_takes_the_full_stack(settings, service):
    del settings.OIDC_FLOWS_LEAN
    app = lean.get_wsgi_application()

    keys = call(app, "GET", "/oauth2/default/v1/keys")

    assert keys.status == 200
    assert keys.header("X-Frame-Options") == "DENY"
