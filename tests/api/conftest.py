"""Fixtures of the management API's tests: service applications granted management scopes, and REAL org
server tokens obtained from /oauth2/v1/token (client credentials, or a staff user's password grant).

    def test_x(management_client):
        api = management_client("oidc_flows.apps.manage")      # over HTTP, against the live server
        assert api.get("/api/v1/apps").status_code == 200

    def test_y(django_api):                                      # Django's test client: no live server
        api = django_api("oidc_flows.apps.read")
        assert api.get("/api/v1/apps").status_code == 200
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client

from oidc_flows.models import Application
from oidc_flows.registration import register_application


TOKEN_PATH = "/oauth2/v1/token"
FORM = "application/x-www-form-urlencoded"


def grant_service_app(*scopes: str, name: str = "automation") -> tuple[Application, str]:
    """A service application an administrator granted ``scopes`` (management_scopes), with its secret."""
    return register_application(name, "service", extra={"management_scopes": " ".join(sorted(scopes))})


def token_request_data(scopes: tuple[str, ...]) -> dict[str, str]:
    return {"grant_type": "client_credentials", "scope": " ".join(scopes)}


@dataclass
class ApiClient:
    """Requests against the live server with an org access token (``requests``)."""

    base_url: str
    token: str
    application: Application | None = None
    secret: str | None = None
    http: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.base_url}{path}", headers=headers, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class DjangoApiClient:
    """The same through Django's test client (fast: no live server); responses are Django's."""

    token: str
    application: Application | None = None
    secret: str | None = None
    client: Client = field(default_factory=Client)

    def request(self, method: str, path: str, json: Any = None, headers: dict | None = None, **kwargs: Any):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        call = getattr(self.client, method.lower())
        if json is not None:
            kwargs |= {"data": json, "content_type": "application/json"}
        return call(path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.request("DELETE", path, **kwargs)


def live_token(base_url: str, client_id: str, secret: str, scopes: tuple[str, ...]) -> str:
    """An org access token from the live server's /oauth2/v1/token (client credentials)."""
    response = requests.post(
        base_url + TOKEN_PATH, data=token_request_data(scopes), auth=(client_id, secret), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_client_token(client_id: str, secret: str, scopes: tuple[str, ...], **extra: str) -> str:
    """An org access token from /oauth2/v1/token through Django's test client (``extra``: more form fields)."""
    data = token_request_data(scopes) | extra
    response = Client().post(
        TOKEN_PATH, urlencode(data), content_type=FORM, headers={"Authorization": _basic(client_id, secret)}
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


test_client_token.__test__ = False  # a helper, not a test


def _basic(client_id: str, secret: str) -> str:
    import base64
    from urllib.parse import quote

    return "Basic " + base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()


@pytest.fixture
def management_client(base_url) -> Iterator[Callable[..., ApiClient]]:
    """``management_client(*scopes)``: a service app granted ``scopes``, with a live org token of them."""
    made: list[ApiClient] = []

    def make(*scopes: str, name: str = "automation") -> ApiClient:
        app, secret = grant_service_app(*scopes, name=name)
        api = ApiClient(base_url, live_token(base_url, app.client_id, secret, scopes), app, secret)
        made.append(api)
        return api

    yield make
    for api in made:
        api.http.close()  # a kept-alive connection would outlive the test's database


@pytest.fixture
def django_api(db) -> Callable[..., DjangoApiClient]:
    """``django_api(*scopes)``: the same with Django's test client (no live server; much faster)."""

    def make(*scopes: str, name: str = "automation") -> DjangoApiClient:
        app, secret = grant_service_app(*scopes, name=name)
        return DjangoApiClient(test_client_token(app.client_id, secret, scopes), app, secret)

    return make


@pytest.fixture
def staff_token(db) -> Callable[..., str]:
    """``staff_token(user, *scopes)``: an org token of a user (password grant of a web application)."""

    def make(user: Any, *scopes: str, password: str) -> str:
        app, secret = register_application(
            "admin cli", "web", redirect_uris=["https://cli.example/cb"], grant_types=["password"]
        )
        return test_client_token(
            app.client_id,
            secret,
            scopes,
            grant_type="password",
            username=user.get_username(),
            password=password,
        )

    return make
