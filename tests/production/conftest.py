"""The IdP as deployed: gunicorn processes (gunicorn.conf.py) on one database.

``deployment``: PostgreSQL (DATABASE_URL=postgres://...) and Redis (CACHE_URL=redis://...); without
them its tests are skipped, unless REQUIRE_POSTGRES=1 / REQUIRE_REDIS=1 (CI) make that a failure. It
creates its own database next to the one DATABASE_URL names (not pytest's test database), migrated
once per session and dropped at the end.
``sqlite_deployment``: always available, the embedded default as ``make run`` has it: a SQLite file
(configured by idp/settings.py, nothing added here) and each process's local-memory cache.
Every node of a deployment shares SECRET_KEY and IDP_BASE_URL, so every node issues tokens for the same
issuers.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests


ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60
PASSWORD = "correct horse battery staple"
RP_REDIRECT = "https://rp.example/cb"
SETUP = """
import json
from django.contrib.auth import get_user_model
from oidc_flows.models import UserProfile
from oidc_flows.registration import register_application

spec = json.loads({spec!r})
user = get_user_model().objects.create_user("alice", email="alice@example.com", password=spec["password"])
UserProfile.objects.create(user=user, email_verified=True)
register_application("Web app", "web", redirect_uris=[spec["redirect_uri"]], client_id=spec["web_id"],
                     client_secret=spec["web_secret"], skip_consent=True)
register_application("Service", "service", client_id=spec["service_id"], client_secret=spec["service_secret"])
# Asks the user's consent: the sign-in flows of test_concurrent_flows.py post the consent form.
register_application("Consent app", "web", redirect_uris=[spec["redirect_uri"]], client_id=spec["consent_id"],
                     client_secret=spec["consent_secret"])
"""


def _required(name: str) -> bool:
    return os.environ.get(name) == "1"


def _unavailable(reason: str, require: str) -> None:
    if _required(require):
        pytest.fail(f"{reason} ({require}=1)")
    pytest.skip(reason)


def _postgres_url() -> str:
    """DATABASE_URL when it names PostgreSQL, checked to answer."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        _unavailable("needs PostgreSQL: set DATABASE_URL=postgres://...", "REQUIRE_POSTGRES")
    import psycopg

    try:
        psycopg.connect(_with_database(url, "postgres"), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL at DATABASE_URL does not answer: {type(exc).__name__}", "REQUIRE_POSTGRES")
    return url


def _redis_url() -> str:
    url = os.environ.get("CACHE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        _unavailable("needs Redis: set CACHE_URL=redis://...", "REQUIRE_REDIS")
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            answered = sock.recv(16).startswith(b"+PONG")
    except OSError:
        answered = False
    if not answered:
        _unavailable("Redis at CACHE_URL does not answer PING", "REQUIRE_REDIS")
    return url


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(url, "postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


@dataclass
class Deployment:
    """One migrated database, the environment every node shares, and the accounts set up in it."""

    env: dict[str, str]
    base_url: str  # IDP_BASE_URL of every node: node A's URL
    port: int  # node A's port
    database_url: str
    var_dir: Path
    web_id: str = "web-app"
    web_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    service_id: str = "service-app"
    service_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    consent_id: str = "consent-app"
    consent_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    nodes: list[Node] = field(default_factory=list)

    def query_one(self, sql: str, params: tuple = ()) -> tuple:
        """One row of ``sql`` (``%s`` placeholders) read straight from the deployment's database."""
        if self.database_url.startswith("sqlite:///"):
            path = urlsplit(self.database_url).path.removeprefix("/")  # sqlite:////abs/path?options
            with closing(sqlite3.connect(path, timeout=20)) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchone()
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchone()

    def manage(self, *args: str, env: dict[str, str] | None = None, timeout: float = START_SECONDS) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            pytest.fail(f"manage.py {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start_node(self, name: str, *, port: int | None = None, workers: int = 1, threads: int = 4, **env) -> Node:
        """Start gunicorn with the repository's gunicorn.conf.py; stopped at the end of the session."""
        port = port or free_port()
        node_env = self.env | {"PORT": str(port), "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
        log = self.var_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "idp.wsgi"],
                cwd=ROOT,
                env=node_env | env,
                stdout=out,
                stderr=out,
            )
        node = Node(name, f"http://127.0.0.1:{port}", process, log)
        self.nodes.append(node)
        node.wait_until_up()
        return node


@dataclass
class Node:
    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or the worker is still loading Django
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"gunicorn {self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # graceful: gunicorn lets the workers finish their requests
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_lines(self) -> list[dict]:
        """The JSON lines the node has written so far."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


def _environment(name: str, port: int, var_dir: Path, **env: str) -> dict[str, str]:
    """What every node and command of one deployment runs with, plus ``env`` (DATABASE_URL, CACHE_URL)."""
    inherited = ("DJANGO_", "PYTEST_", "DATABASE_URL", "CACHE_URL")  # the test run's own, never the deployment's
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(inherited)},
        "DJANGO_SETTINGS_MODULE": "idp.settings",
        "CACHE_KEY_PREFIX": name,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "IDP_BASE_URL": f"http://127.0.0.1:{port}",  # one issuer for every node
        "IDP_VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # Races and two nodes sign the same user in from 127.0.0.1: the sign-in rate limits are not under test here.
        "IDP_AUTHN_RATE_LIMITS": json.dumps({"authn": {"username": [10_000, 60], "address": [10_000, 60]}}),
        **env,
    }


@contextmanager
def _deployed(env: dict[str, str], port: int, var_dir: Path, *, collectstatic: bool) -> Iterator[Deployment]:
    """Migrate the database of ``env``, set up the accounts, and stop every node started on it at the end."""
    deployment = Deployment(env, env["IDP_BASE_URL"], port, env["DATABASE_URL"], var_dir)
    try:
        deployment.manage("migrate", "--noinput")
        if collectstatic:
            deployment.manage("collectstatic", "--noinput")
        spec = {
            "password": PASSWORD,
            "redirect_uri": RP_REDIRECT,
            "web_id": deployment.web_id,
            "web_secret": deployment.web_secret,
            "service_id": deployment.service_id,
            "service_secret": deployment.service_secret,
            "consent_id": deployment.consent_id,
            "consent_secret": deployment.consent_secret,
        }
        deployment.manage("shell", "-c", SETUP.format(spec=json.dumps(spec)))
        yield deployment
    finally:
        for node in deployment.nodes:
            node.process.terminate()  # all at once: each takes a moment to shut down
        for node in deployment.nodes:
            node.stop()


@pytest.fixture(scope="session")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    """PostgreSQL and Redis, as in production."""
    server_url = _postgres_url()
    cache_url = _redis_url()
    name = f"oidc_production_{uuid.uuid4().hex[:8]}"
    database_url = _with_database(server_url, name)
    var_dir = tmp_path_factory.mktemp("production")
    port = free_port()
    env = _environment(name, port, var_dir, DATABASE_URL=database_url, CACHE_URL=cache_url)
    _psql(server_url, f'CREATE DATABASE "{name}"')
    try:
        with _deployed(env, port, var_dir, collectstatic=True) as deployment:
            yield deployment
    finally:
        _psql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _delete_cache_keys(cache_url, name)


@pytest.fixture(scope="session")
def sqlite_deployment(tmp_path_factory) -> Iterator[Deployment]:
    """The embedded default of ``make run``: a SQLite file and no CACHE_URL (each process's local memory)."""
    var_dir = tmp_path_factory.mktemp("production-sqlite")
    port = free_port()
    # SQLITE_DATABASE_QUERY: e.g. "?transaction_mode=DEFERRED" (django-environ puts it in OPTIONS, which
    # idp/settings.py keeps) to see these tests fail with the settings they guard against.
    url = f"sqlite:///{var_dir / 'db.sqlite3'}{os.environ.get('SQLITE_DATABASE_QUERY', '')}"
    env = _environment(f"sqlite_{uuid.uuid4().hex[:8]}", port, var_dir, DATABASE_URL=url)
    with _deployed(env, port, var_dir, collectstatic=False) as deployment:
        yield deployment


def _delete_cache_keys(url: str, prefix: str) -> None:
    """Delete the keys the nodes wrote (their CACHE_KEY_PREFIX), nothing else of that Redis database."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="session")
def node_a(deployment) -> Node:
    """The node whose URL is IDP_BASE_URL: 2 workers, 8 threads each, for the concurrency tests."""
    return deployment.start_node("a", port=deployment.port, workers=2, threads=8)


@pytest.fixture(scope="session")
def node_b(deployment, node_a) -> Node:
    return deployment.start_node("b", workers=1, threads=4)


@pytest.fixture(scope="session")
def sqlite_node(sqlite_deployment) -> Node:
    """gunicorn on the SQLite file: 2 workers as ``make run`` starts, 8 threads each for the concurrency tests."""
    return sqlite_deployment.start_node("sqlite", port=sqlite_deployment.port, workers=2, threads=8)


@pytest.fixture(
    params=[pytest.param("sqlite", marks=pytest.mark.xdist_group("production-sqlite")), pytest.param("postgres")]
)
def idp(request) -> tuple[Deployment, Node]:
    """The tests that take it run twice: on the embedded default (SQLite, always) and on PostgreSQL + Redis.

    One worker runs every SQLite one (``--dist loadgroup``), so one gunicorn serves them all.
    """
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_deployment"), request.getfixturevalue("sqlite_node")
    return request.getfixturevalue("deployment"), request.getfixturevalue("node_a")
