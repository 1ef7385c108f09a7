"""``oidc_create_application`` registers applications for JWT client authentication (RFC 7523), as the
README's example does."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from joserfc.jwk import RSAKey

from oidc_flows import sealing
from oidc_flows.models import Application


pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_private_key_jwt_service_with_its_public_keys_from_a_file(tmp_path):
    public = {"keys": [RSAKey.generate_key(2048, private=True, auto_kid=True).as_dict(private=False)]}
    path = tmp_path / "ledger-public.jwks.json"
    path.write_text(json.dumps(public))

    out = run(
        "oidc_create_application",
        "service",
        "Ledger",
        "--client-id=ledger",
        "--auth-method=private_key_jwt",
        f"--jwks=@{path}",
        "--auth-signing-alg=PS256",
    )

    app = Application.objects.get(client_id="ledger")
    assert app.jwks == public and app.token_endpoint_auth_signing_alg == "PS256"
    assert app.sealed_client_secret == "" and "private_key_jwt" in out


def test_a_client_secret_jwt_service_keeps_its_printed_secret_sealed():
    out = run("oidc_create_application", "service", "Reports", "--client-id=reports", "--auth-method=client_secret_jwt")

    secret = re.search(r"client_secret:\s*(\S+)", out).group(1)
    assert sealing.unseal(Application.objects.get(client_id="reports").sealed_client_secret) == secret


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--auth-method=private_key_jwt"], "public keys"),
        (["--auth-method=private_key_jwt", "--jwks={oops"], "--jwks"),
        (["--auth-method=client_secret_basic", "--auth-signing-alg=RS256"], "Only for private_key_jwt"),
    ],
)
def test_settings_that_cannot_work_are_refused(args, says):
    with pytest.raises(CommandError, match=re.escape(says)):
        run("oidc_create_application", "service", "X", "--client-id=refused", *args)
    assert not Application.objects.filter(client_id="refused").exists()
