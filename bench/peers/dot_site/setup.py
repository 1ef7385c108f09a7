"""Set up the DOT peer's benchmark data and print the credentials as JSON (run by bench/run.py)."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.dot_site.settings")

import django  # noqa: E402


django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken, Application  # noqa: E402


PASSWORD = "bench: correct horse battery staple"
REDIRECT_URI = "https://rp.example/cb"
SCOPES = "openid read"
SECRET = "bench-secret-" + "x" * 40

user = get_user_model().objects.create_user("bench", password=PASSWORD)  # Django's default hasher


def app(client_id: str, grant: str, *, hashed: bool, **kwargs) -> Application:
    return Application.objects.create(
        name=client_id,
        client_id=client_id,
        client_secret=SECRET,
        hash_client_secret=hashed,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant,
        **kwargs,
    )


app("bench-service", Application.GRANT_CLIENT_CREDENTIALS, hashed=False)
app("bench-service-hashed", Application.GRANT_CLIENT_CREDENTIALS, hashed=True)  # DOT's default for new clients
web = app(
    "bench-web",
    Application.GRANT_AUTHORIZATION_CODE,
    hashed=False,
    redirect_uris=REDIRECT_URI,
    algorithm=Application.RS256_ALGORITHM,
)
# approval_prompt=auto: a live token with these scopes is DOT's remembered consent.
AccessToken.objects.create(
    user=user, application=web, token="bench-consent", scope=SCOPES, expires=timezone.now() + timedelta(days=1)
)
json.dump(
    {
        "service": {"client_id": "bench-service", "secret": SECRET, "scope": "read"},
        "service_hashed": {"client_id": "bench-service-hashed", "secret": SECRET, "scope": "read"},
        "web": {"client_id": "bench-web", "secret": SECRET, "redirect_uri": REDIRECT_URI, "scope": SCOPES},
        "user": {"username": "bench", "password": PASSWORD},
        "password_hasher": user.password.split("$", 1)[0],
    },
    sys.stdout,
)
