#!/usr/bin/env python3
"""Where the CPU of one authorization code + PKCE flow goes, step by step, in-process.

    .venv/bin/python bench/profile_flow.py [--database postgres|sqlite] [-n 60] [--sql STEP] [--profile [STEP]]

The flow is bench/scenarios.py's ``code_flow`` (what bench/run.py measures as auth_code_flow): a new
browser each time, GET /authorize → the hosted sign-in page → POST the password (Argon2id) →
/authorize again (consent remembered) → 302 with a code → POST /token with the PKCE verifier.

Every request goes through Django's WSGI handler (all the middleware, as under gunicorn) and only
the handler's call is timed, on CPU time (``time.process_time``), so the figures are the server's
CPU per step without any HTTP server or client. Queries per step are counted in a separate pass
(``CaptureQueriesContext`` forces Django's debug cursor, which costs CPU of its own).

- ``--database postgres`` (default): a fresh database at ``--database-url`` and the Redis cache at
  ``--cache-url``, like bench/run.py; ``--database sqlite``: the embedded default (a fresh SQLite file,
  local-memory cache).
- ``--sql STEP``: print the queries of one flow's STEP (``all`` for every step).
- ``--profile [STEP]``: cProfile (on CPU time) of the whole flow, or of one step, after the timing.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import re
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import scenarios, systems  # noqa: E402
from bench.run import PG, REDIS  # noqa: E402


STEPS = ("authorize", "sign-in page", "sign-in POST", "authorize again", "token")


class Browser:
    """A cookie jar in front of a WSGI application; ``cpu`` adds up the CPU of the application's calls."""

    def __init__(self, app) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, body: str = "", headers: dict[str, str] | None = None):
        parts = urlsplit(url)
        data = body.encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "HTTP_USER_AGENT": "profile_flow/1.0",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            "CONTENT_LENGTH": str(len(data)),
        }
        if data:
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer: dict = {}

        def start_response(status: str, response_headers: list, exc_info=None) -> None:
            answer["status"] = int(status.split()[0])
            answer["headers"] = response_headers

        started = time.process_time()
        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        cpu = time.process_time() - started
        headers_out: dict[str, str] = {}
        for name, value in answer["headers"]:
            if name.lower() == "set-cookie":
                for morsel in SimpleCookie(value).values():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(morsel.key, None)
                    else:
                        self.cookies[morsel.key] = morsel.value
            else:
                headers_out[name.lower()] = value
        return answer["status"], headers_out, content, cpu


def local(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def flow(app, info: dict, on_step) -> None:
    """One code flow in a new browser; ``on_step(name, run)`` runs each request (``run()`` returns the answer)."""
    web, user = info["web"], info["user"]
    browser = Browser(app)
    query, verifier = scenarios.authorization_request(web)

    def expect(name: str, status: int, method: str, url: str, body: str = "", headers=None):
        answer = on_step(name, lambda: browser.request(method, url, body, headers))
        if answer[0] != status:
            raise SystemExit(f"{name}: HTTP {answer[0]}, wanted {status}: {answer[2][:300]!r} {answer[1]}")
        return answer

    location = expect("authorize", 302, "GET", f"/oauth2/default/v1/authorize?{urlencode(query)}")[1]["location"]
    assert urlsplit(location).path == "/login/", location
    page = expect("sign-in page", 200, "GET", local(location))[2]
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    fields = {
        "csrfmiddlewaretoken": csrf,
        "username": user["username"],
        "password": user["password"],
        "next": parse_qs(urlsplit(location).query)["next"][0],
    }
    back = expect("sign-in POST", 302, "POST", local(location), urlencode(fields), {"Referer": "http://testserver/"})
    done = expect("authorize again", 302, "GET", local(back[1]["location"]))[1]["location"]
    code = parse_qs(urlsplit(done).query)["code"][0]
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": web["redirect_uri"],
            "code_verifier": verifier,
        }
    )
    basic = base64.b64encode(f"{web['client_id']}:{web['secret']}".encode()).decode()
    tokens = json.loads(
        expect("token", 200, "POST", "/oauth2/default/v1/token", body, {"Authorization": f"Basic {basic}"})[2]
    )
    assert {"access_token", "id_token", "refresh_token"} <= tokens.keys(), tokens


def prepare(args) -> dict:
    """A fresh database with the bench's clients and user (bench/setup_ours.py); the environment for Django."""
    env = {
        "DJANGO_SETTINGS_MODULE": "idp.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "IDP_BASE_URL": "http://testserver",
        "ALLOWED_HOSTS": "testserver",
        "DEBUG": "0",
        "IDP_VAR_DIR": tempfile.mkdtemp(prefix="profile-flow-var-"),
        # One user signs in from one address many times a second: raise the limits (still counted), as run.py does.
        "IDP_AUTHN_RATE_LIMITS": json.dumps({"authn": {"username": [10**9, 60], "address": [10**9, 60]}}),
    }
    if args.database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='profile-flow-')}/db.sqlite3"
        env["CACHE_URL"] = "locmemcache://"
    else:
        env["DATABASE_URL"] = args.database_url
        env["CACHE_URL"] = f"{args.cache_url}?key_prefix=profile-flow-{secrets.token_hex(4)}"
        systems.recreate_database(args.database_url)
    for name in [k for k in os.environ if k.startswith(("DJANGO_", "DATABASE_URL", "CACHE_URL"))]:
        del os.environ[name]
    os.environ.update(env)
    full_env = os.environ.copy()
    systems.run_checked([systems.PYTHON, "manage.py", "migrate", "--noinput"], full_env)
    return json.loads(systems.run_checked([systems.PYTHON, str(systems.BENCH / "setup_ours.py")], full_env))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--database-url", default=f"{PG}/bench_profile_flow?conn_max_age=600")
    parser.add_argument("--cache-url", default=REDIS)
    parser.add_argument("-n", type=int, default=60, help="timed flows")
    parser.add_argument("--sql", metavar="STEP", help="print the queries of this step of one flow ('all': every step)")
    parser.add_argument("--profile", metavar="STEP", nargs="?", const="flow", help="cProfile the flow or one step")
    parser.add_argument("--top", type=int, default=40, help="functions the profile lists")
    args = parser.parse_args()

    info = prepare(args)
    import django

    django.setup()
    import logging

    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from oidc_flows import hashers

    app = get_wsgi_application()  # sets Django up again, logging included: silence it after this
    devnull = open(os.devnull, "w")  # noqa: SIM115 (for the whole run)
    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    for handler in {h for logger in loggers for h in logger.handlers}:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)  # the request log is still formatted, as in production

    def plain(name, run):
        return run()

    for _ in range(5):
        flow(app, info, plain)  # warm: imports, templates, snapshots, the connection, the key cache

    queries: dict[str, list[int]] = defaultdict(list)
    shown: list[str] = []

    def counted(name, run):
        with CaptureQueriesContext(connection) as captured:
            answer = run()
        queries[name].append(len(captured.captured_queries))
        if args.sql in (name, "all") and name not in shown:
            shown.append(name)
            print(f"\n-- {name}: {len(captured.captured_queries)} queries")
            for query in captured.captured_queries:
                print(f"  {query['sql'][:260]}")
        return answer

    for _ in range(3):
        flow(app, info, counted)

    cpu: dict[str, float] = defaultdict(float)

    def timed(name, run):
        answer = run()
        cpu[name] += answer[3]
        return answer

    for _ in range(args.n):
        flow(app, info, timed)

    hasher = hashers.Argon2idPasswordHasher()
    encoded = hasher.encode("profile: password", hasher.salt())
    started = time.process_time()
    for _ in range(10):
        hasher.verify("profile: password", encoded)
    argon = 1000 * (time.process_time() - started) / 10

    print(f"\n{args.database}: {args.n} flows, server CPU per step (WSGI handler calls only), queries per step")
    print(f"{'step':<18} {'CPU ms':>8} {'queries':>8}")
    total = 0.0
    for name in STEPS:
        ms = 1000 * cpu[name] / args.n
        total += ms
        print(f"{name:<18} {ms:8.2f} {max(queries[name]):8d}")
    count = sum(max(queries[name]) for name in STEPS)
    print(f"{'flow':<18} {total:8.2f} {count:8d}   = {1000 / total:.1f} flows per CPU-second")
    print(f"Argon2id verify: {argon:.2f} ms CPU (in the sign-in POST); the flow without it: {total - argon:.2f} ms")

    if args.profile:
        profile = cProfile.Profile(time.process_time)  # CPU time: what the process computes, not what it waits for

        def profiled(name, run):
            if args.profile not in ("flow", name):
                return run()
            profile.enable()
            try:
                return run()
            finally:
                profile.disable()

        for _ in range(max(args.n // 2, 10)):
            flow(app, info, profiled)
        profile.dump_stats(os.environ.get("BENCH_PROFILE_DUMP", "/tmp/oidc-flow-profile.pstats"))
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top // 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
