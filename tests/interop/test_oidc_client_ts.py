"""oidc-client-ts in a single-page app (tests/interop/spa) in headless Chromium: sign-in with PKCE, over CORS.

Scenario: the `default` server and a `spa` application (public, PKCE) whose allowed origin is the SPA's
origin, another port than the IdP's. The user signs in on our hosted pages; back on the SPA, the library
exchanges the code at /token, calls /userinfo and refreshes, all with fetch from the SPA's origin, which
works only if the IdP grants that origin CORS. The same calls from a foreign origin must stay unreadable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.admin.conftest import CHROMIUM, CHROMIUM_ARGS, browser_missing
from tests.support.jose import verify_jwt


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


@pytest.fixture(scope="module")
def signed_in(chromium, idp, spa_site) -> dict:
    """Sign in through the SPA; return what the SPA reported and the IdP responses its fetches read."""
    context = chromium.new_context()
    context.set_default_timeout(20_000)
    page = context.new_page()
    seen: list[dict] = []

    def record(response: Any) -> None:
        if response.url.startswith(f"{idp.issuer}/v1/"):
            request = response.request
            seen.append(
                {"url": response.url, "method": request.method, "status": response.status, "headers": response.headers}
            )

    page.on("response", record)
    page.goto(f"{spa_site}/index.html")
    page.click("#sign-in:not([disabled])")
    page.wait_for_url(f"{idp.base_url}/login/**")
    page.fill("#id_username", idp.username)
    page.fill("#id_password", idp.password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: not url.startswith(f"{idp.base_url}/login/"))
    if page.url.startswith(idp.base_url):  # the consent page, unless consent was given before
        page.click("button[name=decision][value=allow]")
    page.wait_for_url(f"{spa_site}/callback.html**")
    page.wait_for_function("document.getElementById('result').textContent !== ''")
    report = json.loads(page.text_content("#result"))
    context.close()
    return {"report": report, "responses": seen}


def test_the_spa_signs_in_and_refreshes_across_origins(idp, signed_in):
    report = signed_in["report"]
    assert "error" not in report, report

    assert report["signed_in"]["profile"]["email"] == "alice@example.com"  # from the ID token and userinfo
    claims = verify_jwt(
        report["signed_in"]["access_token"],
        jwks_url=idp.endpoint("keys"),
        issuer=idp.issuer,
        audience="api://default",
        typ="at+jwt",
    )
    assert claims["client_id"] == idp.clients["spa"].client_id
    assert report["refreshed"]["refresh_token"] != report["signed_in"]["refresh_token"]
    assert set(report["refreshed"]["scope"].split()) == {"openid", "profile", "email", "offline_access"}


def test_token_and_userinfo_answered_the_spa_origin_by_name(signed_in, spa_site):
    calls = {(r["method"], r["url"].rsplit("/", 1)[1]): r for r in signed_in["responses"]}
    calls = {call: r for call, r in calls.items() if call in {("POST", "token"), ("GET", "userinfo")}}

    assert len(calls) == 2, signed_in["responses"]
    for response in calls.values():
        assert response["status"] == 200
        assert response["headers"]["access-control-allow-origin"] == spa_site  # the origin, never "*"
        assert "origin" in response["headers"]["vary"].lower()


def probe(chromium, page_url: str, idp, access_token: str) -> dict:
    """Open probe.html at ``page_url`` and return what its script could read from /userinfo and /token."""
    settings = {"userinfo": idp.endpoint("userinfo"), "token": idp.endpoint("token"), "access_token": access_token}
    settings["refresh_token"] = "not-a-refresh-token"
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{page_url}#{quote(json.dumps(settings))}")
    page.wait_for_function("document.getElementById('result').textContent !== ''", timeout=20_000)
    result = json.loads(page.text_content("#result"))
    context.close()
    return result


def test_the_spa_origin_reads_answers_and_errors(chromium, idp, spa_site, signed_in):
    result = probe(chromium, f"{spa_site}/probe.html", idp, signed_in["report"]["refreshed"]["access_token"])

    assert result["userinfo"]["status"] == 200
    assert json.loads(result["userinfo"]["body"])["email"] == "alice@example.com"
    # Errors are readable too, so the SPA can tell "sign in again" from a network failure.
    assert result["token"]["status"] == 400
    assert json.loads(result["token"]["body"])["error"] == "invalid_grant"


def test_a_foreign_origin_reads_nothing(chromium, idp, spa_site, signed_in):
    foreign = spa_site.replace("127.0.0.1", "localhost")  # same files, another origin: not registered

    result = probe(chromium, f"{foreign}/probe.html", idp, signed_in["report"]["refreshed"]["access_token"])

    assert result["userinfo"].get("blocked"), result
    assert result["token"].get("blocked"), result
