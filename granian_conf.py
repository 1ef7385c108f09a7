"""granian settings for the idp project: ``python granian_conf.py`` (``make run`` starts it this way).

granian (a Rust HTTP server) serves the WSGI application with less CPU per request than gunicorn's
gthread workers (bench/run.py --server gthread,granian). It reads the same environment as
gunicorn.conf.py, which stays supported: HOST, PORT, WEB_CONCURRENCY (worker processes),
SERVER_THREADS (or GUNICORN_THREADS: threads running the application per worker), SERVER_TIMEOUT (or
GUNICORN_TIMEOUT: seconds a client may take to send a request's headers), FORWARDED_ALLOW_IPS,
LOG_LEVEL, CONN_MAX_AGE. granian writes no access log: the application writes one JSON line per
request itself (oidc_flows.middleware.RequestLogMiddleware), without the query strings an access log
would contain.

Unlike gunicorn, granian passes on request headers whose names contain underscores
(``X_Forwarded_Proto`` reaches Django as HTTP_X_FORWARDED_PROTO, and the last one sent wins): the
TLS proxy in front must drop them (nginx does by default) or set X-Forwarded-Proto after them. It
neither kills a worker stuck in a request (gunicorn's timeout) nor recycles workers (max_requests).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable
from typing import Any


# Each thread keeps its database connection for a minute (idp/settings.py reads this when the workers
# load the application): no connection set-up on every request.
os.environ.setdefault("CONN_MAX_AGE", "60")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idp.settings")

#: gunicorn's secure_scheme_headers: from a trusted proxy, any of these makes the request https.
SECURE_SCHEME_HEADERS = {
    "HTTP_X_FORWARDED_PROTOCOL": "ssl",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_SSL": "on",
}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _setting(*names: str, default: str) -> str:
    return next((os.environ[name] for name in names if os.environ.get(name)), default)


def forwarded_scheme(app: WSGIApp, allowed: str) -> WSGIApp:
    """gunicorn's ``forwarded_allow_ips`` for granian, which reads no X-Forwarded-* header itself.

    Only a peer in ``allowed`` (comma-separated addresses or networks, ``*`` for any) may make a
    request https with X-Forwarded-Proto (or gunicorn's two other secure-scheme headers); from anyone
    else they change nothing. REMOTE_ADDR stays the peer's address, as under gunicorn.
    """
    items = [item.strip() for item in allowed.split(",") if item.strip()]
    anyone = "*" in items
    networks = [ipaddress.ip_network(item, strict=False) for item in items if item != "*"]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # a Unix socket's peer has no address
            return False
        return any(ip in network for network in networks)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if anyone or trusted(environ.get("REMOTE_ADDR", "")):
            if any(environ.get(header, "").lower() == value for header, value in SECURE_SCHEME_HEADERS.items()):
                environ["wsgi.url_scheme"] = "https"
        return app(environ, start_response)

    return application


def application() -> WSGIApp:
    """The factory each granian worker calls: Django's WSGI application behind forwarded_scheme."""
    from idp.wsgi import application as django

    return forwarded_scheme(django, os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))


def logging_config(level: str) -> dict[str, Any]:
    """granian's own messages (start, worker spawn and exit) as JSON lines like the application's."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "oidc_flows.observability.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {"_granian": {"level": level.upper(), "handlers": ["console"], "propagate": False}},
    }


def main() -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    # The workers import this module (the factory above) and idp from the script's directory, which
    # Python put first on sys.path.
    level = os.environ.get("LOG_LEVEL", "info").lower()
    Granian(
        "granian_conf:application",
        factory=True,
        interface=Interfaces.WSGI,
        address=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        # Token endpoints are CPU-bound (signing) and Python runs one thread at a time per process: one
        # process per CPU and one more to cover database waits; threads absorb I/O waits.
        workers=int(os.environ.get("WEB_CONCURRENCY", _cpus() + 1)),
        blocking_threads=int(_setting("SERVER_THREADS", "GUNICORN_THREADS", default="4")),
        # Idle threads are kept (with their database connection) rather than re-created every 30 s.
        blocking_threads_idle_timeout=600,
        http=HTTPModes.http1,  # behind the TLS proxy: plain HTTP/1.1, as gunicorn speaks
        websockets=False,
        # A client that has not sent its request's headers within the timeout is dropped (slowloris).
        http1_settings=HTTP1Settings(
            header_read_timeout=1000 * int(_setting("SERVER_TIMEOUT", "GUNICORN_TIMEOUT", default="30"))
        ),
        log_access=False,
        log_level=level,
        log_dictconfig=logging_config(level),
        workers_kill_timeout=20,  # graceful stop: requests in flight get 20 s, as gunicorn's graceful_timeout
        respawn_failed_workers=True,  # a worker that died is replaced, as gunicorn's master does
    ).serve()


if __name__ == "__main__":
    main()
