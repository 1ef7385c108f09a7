"""Set-up of the okta-auth-js IdP, run inside it by ``manage.py shell`` with INTEROP_SETUP (JSON) in the environment.

INTEROP_SETUP: {"mfa_user": {"username", "password"}, "recovery_user": {"username", "password"},
"client": {"client_id", "redirect_uri", "origin"}, "out": <path>}. It creates both users (the first with an
active TOTP factor, the second with no factor), a spa application of its own (first party: no consent page)
and a trusted origin for the harness (CORS on /api/v1/authn, redirects). The TOTP secret, which only the
factor's enrollment knows, is written as JSON to ``out`` (readable by its owner only) for the test.
"""

import io
import json
import os

from django.contrib.auth import get_user_model
from django.core.management import call_command

from oidc_flows.authn.factors.totp import enroll_active
from oidc_flows.authn.models import TrustedOrigin


setup = json.loads(os.environ["INTEROP_SETUP"])
quiet = io.StringIO()
for key, first_name in (("mfa_user", "Mfa"), ("recovery_user", "Recovery")):
    user = setup[key]
    call_command(
        "oidc_create_user",
        user["username"],
        f"--password={user['password']}",
        f"--email={user['username']}@example.com",
        "--email-verified",
        f"--first-name={first_name}",
        "--last-name=Okta",
        stdout=quiet,
    )
client = setup["client"]
call_command(
    "oidc_create_application",
    "spa",
    client["client_id"],
    f"--client-id={client['client_id']}",
    f"--redirect-uri={client['redirect_uri']}",
    f"--allowed-origin={client['origin']}",
    "--skip-consent",
    stdout=quiet,
)
TrustedOrigin.objects.create(name="okta-auth-js harness", origin=client["origin"], cors=True, redirect=True)
factor, secret = enroll_active(get_user_model().objects.get(username=setup["mfa_user"]["username"]))
descriptor = os.open(setup["out"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(descriptor, "w") as out:
    json.dump({"totp_secret": secret, "factor_id": factor.id}, out)
