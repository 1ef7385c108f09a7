"""oauthlib's server is built once per thread and server configuration, and bound to each request.

Building it (validator, grant types, token handlers) cost ~5 % of a token request. gunicorn's gthread
workers serve requests on several threads: a server must never carry one request's state into
another thread's request.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from oidc_flows import lean, servers
from oidc_flows.models import AuthorizationServer, Scope
from oidc_flows.subjects import public_id
from tests.factories import PASSWORD, make_client, make_user


def test_one_server_per_thread_and_configuration_bound_to_the_request_at_hand(db):
    server = servers.resolve("default")
    first, second = RequestFactory().post("/a"), RequestFactory().post("/b")

    core = servers.oauthlib_core(server, http_request=first)
    again = servers.oauthlib_core(server, http_request=second)
    validator = again.server.request_validator

    assert again is core
    assert validator.http_request is second and validator.server is server
    elsewhere: list = []
    thread = threading.Thread(target=lambda: elsewhere.append(servers.oauthlib_core(server, http_request=first)))
    thread.start()
    thread.join()
    assert elsewhere[0] is not core
    AuthorizationServer.objects.filter(pk=server.pk).update(updated=timezone.now())  # a configuration change
    assert servers.oauthlib_core(servers.resolve("default"), http_request=second) is not core


def _token(app, client, fields: dict[str, str]) -> dict:
    body = urlencode(fields).encode()
    credentials = base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/oauth2/default/v1/token",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Basic {credentials}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    }
    status: list[str] = []
    result = app(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        answer = json.loads(b"".join(result))
    finally:
        result.close()
    assert status[0].startswith("200"), answer
    return answer


@pytest.mark.django_db(transaction=True)
def test_concurrent_token_requests_on_reused_servers_each_get_their_own_tokens(settings):
    if connection.vendor == "sqlite":
        # The in-memory test database locks whole tables: concurrent writers fail instead of waiting.
        pytest.skip("concurrent writes need PostgreSQL (DATABASE_URL=postgres://...)")
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "BASE_URL": "http://testserver"}
    server = AuthorizationServer.objects.get(server_id="default")
    for name in ("reports:read", "billing:read"):
        Scope.objects.create(server=server, name=name, description=name)
    reports, billing = make_client(app_type="service"), make_client(app_type="service")
    trusted = make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])
    users = {name: make_user(username=name) for name in ("alice", "bob")}
    app = lean.get_wsgi_application()
    jobs = [
        (reports, {"grant_type": "client_credentials", "scope": "reports:read"}),
        (billing, {"grant_type": "client_credentials", "scope": "billing:read"}),
        # The password grant binds its request to the grant object for the call (servers.PasswordGrant).
        *((trusted, {"grant_type": "password", "username": n, "password": PASSWORD, "scope": "openid"}) for n in users),
    ] * 8

    def run(job):
        try:
            return _token(app, *job)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=3) as pool:  # threads serve several requests each, like gthread
        answers = list(pool.map(run, jobs))

    jwks = KeySet.import_key_set({"keys": [k.public_jwk for k in server.signing_keys.all()]})

    def claims(token: str) -> dict:
        decoded = jwt.decode(token, jwks, algorithms=["RS256", "ES256"]).claims
        assert decoded["iss"] == server.issuer
        return decoded

    for answer, (client, fields) in zip(answers, jobs, strict=True):
        access = claims(answer["access_token"])
        assert access["cid"] == client.client_id
        if fields["grant_type"] == "client_credentials":
            assert (access["scp"], "id_token" in answer) == ([fields["scope"]], False)
        else:
            user = users[fields["username"]]
            id_token = claims(answer["id_token"])
            assert access["uid"] == id_token["sub"] == access["sub"], (access, id_token)
            assert (access["sub"], id_token["aud"]) == (public_id(user), client.client_id)
