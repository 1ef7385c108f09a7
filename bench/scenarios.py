"""What each scenario sends to each system, and what it must get back.

A scenario is a *step* for load.run: one request (or one whole flow) that raises Failed on any
unexpected answer. Endpoints differ per system; the requests are the same.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from .load import Client, Failed, Response, Step


@dataclass(frozen=True)
class Endpoints:
    token: str
    introspect: str
    jwks: str
    discovery: str
    authorize: str = ""
    userinfo: str = ""
    login: str = ""
    authorize_extra: tuple[tuple[str, str], ...] = ()


OURS = Endpoints(
    token="/oauth2/default/v1/token",
    introspect="/oauth2/default/v1/introspect",
    jwks="/oauth2/default/v1/keys",
    discovery="/oauth2/default/.well-known/openid-configuration",
    authorize="/oauth2/default/v1/authorize",
    userinfo="/oauth2/default/v1/userinfo",
    login="/login/",
)
DOT = Endpoints(
    token="/o/token/",
    introspect="/o/introspect/",
    jwks="/o/.well-known/jwks.json",
    discovery="/o/.well-known/openid-configuration/",
    authorize="/o/authorize/",
    userinfo="/o/userinfo/",
    login="/accounts/login/",
    authorize_extra=(("approval_prompt", "auto"),),  # DOT's remembered consent: a live token with these scopes
)
NODE = Endpoints(
    token="/token", introspect="/token/introspection", jwks="/jwks", discovery="/.well-known/openid-configuration"
)
#: node-oidc-provider's resource whose JWT access tokens are signed ES256 (bench/peers/node/server.js).
NODE_ES256_RESOURCE = "https://es256.example/"


def ours_on(server_id: str) -> Endpoints:
    """Our endpoints on another authorization server than ``default``."""
    paths = {f.name: getattr(OURS, f.name) for f in fields(OURS) if isinstance(getattr(OURS, f.name), str)}
    return replace(OURS, **{k: v.replace("/oauth2/default/", f"/oauth2/{server_id}/") for k, v in paths.items()})


def jwt_header(token: str) -> dict:
    """The protected header of a compact JWS (not verified: the scenario checks which algorithm signed)."""
    head = token.split(".", 1)[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: form-encode the id and secret, then Basic."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def expect(response: Response, status: int, what: str) -> Response:
    if response.status != status:
        raise Failed(f"{what}: HTTP {response.status}, wanted {status}: {response.body[:200]!r}")
    return response


def expect_json(response: Response, what: str, *keys: str) -> dict:
    data = json.loads(expect(response, 200, what).body)
    if missing := [k for k in keys if k not in data]:
        raise Failed(f"{what}: no {', '.join(missing)} in the answer")
    return data


def _local(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def client_credentials(ep: Endpoints, cred: dict, extra: dict[str, str] | None = None) -> Step:
    body = urlencode({"grant_type": "client_credentials", "scope": cred["scope"]} | (extra or {}))
    headers = FORM | basic(cred["client_id"], cred["secret"])

    def step(client: Client, index: int) -> None:
        expect_json(client.request("POST", ep.token, body, headers), "client_credentials", "access_token")

    return step


def _signed(key, header: dict, claims: dict) -> str:
    from jwcrypto import jws

    token = jws.JWS(json.dumps(claims, separators=(",", ":")).encode())
    token.add_signature(key, alg=header["alg"], protected=json.dumps(header))
    return token.serialize(compact=True)


def client_credentials_private_key_jwt_dpop(base_url: str, ep: Endpoints, cred: dict) -> Step:
    """Client credentials with private_key_jwt (RFC 7523) and a DPoP proof (RFC 9449), both ES256.

    Every request signs a fresh assertion and a fresh proof (each ``jti`` is accepted once): that
    signing is the load generator's CPU, not the server's, which is what the figures show. The client
    requires DPoP, so the server demands its nonce: each proof carries the latest ``DPoP-Nonce`` seen
    (every answer brings the next one), as openid-client does; a ``use_dpop_nonce`` answer is retried
    once, and counted as a request of its own.
    """
    from jwcrypto import jwk

    client_key = jwk.JWK.from_json(json.dumps(cred["private_jwk"]))
    proof_key = jwk.JWK.generate(kty="EC", crv="P-256")
    proof_jwk = proof_key.export_public(as_dict=True)
    token_url = base_url + ep.token
    scope = cred["scope"]
    nonce: dict[str, str] = {}

    def request(client: Client) -> Response:
        now = int(time.time())
        assertion = _signed(
            client_key,
            {"alg": "ES256", "kid": cred["private_jwk"]["kid"]},
            {
                "iss": cred["client_id"],
                "sub": cred["client_id"],
                "aud": token_url,
                "iat": now,
                "exp": now + 60,
                "jti": secrets.token_urlsafe(16),
            },
        )
        claims = {"htm": "POST", "htu": token_url, "iat": now, "jti": secrets.token_urlsafe(16)}
        if "value" in nonce:
            claims["nonce"] = nonce["value"]
        proof = _signed(proof_key, {"typ": "dpop+jwt", "alg": "ES256", "jwk": proof_jwk}, claims)
        body = urlencode(
            {
                "grant_type": "client_credentials",
                "scope": scope,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            }
        )
        answer = client.request("POST", ep.token, body, FORM | {"DPoP": proof})
        if fresh := answer.header("DPoP-Nonce"):
            nonce["value"] = fresh
        return answer

    def step(client: Client, index: int) -> None:
        answer = request(client)
        if answer.status == 400 and b"use_dpop_nonce" in answer.body:
            answer = request(client)  # the nonce window moved on (every 5 minutes)
        data = expect_json(answer, "pkjwt+dpop", "access_token")
        if data.get("token_type") != "DPoP":
            raise Failed(f"pkjwt+dpop: token_type {data.get('token_type')!r}, wanted DPoP")

    return step


def token_for_introspection(client: Client, ep: Endpoints, cred: dict, extra: dict[str, str] | None = None) -> str:
    body = urlencode({"grant_type": "client_credentials", "scope": cred["scope"]} | (extra or {}))
    answer = client.request("POST", ep.token, body, FORM | basic(cred["client_id"], cred["secret"]))
    return expect_json(answer, "client_credentials", "access_token")["access_token"]


def introspect(ep: Endpoints, cred: dict, token: str) -> Step:
    body = urlencode({"token": token})
    headers = FORM | basic(cred["client_id"], cred["secret"])

    def step(client: Client, index: int) -> None:
        data = expect_json(client.request("POST", ep.introspect, body, headers), "introspection", "active")
        if data["active"] is not True:
            raise Failed("introspection: the token is not active")

    return step


def get(path: str, what: str, *keys: str) -> Step:
    def step(client: Client, index: int) -> None:
        expect_json(client.request("GET", path), what, *keys)

    return step


def userinfo(ep: Endpoints, access_token: str) -> Step:
    headers = {"Authorization": f"Bearer {access_token}"}

    def step(client: Client, index: int) -> None:
        expect_json(client.request("GET", ep.userinfo, headers=headers), "userinfo", "sub")

    return step


def authorization_request(web: dict) -> tuple[dict[str, str], str]:
    """The query of an authorization code + PKCE request for the ``web`` client, and its PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": web["client_id"],
        "redirect_uri": web["redirect_uri"],
        "scope": web["scope"],
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return query, verifier


def authorize(client: Client, ep: Endpoints, web: dict, user: dict) -> tuple[str, str]:
    """Authorization code + PKCE up to the code: /authorize, sign-in if needed, consent remembered.

    Returns the code and its PKCE verifier."""
    query, verifier = authorization_request(web)
    query |= dict(ep.authorize_extra)
    answer = expect(client.request("GET", f"{ep.authorize}?{urlencode(query)}"), 302, "authorize")
    location = answer.header("Location")
    if urlsplit(location).path == ep.login:
        form = expect(client.request("GET", _local(location)), 200, "sign-in page")
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
        if csrf is None:
            raise Failed("sign-in page: no CSRF token")
        next_url = parse_qs(urlsplit(location).query)["next"][0]
        answers = {
            "csrfmiddlewaretoken": csrf.group(1).decode(),
            "username": user["username"],
            "password": user["password"],
            "next": next_url,
        }
        signed_in = expect(client.request("POST", _local(location), urlencode(answers), FORM), 302, "sign-in")
        answer = expect(client.request("GET", _local(signed_in.header("Location"))), 302, "authorize after sign-in")
        location = answer.header("Location")
    params = parse_qs(urlsplit(location).query)
    if "code" not in params:
        raise Failed(f"authorize: no code in the redirect (consent page or error?): {location[:200]}")
    return params["code"][0], verifier


def exchange(client: Client, ep: Endpoints, web: dict, code: str, verifier: str) -> Response:
    """The code exchange at the token endpoint (the answer, unchecked)."""
    grant = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    body = urlencode(grant | {"redirect_uri": web["redirect_uri"]})
    return client.request("POST", ep.token, body, FORM | basic(web["client_id"], web["secret"]))


def code_flow(client: Client, ep: Endpoints, web: dict, user: dict) -> dict:
    """Authorization code + PKCE: /authorize, sign-in if needed, consent remembered, code exchange."""
    answer = exchange(client, ep, web, *authorize(client, ep, web, user))
    return expect_json(answer, "code exchange", "access_token", "id_token", "refresh_token")


def full_flow(ep: Endpoints, web: dict, user: dict) -> Step:
    def step(client: Client, index: int) -> None:
        client.cookies.clear()  # a new browser: sign-in every time
        code_flow(client, ep, web, user)

    return step


def refresh(ep: Endpoints, web: dict, chains: list[str]) -> Step:
    """Refresh tokens rotate: each thread follows its own chain (``chains[index]``)."""
    headers = FORM | basic(web["client_id"], web["secret"])

    def step(client: Client, index: int) -> None:
        body = urlencode({"grant_type": "refresh_token", "refresh_token": chains[index]})
        data = expect_json(client.request("POST", ep.token, body, headers), "refresh", "access_token", "refresh_token")
        chains[index] = data["refresh_token"]

    return step


def race(base_url: str, attempt: Callable[[Client], Response], n: int) -> Counter:
    """``n`` threads send the same request at once (connected first, released together).

    Returns how the answers were spread: "ok" (HTTP 200), "invalid_grant" (HTTP 400 invalid_grant),
    or "HTTP <status>" for anything else (a 503 "database is locked", a 500...)."""
    clients = [Client(base_url) for _ in range(n)]
    for client in clients:
        client.request("GET", "/healthz")  # connected before the start line, so all arrive together
    start_line, outcomes, lock = threading.Barrier(n), Counter(), threading.Lock()

    def run(client: Client) -> None:
        start_line.wait()
        try:
            answer = attempt(client)
            if answer.status == 200:
                outcome = "ok"
            elif answer.status == 400 and b"invalid_grant" in answer.body:
                outcome = "invalid_grant"
            else:
                outcome = f"HTTP {answer.status}"
        except Exception as exc:  # noqa: BLE001 - a dropped connection is an outcome too
            outcome = type(exc).__name__
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return outcomes


def race_code(base_url: str, ep: Endpoints, web: dict, user: dict, n: int = 20) -> Counter:
    """One fresh code, exchanged by ``n`` clients at once: exactly one may get tokens (RFC 6749 §4.1.2)."""
    client = Client(base_url)
    code, verifier = authorize(client, ep, web, user)
    client.close()
    return race(base_url, lambda c: exchange(c, ep, web, code, verifier), n)


def race_refresh(base_url: str, ep: Endpoints, web: dict, refresh_token: str, n: int = 20) -> Counter:
    """One refresh token, used by ``n`` clients at once: rotation lets exactly one win."""
    body = urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token})
    headers = FORM | basic(web["client_id"], web["secret"])
    return race(base_url, lambda c: c.request("POST", ep.token, body, headers), n)
