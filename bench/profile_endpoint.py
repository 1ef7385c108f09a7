#!/usr/bin/env python3
"""Where the time of one endpoint goes: N requests in-process (Django's test client) under a profiler.

    .venv/bin/python bench/profile_endpoint.py client_credentials [-n 300] [--sql]
    .venv/bin/python bench/profile_endpoint.py client_credentials_dpop   # the same with a DPoP proof (RFC 9449)

Uses its own PostgreSQL database (``<BENCH_DB_PREFIX>_profile``, default ``bench_profile``, re-created)
and the Redis cache, like run.py.
cProfile on CPU time (top functions by cumulative and own time); ``--sql`` prints the queries of
one request instead. Logging is switched off (LOG_LEVEL=WARNING) so the profile shows the endpoint.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlencode


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import scenarios, systems  # noqa: E402
from bench.run import PG, REDIS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "scenario",
        choices=[
            "client_credentials",
            "client_credentials_dpop",
            "introspection",
            "jwks",
            "discovery",
            "userinfo",
            "refresh",
        ],
    )
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request")
    parser.add_argument("--top", type=int, default=45, help="functions to list")
    args = parser.parse_args()

    database_url = f"{PG}/{os.environ.get('BENCH_DB_PREFIX', 'bench')}_profile?conn_max_age=600"
    env = {
        "DJANGO_SETTINGS_MODULE": "idp.settings",
        "DATABASE_URL": database_url,
        "CACHE_URL": f"{REDIS}?key_prefix=profile-{secrets.token_hex(4)}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "IDP_BASE_URL": "http://testserver",
        "ALLOWED_HOSTS": "testserver",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    systems.recreate_database(database_url)
    full_env = os.environ.copy()
    systems.run_checked([systems.PYTHON, "manage.py", "migrate", "--noinput"], full_env)
    info = json.loads(systems.run_checked([systems.PYTHON, str(systems.BENCH / "setup_ours.py")], full_env))

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    service, web = info["service"], info["web"]
    ep = scenarios.OURS
    auth = scenarios.basic(service["client_id"], service["secret"])["Authorization"]
    form = "application/x-www-form-urlencoded"

    def token(**headers: str) -> dict:
        body = urlencode({"grant_type": "client_credentials", "scope": service["scope"]})
        answer = client.post(ep.token, body, content_type=form, HTTP_AUTHORIZATION=auth, **headers)
        assert answer.status_code == 200, answer.content
        return answer.json()

    # DPoP proofs are the client's work: signed before the clock starts, one per request (each is used once).
    proofs = _dpop_proofs(f"http://testserver{ep.token}", 2 * args.n + 25) if args.scenario.endswith("_dpop") else []

    intro = token()["access_token"]
    chain = [_refresh_token(client, ep, web, info["user"])] if args.scenario in ("refresh", "userinfo") else []

    def request() -> None:
        if args.scenario == "client_credentials":
            token()
        elif args.scenario == "client_credentials_dpop":
            assert token(HTTP_DPOP=proofs.pop())["token_type"] == "DPoP"
        elif args.scenario == "introspection":
            answer = client.post(ep.introspect, f"token={intro}", content_type=form, HTTP_AUTHORIZATION=auth)
            assert answer.json()["active"] is True
        elif args.scenario in ("jwks", "discovery"):
            assert client.get(getattr(ep, args.scenario)).status_code == 200
        elif args.scenario == "userinfo":
            answer = client.get(ep.userinfo, HTTP_AUTHORIZATION=f"Bearer {chain[0][1]}")
            assert answer.status_code == 200, answer.content
        elif args.scenario == "refresh":
            web_auth = scenarios.basic(web["client_id"], web["secret"])["Authorization"]
            body = urlencode({"grant_type": "refresh_token", "refresh_token": chain[0][0]})
            answer = client.post(ep.token, body, content_type=form, HTTP_AUTHORIZATION=web_auth)
            assert answer.status_code == 200, answer.content
            chain[0] = (answer.json()["refresh_token"], chain[0][1])

    for _ in range(20):
        request()  # warm: caches, connections, imports
    if args.sql:
        with CaptureQueriesContext(connection) as queries:
            request()
        for query in queries.captured_queries:
            print(f"{query['time']}s  {query['sql'][:300]}")
        print(f"{len(queries.captured_queries)} queries")
        return 0
    started = time.process_time()
    for _ in range(args.n):
        request()
    plain = 1000 * (time.process_time() - started) / args.n
    # CPU time, not wall time: the profile shows what this process computes, not what it waits for.
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(args.n):
        request()
    profile.disable()
    profile.dump_stats(os.environ.get("BENCH_PROFILE_DUMP", "/tmp/oidc-bench-profile.pstats"))
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top // 2)
    print(f"{plain:.2f} ms CPU per request in-process (Django's test client, no profiler; {args.n} requests)")
    return 0


def _dpop_proofs(url: str, count: int) -> list[str]:
    """``count`` DPoP proofs of ``POST url`` by one ES256 key, as a client signs them."""
    from jwcrypto import jwk, jws

    key = jwk.JWK.generate(kty="EC", crv="P-256")
    header = json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.export_public(as_dict=True)})
    proofs = []
    for _ in range(count):
        claims = {"jti": secrets.token_urlsafe(16), "htm": "POST", "htu": url, "iat": int(time.time())}
        signed = jws.JWS(json.dumps(claims))
        signed.add_signature(key, alg="ES256", protected=header)
        proofs.append(signed.serialize(compact=True))
    return proofs


def _refresh_token(client, ep, web: dict, user: dict) -> tuple[str, str]:
    """A code flow through Django's test client; returns (refresh token, access token)."""
    from bench.load import Response

    class TestClientAdapter:
        """load.Client's interface over Django's test client (cookies kept by the test client)."""

        cookies: dict = {}

        def request(self, method: str, path: str, body=None, headers=None) -> Response:
            extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
            extra.pop("HTTP_CONTENT_TYPE", None)
            if method == "GET":
                answer = client.get(path, **extra)
            else:
                kind = (headers or {}).get("Content-Type")
                answer = client.generic(method, path, body or "", content_type=kind, **extra)
            from email.message import Message

            message = Message()
            for name, value in answer.items():
                message[name] = value
            return Response(answer.status_code, message, answer.content)

    data = scenarios.code_flow(TestClientAdapter(), ep, web, user)
    return data["refresh_token"], data["access_token"]


if __name__ == "__main__":
    sys.exit(main())
