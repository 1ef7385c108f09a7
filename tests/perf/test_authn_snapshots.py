"""The sign-in configuration is read from a per-process snapshot (oidc_flows.authn.config) that is never stale.

Sign-on, enrollment and password policies and trusted origins are evaluated on every sign-in and every
/authorize; each process keeps them, stamped by ``AuthnConfigStamp``. A change must apply at the next
request, whether this process made it (signals) or another node did (the stamp, read per request), and a
rolled-back change must not apply at all. The flow's steps must not read the policy rows per request.
"""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oidc_flows.authn import policies
from oidc_flows.authn.models import (
    Access,
    AuthnConfigStamp,
    MfaRequirement,
    SignOnPolicy,
    SignOnRule,
    TrustedOrigin,
)
from tests.factories import PASSWORD, make_client
from tests.support.oauth import AuthorizationRequest, location_params


pytestmark = pytest.mark.usefixtures("transactional_db")
POLICY_TABLES = ("signonpolicy", "signonrule", "enrollmentpolicy", "passwordpolicy", "trustedorigin")
APP = "https://app.example"


@pytest.fixture
def client(user):
    return make_client(app_type="web", skip_consent=True)


@pytest.fixture
def rule(user) -> SignOnRule:
    policy = SignOnPolicy.objects.create(name="Everyone", priority=10)
    return SignOnRule.objects.create(policy=policy, name="Password only", priority=1, mfa=MfaRequirement.NEVER)


def authorize(browser, client, server) -> dict[str, str]:
    """The parameters /authorize sends back to the client, signing in first if the browser is not."""
    return location_params(browser.authorize(AuthorizationRequest(client, server).url))


def test_a_rule_changed_in_the_admin_applies_to_the_next_authorize(browser, default_server, client, rule):
    assert "code" in authorize(browser, client, default_server)

    rule.access = Access.DENY
    rule.save()

    assert authorize(browser, client, default_server)["error"] == "access_denied"


def test_a_rule_changed_by_another_node_applies_at_once(browser, default_server, client, rule):
    assert "code" in authorize(browser, client, default_server)

    # Another node's admin: the row and the stamp change in its transaction. QuerySet.update sends no
    # signal here, so only the stamp can tell this process.
    SignOnRule.objects.filter(pk=rule.pk).update(access=Access.DENY)
    AuthnConfigStamp.objects.update(updated=timezone.now())

    assert authorize(browser, client, default_server)["error"] == "access_denied"


def test_a_rolled_back_change_never_applies(browser, default_server, client, rule, user):
    with pytest.raises(RuntimeError), transaction.atomic():
        rule.access = Access.DENY
        rule.save()
        assert not policies.sign_on(user).allowed  # this process built a snapshot of the uncommitted rows
        raise RuntimeError("the admin's save failed")

    assert "code" in authorize(browser, client, default_server)


def test_group_assignments_apply_at_once(browser, default_server, client, rule, user):
    blocked = Group.objects.create(name="blocked")
    deny = SignOnPolicy.objects.create(name="Blocked", priority=1)
    deny.groups.add(blocked)
    SignOnRule.objects.create(policy=deny, name="Deny", access=Access.DENY)
    assert "code" in authorize(browser, client, default_server)  # alice is not in the group

    user.groups.add(blocked)
    assert authorize(browser, client, default_server)["error"] == "access_denied"

    deny.groups.remove(blocked)  # the policy now applies to everyone
    user.groups.remove(blocked)
    assert authorize(browser, client, default_server)["error"] == "access_denied"

    blocked.delete()
    deny.delete()
    assert "code" in authorize(browser, client, default_server)


def test_a_trusted_origin_added_by_another_node_may_call_the_api_at_once(base_url):
    def preflight() -> str | None:
        answer = requests.options(
            f"{base_url}/api/v1/authn",
            headers={"Origin": APP, "Access-Control-Request-Method": "POST"},
            timeout=10,
        )
        return answer.headers.get("Access-Control-Allow-Origin")

    assert preflight() is None
    TrustedOrigin.objects.bulk_create([TrustedOrigin(name="The app", origin=APP)])  # no signal: another node
    AuthnConfigStamp.objects.update(updated=timezone.now())

    assert preflight() == APP


def test_the_flow_reads_no_policy_rows_per_request(default_server, client, rule):
    browser = Client()
    auth = AuthorizationRequest(client, default_server)
    path = auth.url.removeprefix(default_server.issuer.split("/oauth2")[0])
    login = browser.get(path)["Location"]
    browser.get(login)  # warm: the snapshot is built once here
    steps = {}
    with CaptureQueriesContext(connection) as steps["sign-in"]:
        signed_in = browser.post(login, {"username": "alice", "password": PASSWORD})
    with CaptureQueriesContext(connection) as steps["authorize"]:
        done = browser.get(signed_in["Location"])

    assert done.status_code == 302 and "code=" in done["Location"]
    for step, captured in steps.items():
        read = [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in POLICY_TABLES)]
        assert read == [], f"{step} read the policies: {read}"
    # Two flows ago this was 44 and 28 statements; what is left is the sign-in's own work (user, lockout,
    # events, the Django session, the browser-session record) and the authorization's (consent, code).
    assert len(steps["sign-in"].captured_queries) <= 22
    assert len(steps["authorize"].captured_queries) <= 15
