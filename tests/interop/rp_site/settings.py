"""A relying party: a tiny Django site that signs its users in with mozilla-django-oidc against our IdP.

Configured from the environment by tests/interop/conftest.py (RP_ISSUER, RP_CLIENT_ID, RP_CLIENT_SECRET,
RP_VAR_DIR). It knows nothing of oidc_flows: only the endpoints a relying party is given.
"""

import os
from pathlib import Path


VAR_DIR = Path(os.environ["RP_VAR_DIR"])
ISSUER = os.environ["RP_ISSUER"]

SECRET_KEY = os.urandom(32).hex()
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mozilla_django_oidc",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.interop.rp_site.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "rp.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
SESSION_COOKIE_NAME = "rp_sessionid"  # the IdP's cookie lives on the same host (cookies ignore ports)
CSRF_COOKIE_NAME = "rp_csrftoken"

AUTHENTICATION_BACKENDS = ["mozilla_django_oidc.auth.OIDCAuthenticationBackend"]
LOGIN_REDIRECT_URL = "/whoami"
LOGIN_REDIRECT_URL_FAILURE = "/failed"

OIDC_RP_CLIENT_ID = os.environ["RP_CLIENT_ID"]
OIDC_RP_CLIENT_SECRET = os.environ["RP_CLIENT_SECRET"]
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_OP_AUTHORIZATION_ENDPOINT = f"{ISSUER}/v1/authorize"
OIDC_OP_TOKEN_ENDPOINT = f"{ISSUER}/v1/token"
OIDC_OP_USER_ENDPOINT = f"{ISSUER}/v1/userinfo"
OIDC_OP_JWKS_ENDPOINT = f"{ISSUER}/v1/keys"
OIDC_STORE_ID_TOKEN = True
