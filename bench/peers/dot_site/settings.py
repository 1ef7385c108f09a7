"""A plain django-oauth-toolkit project with DOT's defaults: the benchmark's Django peer.

DOT's own models (opaque access tokens, hashed client secrets unless a client says otherwise),
Django's default password hasher, OIDC on with an RSA key from the environment. Only the bench
runs it: DATABASE_URL, SECRET_KEY and DOT_OIDC_RSA_PRIVATE_KEY come from bench/run.py.
"""

import os

import environ


env = environ.Env()
SECRET_KEY = env.str("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "bench.peers.dot_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": env.db("DATABASE_URL")}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": env.str("DOT_OIDC_RSA_PRIVATE_KEY"),
    "SCOPES": {"openid": "OpenID Connect", "read": "Read", "introspection": "Introspect"},
    "PKCE_REQUIRED": True,
}
