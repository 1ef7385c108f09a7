"""gunicorn settings for the idp project: ``gunicorn idp.wsgi -c gunicorn.conf.py``.

``make run`` uses granian (granian_conf.py, the same environment variables and defaults), which costs
less CPU per request here (bench/run.py --server gthread,granian); gunicorn stays supported.

Everything can be changed from the environment: HOST, PORT, WEB_CONCURRENCY (worker processes),
GUNICORN_THREADS, GUNICORN_TIMEOUT, FORWARDED_ALLOW_IPS, LOG_LEVEL, CONN_MAX_AGE. The access log is
off: the application writes one JSON line per request itself (oidc_flows.middleware.RequestLogMiddleware),
with a request id and without query strings, which gunicorn's access log would contain.
"""

import os


# Each gunicorn thread keeps its database connection for a minute (idp/settings.py reads this when
# the workers load the application): no connection set-up on every request.
os.environ.setdefault("CONN_MAX_AGE", "60")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
# Token endpoints are CPU-bound (signing) and Python runs one thread at a time per process: one
# process per CPU and one more to cover database waits; threads absorb slow clients and I/O.
workers = int(os.environ.get("WEB_CONCURRENCY", _cpus() + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (with jitter, so they do not restart together).
max_requests = 5000
max_requests_jitter = 500

# Only the TLS proxy in front may set X-Forwarded-*; gunicorn ignores them from anyone else.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Gunicorn's own messages (start, worker boot and exit) as JSON lines like the application's.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "oidc_flows.observability.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {"gunicorn.error": {"level": loglevel.upper(), "handlers": ["console"], "propagate": False}},
}
