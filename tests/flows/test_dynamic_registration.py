"""Dynamic client registration (RFC 7591) and its management (RFC 7592) at /oauth2/v1/clients.

Scenario: an administrator issues an initial access token with ``oidc_issue_registration_token``; a
web application registers itself with it over plain HTTP, signs alice in on the ``default`` server
with a code flow, reads its registration, moves to a new redirect URI, and deletes itself. The error
cases run in Django's test client.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from oidc_flows.models import Application, InitialAccessToken
from tests.factories import RP_REDIRECT, make_client
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest


ENDPOINT = "/oauth2/v1/clients"
NEW_REDIRECT = "https://rp.example/new-cb"
WEB = {"client_name": "Partner portal", "redirect_uris": [RP_REDIRECT], "logo_uri": "https://rp.example/logo.png"}


def issue_with_command(*args: str) -> str:
    out = io.StringIO()
    call_command("oidc_issue_registration_token", "partner X", *args, stdout=out)
    return re.search(r"initial access token: (\S+)", out.getvalue()).group(1)


def code_flow(info: dict, server, redirect_uri: str, browser) -> dict:
    """alice signs in to the registered client; return the token response (Authlib redeems the code)."""
    client = SimpleNamespace(client_id=info["client_id"], secret=info.get("client_secret"))
    auth = AuthorizationRequest(client, server, scope="openid profile", redirect_uri=redirect_uri)
    redirect = browser.authorize(auth.url)
    assert redirect.headers["Location"].startswith(redirect_uri), redirect.headers.get("Location")
    try:
        return auth.exchange(redirect)
    finally:
        auth.session.close()  # a kept-alive connection would outlive the test's database


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- end to end, over HTTP ------------------------------------------------------------------------------


def test_a_client_registers_itself_signs_a_user_in_updates_and_deletes_itself(base_url, default_server, browser):
    initial = issue_with_command("--uses", "1")

    response = requests.post(f"{base_url}{ENDPOINT}", json=WEB, headers=bearer(initial), timeout=10)

    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    info = response.json()
    assert info["client_secret"] and info["client_secret_expires_at"] == 0
    assert abs(info["client_id_issued_at"] - timezone.now().timestamp()) < 60
    assert info["application_type"] == "web" and info["token_endpoint_auth_method"] == "client_secret_basic"
    assert info["redirect_uris"] == [RP_REDIRECT] and info["logo_uri"] == WEB["logo_uri"]
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    assert info["registration_client_uri"] == f"{base_url}{ENDPOINT}/{info['client_id']}"
    # The token was single-use: a second registration is refused.
    again = requests.post(f"{base_url}{ENDPOINT}", json=WEB, headers=bearer(initial), timeout=10)
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"

    tokens = code_flow(info, default_server, RP_REDIRECT, browser)
    claims = verify_jwt(
        tokens["id_token"], jwks_url=default_server.endpoint_url("keys"), issuer=default_server.issuer,
        audience=info["client_id"],
    )  # fmt: skip
    assert claims["aud"] == info["client_id"]

    uri, registration_token = info["registration_client_uri"], info["registration_access_token"]
    read = requests.get(uri, headers=bearer(registration_token), timeout=10)
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    assert {k: v for k, v in read.json().items() if k != "client_secret"} == {
        k: v for k, v in info.items() if k != "client_secret"
    }

    # RFC 7592 §2.2: the whole metadata, with the new redirect URI; the registration token rotates.
    changed = read.json() | {"redirect_uris": [NEW_REDIRECT], "client_secret": info["client_secret"]}
    updated = requests.put(uri, json=changed, headers=bearer(registration_token), timeout=10)
    assert updated.status_code == 200, updated.text
    assert updated.json()["redirect_uris"] == [NEW_REDIRECT]
    assert requests.get(uri, headers=bearer(registration_token), timeout=10).status_code == 401
    registration_token = updated.json()["registration_access_token"]

    code_flow(info, default_server, NEW_REDIRECT, browser)
    client = SimpleNamespace(client_id=info["client_id"], secret=info["client_secret"])
    old = browser.authorize(AuthorizationRequest(client, default_server, redirect_uri=RP_REDIRECT).url)
    assert old.status_code == 400 and "Location" not in old.headers  # never redirected to an unregistered URI

    assert requests.delete(uri, headers=bearer(registration_token), timeout=10).status_code == 204
    refreshed = requests.post(
        default_server.endpoint_url("token"),
        data={"grant_type": "refresh_token", "refresh_token": tokens.get("refresh_token", "x")},
        auth=(info["client_id"], info["client_secret"]),
        timeout=10,
    )
    assert refreshed.status_code == 401 and refreshed.json()["error"] == "invalid_client"
    userinfo = requests.get(default_server.endpoint_url("userinfo"), headers=bearer(tokens["access_token"]), timeout=10)
    assert userinfo.status_code == 401  # its access tokens were revoked with it
    assert requests.get(uri, headers=bearer(registration_token), timeout=10).status_code == 401


def test_discovery_points_every_server_at_the_org_registration_endpoint(base_url, default_server):
    for url in (f"{base_url}/.well-known/openid-configuration", default_server.discovery_url):
        assert requests.get(url, timeout=10).json()["registration_endpoint"] == f"{base_url}{ENDPOINT}"


# -- the initial access token ---------------------------------------------------------------------------


@pytest.fixture
def api(db) -> Client:
    return Client()


def register(api: Client, metadata: dict, token: str | None = None, **headers):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return api.post(ENDPOINT, metadata, content_type="application/json", **extra, **headers)


def issued(**kwargs) -> str:
    return InitialAccessToken.issue("test", **kwargs)[1]


def test_without_an_initial_access_token_registration_is_refused_with_a_bearer_challenge(api):
    response = register(api, WEB)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"] == 'Bearer realm="http://127.0.0.1:8000"'  # RFC 6750 §3.1: no error code


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (lambda: "0123456789ab.not-a-real-token", "invalid"),
        (lambda: issued()[:-2] + "xx", "invalid"),
        (lambda: issued(expires=timezone.now() - timedelta(seconds=1)), "expired"),
        (lambda: issued(max_uses=0), "used up"),
    ],
    ids=["unknown", "tampered", "expired", "used-up"],
)
def test_a_bad_initial_access_token_is_401_invalid_token(api, token, why):
    response = register(api, WEB, token())
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_token" and why in response.json()["error_description"]
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert not Application.objects.exists()


def test_a_revoked_token_stops_working_and_a_failed_registration_does_not_spend_a_use(api):
    row, token = InitialAccessToken.issue("test", max_uses=1)
    assert register(api, WEB | {"redirect_uris": ["http://rp.example/cb"]}, token).status_code == 400
    assert register(api, WEB, token).status_code == 201
    row2, token2 = InitialAccessToken.issue("test", max_uses=None)
    row2.revoke()
    assert register(api, WEB, token2).json()["error_description"] == "The initial access token was revoked."
    row.refresh_from_db()
    assert row.uses == 1 and Application.objects.get().initial_access_token == row


def test_open_registration_is_off_by_default_and_on_only_for_user_facing_grants(api, settings):
    assert register(api, WEB).status_code == 401
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "OPEN_REGISTRATION": True}

    assert register(api, WEB).status_code == 201
    service = {"client_name": "Job", "application_type": "service"}
    refused = register(api, service)
    assert (
        refused.status_code == 400
        and "client_credentials needs an initial access token" in refused.json()["error_description"]
    )
    assert register(api, service, issued()).status_code == 201


def test_registration_is_rate_limited_per_address(api, settings):
    limits = settings.OIDC_FLOWS["AUTHN_RATE_LIMITS"] | {"registration": {"address": [2, 60]}}
    settings.OIDC_FLOWS = {**settings.OIDC_FLOWS, "AUTHN_RATE_LIMITS": limits}
    assert [register(api, WEB).status_code for _ in range(2)] == [401, 401]
    limited = register(api, WEB)
    assert limited.status_code == 429 and limited.json()["error"] == "too_many_requests"
    assert int(limited["Retry-After"]) >= 1


# -- metadata validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "error", "mentions"),
    [
        (WEB | {"redirect_uris": ["http://rp.example/cb"]}, "invalid_redirect_uri", "redirect_uris"),
        (WEB | {"redirect_uris": ["https://rp.example/cb#frag"]}, "invalid_redirect_uri", "redirect_uris"),
        (WEB | {"redirect_uris": []}, "invalid_redirect_uri", "at least one"),
        (WEB | {"application_type": "browser", "grant_types": ["client_credentials"]}, "invalid_client_metadata",
         "client_credentials"),
        (WEB | {"application_type": "browser", "token_endpoint_auth_method": "client_secret_basic"},
         "invalid_client_metadata", "token_endpoint_auth_method"),
        (WEB | {"token_endpoint_auth_method": "none"}, "invalid_client_metadata", "token_endpoint_auth_method"),
        (WEB | {"response_types": ["code id_token", "id_token"]}, "invalid_client_metadata", "implicit"),
        (WEB | {"response_types": "code"}, "invalid_client_metadata", "response_types"),
        (WEB | {"application_type": "spa"}, "invalid_client_metadata", "application_type"),
        (WEB | {"grant_types": ["urn:example:magic"]}, "invalid_client_metadata", "grant_types"),
        (WEB | {"jwks_uri": "http://rp.example/jwks"}, "invalid_client_metadata", "jwks_uri"),
        ({"redirect_uris": [RP_REDIRECT]}, "invalid_client_metadata", "client_name"),
        (["not", "an", "object"], "invalid_client_metadata", "JSON object"),
        (WEB | {"client_name": "nul\x00byte"}, "invalid_client_metadata", "NUL"),
    ],
    ids=[
        "http-web", "fragment", "no-redirect", "grant-for-type", "secret-for-browser", "none-for-web",
        "response-type-without-grant", "response-types-not-array",
        "unknown-type", "unknown-grant", "http-jwks-uri", "no-name", "not-object", "nul",
    ],
)  # fmt: skip
def test_invalid_metadata_is_refused_with_the_rfc_7591_error(api, metadata, error, mentions):
    response = register(api, metadata, issued())
    assert response.status_code == 400, response.content
    assert response.json()["error"] == error and mentions in response.json()["error_description"]
    assert not Application.objects.exists()


def test_okta_application_types_map_to_ours_with_their_defaults(api):
    browser = register(api, WEB | {"application_type": "browser"}, issued()).json()
    native = register(
        api, {"client_name": "CLI", "application_type": "native", "redirect_uris": ["com.example.cli:/cb"]}, issued()
    ).json()
    service = register(api, {"client_name": "Job", "application_type": "service"}, issued()).json()

    assert browser["token_endpoint_auth_method"] == "none" and "client_secret" not in browser
    assert Application.objects.get(client_id=browser["client_id"]).application_type == "spa"
    assert Application.objects.get(client_id=browser["client_id"]).allowed_origins == "https://rp.example"
    assert native["application_type"] == "native" and native["token_endpoint_auth_method"] == "none"
    assert service["grant_types"] == ["client_credentials"] and service["response_types"] == []
    assert service["client_secret"] and Application.objects.get(client_id=service["client_id"]).rule.confidential


# -- management -----------------------------------------------------------------------------------------


def manage(api: Client, method: str, info: dict, token: str | None = None, body: dict | None = None):
    token = info["registration_access_token"] if token is None else token
    kwargs = {"content_type": "application/json"} if body is not None else {}
    return getattr(api, method)(f"{ENDPOINT}/{info['client_id']}", body, HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)


def test_a_registration_token_manages_its_own_client_only(api):
    a = register(api, WEB, issued()).json()
    b = register(api, WEB, issued()).json()
    admins = make_client()

    assert manage(api, "get", b, a["registration_access_token"]).status_code == 401
    assert manage(api, "delete", b, a["registration_access_token"]).status_code == 401
    assert manage(api, "get", {"client_id": admins.client_id}, a["registration_access_token"]).status_code == 401
    assert api.get(f"{ENDPOINT}/{a['client_id']}").status_code == 401
    assert Application.objects.count() == 3


def test_an_update_must_name_the_client_and_may_only_confirm_its_current_secret(api):
    info = register(api, WEB, issued()).json()
    body = WEB | {"client_id": info["client_id"]}

    assert "client_id" in manage(api, "put", info, body=WEB).json()["error_description"]
    wrong = manage(api, "put", info, body=body | {"client_secret": "my own choice"})
    assert wrong.status_code == 400 and "client_secret" in wrong.json()["error_description"]
    moved = manage(api, "put", info, body=body | {"application_type": "native"})
    assert moved.status_code == 400 and "application_type" in moved.json()["error_description"]
    # Omitted metadata is deleted (RFC 7592 §2.2): the logo goes.
    without_logo = {k: v for k, v in body.items() if k != "logo_uri"}
    ok = manage(api, "put", info, body=without_logo | {"client_secret": info["client_secret"]})
    assert ok.status_code == 200 and "logo_uri" not in ok.json() and "client_secret" not in ok.json()


def test_no_secret_reaches_a_log_line(api, caplog):
    caplog.set_level(logging.DEBUG)
    initial = issued(max_uses=None)
    info = register(api, WEB, initial).json()
    register(api, WEB | {"redirect_uris": ["http://x.example/"]}, initial)
    updated = manage(api, "put", info, body=WEB | {"client_id": info["client_id"]}).json()
    manage(api, "get", updated, "wrong" + updated["registration_access_token"])

    secrets = (initial, info["client_secret"], info["registration_access_token"], updated["registration_access_token"])
    assert caplog.records and not any(secret in caplog.text for secret in secrets)
    stored = Application.objects.get(client_id=info["client_id"])
    assert updated["registration_access_token"] not in stored.registration_access_token
    assert stored.registration_access_token.startswith("oidc_hmac_sha256$")


def test_the_command_issues_a_token_shown_once_and_revokes_it(api):
    token = issue_with_command("--uses", "0", "--expires-in", "0")
    row = InitialAccessToken.objects.get()
    assert row.max_uses is None and row.expires is None and token not in row.token_hash

    call_command("oidc_issue_registration_token", "x", "--revoke", row.prefix, stdout=io.StringIO())
    assert register(api, WEB, token).status_code == 401


def test_logout_uris_are_registered_and_only_over_https(api):
    logout = {
        "backchannel_logout_uri": "https://rp.example/backchannel",
        "backchannel_logout_session_required": True,
        "frontchannel_logout_uri": "https://rp.example/frontchannel",
    }
    info = register(api, WEB | logout, issued()).json()
    app = Application.objects.get(client_id=info["client_id"])
    assert (app.backchannel_logout_uri, app.backchannel_logout_session_required) == (
        logout["backchannel_logout_uri"],
        True,
    )
    assert info["frontchannel_logout_uri"] == logout["frontchannel_logout_uri"]
    # A self-registered client never makes the IdP post to a loopback or plain-http address.
    loopback = register(api, WEB | {"backchannel_logout_uri": "http://127.0.0.1:8080/bc"}, issued())
    assert loopback.status_code == 400 and loopback.json()["error"] == "invalid_client_metadata"


def test_a_client_may_ask_for_pairwise_subjects(api):
    info = register(api, WEB | {"subject_type": "pairwise"}, issued()).json()
    assert info["subject_type"] == "pairwise"
    assert Application.objects.get(client_id=info["client_id"]).is_pairwise
    refused = register(api, WEB | {"subject_type": "secret"}, issued())
    assert refused.status_code == 400 and "subject_type" in refused.json()["error_description"]
