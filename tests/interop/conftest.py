"""The real IdP under gunicorn, and the relying parties the interop tests drive against it.

One IdP per test session (per xdist worker): its own var dir and SQLite file, or a database of its own on
the PostgreSQL server of DATABASE_URL (never pytest-django's test database); ``migrate``, the set-up
script (idp_setup.py), then gunicorn on a loopback socket bound here, so no port can be taken in
between. The mozilla-django-oidc site and the single-page app start only for the tests that use them.
Everything is stopped at the end of the session.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from joserfc.jwk import ECKey, RSAKey

from tests.factories import PASSWORD
from tests.support import processes
from tests.support.oauth import Browser


HERE = Path(__file__).resolve().parent
JS = HERE / "js"
START_SECONDS = 60  # migrate + set-up + first answer; typically a few seconds
MIN_NODE = 20
RP_REDIRECT = "https://rp.example/cb"  # never served: the test reads the code off the redirect


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: real client libraries against the IdP under gunicorn")
    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist --dist loadgroup keeps a group on one worker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            # One IdP serves them all: with --dist loadgroup they share one worker (and one server).
            item.add_marker(pytest.mark.interop)
            item.add_marker(pytest.mark.xdist_group("interop"))


@dataclass(frozen=True)
class Client:
    """An application registered in the IdP for one of the libraries, with its plaintext secret."""

    client_id: str
    app_type: str
    secret: str | None = field(default=None, repr=False)
    redirect_uri: str = RP_REDIRECT
    options: dict = field(default_factory=dict)  # grant_types, auth_method, allowed_origins (idp_setup.py)
    private_key: dict | None = field(
        default=None, repr=False
    )  # private_key_jwt: its private JWK; the IdP gets the public

    def registration(self) -> dict:
        """The client as idp_setup.py registers it."""
        redirect_uris = [self.redirect_uri] if self.app_type != "service" else []
        jwks = {}
        if self.private_key:
            public = {k: v for k, v in self.private_key.items() if k in ("kty", "kid", "n", "e", "crv", "x", "y")}
            jwks = {"jwks": {"keys": [public]}}
        return {
            "type": self.app_type,
            "client_id": self.client_id,
            "secret": self.secret,
            "redirect_uris": redirect_uris,
            **self.options,
            **jwks,
        }


def make_clients(rp: str, spa: str) -> dict[str, Client]:
    code_and_refresh = ["authorization_code", "refresh_token"]
    return {
        "web": Client(
            "authlib-web", "web", secrets.token_urlsafe(32), options={"grant_types": [*code_and_refresh, "password"]}
        ),
        "service": Client("authlib-service", "service", secrets.token_urlsafe(32)),
        "openid-client": Client(
            "openid-client", "web", secrets.token_urlsafe(32), options={"grant_types": code_and_refresh}
        ),
        # The same with "Require DPoP": openid-client binds its tokens and answers the server's nonces.
        "openid-client-dpop": Client(
            "openid-client-dpop",
            "web",
            secrets.token_urlsafe(32),
            options={"grant_types": code_and_refresh, "dpop": True},
        ),
        # mozilla-django-oidc sends its secret in the form body by default.
        "django-rp": Client(
            "django-rp", "web", secrets.token_urlsafe(32), f"{rp}/oidc/callback/", {"auth_method": "client_secret_post"}
        ),
        "spa": Client("spa", "spa", None, f"{spa}/callback.html", {"allowed_origins": [spa]}),
        # FAPI 2.0 (the `fapi` server): private_key_jwt with a P-256 key (ES256), its public half registered inline.
        "openid-client-fapi": Client(
            "openid-client-fapi",
            "web",
            None,
            options={"grant_types": code_and_refresh, "auth_method": "private_key_jwt"},
            private_key=ECKey.generate_key("P-256", private=True, auto_kid=True).as_dict(private=True),
        ),
        # RFC 8628: a native application (a TV, a command-line tool) an administrator enabled for the device grant.
        "openid-client-device": Client(
            "openid-client-device",
            "native",
            options={"grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]},
        ),
        # RFC 7523: a web client that proves itself with its private key, a service with an HMAC of its secret.
        "private-key-jwt": Client(
            "authlib-private-key-jwt",
            "web",
            options={"grant_types": code_and_refresh, "auth_method": "private_key_jwt"},
            private_key=RSAKey.generate_key(2048, private=True, auto_kid=True).as_dict(private=True),
        ),
        "client-secret-jwt": Client(
            "authlib-client-secret-jwt",
            "service",
            secrets.token_urlsafe(48),
            options={"auth_method": "client_secret_jwt"},
        ),
    }


#: Servers besides `default`: one under the FAPI 2.0 Security Profile, its keys ES256 (FAPI 2.0 §5.4.1).
SERVERS = [{"server_id": "fapi", "fapi_profile": True, "key_alg": "ES256"}]


@dataclass(frozen=True)
class IdP:
    """The running IdP, seen from outside."""

    base_url: str
    var_dir: Path
    clients: dict[str, Client]
    username: str = "alice"
    password: str = field(default=PASSWORD, repr=False)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/oauth2/default"

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/v1/{name}"

    def issuer_of(self, server_id: str) -> str:
        return f"{self.base_url}/oauth2/{server_id}"


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="session")
def sockets() -> Iterator[dict[str, socket.socket]]:
    """Listening sockets for the IdP, the Django RP and the SPA: their URLs are known before anything starts."""
    socks = {name: listening_socket() for name in ("idp", "rp", "spa")}
    yield socks
    for sock in socks.values():
        sock.close()


def gunicorn(app: str, sock: socket.socket) -> list[str]:
    # fd://: gunicorn serves the socket bound here; one worker, threads for the browser's parallel requests.
    return [sys.executable, "-m", "gunicorn", app, f"--bind=fd://{sock.fileno()}", "--workers=1", "--threads=8"]


@contextmanager
def database_url(var_dir: Path) -> Iterator[str]:
    """A SQLite file in ``var_dir``; with DATABASE_URL on PostgreSQL, a fresh database there, dropped afterwards.

    (Never pytest-django's test database, which the main suite's tests flush.)
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        yield f"sqlite:///{var_dir / 'idp.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(url)
    name = f"interop_{secrets.token_hex(6)}"
    maintenance = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_idp(
    var_dir: Path, sock: socket.socket, script: Path, setup: dict, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """The IdP under gunicorn on ``sock`` with a database of its own, set up by ``script`` (a ``manage.py shell``
    script that reads ``setup`` from ``INTEROP_SETUP``); yields its base URL, stops it afterwards."""
    log = var_dir / "idp.log"
    base_url = url_of(sock)
    with database_url(var_dir) as database:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "idp.settings",
            "DATABASE_URL": database,
            "CACHE_URL": "locmemcache://",
            "IDP_VAR_DIR": str(var_dir),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
            "IDP_BASE_URL": base_url,
            "PORT": base_url.rsplit(":", 1)[1],
            # Every library signs the same users in from 127.0.0.1: the sign-in rate limits are not under test here.
            "IDP_AUTHN_RATE_LIMITS": json.dumps({"authn": {"username": [10_000, 60], "address": [10_000, 60]}}),
            "IDP_DEVICE_CODE_INTERVAL": "1",  # RFC 8628 §3.5: devices poll /token every second, not every 5
            **(extra_env or {}),
        }
        deadline = time.monotonic() + START_SECONDS
        processes.manage(env, log, "migrate", "--noinput", timeout=START_SECONDS)
        setup_env = env | {"INTEROP_SETUP": json.dumps(setup)}
        remaining = max(1.0, deadline - time.monotonic())
        processes.manage(setup_env, log, "shell", "-c", script.read_text(), timeout=remaining)
        server = processes.start(
            gunicorn("idp.wsgi", sock),
            env=env,
            log=log,
            ready_url=f"{base_url}/oauth2/default/.well-known/openid-configuration",
            deadline=deadline,
            pass_fds=(sock.fileno(),),
        )
        try:
            yield base_url
        finally:
            processes.stop(server)


@pytest.fixture(scope="session")
def idp(tmp_path_factory, sockets) -> Iterator[IdP]:
    var_dir = tmp_path_factory.mktemp("interop-idp")
    clients = make_clients(url_of(sockets["rp"]), url_of(sockets["spa"]))
    setup = {
        "user": {"username": "alice", "password": PASSWORD},
        "clients": [client.registration() for client in clients.values()],
        "servers": SERVERS,
    }
    with running_idp(var_dir, sockets["idp"], HERE / "idp_setup.py", setup) as base_url:
        yield IdP(base_url, var_dir, clients)


# --- The Django relying party (mozilla-django-oidc) --------------------------------------------------------


@pytest.fixture(scope="session")
def rp_site(idp, sockets) -> Iterator[str]:
    """tests/interop/rp_site under gunicorn, signing users in through the IdP; its base URL."""
    client = idp.clients["django-rp"]
    var_dir = idp.var_dir / "rp"
    var_dir.mkdir()
    log = var_dir / "rp.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.interop.rp_site.settings",
        "RP_VAR_DIR": str(var_dir),
        "RP_ISSUER": idp.issuer,
        "RP_CLIENT_ID": client.client_id,
        "RP_CLIENT_SECRET": client.secret,
        "PYTHONUNBUFFERED": "1",
    }
    deadline = time.monotonic() + START_SECONDS
    with log.open("a") as out:
        done = subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput"],
            cwd=processes.ROOT,
            env=env,
            stdout=out,
            stderr=out,
            timeout=START_SECONDS,
        )
    if done.returncode:
        pytest.fail(f"The RP's migrate failed:\n{log.read_text()[-3000:]}")
    base_url = url_of(sockets["rp"])
    server = processes.start(
        gunicorn("tests.interop.rp_site.wsgi", sockets["rp"]),
        env=env,
        log=log,
        ready_url=f"{base_url}/whoami",
        deadline=deadline,
        pass_fds=(sockets["rp"].fileno(),),
    )
    try:
        yield base_url
    finally:
        processes.stop(server)


# --- Node and the browser ----------------------------------------------------------------------------------


def node_missing() -> str | None:
    """Why the node-based tests cannot run here, or None."""
    node = shutil.which("node")
    if not node:
        return "node is not installed (Node 20+; then npm ci --prefix tests/interop/js)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < MIN_NODE:
        return f"node {version} is too old: openid-client v6 needs Node {MIN_NODE}+ (WebCrypto, fetch)"
    for package in ("openid-client", "oidc-client-ts"):
        if not (JS / "node_modules" / package / "package.json").is_file():
            return f"{package} is not installed: run npm ci --prefix tests/interop/js"
    return None


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable; skips (or fails with REQUIRE_NODE=1) when node or the packages are missing."""
    if why := node_missing():
        if os.environ.get("REQUIRE_NODE") == "1":
            pytest.fail(f"REQUIRE_NODE=1 but {why}", pytrace=False)
        pytest.skip(why)
    return shutil.which("node")


def drive(idp, node: str, script_name: str, settings: dict) -> dict:
    """Run a js/ script with ``settings``, be the user's browser when it prints an authorization URL (sign
    in, consent, hand the callback back), and return its final JSON; fail with its error otherwise."""
    script = subprocess.Popen(
        [node, str(JS / script_name), json.dumps(settings)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(script.stdout.readline() or '{"error": "no output"}')
        if "authorization_url" in first:
            redirect = Browser(idp.base_url).authorize(first["authorization_url"], password=idp.password)
            assert redirect.status_code == 302, redirect.text[:500]
            script.stdin.write(redirect.headers["Location"] + "\n")
            script.stdin.flush()
            result = json.loads(script.stdout.readline() or '{"error": "no output"}')
            result["callback"] = redirect.headers["Location"]
        else:
            result = first
        script.wait(timeout=30)
    finally:
        if script.poll() is None:
            script.kill()
        script.wait()
    stderr = script.stderr.read()
    assert "error" not in result, f"openid-client refused: {result}\n{stderr}"
    return result


class StaticSite(SimpleHTTPRequestHandler):
    """A directory served as a web site of its own origin: ``/config.js`` holds its settings, ``files`` maps
    extra paths to files (browser bundles under node_modules), and only ``served`` paths are served if given."""

    config = b""
    files: dict[str, Path] = {}
    served: frozenset[str] | None = None

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path
        if path == "/config.js":
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.end_headers()
            self.wfile.write(self.config)
            return
        if self.served is not None and path not in self.served and path not in self.files:
            self.send_error(404)
            return
        super().do_GET()

    def translate_path(self, path: str) -> str:
        if (mapped := self.files.get(urlsplit(path).path)) is not None:
            return str(mapped)
        return super().translate_path(path)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        pass


@contextmanager
def static_site(
    sock: socket.socket,
    directory: Path,
    config_js: str,
    files: dict[str, Path],
    served: frozenset[str] | None = None,
) -> Iterator[str]:
    """Serve ``directory`` on ``sock`` in a thread (see ``StaticSite``); yield its base URL."""
    attributes = {"config": config_js.encode(), "files": files, "served": served}
    handler = type("Handler", (StaticSite,), attributes)
    server = ThreadingHTTPServer(sock.getsockname(), partial(handler, directory=str(directory)), False)
    server.socket.close()
    server.socket = sock
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url_of(sock)
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def spa_site(idp, sockets, node) -> Iterator[str]:
    """The single-page app, served from its own origin (another port than the IdP's); its base URL."""
    config = {"authority": idp.issuer, "client_id": idp.clients["spa"].client_id}
    bundle = JS / "node_modules" / "oidc-client-ts" / "dist" / "browser" / "oidc-client-ts.min.js"
    config_js = f"window.SPA_CONFIG = {json.dumps(config)};"
    with static_site(sockets["spa"], HERE / "spa", config_js, {"/oidc-client-ts.js": bundle}) as url:
        yield url
