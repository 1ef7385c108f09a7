"""Servers sign with their own key: RS256 by default, ES256 when configured (RFC 7518 §3.4)."""

from __future__ import annotations

import pytest

from oidc_flows.models import SigningKey
from tests.factories import make_client, make_server
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_new_server_signs_tokens_with_the_configured_algorithm(browser, settings, alg):
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "SIGNING_ALG": alg}
    server = make_server("payments")
    client = make_client(app_type="native", redirect_uris=("http://127.0.0.1/callback",))
    auth = AuthorizationRequest(client, server, scope="openid", redirect_uri="http://127.0.0.1:49152/callback")

    token = auth.exchange(browser.authorize(auth.url))

    key = SigningKey.objects.get(server=server, status="active")
    assert key.alg == alg
    for jwt, audience in ((token["id_token"], client.client_id), (token["access_token"], "api://payments")):
        claims = verify_jwt(jwt, jwks_url=server.endpoint_url("keys"), issuer=server.issuer, audience=audience)
        assert claims["iss"] == server.issuer


def test_private_key_is_sealed_at_rest(transactional_db):
    key = SigningKey.objects.filter(server__server_id="default").first()
    assert '"d"' not in key.sealed_private_jwk  # encrypted, not a JSON JWK
    assert key.private_key().has_private
    assert "d" not in key.public_jwk
