"""A relying party's back-channel logout endpoint (OIDC Back-Channel Logout 1.0 §2.6-§2.8): a tiny Django site.

Settings, URLs and the view in one module (DJANGO_SETTINGS_MODULE=tests.flows.logout_receiver), served
by gunicorn from tests/flows/test_backchannel_logout.py. It knows only what a relying party is given:
the issuer (RECEIVER_ISSUER) and its JWKS URL (RECEIVER_JWKS_URL). ``POST /bcl/<client_id>`` verifies
the logout token with joserfc as §2.6 says and appends what it received, verified or not, to the JSON
lines file RECEIVER_LOG; it answers 200, or 400 with an error (§2.8). ``GET /fcl/<client_id>`` is its
front-channel logout page (Front-Channel §2): it records the ``iss`` and ``sid`` it was loaded with.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from tests.support.jose import fetch_jwks


SECRET_KEY = secrets.token_hex(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True

EVENT = "http://schemas.openid.net/event/backchannel-logout"
_write = threading.Lock()
_keys: KeySet | None = None


def key_set(kid: str) -> KeySet:
    """The IdP's JWKS, fetched again only for a key it has not seen (as relying parties cache it)."""
    global _keys
    if _keys is None or kid not in {key.kid for key in _keys.keys}:
        _keys = fetch_jwks(os.environ["RECEIVER_JWKS_URL"])
    return _keys


def verify(token: str, client_id: str) -> dict:
    """§2.6: signature (the OP's JWKS), typ, iss, aud, iat, exp, the event, sid and sub, jti, no nonce."""
    header = jws.extract_compact(token.encode()).protected
    decoded = jwt.decode(token, key_set(header.get("kid", "")), algorithms=["RS256", "PS256", "ES256"])
    if decoded.header.get("typ") != "logout+jwt":
        raise ValueError("not typed logout+jwt")
    issuer = {"essential": True, "value": os.environ["RECEIVER_ISSUER"]}
    audience = {"essential": True, "value": client_id}
    jwt.JWTClaimsRegistry(iss=issuer, aud=audience, exp={"essential": True}, iat={"essential": True}).validate(
        decoded.claims
    )
    claims = decoded.claims
    if claims.get("events", {}).get(EVENT) != {}:
        raise ValueError("no back-channel logout event")
    if "nonce" in claims:
        raise ValueError("a logout token must not carry a nonce")
    if not claims.get("sid") or not claims.get("sub") or not claims.get("jti"):
        raise ValueError("sid, sub and jti are expected")
    return claims


def record(entry: dict) -> None:
    with _write, open(os.environ["RECEIVER_LOG"], "a") as log:
        log.write(json.dumps(entry) + "\n")


@csrf_exempt
def backchannel_logout(request: HttpRequest, client_id: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        claims = verify(request.POST.get("logout_token", ""), client_id)
    except Exception as exc:  # any failed check: §2.8's 400
        record({"client_id": client_id, "error": f"{type(exc).__name__}: {exc}", "at": time.time()})
        return JsonResponse({"error": "invalid_request", "error_description": str(exc)}, status=400)
    record({"client_id": client_id, "claims": claims, "at": time.time()})
    response = HttpResponse(status=200)
    response["Cache-Control"] = "no-store"  # §2.8
    return response


def frontchannel_logout(request: HttpRequest, client_id: str) -> HttpResponse:
    """Front-Channel §2: the page the OP renders in an iframe; records the iss and sid it was given."""
    record({"client_id": client_id, "frontchannel": request.GET.dict(), "at": time.time()})
    return HttpResponse("<!DOCTYPE html><title>Signed out</title>")


def ready(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("bcl/<str:client_id>", backchannel_logout),
    path("fcl/<str:client_id>", frontchannel_logout),
    path("ready", ready),
]
