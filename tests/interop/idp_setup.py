"""Set-up of the interop IdP, run inside it by ``manage.py shell`` with INTEROP_SETUP (JSON) in the environment.

It uses the management commands an administrator scripts with; their output (which names the secrets) is
discarded. INTEROP_SETUP: {"user": {"username", "password"}, "clients": [{"type", "client_id",
"secret", "redirect_uris", "grant_types", "auth_method", "allowed_origins", "jwks", "dpop"}], "servers": [...]}.
"""

import io
import json
import os

from django.core.management import call_command


setup = json.loads(os.environ["INTEROP_SETUP"])
quiet = io.StringIO()
user = setup["user"]
call_command(
    "oidc_create_user",
    user["username"],
    f"--password={user['password']}",
    f"--email={user['username']}@example.com",
    "--email-verified",
    "--first-name=Alice",
    "--last-name=Liddell",
    stdout=quiet,
)
for client in setup["clients"]:
    args = [client["type"], client["client_id"], f"--client-id={client['client_id']}"]
    if client.get("secret"):
        # `=` form: a random secret may start with "-", which argparse would take for an option.
        args.append(f"--client-secret={client['secret']}")
    args += [f"--redirect-uri={uri}" for uri in client.get("redirect_uris", ())]
    args += [f"--grant-type={grant}" for grant in client.get("grant_types", ())]
    args += [f"--allowed-origin={origin}" for origin in client.get("allowed_origins", ())]
    if client.get("auth_method"):
        args.append(f"--auth-method={client['auth_method']}")
    if client.get("jwks"):
        args.append(f"--jwks={json.dumps(client['jwks'])}")
    call_command("oidc_create_application", *args, stdout=quiet)
    if client.get("dpop"):  # RFC 9449 §5.2 dpop_bound_access_tokens: the admin's "Require DPoP"
        from oidc_flows.models import Application

        Application.objects.filter(client_id=client["client_id"]).update(dpop_bound_access_tokens=True)

# Authorization servers beyond `default` (e.g. one with the FAPI 2.0 Security Profile), as an administrator
# sets them up in the admin: {"server_id", "fapi_profile", "key_alg"}.
from oidc_flows import servers  # noqa: E402


for spec in setup.get("servers", ()):
    servers.create_server(
        spec["server_id"],
        name=spec["server_id"],
        default_policy=True,
        fapi_profile=spec.get("fapi_profile", False),
        signing_alg=spec.get("key_alg"),
    )
