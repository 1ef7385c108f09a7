"""Set up the benchmark data in our IdP's database and print the credentials as JSON.

Run by run.py with the server's environment (DJANGO_SETTINGS_MODULE=idp.settings, DATABASE_URL...).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idp.settings")

import django  # noqa: E402


django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from oidc_flows import consent, servers  # noqa: E402
from oidc_flows.models import Scope, SigningKey  # noqa: E402
from oidc_flows.models.keys import KeyAlg, KeyStatus  # noqa: E402
from oidc_flows.registration import register_application  # noqa: E402


PASSWORD = "bench: correct horse battery staple"
REDIRECT_URI = "https://rp.example/cb"
SCOPES = "openid profile email offline_access"
ES256_SERVER = "bench-es256"

server = servers.resolve("default")
Scope.objects.get_or_create(server=server, name="api:read", defaults={"description": "Read the API"})
service, service_secret = register_application("bench service", "service", client_id="bench-service")
web, web_secret = register_application("bench web", "web", redirect_uris=[REDIRECT_URI], client_id="bench-web")
user = get_user_model().objects.create_user("bench", email="bench@example.com", password=PASSWORD)
consent.remember(user, web, server, SCOPES.split())  # consent remembered: the flow skips the consent page

# client_credentials signed ES256: a custom server (the default policy) whose keys are P-256 ones.
es256 = servers.create_server(ES256_SERVER, name="bench ES256", default_policy=True)
SigningKey.objects.filter(server=es256).delete()  # create_server made keys of OIDC_FLOWS["SIGNING_ALG"] (RS256)
for status in (KeyStatus.ACTIVE, KeyStatus.NEXT):
    SigningKey.objects.generate(es256, status=status, alg=KeyAlg.ES256)
Scope.objects.get_or_create(server=es256, name="api:read", defaults={"description": "Read the API"})

# client_credentials with private_key_jwt and DPoP: the client's P-256 key, its public half registered inline.
from jwcrypto import jwk  # noqa: E402

from oidc_flows.models import Application  # noqa: E402


client_key = jwk.JWK.generate(kty="EC", crv="P-256", kid="bench-pkjwt-1")
pkjwt, _ = register_application("bench pkjwt+dpop", "service", client_id="bench-pkjwt")
Application.objects.filter(pk=pkjwt.pk).update(
    token_endpoint_auth_method="private_key_jwt",
    jwks={"keys": [client_key.export_public(as_dict=True) | {"alg": "ES256", "use": "sig"}]},
    dpop_bound_access_tokens=True,
)

json.dump(
    {
        "server": "default",
        "es256_server": ES256_SERVER,
        "service": {"client_id": service.client_id, "secret": service_secret, "scope": "api:read"},
        "pkjwt_service": {
            "client_id": pkjwt.client_id,
            "private_jwk": client_key.export_private(as_dict=True),
            "scope": "api:read",
        },
        "web": {"client_id": web.client_id, "secret": web_secret, "redirect_uri": REDIRECT_URI, "scope": SCOPES},
        "user": {"username": "bench", "password": PASSWORD},
        "password_hasher": user.password.split("$", 1)[0],
    },
    sys.stdout,
)
