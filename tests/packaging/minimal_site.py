"""Settings of a minimal Django project that installs oidc_flows from its wheel (URLs: minimal_urls.py).

Used by .ci/check_wheel: proves the app works outside the idp project (README "Using oidc_flows
in your own Django project").
"""

SECRET_KEY = "packaging-check-only"
DEBUG = True
ROOT_URLCONF = "minimal_urls"
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "oidc_flows",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
STATIC_URL = "static/"
USE_TZ = True
OIDC_FLOWS = {"BASE_URL": "http://testserver"}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oidc_flows.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oidc_flows.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oidc_flows.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oidc_flows.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oidc_flows.Grant"
OAUTH2_PROVIDER = {"OIDC_ENABLED": True, "CLIENT_SECRET_HASHER": "oidc_hmac_sha256"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", "oidc_flows.hashers.ClientSecretHasher"]
LOGIN_URL = "oidc_flows:login"
