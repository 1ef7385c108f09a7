"""A small closed-loop load generator: N threads, one keep-alive HTTP/1.1 connection each.

Each thread repeats a *step* (one request, or a whole flow of several) until the time is up and
records the step's latency. Failures are counted, never hidden: ``run.py`` exits non-zero on any.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlsplit


class Failed(Exception):
    """A request answered something the scenario did not expect."""


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


class Client:
    """One keep-alive connection to one server, with a cookie jar for browser-like flows."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if isinstance(body, str):
            body = body.encode()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                raw = self.conn.getresponse()
                data = raw.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        if raw.will_close:
            self.conn.close()
        for value in raw.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        return Response(raw.status, raw.headers, data)

    def close(self) -> None:
        self.conn.close()


@dataclass
class Result:
    steps: int = 0
    errors: int = 0
    unavailable: int = 0  # of the errors, HTTP 503 answers (SQLite's "database is locked", an outage...)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    def merge(self, other: Result) -> None:
        self.steps += other.steps
        self.errors += other.errors
        self.unavailable += other.unavailable
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.first_error = self.first_error or other.first_error

    @property
    def rate(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


#: A step gets its thread's client and its thread index; it raises Failed (or anything) on a bad answer.
Step = Callable[[Client, int], None]


def run(base_url: str, step: Step, concurrency: int, seconds: float) -> Result:
    """Run ``step`` in ``concurrency`` threads for ``seconds``; return the counts and latencies."""
    results = [Result() for _ in range(concurrency)]
    start_line = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        client = Client(base_url)
        mine = results[index]
        start_line.wait()
        try:
            while (now := time.perf_counter()) < deadline[0]:
                try:
                    step(client, index)
                except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                    mine.errors += 1
                    mine.unavailable += "HTTP 503" in str(exc)
                    mine.first_error = mine.first_error or f"{type(exc).__name__}: {exc}"[:300]
                    client.close()
                    client = Client(base_url)
                    continue
                mine.latencies.append(time.perf_counter() - now)
                mine.steps += 1
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start_line.wait()
    for thread in threads:
        thread.join()
    total = Result(seconds=time.perf_counter() - began)
    for result in results:
        total.merge(result)
    return total
