"""A demo relying party inside the idp project: signs a user in through the ``default`` server.

It does what any web application would: Authorization Code with PKCE, state and nonce, a
client_secret_basic token request, ID token verification against the JWKS, and a userinfo call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from jwcrypto import jwk, jwt

from oidc_flows.models import AuthorizationServer


CLIENT_ID = "demo-web"
SESSION_KEY = "idp.demo.pending"


def _server() -> AuthorizationServer:
    return AuthorizationServer.objects.get(server_id="default")


def _secret() -> str:
    return json.loads((settings.VAR_DIR / "demo.json").read_text())["web_secret"]


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "idp/home.html", {"servers": AuthorizationServer.objects.active()})


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "idp/demo.html", {"result": request.session.get("idp.demo.result")})


def login(request: HttpRequest) -> HttpResponse:
    server = _server()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    pending = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16), "verifier": verifier}
    request.session[SESSION_KEY] = pending
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": request.build_absolute_uri("/demo/callback"),
        "scope": "openid profile email offline_access",
        "state": pending["state"],
        "nonce": pending["nonce"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return HttpResponseRedirect(f"{server.endpoint_url('authorize')}?{urlencode(params)}")


def callback(request: HttpRequest) -> HttpResponse:
    server = _server()
    pending = request.session.pop(SESSION_KEY, None)
    if "error" in request.GET or not pending or request.GET.get("state") != pending["state"]:
        error = request.GET.get("error", "state mismatch")
        return render(request, "idp/demo.html", {"error": error}, status=400)
    token = requests.post(
        server.endpoint_url("token"),
        auth=(CLIENT_ID, _secret()),
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": request.GET.get("code", ""),
            "redirect_uri": request.build_absolute_uri("/demo/callback"),
            "code_verifier": pending["verifier"],
        },
    ).json()
    if "id_token" not in token:
        return render(request, "idp/demo.html", {"error": token.get("error", "no ID token")}, status=400)
    jwks = jwk.JWKSet.from_json(requests.get(server.endpoint_url("keys"), timeout=10).text)
    id_token = jwt.JWT(
        jwt=token["id_token"],
        key=jwks,
        expected_type="JWS",
        check_claims={"iss": server.issuer, "aud": CLIENT_ID, "exp": None, "nonce": pending["nonce"]},
    )
    access = jwt.JWT(
        jwt=token["access_token"],
        key=jwks,
        expected_type="JWS",
        check_claims={"iss": server.issuer, "aud": server.effective_audience, "exp": None},
    )
    userinfo = requests.get(
        server.endpoint_url("userinfo"), timeout=10, headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    request.session["idp.demo.result"] = {
        "id_token": json.loads(id_token.claims),
        "access_token": json.loads(access.claims),
        "userinfo": userinfo,
        "scope": token.get("scope"),
        "has_refresh_token": "refresh_token" in token,
    }
    return HttpResponseRedirect("/demo/")


urlpatterns = [
    path("", index, name="demo"),
    path("login", login, name="demo-login"),
    path("callback", callback, name="demo-callback"),
]
