"""Sign-on policies, MFA and step-up at /authorize, over HTTP; ``amr``, ``acr`` and ``auth_time`` in ID tokens.

Scenario: besides the built-in servers (org, ``default``) a second custom server, ``payments``. Sign-on
policies: "Finance" (priority 1, assigned to the group ``finance``) with one rule, MFA always; the
"Default Policy" of everyone else with one rule, password only (MFA never) unless a test says
otherwise. Users: ``fiona`` (finance) and ``alice`` (no group), each with an active authenticator app
(TOTP). Clients are confidential ``web`` applications that skip consent.

Sign-in goes through the Authentication API (``POST /api/v1/authn`` and factor verification), and the
``sessionToken`` is redeemed at /authorize (Okta's contract). Where /authorize asks for a step-up it
redirects to the sign-in page; these tests then sign in again through the API and redeem the new
``sessionToken`` at the page's ``next`` URL. What only the hosted pages can do (a step-up that the
API cannot know about, "MFA once per session" with ``prompt=login``) is in ``test_step_up.py``.

ID tokens are verified with joserfc against each server's JWKS (RFC 8176 ``amr``; Okta's ``acr``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from http import HTTPStatus
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import Group

from oidc_flows.authn.browser import DEADLINE_KEY
from oidc_flows.authn.factors import totp
from oidc_flows.authn.models import Factor, MfaRequirement, SignOnPolicy, SignOnRule
from tests.factories import PASSWORD, make_client, make_server, make_user
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, location_params


TOTP = "token:software:totp"
PWD_ONLY = "urn:okta:loa:1fa:pwd"
TWO_FACTORS = "urn:okta:loa:2fa:any"
SCENARIO = {
    "servers": ("org", "default", "payments"),
    "finance_rule": {"mfa": MfaRequirement.ALWAYS},
    "default_rule": {"mfa": MfaRequirement.NEVER},
    "scope": "openid profile offline_access",
}


# -- people, policies, servers, clients -------------------------------------------------------------


@dataclass
class Person:
    username: str
    user: object
    factor: Factor | None = None
    secret: str = ""

    def code(self) -> str:
        """A TOTP code for a time step the factor has not used yet (each step counts once)."""
        while True:
            used = Factor.objects.get(pk=self.factor.pk).counter
            current = int(time.time() // totp.STEP)
            for step in (current, current + 1):
                if step > used:
                    return pyotp.TOTP(self.secret, interval=totp.STEP).at(step * totp.STEP)
            time.sleep(totp.STEP - time.time() % totp.STEP + 0.1)


def person(username: str, *, groups: tuple[Group, ...] = (), with_totp: bool = True) -> Person:
    user = make_user(username=username)
    user.groups.add(*groups)
    if not with_totp:
        return Person(username, user)
    factor, secret = totp.enroll_active(user)
    return Person(username, user, factor, secret)


def sign_on_policy(name: str, priority: int, *, groups=(), rules: list[dict]) -> SignOnPolicy:
    """A sign-on policy with ``rules`` (dicts of SignOnRule fields; m2m conditions as lists)."""
    policy = SignOnPolicy.objects.create(name=name, priority=priority)
    policy.groups.set(groups)
    for index, fields in enumerate(rules, start=1):
        fields = {"name": f"{name} rule {index}", "priority": index} | fields
        conditions = {key: fields.pop(key) for key in ("groups", "applications", "servers") if key in fields}
        rule = SignOnRule.objects.create(policy=policy, **fields)
        for key, values in conditions.items():
            getattr(rule, key).set(values)
    return policy


@pytest.fixture(autouse=True)
def _live_database(transactional_db):
    """The live server's threads see committed rows only: every test here needs a transactional database."""


@pytest.fixture
def finance(transactional_db) -> Group:
    return Group.objects.create(name="finance")


@pytest.fixture
def policies(transactional_db, finance) -> dict[str, SignOnPolicy]:
    """The scenario's two policies (a flushed database has no rows, so the default one is made here too)."""
    SignOnPolicy.objects.all().delete()
    return {
        "finance": sign_on_policy("Finance", 1, groups=[finance], rules=[SCENARIO["finance_rule"]]),
        "default": sign_on_policy("Default Policy", 1000, rules=[SCENARIO["default_rule"]]),
    }


@pytest.fixture
def default_rule(policies) -> SignOnRule:
    return policies["default"].rules.get(name="Default Policy rule 1")


@pytest.fixture
def fiona(policies, finance) -> Person:
    return person("fiona", groups=(finance,))


@pytest.fixture
def alice(policies, user) -> Person:
    factor, secret = totp.enroll_active(user)
    return Person("alice", user, factor, secret)


@pytest.fixture
def payments_server(base_url):
    return make_server("payments")


@pytest.fixture
def servers(org_server, default_server, payments_server) -> dict:
    return {"org": org_server, "default": default_server, "payments": payments_server}


@pytest.fixture
def client(transactional_db):
    return make_client(app_type="web", skip_consent=True)


@pytest.fixture
def other_client(transactional_db):
    return make_client(app_type="web", skip_consent=True)


@pytest.fixture
def hybrid_client(transactional_db):
    return make_client(
        app_type="web", grant_types=["authorization_code", "implicit", "refresh_token"], skip_consent=True
    )


@pytest.fixture
def password_client(transactional_db):
    return make_client(app_type="web", grant_types=["authorization_code", "password", "refresh_token"])


# -- the Authentication API and /authorize ------------------------------------------------------------


def primary_authentication(base_url: str, username: str, password: str = PASSWORD) -> dict:
    response = requests.post(f"{base_url}/api/v1/authn", json={"username": username, "password": password}, timeout=10)
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()


def verify_totp(body: dict, who: Person) -> dict:
    factor = next(f for f in body["_embedded"]["factors"] if f["factorType"] == TOTP)
    response = requests.post(
        factor["_links"]["verify"]["href"], json={"stateToken": body["stateToken"], "passCode": who.code()}, timeout=10
    )
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()


def session_token(base_url: str, who: Person, *, use_factor: bool = True) -> str:
    """Sign in through the API, answering MFA_REQUIRED with a TOTP code; the sessionToken of SUCCESS."""
    body = primary_authentication(base_url, who.username)
    if body["status"] == "MFA_REQUIRED" and use_factor:
        body = verify_totp(body, who)
    assert body["status"] == "SUCCESS", body
    return body["sessionToken"]


def with_session_token(url: str, token: str) -> str:
    return f"{url}&sessionToken={token}"


def is_sign_in_redirect(response: requests.Response) -> bool:
    return response.status_code == HTTPStatus.FOUND and urlsplit(response.headers["Location"]).path == "/login/"


def sign_in_again(browser: Browser, response: requests.Response, who: Person) -> requests.Response:
    """Answer /authorize's redirect to the sign-in page: sign in through the API, redeem at the page's ``next``."""
    assert is_sign_in_redirect(response), (response.status_code, response.headers.get("Location"))
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert "sessionToken" not in next_url
    return browser.get(with_session_token(browser.base_url + next_url, session_token(browser.base_url, who)))


def code_of(response: requests.Response) -> str:
    assert response.status_code == HTTPStatus.FOUND, response.text[:300]
    params = location_params(response)
    assert "code" in params, params
    return params["code"]


def id_token_claims(server, client, id_token: str) -> dict:
    return verify_jwt(id_token, jwks_url=server.endpoint_url("keys"), issuer=server.issuer, audience=client.client_id)


def tokens_for(auth: AuthorizationRequest, response: requests.Response) -> dict:
    exchanged = auth.token_request(code_of(response))
    assert exchanged.status_code == HTTPStatus.OK, exchanged.text
    return exchanged.json()


def claims_after_code_flow(server, client, auth: AuthorizationRequest, response: requests.Response) -> dict:
    return id_token_claims(server, client, tokens_for(auth, response)["id_token"])


def authorize_request(client, server, **extra) -> AuthorizationRequest:
    return AuthorizationRequest(client, server, scope=SCENARIO["scope"], extra=extra)


def assert_multi_factor(claims: dict) -> None:
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"]), claims["amr"]
    assert claims["acr"] == TWO_FACTORS


def assert_password_only(claims: dict) -> None:
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == PWD_ONLY


def post_token(server, client, **data) -> requests.Response:
    return requests.post(server.endpoint_url("token"), data=data, auth=(client.client_id, client.secret), timeout=10)


# -- a policy for one group, honoured at every server ---------------------------------------------------


def test_finance_member_is_asked_for_the_factor_at_primary_authentication(base_url, fiona):
    body = primary_authentication(base_url, "fiona")

    assert body["status"] == "MFA_REQUIRED"
    assert [f["factorType"] for f in body["_embedded"]["factors"]] == [TOTP]
    assert "sessionToken" not in body


def test_others_sign_in_with_the_password_alone_though_they_have_a_factor(base_url, alice):
    body = primary_authentication(base_url, "alice")

    assert body["status"] == "SUCCESS"
    assert body["sessionToken"]


@pytest.mark.parametrize("server_name", SCENARIO["servers"])
def test_finance_member_gets_multi_factor_tokens_from_every_server(browser, servers, client, fiona, server_name):
    server = servers[server_name]
    auth = authorize_request(client, server)

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, fiona)))

    assert_multi_factor(claims_after_code_flow(server, client, auth, response))


@pytest.mark.parametrize("server_name", SCENARIO["servers"])
def test_password_only_session_of_a_finance_member_steps_up_at_every_server(
    browser, servers, client, fiona, finance, server_name
):
    server = servers[server_name]
    fiona.user.groups.remove(finance)  # she signed in before joining finance: a password was all it took
    first = authorize_request(client, server)
    assert_password_only(
        claims_after_code_flow(
            server, client, first, browser.get(with_session_token(first.url, session_token(browser.base_url, fiona)))
        )
    )
    fiona.user.groups.add(finance)
    auth = authorize_request(client, server)

    response = browser.get(auth.url)

    assert is_sign_in_redirect(response)
    assert_multi_factor(claims_after_code_flow(server, client, auth, sign_in_again(browser, response, fiona)))


@pytest.mark.parametrize("server_name", SCENARIO["servers"])
def test_password_only_session_of_a_finance_member_with_prompt_none_is_login_required(
    browser, servers, client, fiona, finance, server_name
):
    server = servers[server_name]
    fiona.user.groups.remove(finance)
    first = authorize_request(client, server)
    code_of(browser.get(with_session_token(first.url, session_token(browser.base_url, fiona))))
    fiona.user.groups.add(finance)
    auth = authorize_request(client, server, prompt="none")

    params = location_params(browser.get(auth.url))

    assert params["error"] == "login_required"
    assert params["state"] == auth.state and "code" not in params


def test_non_member_signs_in_once_with_a_password_for_every_server(browser, servers, client, alice):
    token = session_token(browser.base_url, alice)
    for server_name in SCENARIO["servers"]:
        server = servers[server_name]
        auth = authorize_request(client, server)
        url = with_session_token(auth.url, token) if server_name == SCENARIO["servers"][0] else auth.url

        claims = claims_after_code_flow(server, client, auth, browser.get(url))

        assert_password_only(claims)


@pytest.mark.parametrize("server_name", SCENARIO["servers"])
def test_password_grant_is_refused_to_a_finance_member(servers, password_client, fiona, server_name):
    response = post_token(
        servers[server_name],
        password_client,
        grant_type="password",
        username="fiona",
        password=PASSWORD,
        scope="openid",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("server_name", SCENARIO["servers"])
def test_password_grant_gives_others_a_password_only_id_token(servers, password_client, alice, server_name):
    server = servers[server_name]
    before = int(time.time())

    response = post_token(
        server, password_client, grant_type="password", username="alice", password=PASSWORD, scope="openid"
    )

    assert response.status_code == HTTPStatus.OK, response.text
    claims = id_token_claims(server, password_client, response.json()["id_token"])
    assert_password_only(claims)
    assert before <= claims["auth_time"] <= int(time.time())


# -- rule conditions: application, authorization server ----------------------------------------------------


@pytest.fixture
def mfa_for_client_only(policies, client):
    """First rule of the default policy: MFA always, for ``client`` only; then the password-only rule."""
    SignOnRule.objects.filter(policy=policies["default"]).update(priority=2)
    rule = SignOnRule.objects.create(policy=policies["default"], name="Payroll app", priority=1, mfa="always")
    rule.applications.set([client])
    return rule


def test_rule_for_one_application_leaves_the_others_password_only(
    browser, default_server, client, other_client, alice, mfa_for_client_only
):
    auth = authorize_request(other_client, default_server)

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, alice)))

    assert_password_only(claims_after_code_flow(default_server, other_client, auth, response))


def test_rule_for_one_application_sends_its_password_only_session_to_step_up(
    browser, default_server, client, other_client, alice, mfa_for_client_only
):
    code_of(
        browser.get(
            with_session_token(
                authorize_request(other_client, default_server).url, session_token(browser.base_url, alice)
            )
        )
    )

    response = browser.get(authorize_request(client, default_server).url)

    assert is_sign_in_redirect(response)


def test_rule_for_one_application_with_prompt_none_is_login_required(
    browser, default_server, client, other_client, alice, mfa_for_client_only
):
    code_of(
        browser.get(
            with_session_token(
                authorize_request(other_client, default_server).url, session_token(browser.base_url, alice)
            )
        )
    )
    auth = authorize_request(client, default_server, prompt="none")

    assert location_params(browser.get(auth.url))["error"] == "login_required"


def test_rule_for_one_application_accepts_a_multi_factor_session(
    browser, default_server, client, alice, mfa_for_client_only, default_rule
):
    default_rule.mfa = MfaRequirement.IF_ENROLLED  # the API (which knows no application) asks alice's factor
    default_rule.save()
    auth = authorize_request(client, default_server)

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, alice)))

    assert_multi_factor(claims_after_code_flow(default_server, client, auth, response))


@pytest.fixture
def deny_payments(policies, payments_server):
    SignOnRule.objects.filter(policy=policies["default"]).update(priority=2)
    rule = SignOnRule.objects.create(policy=policies["default"], name="No payments", priority=1, access="deny")
    rule.servers.set([payments_server])
    return rule


def test_rule_denying_one_server_sends_access_denied_back_to_the_client(
    browser, payments_server, client, alice, deny_payments
):
    auth = authorize_request(client, payments_server)

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, alice)))

    assert response.headers["Location"].startswith(client.redirect_uris)
    params = location_params(response)
    assert params["error"] == "access_denied"
    assert params["state"] == auth.state and params["iss"] == payments_server.issuer
    assert "code" not in params


def test_rule_denying_one_server_leaves_the_others_open(browser, default_server, client, alice, deny_payments):
    auth = authorize_request(client, default_server)

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, alice)))

    assert_password_only(claims_after_code_flow(default_server, client, auth, response))


def test_rule_denying_one_server_refuses_its_password_grant(payments_server, password_client, alice, deny_payments):
    response = post_token(
        payments_server, password_client, grant_type="password", username="alice", password=PASSWORD, scope="openid"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid_grant"


# -- amr and acr in ID tokens -------------------------------------------------------------------------


@pytest.fixture(params=["password", "password+totp"])
def signed_in(request, alice, fiona) -> tuple[Person, object]:
    """alice signs in with her password only, fiona with her password and her authenticator app."""
    return (alice, assert_password_only) if request.param == "password" else (fiona, assert_multi_factor)


def test_amr_and_acr_of_the_code_flow(browser, default_server, client, signed_in):
    who, expected = signed_in
    auth = authorize_request(client, default_server)

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, who)))

    expected(claims_after_code_flow(default_server, client, auth, response))


@pytest.mark.parametrize("response_type", ["code id_token", "code id_token token", "id_token", "id_token token"])
def test_amr_and_acr_of_id_tokens_from_authorize(browser, default_server, hybrid_client, signed_in, response_type):
    who, expected = signed_in
    auth = AuthorizationRequest(hybrid_client, default_server, scope="openid profile", response_type=response_type)

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, who)))

    params = location_params(response)
    claims = id_token_claims(default_server, hybrid_client, params["id_token"])
    assert claims["nonce"] == auth.nonce
    expected(claims)
    if "code" in params:  # the ID token from /token says the same
        exchanged = auth.token_request(params["code"])
        assert exchanged.status_code == HTTPStatus.OK, exchanged.text
        expected(id_token_claims(default_server, hybrid_client, exchanged.json()["id_token"]))


def test_refreshed_id_token_keeps_the_original_amr_acr_and_auth_time(browser, default_server, client, signed_in):
    who, expected = signed_in
    auth = authorize_request(client, default_server)
    first = tokens_for(auth, browser.get(with_session_token(auth.url, session_token(browser.base_url, who))))
    original = id_token_claims(default_server, client, first["id_token"])
    time.sleep(1.1)  # a new iat, so that a fresh auth_time would show

    response = post_token(default_server, client, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert response.status_code == HTTPStatus.OK, response.text
    refreshed = id_token_claims(default_server, client, response.json()["id_token"])
    expected(refreshed)
    assert refreshed["amr"] == original["amr"]
    assert refreshed["auth_time"] == original["auth_time"] < refreshed["iat"]


# -- acr_values and max_age: step-up -----------------------------------------------------------------------


@pytest.fixture
def password_session(browser, default_server, client, user, policies, default_rule) -> Person:
    """alice, signed in with her password when she had no factor; she has set up an authenticator app since.

    The default rule asks a factor of whoever has one (the built-in if_enrolled), so that signing in
    again through the API asks for it.
    """
    default_rule.mfa = MfaRequirement.IF_ENROLLED
    default_rule.save()
    bare = Person("alice", user)
    auth = authorize_request(client, default_server)
    assert_password_only(
        claims_after_code_flow(
            default_server,
            client,
            auth,
            browser.get(with_session_token(auth.url, session_token(browser.base_url, bare))),
        )
    )
    factor, secret = totp.enroll_active(user)
    return Person("alice", user, factor, secret)


def test_acr_values_two_factors_over_a_password_session_asks_to_sign_in_again(
    browser, default_server, client, password_session
):
    response = browser.get(authorize_request(client, default_server, acr_values=TWO_FACTORS).url)

    assert is_sign_in_redirect(response)


def test_acr_values_step_up_gives_the_requested_acr(browser, default_server, client, password_session):
    auth = authorize_request(client, default_server, acr_values=TWO_FACTORS)

    response = sign_in_again(browser, browser.get(auth.url), password_session)

    claims = claims_after_code_flow(default_server, client, auth, response)
    assert claims["acr"] == TWO_FACTORS
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_acr_values_with_prompt_none_over_a_password_session_is_login_required(
    browser, default_server, client, password_session
):
    auth = authorize_request(client, default_server, acr_values=TWO_FACTORS, prompt="none")

    params = location_params(browser.get(auth.url))

    assert params["error"] == "login_required" and "code" not in params


def test_acr_values_already_met_issues_at_once(browser, default_server, client, fiona):
    auth = authorize_request(client, default_server)
    code_of(browser.get(with_session_token(auth.url, session_token(browser.base_url, fiona))))
    stepped = authorize_request(client, default_server, acr_values=TWO_FACTORS, prompt="none")

    claims = claims_after_code_flow(default_server, client, stepped, browser.get(stepped.url))

    assert claims["acr"] == TWO_FACTORS


def test_phishing_resistant_acr_is_not_met_by_a_totp_session(browser, default_server, client, fiona):
    auth = authorize_request(client, default_server, acr_values="phr")

    response = browser.get(with_session_token(auth.url, session_token(browser.base_url, fiona)))

    assert is_sign_in_redirect(response)  # a passkey is needed: the sign-in page asks to enroll one


def test_phishing_resistant_acr_issues_no_code_after_signing_in_again_with_totp(browser, default_server, client, fiona):
    auth = authorize_request(client, default_server, acr_values="phr")
    first = browser.get(with_session_token(auth.url, session_token(browser.base_url, fiona)))

    again = sign_in_again(browser, first, fiona)

    assert is_sign_in_redirect(again)  # still no hwk: never a code


def test_phishing_resistant_acr_with_prompt_none_is_login_required(browser, default_server, client, fiona):
    code_of(
        browser.get(
            with_session_token(authorize_request(client, default_server).url, session_token(browser.base_url, fiona))
        )
    )
    auth = authorize_request(client, default_server, acr_values="phr", prompt="none")

    params = location_params(browser.get(auth.url))

    assert params["error"] == "login_required" and "code" not in params


def test_max_age_asks_to_sign_in_again_and_auth_time_moves(browser, default_server, client, fiona):
    first = authorize_request(client, default_server)
    original = claims_after_code_flow(
        default_server,
        client,
        first,
        browser.get(with_session_token(first.url, session_token(browser.base_url, fiona))),
    )
    time.sleep(2.1)
    auth = authorize_request(client, default_server, max_age="1")

    response = browser.get(auth.url)

    assert is_sign_in_redirect(response)
    claims = claims_after_code_flow(default_server, client, auth, sign_in_again(browser, response, fiona))
    assert claims["auth_time"] >= original["auth_time"] + 2
    assert_multi_factor(claims)


# -- one session, several applications ----------------------------------------------------------------------


def test_multi_factor_session_serves_another_client_of_the_server_without_asking(
    browser, default_server, client, other_client, fiona
):
    first = authorize_request(client, default_server)
    original = claims_after_code_flow(
        default_server,
        client,
        first,
        browser.get(with_session_token(first.url, session_token(browser.base_url, fiona))),
    )
    auth = authorize_request(other_client, default_server)

    claims = claims_after_code_flow(default_server, other_client, auth, browser.get(auth.url))

    assert_multi_factor(claims)
    assert claims["auth_time"] == original["auth_time"]


# -- session lifetime ---------------------------------------------------------------------------------------


def move_deadline_into_the_past(browser: Browser) -> None:
    store = import_module(django_settings.SESSION_ENGINE).SessionStore(
        session_key=browser.http.cookies[django_settings.SESSION_COOKIE_NAME]
    )
    assert store[DEADLINE_KEY], "the sign-on rule's lifetime was not put on the session"
    store[DEADLINE_KEY] = int(time.time()) - 1
    store.save()


@pytest.fixture
def one_minute_sessions(policies):
    SignOnRule.objects.filter(policy__in=policies.values()).update(session_lifetime_minutes=1)


def test_session_deadline_is_the_rules_lifetime(browser, default_server, client, alice, one_minute_sessions):
    auth = authorize_request(client, default_server)
    before = int(time.time())
    code_of(browser.get(with_session_token(auth.url, session_token(browser.base_url, alice))))

    store = import_module(django_settings.SESSION_ENGINE).SessionStore(
        session_key=browser.http.cookies[django_settings.SESSION_COOKIE_NAME]
    )

    assert before + 60 <= store[DEADLINE_KEY] <= int(time.time()) + 60


def test_session_past_its_lifetime_asks_to_sign_in_again(browser, default_server, client, alice, one_minute_sessions):
    code_of(
        browser.get(
            with_session_token(authorize_request(client, default_server).url, session_token(browser.base_url, alice))
        )
    )
    move_deadline_into_the_past(browser)

    response = browser.get(authorize_request(client, default_server).url)

    assert is_sign_in_redirect(response)


def test_session_past_its_lifetime_with_prompt_none_is_login_required(
    browser, default_server, client, alice, one_minute_sessions
):
    code_of(
        browser.get(
            with_session_token(authorize_request(client, default_server).url, session_token(browser.base_url, alice))
        )
    )
    move_deadline_into_the_past(browser)
    auth = authorize_request(client, default_server, prompt="none")

    assert location_params(browser.get(auth.url))["error"] == "login_required"


# -- sessionToken at /authorize ---------------------------------------------------------------------------


def test_session_token_is_redeemed_once(browser, base_url, default_server, client, alice):
    token = session_token(base_url, alice)
    code_of(browser.get(with_session_token(authorize_request(client, default_server).url, token)))
    thief = Browser(base_url)
    auth = authorize_request(client, default_server)

    try:
        response = thief.get(with_session_token(auth.url, token))
        silent = thief.get(with_session_token(authorize_request(client, default_server, prompt="none").url, token))
    finally:
        thief.http.close()

    assert is_sign_in_redirect(response)
    assert "sessionToken" not in response.headers["Location"]
    assert location_params(silent)["error"] == "login_required"


def test_auth_time_is_the_primary_authentication_not_the_redemption(browser, base_url, default_server, client, fiona):
    before = int(time.time())
    token = session_token(base_url, fiona)
    after = int(time.time()) + 1
    time.sleep(2.1)
    auth = authorize_request(client, default_server)

    claims = claims_after_code_flow(default_server, client, auth, browser.get(with_session_token(auth.url, token)))

    assert before <= claims["auth_time"] <= after
    assert claims["iat"] >= claims["auth_time"] + 2
