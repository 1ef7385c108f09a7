"""Settings of the idp project, from the environment (django-environ).

Embedded default: SQLite and local-memory cache. Production: DATABASE_URL=postgres://...,
CACHE_URL=redis://..., DEBUG off, SECRET_KEY, IDP_BASE_URL and ALLOWED_HOSTS set, and
IDP_BEHIND_TLS_PROXY=1 behind the proxy that terminates TLS (README: Production deployment).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ

from oidc_flows.api.openapi import SETTINGS as API_SCHEMA_SETTINGS


BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env.str("IDP_VAR_DIR", default=str(BASE_DIR / "var")))


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development, one generated once and kept in var/."""
    if key := env.str("SECRET_KEY", default=""):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
PORT = env.int("PORT", default=8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "rest_framework",
    "drf_spectacular",  # the management API's OpenAPI schema (manage.py spectacular, /api/v1/docs)
    "drf_spectacular_sidecar",  # Swagger UI's assets, served locally
    "oidc_flows",
    "idp",
]

MIDDLEWARE = [
    # First: one JSON log line per request (request id, status, duration), whatever answers it.
    "oidc_flows.middleware.RequestLogMiddleware",
    # Database down: 503 temporarily_unavailable (JSON, Retry-After) instead of a 500 page.
    "oidc_flows.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The protocol endpoints and the health checks read no session, cookie, CSRF token, message or
# signed-in user: the WSGI entry (idp/wsgi.py, oidc_flows.lean) runs them with only the middleware
# that guards every request in production: the request log, the database-outage 503, and the TLS
# redirect and HSTS. Views are "<app>:<url name>" (any server's URL) or a bare url name.
OIDC_FLOWS_LEAN = {
    "VIEWS": [
        *(f"oidc_flows:{name}" for name in ("token", "introspect", "revoke", "keys", "userinfo")),
        "oidc_flows:par",  # RFC 9126: client-authenticated like /token, no session
        "oidc_flows:device-authorize",  # RFC 8628 §3.1: likewise
        *(f"oidc_flows:{name}" for name in ("openid-configuration", "oauth-authorization-server")),
        *(f"oidc_flows:{name}" for name in ("rfc8414-metadata", "rfc8414-openid-configuration")),
        "healthz",
        "readyz",
    ],
    "MIDDLEWARE": [
        "oidc_flows.middleware.RequestLogMiddleware",
        "oidc_flows.middleware.DatabaseUnavailableMiddleware",
        "django.middleware.security.SecurityMiddleware",
    ],
    # JWKS and discovery: seconds a process answers from its rendering before it reads the server's
    # stamp again. 0: every request reads it, so a change on any node shows at once. A few seconds cut
    # their CPU by half or more; verifiers keep these documents for 5 minutes anyway.
    "PUBLIC_DOCUMENTS_RECHECK_SECONDS": env.float("IDP_PUBLIC_DOCUMENTS_RECHECK_SECONDS", default=0),
}

ROOT_URLCONF = "idp.urls"
WSGI_APPLICATION = "idp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],  # project branding overrides the app's defaults
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "idp.context_processors.branding",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # gunicorn workers and threads share one file (tests/production/test_concurrency.py and
    # test_concurrent_flows.py hold it to exactly-once and no 503).
    # timeout: a writer waits up to 20 s for the write lock instead of failing with "database is locked".
    # IMMEDIATE: a transaction takes the write lock when it begins; one that read first and then wrote would
    # fail at once, since SQLite does not wait to upgrade a read lock (the timeout does not apply).
    # WAL (kept in the file once set; db.sqlite3-wal and -shm beside it): readers never wait for the writer,
    # nor the writer for readers. synchronous=NORMAL: WAL's usual pairing, a commit survives a crash of the
    # process, only a power loss may take back the last ones (never corrupts the file). WAL needs a local disk.
    # Each can be replaced from DATABASE_URL, e.g. sqlite:////path/db.sqlite3?timeout=60.
    sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    sqlite_options.setdefault("timeout", 20)
    sqlite_options.setdefault("transaction_mode", "IMMEDIATE")
    sqlite_options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    # As on PostgreSQL below: under gunicorn (CONN_MAX_AGE=60) each thread keeps its connection, its page
    # cache and the WAL; one per request would also checkpoint and delete the WAL whenever the last closes.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):  # psycopg 3
    # gunicorn.conf.py sets CONN_MAX_AGE=60: one persistent connection per gunicorn thread. Elsewhere
    # (runserver, test live servers, whose threads outlive requests) Django's default: one per request.
    # Checked before reuse: a connection broken while the database was away is replaced, not failed.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # An unreachable database fails fast (503 from oidc_flows.middleware) instead of hanging a thread.
    connect_timeout = env.int("DB_CONNECT_TIMEOUT", default=5)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", connect_timeout)
# Redis: Django's own backend (django.core.cache.backends.redis.RedisCache, needs the `redis` package).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="idp")  # several sites on one Redis
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # An unreachable Redis fails fast: /readyz reports it within its own timeout.
    CACHES["default"].setdefault("OPTIONS", {}).update(socket_connect_timeout=2, socket_timeout=2)

# Django's ModelBackend plus a lockout after repeated wrong passwords (oidc_flows/lockout.py).
AUTHENTICATION_BACKENDS = ["oidc_flows.lockout.LockoutBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id at OWASP's parameters (oidc_flows/hashers.py: ~30 ms of CPU per sign-in here, PBKDF2 ~230 ms);
# the hashers after it still verify older hashes, which are upgraded to Argon2id at the next sign-in.
PASSWORD_HASHERS = [
    "oidc_flows.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # Only for client secrets (OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]); never first in this list.
    "oidc_flows.hashers.ClientSecretHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = DEBUG  # development: serve straight from the apps, no collectstatic needed
# Production: `manage.py collectstatic` writes hashed, compressed copies and a manifest to STATIC_ROOT;
# WhiteNoise serves them with far-future cache headers (idp/storage.py falls back to plain names before).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "idp.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "oidc_flows:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = None

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"

# Behind a reverse proxy or load balancer that terminates TLS and sets X-Forwarded-Proto: trust
# that header (only the proxy may reach the IdP), redirect plain http to https, send HSTS, and
# keep the session and CSRF cookies off plain http. The health checks stay reachable over http.
IDP_BEHIND_TLS_PROXY = env.bool("IDP_BEHIND_TLS_PROXY", default=False)
if IDP_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)  # a commitment: opt in
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- oidc_flows -------------------------------------------------------------------------------
OIDC_FLOWS = {
    "BASE_URL": env.str("IDP_BASE_URL", default=f"http://127.0.0.1:{PORT}"),
    # e.g. IDP_AUTHN_RATE_LIMITS='{"authn": {"address": [600, 60]}}' behind a NAT that many users share.
    "AUTHN_RATE_LIMITS": env.json("IDP_AUTHN_RATE_LIMITS", default={}),
    # DPoP server nonces (RFC 9449 §8): "required" (where DPoP is required), "always" or "never".
    "DPOP_NONCES": env.str("IDP_DPOP_NONCES", default="required"),
    # Dynamic client registration without an initial access token (SECURITY.md: off unless you mean it).
    "OPEN_REGISTRATION": env.bool("IDP_OPEN_REGISTRATION", default=False),
    # RFC 8628: seconds a device polls /token apart, and how long its user code lives.
    "DEVICE_CODE_INTERVAL": env.int("IDP_DEVICE_CODE_INTERVAL", default=5),
    "DEVICE_CODE_SECONDS": env.int("IDP_DEVICE_CODE_SECONDS", default=600),
}
if rp_id := env.str("IDP_WEBAUTHN_RP_ID", default=""):
    OIDC_FLOWS["WEBAUTHN_RP_ID"] = rp_id  # passkeys need a domain name; the host of IDP_BASE_URL by default
OAUTH2_PROVIDER_APPLICATION_MODEL = "oidc_flows.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oidc_flows.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oidc_flows.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oidc_flows.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oidc_flows.Grant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "PKCE_REQUIRED": True,  # the validator decides per application type (policy.APP_TYPES)
    "CLIENT_SECRET_HASHER": "oidc_hmac_sha256",
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "SCOPES": {"openid": "OpenID Connect"},  # scopes live on each server's rows; DOT's list is unused
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# DOT's global RFC 9700 gates (reported by `check --deploy`) are decided per application type here:
# implicit and password are optional grants an administrator enables per client (policy.APP_TYPES),
# every authorization response carries RFC 9207 `iss` (views/authorize.py), and http redirect URIs
# are accepted only for loopback hosts (RFC 8252 §7.3, redirects.py).
SILENCED_SYSTEM_CHECKS = [
    "oauth2_provider.W001",
    "oauth2_provider.W002",
    "oauth2_provider.W005",
    "oauth2_provider.W008",
]

# Mail (recovery links, sign-in codes): EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587 or
# smtp://127.0.0.1:1025. The default writes messages to the console (the log), as `make run` uses it.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="oidc_flows <no-reply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    # Okta's error shape ({"errorCode", "errorSummary", "errorCauses"...}); the management API's own views
    # use it whatever this says (oidc_flows.api.base).
    "EXCEPTION_HANDLER": "oidc_flows.api.exceptions.management_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The management API's OpenAPI schema (/api/v1/schema, `manage.py spectacular`), Swagger UI from local assets.
SPECTACULAR_SETTINGS = {**API_SCHEMA_SETTINGS}

# Logs go to stderr. LOG_FORMAT=json (the default outside DEBUG): one JSON object per line, and one
# line per request from oidc_flows.middleware.RequestLogMiddleware (never tokens, codes, secrets or
# query strings). LOG_FORMAT=text: plain lines, for development.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "oidc_flows.observability.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING").upper()},
    "loggers": {
        # The request log: INFO, whatever LOG_LEVEL says (REQUEST_LOG=0 turns it off).
        "oidc_flows.requests": {"level": "INFO" if env.bool("REQUEST_LOG", default=True) else "CRITICAL"},
        # 4xx answers are in the request log already; keep Django's duplicate "Bad Request: ..." lines out.
        "django.request": {"level": "ERROR"},
    },
}
