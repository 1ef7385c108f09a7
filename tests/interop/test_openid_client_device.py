"""openid-client v6 (npm, panva) as a device against the IdP under gunicorn: the Device Authorization Grant (RFC 8628).

Scenario: the `default` custom server, a public native application (`openid-client-device`) enabled for the
device grant, devices told to poll every second (IDP_DEVICE_CODE_INTERVAL). js/openid_client_device.mjs calls
`initiateDeviceAuthorization`, prints the user code and keeps polling with `pollDeviceAuthorizationGrant`;
meanwhile alice, in headless Chromium, opens /activate, types the code, signs in on the hosted sign-in page
and allows. The library validates the ID token it then gets; we verify both tokens again with joserfc.
(axe-core checks the /activate pages in tests/flows/test_device.py, where the stylesheet is served.)
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin.conftest import CHROMIUM, CHROMIUM_ARGS, browser_missing
from tests.support.jose import verify_jwt

from .conftest import JS


SCOPES = "openid profile email offline_access"
pytestmark = pytest.mark.usefixtures("node")  # skip (or fail) before starting anything


@pytest.fixture(scope="module")
def chromium(node) -> Iterator[Any]:
    if why := browser_missing():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def activate_in_chromium(chromium, idp, device: dict) -> str:
    """alice types the user code on /activate, signs in and allows; the text of the last page."""
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(device["verification_uri"])
        page.fill("#id_user_code", device["user_code"])
        page.click("button[type=submit]:has-text('Continue')")
        page.wait_for_selector("#id_password")  # the hosted sign-in, which returns to /activate/confirm
        page.fill("#id_username", idp.username)
        page.fill("#id_password", idp.password)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_selector("button[value=allow]")
        assert page.text_content("#device-user-code") == device["user_code"]  # RFC 8628 §5.4: the same code
        page.click("button[value=allow]")
        page.wait_for_selector("#device-done-heading")
        return page.text_content("main")
    finally:
        context.close()


@pytest.fixture(scope="module")
def device_flow(idp, node, chromium) -> dict:
    client = idp.clients["openid-client-device"]
    settings = {"issuer": idp.issuer, "client_id": client.client_id, "scope": SCOPES}
    script = subprocess.Popen(
        [node, str(JS / "openid_client_device.mjs"), json.dumps(settings)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(script.stdout.readline() or '{"error": "no output"}')
        assert "device" in first, f"openid-client refused: {first}\n{script.stderr.read()}"
        page_text = activate_in_chromium(chromium, idp, first["device"])
        result = json.loads(script.stdout.readline() or '{"error": "no output"}')
        script.wait(timeout=30)
    finally:
        if script.poll() is None:
            script.kill()
        script.wait()
    assert "error" not in result, f"openid-client refused: {result}\n{script.stderr.read()}"
    return first | result | {"page_text": page_text}


def test_device_authorization_response(idp, device_flow):
    device = device_flow["device"]

    assert device_flow["device_authorization_endpoint"] == idp.endpoint("device/authorize")
    assert device["verification_uri"] == f"{idp.base_url}/activate"
    assert device["verification_uri_complete"] == f"{idp.base_url}/activate?user_code={device['user_code']}"
    assert device["interval"] == 1
    assert "You may now return to your device." in device_flow["page_text"]


def test_the_library_accepts_the_id_token_and_we_agree(idp, device_flow):
    client_id = idp.clients["openid-client-device"].client_id
    tokens = device_flow["tokens"]

    claims = verify_jwt(tokens["id_token"], jwks_url=idp.endpoint("keys"), issuer=idp.issuer, audience=client_id)

    assert claims == device_flow["id_token_claims"]
    assert claims["amr"] == ["pwd"] and isinstance(claims["auth_time"], int)  # alice's sign-in on /activate
    assert claims["email"] == "alice@example.com"
    assert device_flow["userinfo"]["sub"] == claims["sub"]


def test_access_and_refresh_tokens(idp, device_flow):
    tokens = device_flow["tokens"]

    access = verify_jwt(
        tokens["access_token"], jwks_url=idp.endpoint("keys"), issuer=idp.issuer, audience="api://default", typ="at+jwt"
    )

    assert access["client_id"] == idp.clients["openid-client-device"].client_id
    assert access["sub"] == device_flow["id_token_claims"]["sub"]
    assert set(access["scp"]) == set(SCOPES.split())
    assert tokens["refresh_token"]  # offline_access was granted
