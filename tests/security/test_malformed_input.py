"""Malformed input (RFC 6749 §3.1, §3.2, §5.2; RFC 6750 §3.1): whatever an attacker sends gets a 4xx
with a standard error body (JSON at the back-channel endpoints, the error page or an error redirect
at /authorize), never a 5xx, and the server keeps serving: each test ends with a real token request.

Scenario: the ``default`` server, a web client, a service client, alice. Each test sends one kind of
malformed input to every endpoint that takes it, and names the case that failed.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
import requests

from tests.security.attacker import assert_error_page, assert_json_error
from tests.support.oauth import CSRF, AuthorizationRequest, Browser, location_params


MB = 1_000_000
RP = "https://rp.example/cb"


@pytest.fixture
def endpoints(default_server) -> dict[str, str]:
    return {name: default_server.endpoint_url(name) for name in ("token", "introspect", "revoke", "userinfo")}


def post(url: str, data, *, auth=None, **kwargs) -> requests.Response:
    return requests.post(url, data=data, auth=auth, timeout=30, **kwargs)


def sign_in_post(base_url: str, data) -> requests.Response:
    browser = Browser(base_url)
    token = CSRF.search(browser.get(f"{base_url}/login/").text).group(1)
    body = data(token) if callable(data) else {"csrfmiddlewaretoken": token, **data}
    headers = {"Referer": f"{base_url}/login/"}
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return browser.http.post(f"{base_url}/login/", data=body, headers=headers, allow_redirects=False, timeout=30)


def assert_sign_in_refused(response: requests.Response, case: str) -> None:
    assert response.status_code == 200 and 'name="password"' in response.text, (case, response.status_code)
    assert 'role="alert"' in response.text, case


def assert_error_at_client(response: requests.Response, error: str, case: str) -> None:
    assert response.status_code == 302 and response.headers["Location"].startswith(RP), (case, response.status_code)
    params = location_params(response)
    assert params.get("error") == error and "code" not in params, (case, params)


# -- size --------------------------------------------------------------------------------------------


def test_1_mb_parameters_get_a_standard_error(base_url, endpoints, web, service, still_serving):
    client, machine = (web.client_id, web.secret), (service.client_id, service.secret)
    big = "a" * MB

    cases = {
        "code": (
            endpoints["token"],
            {"grant_type": "authorization_code", "code": big, "redirect_uri": RP},
            client,
            "invalid_grant",
        ),
        "scope": (endpoints["token"], {"grant_type": "client_credentials", "scope": big}, machine, "invalid_scope"),
        "refresh_token": (
            endpoints["token"],
            {"grant_type": "refresh_token", "refresh_token": big},
            client,
            "invalid_grant",
        ),
        "client_id": (
            endpoints["token"],
            {"grant_type": "client_credentials", "client_id": big, "client_secret": "x"},
            None,
            "invalid_client",
        ),
        "userinfo access_token": (endpoints["userinfo"], {"access_token": big}, None, "invalid_token"),
    }
    for case, (url, data, auth, error) in cases.items():
        response = post(url, data, auth=auth)
        assert_json_error(
            response, error, status=401 if error in ("invalid_client", "invalid_token") else 400, case=case
        )

    for case, data in {
        "3 MB body": {"grant_type": "client_credentials", "scope": big * 3},  # past DATA_UPLOAD_MAX_MEMORY_SIZE
        "2000 fields": [(f"f{i}", "x") for i in range(2000)],  # past DATA_UPLOAD_MAX_NUMBER_FIELDS
    }.items():
        assert_json_error(post(endpoints["token"], data, auth=machine), "invalid_request", case=case)
    assert post(endpoints["introspect"], {"token": big}, auth=machine).json() == {"active": False}
    assert post(endpoints["revoke"], {"token": big}, auth=machine).status_code == 200  # RFC 7009 §2.2
    assert_sign_in_refused(sign_in_post(base_url, {"username": big, "password": big}), "sign-in")
    still_serving()


def test_a_1_mb_query_string_is_refused_before_it_reaches_the_idp(default_server, web, still_serving):
    auth = AuthorizationRequest(web, default_server, extra={"state": "a" * MB})

    response = requests.get(auth.url, allow_redirects=False, timeout=30)

    # The HTTP server's request-line limit (gunicorn: 414 too) answers first: a 4xx, never a redirect.
    assert response.status_code == 414 and "Location" not in response.headers
    still_serving()


def test_huge_headers_get_a_4xx(endpoints, service, still_serving):
    machine = (service.client_id, service.secret)

    response = requests.get(endpoints["userinfo"], headers={"Authorization": "Bearer " + "A" * 16_000}, timeout=30)
    assert_json_error(response, "invalid_token", status=401)
    huge = requests.post(
        endpoints["token"],
        data={"grant_type": "client_credentials"},
        auth=machine,
        headers={"X-Padding": "a" * 70_000},
        timeout=30,
    )
    assert 400 <= huge.status_code < 500, huge.status_code  # 431 from the HTTP server
    many = requests.post(
        endpoints["token"],
        data={"grant_type": "client_credentials"},
        auth=machine,
        headers={f"X-H{i}": "a" for i in range(150)},
        timeout=30,
    )
    assert 400 <= many.status_code < 500, many.status_code
    still_serving()


# -- repeated parameters (RFC 6749 §3.1: "MUST NOT be included more than once") -------------------


def test_a_repeated_parameter_at_the_token_endpoints_is_invalid_request(endpoints, web, service, still_serving):
    client, machine = (web.client_id, web.secret), (service.client_id, service.secret)
    code = [("grant_type", "authorization_code"), ("code", "abc"), ("redirect_uri", RP), ("code_verifier", "v" * 43)]
    cases = {
        "grant_type": (endpoints["token"], [("grant_type", "client_credentials")] * 2, machine),
        "scope": (endpoints["token"], [("grant_type", "client_credentials"), ("scope", "a"), ("scope", "b")], machine),
        "client_id": (
            endpoints["token"],
            [("grant_type", "client_credentials")] + [("client_id", service.client_id)] * 2,
            machine,
        ),
        "client_secret": (
            endpoints["token"],
            [("grant_type", "client_credentials"), ("client_id", service.client_id)]
            + [("client_secret", service.secret)] * 2,
            None,
        ),
        "code": (endpoints["token"], code + [("code", "def")], client),
        "redirect_uri": (endpoints["token"], code + [("redirect_uri", RP)], client),
        "code_verifier": (endpoints["token"], code + [("code_verifier", "w" * 43)], client),
        "refresh_token": (
            endpoints["token"],
            [("grant_type", "refresh_token"), ("refresh_token", "a"), ("refresh_token", "b")],
            client,
        ),
        "introspect token": (endpoints["introspect"], [("token", "a"), ("token", "b")], machine),
        "revoke token": (endpoints["revoke"], [("token", "a"), ("token", "b")], machine),
    }
    for case, (url, data, auth) in cases.items():
        body = assert_json_error(post(url, data, auth=auth), "invalid_request", case=case)
        assert "repeated" in body["error_description"], case
    still_serving()


def test_a_repeated_parameter_at_authorize_is_refused(signed_in, default_server, web, still_serving):
    auth = AuthorizationRequest(web, default_server)
    fatal = {"client_id": web.client_id, "response_type": "code", "redirect_uri": RP, "scope": "openid", "state": "x"}
    for name, value in fatal.items():
        # The client or its redirect_uri is in doubt: the error page (RFC 6749 §4.1.2.1).
        assert_error_page(signed_in.get(f"{auth.url}&{name}={quote(value, safe='')}"))
    for name in ("code_challenge", "code_challenge_method", "nonce", "prompt", "response_mode", "max_age"):
        response = signed_in.get(f"{auth.url}&{name}=1&{name}=1")
        assert_error_at_client(response, "invalid_request", name)
    still_serving()


# -- encodings and bytes -----------------------------------------------------------------------------


def test_invalid_utf8_gets_a_standard_error(
    base_url, signed_in, default_server, endpoints, web, service, still_serving
):
    machine = (service.client_id, service.secret)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for case, body in {
        "percent-encoded": b"grant_type=client_credentials&scope=%FF%FE",
        "raw bytes": b"grant_type=client_credentials&scope=\xff\xfe",
    }.items():
        response = post(endpoints["token"], body, auth=machine, headers=form)
        assert_json_error(response, "invalid_scope", case=case)
    introspected = post(endpoints["introspect"], b"token=%FF%FE%80", auth=machine, headers=form)
    assert introspected.json() == {"active": False}

    authorize = default_server.endpoint_url("authorize")
    assert_error_page(signed_in.get(f"{authorize}?client_id=%FF%FE&response_type=code&redirect_uri={quote(RP)}"))
    auth = AuthorizationRequest(web, default_server)
    assert_error_at_client(signed_in.get(f"{auth.url}&nonce=%FF%FE"), "invalid_request", "nonce")

    response = sign_in_post(
        base_url, lambda token: f"csrfmiddlewaretoken={token}&username=%FF%FE&password=%80".encode()
    )
    assert_sign_in_refused(response, "sign-in")
    still_serving()


def test_nul_bytes_get_a_standard_error(base_url, signed_in, default_server, endpoints, web, service, still_serving):
    machine = (service.client_id, service.secret)
    for url, data in [
        (endpoints["token"], {"grant_type": "client_credentials", "scope": "openid\x00"}),
        (endpoints["token"], {"grant_type": "authorization_code", "code": "a\x00b", "redirect_uri": RP}),
        (endpoints["introspect"], {"token": "a\x00b"}),
        (endpoints["revoke"], {"token": "a\x00b"}),
        (endpoints["userinfo"], {"access_token": "a\x00b"}),
    ]:
        body = assert_json_error(post(url, data, auth=machine), "invalid_request", case=url)
        assert "NUL" in body["error_description"], url

    auth = AuthorizationRequest(web, default_server)
    assert_error_page(signed_in.get(f"{auth.url}&login_hint=al%00ice"))
    logout = signed_in.get(f"{default_server.endpoint_url('logout')}?state=a%00b")
    assert logout.status_code == 400 and "Location" not in logout.headers
    assert_sign_in_refused(sign_in_post(base_url, {"username": "al\x00ice", "password": "x"}), "sign-in")
    still_serving()


# -- what the body is ----------------------------------------------------------------------------------


def test_a_body_that_is_not_form_encoded_is_invalid_request(endpoints, service, still_serving):
    # RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1: application/x-www-form-urlencoded.
    machine = (service.client_id, service.secret)
    raw = b"grant_type=client_credentials"
    for url in (endpoints["token"], endpoints["introspect"], endpoints["revoke"]):
        cases = {
            "JSON": {"json": {"grant_type": "client_credentials", "token": "x"}},
            "no content type": {"data": raw, "headers": {"Content-Type": ""}},
            "text/plain": {"data": raw, "headers": {"Content-Type": "text/plain"}},
            "multipart": {"files": {"grant_type": (None, "client_credentials")}},
        }
        for case, kwargs in cases.items():
            response = requests.post(url, auth=machine, timeout=30, **kwargs)
            body = assert_json_error(response, "invalid_request", case=(url, case))
            assert "x-www-form-urlencoded" in body["error_description"], (url, case)
    still_serving()


def test_an_unknown_response_type_is_refused_at_the_client(signed_in, default_server, web, still_serving):
    for response_type in ("bogus", "code bogus", "none", "CODE", "code&token", ""):
        auth = AuthorizationRequest(web, default_server, response_type=response_type)
        response = signed_in.get(auth.url)
        assert_error_at_client(response, "unsupported_response_type", response_type)
        assert location_params(response)["state"] == auth.state
    still_serving()


def test_a_bad_authorization_header_is_invalid_client(endpoints, service, still_serving):
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    headers = {
        "not base64": "Basic !!!not-base64!!!",
        "no colon": f"Basic {b64(b'no-colon-here')}",
        "empty": "Basic ",
        "scheme only": "Basic",
        "not UTF-8": f"Basic {b64(bytes([0xFF, 0xFE]) + b':' + bytes([0x80]))}",
        "right id, empty secret": f"Basic {b64(service.client_id.encode() + b':')}",
        "Bearer at /token": "Bearer abc",
        "unknown scheme": "Digest username=x",
        "8 KB": "Basic " + "A" * 8000,
    }
    for url in (endpoints["token"], endpoints["introspect"], endpoints["revoke"]):
        for case, header in headers.items():
            response = post(url, {"grant_type": "client_credentials", "token": "x"}, headers={"Authorization": header})
            assert_json_error(response, "invalid_client", status=401, case=(url, case))
            assert response.headers["WWW-Authenticate"].startswith("Basic"), (url, case)
    still_serving()


def test_a_bad_bearer_header_at_userinfo_is_invalid_token(endpoints, still_serving):
    for header in ("Bearer", "Bearer ", "Bearer a b", "Basic abc", "Bearer \u00e9", "Bearer " + "A" * 8000):
        response = requests.get(endpoints["userinfo"], headers={"Authorization": header.encode("utf-8")}, timeout=30)
        assert response.status_code == 401, (header[:20], response.status_code)
        assert response.json()["error"] == "invalid_token"
    still_serving()
