"""The database goes away and comes back: 503 JSON meanwhile, service again after, no restart.

The shared PostgreSQL server keeps running (other test runs use it): a TCP proxy in this test
stands between one gunicorn node and PostgreSQL, and cutting it is the outage.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
import requests

from .conftest import RP_REDIRECT


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_cut = threading.Event()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.is_cut.is_set():
                client.close()  # the database "is down": the connection ends before the server greets
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self.lock:
                self.open.discard(sock)

    def cut(self) -> None:
        self.is_cut.set()
        with self.lock:
            sockets = list(self.open)
        self._drop(*sockets)

    def restore(self) -> None:
        self.is_cut.clear()

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture(scope="module")
def proxy(deployment) -> Iterator[TcpProxy]:
    parts = urlsplit(deployment.database_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def node(deployment, proxy):
    parts = urlsplit(deployment.database_url)
    through_proxy = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"))
    return deployment.start_node("behind-proxy", workers=1, threads=2, DATABASE_URL=through_proxy)


def service_token(node, deployment) -> requests.Response:
    return requests.post(
        f"{node.url}/oauth2/default/v1/token",
        data={"grant_type": "client_credentials"},
        auth=(deployment.service_id, deployment.service_secret),
        timeout=20,
    )


def authorize(node, deployment) -> requests.Response:
    query = {"response_type": "code", "client_id": deployment.web_id, "redirect_uri": RP_REDIRECT, "scope": "openid"}
    url = f"{node.url}/oauth2/default/v1/authorize?{urlencode(query)}"
    return requests.get(url, allow_redirects=False, timeout=20)


def assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_database_outage_answers_503_json_and_the_node_recovers_without_restart(deployment, proxy, node):
    assert service_token(node, deployment).status_code == 200
    assert authorize(node, deployment).status_code == 302  # to the sign-in page
    assert requests.get(f"{node.url}/readyz", timeout=10).json()["status"] == "ok"

    proxy.cut()
    try:
        assert_unavailable(service_token(node, deployment))
        assert_unavailable(authorize(node, deployment))
        ready = requests.get(f"{node.url}/readyz", timeout=10)
        assert_unavailable(ready)
        assert ready.json()["checks"] == {"database": "unavailable", "cache": "ok"}
        assert requests.get(f"{node.url}/healthz", timeout=10).status_code == 200  # the process itself is fine
    finally:
        proxy.restore()

    token = service_token(node, deployment)
    assert token.status_code == 200, token.text
    assert authorize(node, deployment).status_code == 302
    assert requests.get(f"{node.url}/readyz", timeout=10).json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
    }
    assert node.process.poll() is None
