"""A minimal API project that protects its views with oidc_flows.resource and does NOT install the IdP.

No oidc_flows, no oauth2_provider in INSTALLED_APPS: if oidc_flows.resource imported a model of
theirs, Django would refuse to load it here. The tests set ``OIDC_RESOURCE`` (the IdP's port is
only known at run time).
"""

SECRET_KEY = "resource-site-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "tests.resource.site.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
DATABASES = {}  # an API that keeps no data: nothing here may need a database
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["oidc_flows.resource.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["oidc_flows.resource.permissions.HasScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
