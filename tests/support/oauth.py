"""Drive the IdP over HTTP as a browser and as a client would.

``Browser`` is an end user's browser (cookies, sign-in form, consent form); ``AuthorizationRequest``
builds /authorize URLs with state, nonce and PKCE and exchanges codes with Authlib, a real client
library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from oidc_flows.models import Application, AuthorizationServer
from tests.factories import PASSWORD, RP_REDIRECT


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """An end user's browser: follows redirects on the IdP, stops at the client's redirect_uri."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.pages: list[requests.Response] = []

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=10)

    def post_form(self, url: str, page: requests.Response, data: dict) -> requests.Response:
        token = CSRF.search(page.text)
        assert token, f"no CSRF token on {url}"
        return self.http.post(
            url,
            data={"csrfmiddlewaretoken": token.group(1), **data},
            headers={"Referer": url},
            allow_redirects=False,
            timeout=10,
        )

    def follow(self, url: str) -> requests.Response:
        """GET ``url`` and follow redirects that stay on the IdP; stop at a page or at the client."""
        response = self.get(url)
        while response.status_code in (301, 302, 303):
            target = urljoin(response.url, response.headers["Location"])
            if not target.startswith(self.base_url):
                break
            response = self.get(target)
        return response

    def sign_in(self, username: str = "alice", password: str = PASSWORD) -> requests.Response:
        page = self.get(f"{self.base_url}/login/")
        return self.post_form(f"{self.base_url}/login/", page, {"username": username, "password": password})

    def authorize(
        self, url: str, *, username: str = "alice", password: str = PASSWORD, consent: str | None = "allow"
    ) -> requests.Response:
        """Open ``url`` and walk through sign-in and consent; return the response that leaves the IdP."""
        response = self.get(url)
        for _ in range(10):
            self.pages.append(response)
            location = response.headers.get("Location")
            if response.status_code in (301, 302, 303) and location:
                target = urljoin(response.url, location)
                if not target.startswith(self.base_url):
                    return response  # back to the client
                response = self.get(target)
            elif 'name="password"' in response.text:
                response = self.post_form(response.url, response, {"username": username, "password": password})
            elif 'name="decision"' in response.text and consent:
                action = urljoin(
                    response.url, re.search(r'action="([^"]*)"', response.text).group(1).replace("&amp;", "&")
                )
                response = self.post_form(action, response, {"decision": consent})
            else:
                return response
        raise AssertionError("too many steps")


def is_sign_in_form(response: requests.Response) -> bool:
    return response.status_code == 200 and 'name="password"' in response.text


def location_params(response: requests.Response) -> dict[str, str]:
    """Parameters of a redirect to the client, from its query or its fragment."""
    parts = urlsplit(response.headers["Location"])
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


@dataclass
class AuthorizationRequest:
    client: Application
    server: AuthorizationServer
    scope: str = "openid profile email"
    pkce: bool = True
    redirect_uri: str = RP_REDIRECT
    response_type: str = "code"
    extra: dict = field(default_factory=dict)
    auth_method: str = "client_secret_basic"

    def __post_init__(self) -> None:
        self.session = OAuth2Session(
            self.client.client_id,
            getattr(self.client, "secret", None),
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256" if self.pkce else None,
            token_endpoint_auth_method=self.auth_method if getattr(self.client, "secret", None) else "none",
        )
        self.nonce = generate_token(20)
        self.code_verifier = generate_token(48) if self.pkce else None
        extra = dict(self.extra)
        if self.code_verifier and "code" in self.response_type.split() and self.response_type != "code":
            # Authlib adds PKCE to response_type=code only; hybrid requests carry it too (RFC 7636 §4.3).
            extra |= {"code_challenge": create_s256_code_challenge(self.code_verifier), "code_challenge_method": "S256"}
        self.url, self.state = self.session.create_authorization_url(
            self.server.endpoint_url("authorize"),
            nonce=self.nonce,
            code_verifier=self.code_verifier,
            response_type=self.response_type,
            **extra,
        )

    def exchange(self, redirect: requests.Response, **kwargs) -> dict:
        """Redeem the code of ``redirect`` with Authlib; raises authlib's OAuthError on an error body."""
        return self.session.fetch_token(
            self.server.endpoint_url("token"),
            authorization_response=redirect.headers["Location"],
            code_verifier=self.code_verifier,
            **kwargs,
        )

    def token_request(self, code: str, **overrides) -> requests.Response:
        """A raw token request, for asserting on error bodies and headers."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if self.code_verifier:
            data["code_verifier"] = self.code_verifier
        auth = None
        secret = getattr(self.client, "secret", None)
        if secret:
            auth = (self.client.client_id, secret)
        else:
            data["client_id"] = self.client.client_id
        auth = overrides.pop("auth", auth)
        headers = overrides.pop("headers", None)  # e.g. a DPoP proof
        data |= overrides
        return requests.post(self.server.endpoint_url("token"), data=data, auth=auth, headers=headers, timeout=10)
