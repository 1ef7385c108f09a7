"""Sign-on, enrollment and password policies (``oidc_flows.authn.policies``) and the amr/acr tables.

Scenario: alice (in group "staff") and bob (in no group); the data migration's "Default Policy" rows
(priority 1000) are there unless a test deletes them. Expected values are written by hand from
RFC 8176 (amr), OIDC Core §3.1.2.1 (acr_values) and Okta's sign-on policy semantics.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from oidc_flows import lockout
from oidc_flows.authn import policies
from oidc_flows.authn.models import (
    EnrollmentPolicy,
    MfaRequirement,
    PasswordPolicy,
    SignOnPolicy,
    SignOnRule,
)
from oidc_flows.models import AuthorizationServer
from tests.factories import make_client, make_user


TWO_FA = "urn:okta:loa:2fa:any"
TWO_FA_IF_POSSIBLE = "urn:okta:loa:2fa:any:ifpossible"
ONE_FA = "urn:okta:loa:1fa:any"
ONE_FA_PWD = "urn:okta:loa:1fa:pwd"


# -- amr and acr tables (no database) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amr", "added", "expected"),
    [
        ([], ("pwd",), ["pwd"]),
        (["pwd"], ("otp",), ["pwd", "otp", "mfa"]),
        (["pwd"], ("hwk",), ["pwd", "hwk", "mfa"]),
        (["pwd"], ("swk",), ["pwd", "swk", "mfa"]),
        ([], ("hwk", "user"), ["hwk", "user", "mfa"]),  # a passkey with user verification
        ([], ("hwk",), ["hwk"]),  # a security key without user verification is one factor
        ([], ("otp",), ["otp"]),  # a code without a password is one factor
        (["pwd", "otp", "mfa"], ("otp",), ["pwd", "otp", "mfa"]),  # no duplicates
        (["pwd", "pwd"], (), ["pwd"]),
    ],
)
def test_with_method(amr, added, expected):
    assert policies.with_method(amr, *added) == expected


@pytest.mark.parametrize(
    ("acr", "amr", "has_factor", "expected"),
    [
        (ONE_FA, ["hwk"], True, True),
        (ONE_FA, [], True, True),
        (ONE_FA_PWD, ["pwd"], True, True),
        (ONE_FA_PWD, ["hwk", "user", "mfa"], True, False),  # a passkey is not a password
        (TWO_FA, ["pwd"], True, False),
        (TWO_FA, ["pwd"], False, False),  # no factor is no excuse for 2fa:any
        (TWO_FA, ["pwd", "otp", "mfa"], True, True),
        (TWO_FA_IF_POSSIBLE, ["pwd"], False, True),
        (TWO_FA_IF_POSSIBLE, ["pwd"], True, False),
        (TWO_FA_IF_POSSIBLE, ["pwd", "otp", "mfa"], True, True),
        ("phr", ["pwd", "otp", "mfa"], True, False),  # a code can be phished
        ("phr", ["pwd", "hwk", "mfa"], True, True),
        ("phr", ["hwk", "user", "mfa"], True, True),
        ("phr", ["hwk"], True, False),
    ],
)
def test_satisfies(acr, amr, has_factor, expected):
    assert policies.satisfies(acr, amr, has_factor=has_factor) is expected


@pytest.mark.parametrize(
    ("amr", "requested", "expected"),
    [
        ([], (), ONE_FA),
        (["pwd"], (), ONE_FA_PWD),
        (["pwd", "otp", "mfa"], (), TWO_FA),
        (["hwk", "user", "mfa"], (), "phr"),
        (["pwd", "hwk", "mfa"], (), "phr"),
        (["pwd", "otp", "mfa"], (ONE_FA,), ONE_FA),  # the first requested level met is named
        (["pwd", "otp", "mfa"], ("phr", TWO_FA), TWO_FA),
        (["pwd"], ("phr", TWO_FA), ONE_FA_PWD),  # none met: what the sign-in achieved
        (["pwd"], ("urn:example:unknown",), ONE_FA_PWD),
        (["hwk", "user", "mfa"], (ONE_FA_PWD,), "phr"),
    ],
)
def test_acr_for(amr, requested, expected):
    assert policies.acr_for(amr, requested) == expected


@pytest.mark.parametrize(
    ("requested", "amr", "has_factor", "expected"),
    [
        ((), ["pwd"], True, False),
        (("urn:example:unknown",), ["pwd"], True, False),
        ((TWO_FA,), ["pwd"], True, True),
        ((TWO_FA,), ["pwd", "otp", "mfa"], True, False),
        ((TWO_FA_IF_POSSIBLE,), ["pwd"], False, False),
        ((TWO_FA_IF_POSSIBLE,), ["pwd"], True, True),
        (("phr", ONE_FA), ["pwd"], True, False),  # one level met is enough
        (("phr",), ["pwd", "otp", "mfa"], True, True),
    ],
)
def test_needs_step_up(requested, amr, has_factor, expected):
    assert policies.needs_step_up(requested, amr, has_factor=has_factor) is expected


def test_requested_acr_keeps_known_values_in_order():
    assert policies.requested_acr(f"phr urn:example:x {TWO_FA}  {ONE_FA}") == ["phr", TWO_FA, ONE_FA]


# -- sign-on policies ---------------------------------------------------------------------------------


@pytest.fixture
def staff(db) -> Group:
    return Group.objects.create(name="staff")


@pytest.fixture
def alice(staff):
    user = make_user(username="alice")
    user.groups.add(staff)
    return user


@pytest.fixture
def bob(db):
    return make_user(username="bob")


def sign_on_policy(name: str, *, priority: int = 1, groups=(), **kwargs) -> SignOnPolicy:
    policy = SignOnPolicy.objects.create(name=name, priority=priority, **kwargs)
    policy.groups.set(groups)
    return policy


def rule(policy: SignOnPolicy, name: str, *, groups=(), applications=(), servers=(), **kwargs) -> SignOnRule:
    row = SignOnRule.objects.create(policy=policy, name=name, **kwargs)
    row.groups.set(groups)
    row.applications.set(applications)
    row.servers.set(servers)
    return row


def decided(user, **where) -> tuple[str, str]:
    found = policies.sign_on(user, **where)
    return found.policy, found.rule


def test_the_migrations_default_rule_applies_to_everyone(bob):
    found = policies.sign_on(bob)

    assert (found.policy, found.rule, found.allowed, found.passwordless) == (
        "Default Policy",
        "Default Rule",
        True,
        False,
    )
    assert found.mfa == MfaRequirement.IF_ENROLLED and found.once_per_session
    assert (found.session_lifetime, found.session_idle) == (12 * 3600, 2 * 3600)
    assert found.factor_types == frozenset() and found.accepts("email")


def test_with_no_policy_rows_the_built_in_default_applies(bob):
    SignOnPolicy.objects.all().delete()

    assert policies.sign_on(bob) == policies.DEFAULT_SIGN_ON
    assert policies.sign_on(None) == policies.DEFAULT_SIGN_ON


def test_when_no_rule_matches_sign_in_is_denied(bob):
    SignOnPolicy.objects.update(is_active=False)

    found = policies.sign_on(bob)

    assert not found.allowed and found.rule == "" and found.session_lifetime == 0


def test_a_policy_assigned_to_a_group_applies_to_its_members_only(alice, bob, staff):
    rule(sign_on_policy("Staff", groups=[staff]), "Staff MFA", mfa=MfaRequirement.ALWAYS)

    assert decided(alice) == ("Staff", "Staff MFA")
    assert policies.sign_on(alice).mfa == MfaRequirement.ALWAYS
    assert decided(bob) == ("Default Policy", "Default Rule")
    assert decided(None) == ("Default Policy", "Default Rule")  # an unknown user is in no group


def test_a_rule_with_a_group_condition(alice, bob, staff):
    everyone = sign_on_policy("Everyone")
    rule(everyone, "Staff", priority=1, groups=[staff], mfa=MfaRequirement.ALWAYS)
    rule(everyone, "Others", priority=2)

    assert decided(alice) == ("Everyone", "Staff")
    assert decided(bob) == ("Everyone", "Others")


def test_a_rule_naming_applications_matches_only_a_sign_in_known_to_be_for_one(bob):
    payroll, wiki = make_client(app_type="web"), make_client(app_type="spa")
    everyone = sign_on_policy("Everyone")
    rule(everyone, "Payroll", priority=1, applications=[payroll], mfa=MfaRequirement.ALWAYS)
    rule(everyone, "Anything else", priority=2)

    assert decided(bob, client=payroll) == ("Everyone", "Payroll")
    assert decided(bob, client=wiki) == ("Everyone", "Anything else")
    assert decided(bob) == ("Everyone", "Anything else")  # the IdP's own pages: no application


def test_a_rule_naming_servers(bob):
    payments = AuthorizationServer.objects.create(server_id="payments", name="Payments")
    default = AuthorizationServer.objects.get(server_id="default")
    everyone = sign_on_policy("Everyone")
    rule(everyone, "Payments", priority=1, servers=[payments], primary="password_or_passkey")
    rule(everyone, "Others", priority=2)

    assert decided(bob, server=payments) == ("Everyone", "Payments")
    assert policies.sign_on(bob, server=payments).passwordless
    assert decided(bob, server=default) == ("Everyone", "Others")
    assert decided(bob) == ("Everyone", "Others")


def test_all_conditions_of_a_rule_must_hold(alice, bob, staff):
    payroll = make_client(app_type="web")
    everyone = sign_on_policy("Everyone")
    rule(everyone, "Staff on payroll", priority=1, groups=[staff], applications=[payroll])
    rule(everyone, "Others", priority=2)

    assert decided(alice, client=payroll) == ("Everyone", "Staff on payroll")
    assert decided(bob, client=payroll) == ("Everyone", "Others")
    assert decided(alice) == ("Everyone", "Others")


def test_rules_go_by_priority_then_policies_by_priority(bob):
    second = sign_on_policy("Second", priority=2)
    first = sign_on_policy("First", priority=1)
    rule(second, "S1", priority=1)
    rule(first, "F9", priority=9)
    rule(first, "F3", priority=3)

    assert decided(bob) == ("First", "F3")


def test_inactive_rules_and_policies_are_skipped(bob):
    first = sign_on_policy("First", priority=1)
    rule(first, "Off", priority=1, is_active=False, access="deny")
    rule(first, "On", priority=2)
    rule(sign_on_policy("Inactive", priority=0, is_active=False), "Never")

    assert decided(bob) == ("First", "On")


def test_a_policy_without_a_matching_rule_passes_to_the_next(bob):
    rule(sign_on_policy("Apps only", priority=1), "Payroll", applications=[make_client(app_type="web")])

    assert decided(bob) == ("Default Policy", "Default Rule")


def test_a_deny_rule(bob):
    rule(sign_on_policy("Lockdown"), "Nobody", access="deny")

    found = policies.sign_on(bob)

    assert (found.rule, found.allowed) == ("Nobody", False)


def test_a_rules_actions(bob):
    rule(
        sign_on_policy("Strict"),
        "Keys only",
        mfa=MfaRequirement.ALWAYS,
        mfa_frequency="every_sign_in",
        factor_types="webauthn token:software:totp",
        session_lifetime_minutes=60,
        session_idle_minutes=15,
    )

    found = policies.sign_on(bob)

    assert found.factor_types == frozenset({"webauthn", "token:software:totp"})
    assert found.accepts("webauthn") and not found.accepts("email")
    assert not found.once_per_session and (found.session_lifetime, found.session_idle) == (3600, 900)


# -- enrollment and password policies -----------------------------------------------------------------

ALL_OPTIONAL = {
    "token:software:totp": "OPTIONAL",
    "webauthn": "OPTIONAL",
    "email": "OPTIONAL",
    "recovery_code": "OPTIONAL",
}


def test_enrollment_default_is_every_factor_optional(bob):
    assert policies.enrollment(bob) == ALL_OPTIONAL
    EnrollmentPolicy.objects.all().delete()
    assert policies.enrollment(bob) == ALL_OPTIONAL


def test_enrollment_policy_of_a_group(alice, bob, staff):
    policy = EnrollmentPolicy.objects.create(name="Staff", priority=1, totp="REQUIRED", email="DISABLED")
    policy.groups.set([staff])

    assert policies.enrollment(alice) == ALL_OPTIONAL | {"token:software:totp": "REQUIRED", "email": "DISABLED"}
    assert policies.enrollment(bob) == ALL_OPTIONAL


def test_password_default(bob):
    rules = policies.password(bob)

    assert (rules.max_failures, rules.lockout, rules.max_age) == (5, timedelta(minutes=15), None)
    assert rules.email_recovery and rules.self_unlock and not rules.show_lockout_status
    assert rules.recovery_token_seconds == 3600 and rules.expires_at(datetime(2025, 1, 1)) is None


def test_lockouts_built_in_default_is_the_default_password_policy():
    assert lockout.MAX_FAILURES == policies.DEFAULT_PASSWORD.max_failures
    assert lockout.LOCK_DURATION == policies.DEFAULT_PASSWORD.lockout


def test_password_policy_of_a_group(alice, bob, staff):
    policy = PasswordPolicy.objects.create(
        name="Staff", priority=1, max_failures=3, lockout_minutes=60, max_age_days=90, warn_days=7
    )
    policy.groups.set([staff])

    rules = policies.password(alice)

    assert (rules.policy, rules.max_failures, rules.lockout) == ("Staff", 3, timedelta(hours=1))
    assert rules.expires_at(datetime(2025, 1, 1)) == datetime(2025, 4, 1) and rules.warn == timedelta(days=7)
    assert policies.password(bob).policy == "Default Policy"


def test_unknown_users_get_the_built_in_password_rules(db):
    PasswordPolicy.objects.create(name="Everyone", priority=1, max_failures=2, show_lockout_status=True)

    assert policies.password(None) == policies.DEFAULT_PASSWORD
