"""Step-up and "MFA once per session" through the hosted sign-in pages, over HTTP.

What only the pages can do: the sign-in that /authorize sends the browser to knows the client, the
server and the ``acr_values`` of the request it returns to, and the session the browser already has.
So a rule for one application, ``acr_values`` under a password-only policy, a passkey demanded by
``phr`` and the sign-on rule's MFA frequency are decided there.

Scenario as in ``test_sign_on_policies.py``: sign-on policy "Finance" (group ``finance``: MFA always,
once per session unless a test says otherwise) and the "Default Policy" (everyone else: password only);
``fiona`` (finance) and ``alice`` (no group) each have an authenticator app; clients are ``web``
applications that skip consent. The browser fills in whatever page it is shown, as a person would: the
password form (``id_username``/``id_password``), the code form (the input with
``autocomplete="one-time-code"``), and it records which it was asked for.
"""

# ruff: noqa: F811  (the scenario's fixtures come from test_sign_on_policies and are named as arguments here)
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from urllib.parse import urljoin

import pytest
import requests

from oidc_flows.authn.models import MfaFrequency, MfaRequirement, SignOnRule
from tests.authn.test_sign_on_policies import (  # noqa: F401  (fixtures, used by name)
    PWD_ONLY,
    SCENARIO,
    TWO_FACTORS,
    Person,
    _live_database,
    alice,
    assert_multi_factor,
    assert_password_only,
    authorize_request,
    claims_after_code_flow,
    client,
    finance,
    fiona,
    other_client,
    payments_server,
    policies,
    servers,
)
from tests.factories import PASSWORD
from tests.support.oauth import Browser


# -- a browser that fills in the hosted pages --------------------------------------------------------------


@dataclass
class Form:
    action: str
    inputs: dict[str, str] = field(default_factory=dict)
    one_time_code: str = ""  # the name of the input for a code, if the form has one


class Forms(HTMLParser):
    """The forms of a page: action, named inputs with their values, and which input takes a code."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(attributes.get("action", "")))
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            form = self.forms[-1]
            form.inputs.setdefault(attributes["name"], attributes.get("value", ""))
            if attributes.get("autocomplete") == "one-time-code":
                form.one_time_code = attributes["name"]


def forms_of(page: requests.Response) -> list[Form]:
    parser = Forms()
    parser.feed(page.text)
    return parser.forms


@dataclass
class SignIn:
    """Where a walk through the pages ended and what it was asked for on the way."""

    response: requests.Response
    asked: list[str]

    @property
    def left_the_idp(self) -> bool:
        return self.response.status_code == HTTPStatus.FOUND


def walk(browser: Browser, url: str, who: Person) -> SignIn:
    """Open ``url`` and answer every sign-in page as ``who``; stop back at the client or at a page it cannot fill."""
    asked: list[str] = []
    response = browser.get(url)
    for _ in range(20):
        if response.status_code in (301, 302, 303):
            target = urljoin(response.url, response.headers["Location"])
            if not target.startswith(browser.base_url):
                return SignIn(response, asked)
            response = browser.get(target)
            continue
        forms = forms_of(response) if response.status_code == HTTPStatus.OK else []
        password = next((f for f in forms if "password" in f.inputs and "username" in f.inputs), None)
        code = next((f for f in forms if f.one_time_code), None)
        if password is not None:
            asked.append("password")
            response = submit(browser, response, password, username=who.username, password=PASSWORD)
        elif code is not None:
            asked.append("code")
            response = submit(browser, response, code, **{code.one_time_code: who.code()})
        else:
            return SignIn(response, asked)
    raise AssertionError(f"no end after {asked}")


def submit(browser: Browser, page: requests.Response, form: Form, **values: str) -> requests.Response:
    action = urljoin(page.url, form.action) if form.action else page.url
    return browser.http.post(
        action, data=form.inputs | values, headers={"Referer": page.url}, allow_redirects=False, timeout=10
    )


def signed_in_for(browser, server, client, who: Person, **extra) -> tuple[SignIn, dict]:
    """Walk an authorization request for ``client``; the walk and the ID token's claims."""
    auth = authorize_request(client, server, **extra)
    done = walk(browser, auth.url, who)
    assert done.left_the_idp, (done.asked, done.response.status_code, done.response.text[:500])
    return done, claims_after_code_flow(server, client, auth, done.response)


# -- the group policy at every server -------------------------------------------------------------------


@pytest.mark.parametrize("server_name", SCENARIO["servers"])
def test_finance_member_is_asked_password_then_code_at_every_server(browser, servers, client, fiona, server_name):
    done, claims = signed_in_for(browser, servers[server_name], client, fiona)

    assert done.asked == ["password", "code"]
    assert_multi_factor(claims)


@pytest.mark.parametrize("server_name", SCENARIO["servers"])
def test_others_are_asked_the_password_only_at_every_server(browser, servers, client, alice, server_name):
    done, claims = signed_in_for(browser, servers[server_name], client, alice)

    assert done.asked == ["password"]
    assert_password_only(claims)


# -- a rule for one application --------------------------------------------------------------------------


@pytest.fixture
def mfa_for_client_only(policies, client):
    SignOnRule.objects.filter(policy=policies["default"]).update(priority=2)
    rule = SignOnRule.objects.create(
        policy=policies["default"], name="Payroll app", priority=1, mfa=MfaRequirement.ALWAYS
    )
    rule.applications.set([client])
    return rule


def test_rule_for_one_application_asks_the_factor_for_it_only(
    browser, default_server, client, other_client, alice, mfa_for_client_only
):
    first, first_claims = signed_in_for(browser, default_server, other_client, alice)

    done, claims = signed_in_for(browser, default_server, client, alice)

    assert first.asked == ["password"]
    assert_password_only(first_claims)
    assert "code" in done.asked
    assert_multi_factor(claims)


# -- acr_values ---------------------------------------------------------------------------------------------


def test_acr_values_over_a_password_only_policy_asks_the_factor(browser, default_server, client, other_client, alice):
    first, _ = signed_in_for(browser, default_server, other_client, alice)

    done, claims = signed_in_for(browser, default_server, client, alice, acr_values=TWO_FACTORS)

    assert first.asked == ["password"]
    assert "code" in done.asked
    assert claims["acr"] == TWO_FACTORS
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_acr_values_one_factor_gives_the_password_acr(browser, default_server, client, alice):
    done, claims = signed_in_for(browser, default_server, client, alice, acr_values=PWD_ONLY)

    assert done.asked == ["password"]
    assert claims["acr"] == PWD_ONLY


def test_phishing_resistant_acr_asks_a_totp_user_to_set_up_a_passkey_and_issues_nothing(
    browser, default_server, client, alice
):
    auth = authorize_request(client, default_server, acr_values="phr")

    done = walk(browser, auth.url, alice)

    assert not done.left_the_idp, done.response.headers.get("Location")
    assert done.response.status_code == HTTPStatus.OK
    offered = [f.inputs.get("factor_type") for f in forms_of(done.response) if "factor_type" in f.inputs]
    assert offered == ["webauthn"]  # enrollment of a passkey, and nothing else, is the way on


# -- MFA frequency -----------------------------------------------------------------------------------------


def test_mfa_once_per_session_asks_only_the_password_at_prompt_login(
    browser, default_server, client, other_client, fiona
):
    first, _ = signed_in_for(browser, default_server, client, fiona)

    done, claims = signed_in_for(browser, default_server, other_client, fiona, prompt="login")

    assert first.asked == ["password", "code"]
    assert done.asked == ["password"]
    assert "mfa" in claims["amr"]  # the session's second factor still counts for the policy and the client


def test_mfa_at_every_sign_in_asks_the_factor_again_at_prompt_login(
    browser, default_server, client, other_client, fiona, policies
):
    policies["finance"].rules.update(mfa_frequency=MfaFrequency.EVERY_SIGN_IN)
    first, _ = signed_in_for(browser, default_server, client, fiona)

    done, claims = signed_in_for(browser, default_server, other_client, fiona, prompt="login")

    assert first.asked == ["password", "code"]
    assert done.asked == ["password", "code"]
    assert_multi_factor(claims)


def test_mfa_once_per_session_serves_another_client_without_any_page(
    browser, default_server, client, other_client, fiona
):
    first, first_claims = signed_in_for(browser, default_server, client, fiona)

    done, claims = signed_in_for(browser, default_server, other_client, fiona)

    assert done.asked == []
    assert_multi_factor(claims)
    assert claims["auth_time"] == first_claims["auth_time"]
