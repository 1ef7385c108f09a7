"""redirect_uri attacks (RFC 9700 §4.1, RFC 6749 §3.1.2, §4.1.2.1): only the exact registered URI.

Scenario: a web client registered with ``https://rp.example/cb`` that skips consent, and alice
signed in, so a request the IdP wrongly accepted would come back with a code at once. Every
variant must end on the IdP's error page: no redirect, no code.
"""

from __future__ import annotations

from oidc_flows.models import Grant
from tests.factories import RP_REDIRECT, make_client
from tests.security.attacker import ATTACKER, assert_error_page, redirected_off_idp
from tests.security.conftest import code_of
from tests.support.oauth import AuthorizationRequest


VARIANTS = {
    "unregistered": f"{ATTACKER}/cb",
    "prefix of the path": "https://rp.example/c",
    "longer path": "https://rp.example/cbx",
    "suffix path": "https://rp.example/cb/evil",
    "trailing slash": "https://rp.example/cb/",
    "host suffix": "https://rp.example.attacker.example/cb",
    "path traversal": "https://rp.example/cb/../evil",
    "encoded path traversal": "https://rp.example/cb/%2e%2e/evil",
    "encoded character": "https://rp.example/%63b",
    "userinfo @ attacker": "https://rp.example@attacker.example/cb",
    "userinfo @ rp": "https://attacker.example@rp.example/cb",
    "fragment": "https://rp.example/cb#evil",
    "upper-case host": "https://RP.EXAMPLE/cb",
    "upper-case path": "https://rp.example/CB",
    "upper-case scheme": "HTTPS://rp.example/cb",
    "http downgrade": "http://rp.example/cb",
    "other port": "https://rp.example:8443/cb",
    "extra query parameter": f"https://rp.example/cb?next={ATTACKER}",
    "javascript scheme": "javascript:alert(1)//rp.example/cb",
}


def test_no_redirect_uri_variant_is_followed(signed_in, default_server, web):
    followed = {}
    for variant, redirect_uri in VARIANTS.items():
        response = signed_in.get(AuthorizationRequest(web, default_server, redirect_uri=redirect_uri).url)
        if response.status_code != 400 or "Location" in response.headers:
            followed[variant] = (response.status_code, response.headers.get("Location"))

    assert not followed, followed
    assert not Grant.objects.exists()
    # The same browser with the registered URI gets a code at once: the refusals above were not luck.
    assert signed_in.get(AuthorizationRequest(web, default_server).url).headers["Location"].startswith(RP_REDIRECT)


def test_an_error_is_not_sent_to_an_unregistered_redirect_uri(signed_in, default_server, web):
    # RFC 9700 §4.11.1: an error redirect to an unchecked URI makes the IdP an open redirector.
    auth = AuthorizationRequest(web, default_server, redirect_uri=f"{ATTACKER}/cb", response_type="bogus")

    assert_error_page(signed_in.get(auth.url))


def test_a_missing_redirect_uri_with_several_registered_is_refused(signed_in, default_server, user):
    client = make_client(app_type="web", redirect_uris=(RP_REDIRECT, "https://rp.example/other"), skip_consent=True)
    auth = AuthorizationRequest(client, default_server)
    url = auth.url.replace("redirect_uri=", "ignored=")

    assert_error_page(signed_in.get(url))
    assert not Grant.objects.exists()


LOOPBACK_VARIANTS = [
    "http://127.0.0.1.attacker.example/cb",
    "http://127.0.0.1@attacker.example/cb",
    "http://127.0.0.1:8080/cb/../evil",
    "http://127.0.0.1:8080/other",
    "http://localhost:8080/cb",
]


def test_a_native_loopback_redirect_may_change_its_port_and_nothing_else(signed_in, default_server):
    # RFC 8252 §7.3: any port on the loopback IP; RFC 9700 §4.1.3: everything else exact.
    native = make_client(app_type="native", redirect_uris=("http://127.0.0.1/cb",), skip_consent=True)

    for redirect_uri in LOOPBACK_VARIANTS:
        response = signed_in.get(AuthorizationRequest(native, default_server, redirect_uri=redirect_uri).url)
        assert not redirected_off_idp(response, signed_in.base_url), redirect_uri
        assert_error_page(response)
    port_only = AuthorizationRequest(native, default_server, redirect_uri="http://127.0.0.1:8080/cb")
    assert signed_in.get(port_only.url).headers["Location"].startswith("http://127.0.0.1:8080/cb?code=")


def test_the_token_endpoint_refuses_a_redirect_uri_unlike_the_authorization_request(signed_in, default_server, web):
    auth = AuthorizationRequest(web, default_server)
    code = code_of(signed_in, auth)

    response = auth.token_request(code, redirect_uri=f"{ATTACKER}/cb")

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_no_post_logout_redirect_uri_variant_is_followed(browser, default_server):
    # RP-Initiated Logout §3: only a URI the application registered, exactly.
    client = make_client(app_type="web", post_logout_redirect_uris=("https://rp.example/bye",))
    for uri in (
        f"{ATTACKER}/bye",
        "https://rp.example/bye/evil",
        "https://rp.example/bye?x=1",
        "https://rp.example@attacker.example/bye",
        "https://RP.example/bye",
    ):
        params = {"client_id": client.client_id, "post_logout_redirect_uri": uri}
        response = browser.http.get(default_server.endpoint_url("logout"), params=params, allow_redirects=False)
        assert response.status_code == 200 and "Location" not in response.headers, uri
        assert "has not registered" in response.text, uri


def test_the_registered_post_logout_redirect_uri_is_followed(browser, default_server):
    client = make_client(app_type="web", post_logout_redirect_uris=("https://rp.example/bye",))
    params = {"client_id": client.client_id, "post_logout_redirect_uri": "https://rp.example/bye", "state": "s"}

    response = browser.http.get(default_server.endpoint_url("logout"), params=params, allow_redirects=False)

    assert response.status_code == 302 and response.headers["Location"] == "https://rp.example/bye?state=s"
