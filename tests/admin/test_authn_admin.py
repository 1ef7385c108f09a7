"""The sign-in's admin: policies, trusted origins, factors, recovery, unlock, the sign-in log, the token preview.

Scenario: a superuser ("root") signed into /admin/ with Django's test client; alice with factors and a
password; policies added through the admin's own forms. One browser test at the end resets a factor.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.utils import timezone

from oidc_flows import lockout
from oidc_flows.authn import events, recovery
from oidc_flows.authn.admin import normalise_origin
from oidc_flows.authn.models import (
    AuthEvent,
    EnrollmentPolicy,
    Factor,
    FactorStatus,
    FactorType,
    OneTimeToken,
    PasswordPolicy,
    SignOnPolicy,
    SignOnRule,
    TrustedOrigin,
)
from oidc_flows.authn.onetime import digest
from oidc_flows.models import AuthorizationServer
from tests.admin.conftest import screenshot
from tests.factories import PASSWORD, make_client, make_user


ADMIN = "/admin/oidc_flows"
SEALED_SECRET = "sealed:v1:do-not-show-me"
FACTOR_EMAIL = "alice.factor@example.net"


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "root password")


@pytest.fixture
def admin_client(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def alice(db):
    return make_user(username="alice")


@pytest.fixture
def factors(alice) -> list[Factor]:
    now = timezone.now()
    return [
        Factor.objects.create(
            user=alice,
            factor_type=FactorType.TOTP,
            status=FactorStatus.ACTIVE,
            name="Phone",
            secret=SEALED_SECRET,
            activated=now,
            last_verified=now,
        ),
        Factor.objects.create(
            user=alice, factor_type=FactorType.EMAIL, status=FactorStatus.ACTIVE, profile={"email": FACTOR_EMAIL}
        ),
    ]


@pytest.fixture
def mail_now(monkeypatch):
    """Recovery mail leaves from a thread; here it leaves at once, so mailoutbox has it when the view returns."""

    class Inline:
        def __init__(self, target, args=(), kwargs=None, daemon=None):
            self.run = lambda: target(*args, **(kwargs or {}))

        def start(self) -> None:
            self.run()

    monkeypatch.setattr(recovery, "threading", SimpleNamespace(Thread=Inline))


def management(prefix: str, total: int = 1, initial: int = 0) -> dict[str, int]:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def checked(page: str, name: str) -> set[str]:
    """Values of the ticked checkboxes called ``name`` on a rendered page."""
    inputs = re.findall(r"<input[^>]*>", page)
    return {
        re.search(r'value="([^"]*)"', tag).group(1) for tag in inputs if f'name="{name}"' in tag and " checked" in tag
    }


def events_of(event_type: str) -> list[AuthEvent]:
    return list(AuthEvent.objects.filter(event_type=event_type))


# -- sign-on, enrollment and password policies -------------------------------------------------------


def sign_on_form(**rule: object) -> dict[str, object]:
    return {
        "name": "Staff",
        "description": "",
        "priority": 1,
        "is_active": "on",
        **management("rules"),
        "rules-0-name": "Keys",
        "rules-0-priority": 1,
        "rules-0-is_active": "on",
        "rules-0-access": "allow",
        "rules-0-primary": "password",
        "rules-0-mfa": "always",
        "rules-0-mfa_frequency": "every_sign_in",
        "rules-0-session_lifetime_minutes": 480,
        "rules-0-session_idle_minutes": 60,
    } | {f"rules-0-{k}": v for k, v in rule.items()}


def test_a_sign_on_rules_factor_types_round_trip_as_checkboxes(admin_client):
    web = make_client(app_type="web")
    default = AuthorizationServer.objects.get(server_id="default")
    staff = Group.objects.create(name="staff")
    form = sign_on_form(
        factor_types=["webauthn", "token:software:totp"], applications=[web.pk], servers=[default.pk], groups=[staff.pk]
    )

    response = admin_client.post(f"{ADMIN}/signonpolicy/add/", form)

    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    rule = SignOnRule.objects.get(name="Keys")
    assert rule.factor_types == "token:software:totp webauthn"  # FactorType order, space-separated
    assert (list(rule.applications.all()), list(rule.servers.all()), list(rule.groups.all())) == (
        [web],
        [default],
        [staff],
    )
    page = admin_client.get(f"{ADMIN}/signonpolicy/{rule.policy_id}/change/").content.decode()
    assert checked(page, "rules-0-factor_types") == {"webauthn", "token:software:totp"}


def test_no_factor_type_ticked_is_stored_empty(admin_client):
    assert admin_client.post(f"{ADMIN}/signonpolicy/add/", sign_on_form()).status_code == 302

    assert SignOnRule.objects.get(name="Keys").factor_types == ""


def test_an_unknown_factor_type_is_refused(admin_client):
    response = admin_client.post(f"{ADMIN}/signonpolicy/add/", sign_on_form(factor_types=["sms"]))

    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not SignOnPolicy.objects.filter(name="Staff").exists()


def test_an_idle_timeout_longer_than_the_session_is_refused(admin_client):
    response = admin_client.post(f"{ADMIN}/signonpolicy/add/", sign_on_form(session_idle_minutes=600))

    assert "cannot be longer than the session lifetime" in response.content.decode()


def test_the_sign_on_policy_list_counts_rules(admin_client):
    page = admin_client.get(f"{ADMIN}/signonpolicy/").content.decode()

    assert "Default Policy" in page and "everyone" in page


def test_an_enrollment_policy_through_the_admin(admin_client):
    form = {"name": "Staff", "priority": 1, "is_active": "on"}
    form |= {"totp": "REQUIRED", "webauthn": "OPTIONAL", "email": "DISABLED", "recovery_code": "OPTIONAL"}

    response = admin_client.post(f"{ADMIN}/enrollmentpolicy/add/", form)

    assert response.status_code == 302
    policy = EnrollmentPolicy.objects.get(name="Staff")
    assert (policy.totp, policy.email) == ("REQUIRED", "DISABLED")


PASSWORD_POLICY = {
    "name": "Staff",
    "priority": 1,
    "is_active": "on",
    "max_failures": 3,
    "lockout_minutes": 30,
    "max_age_days": 90,
    "warn_days": 7,
    "email_recovery": "on",
    "recovery_token_minutes": 60,
}


def test_a_password_policy_through_the_admin(admin_client):
    page = admin_client.get(f"{ADMIN}/passwordpolicy/add/").content.decode()
    assert "AUTH_PASSWORD_VALIDATORS" in page  # the password rules are Django's validators

    response = admin_client.post(f"{ADMIN}/passwordpolicy/add/", PASSWORD_POLICY)

    assert response.status_code == 302
    policy = PasswordPolicy.objects.get(name="Staff")
    assert (policy.max_failures, policy.lockout_minutes, policy.self_unlock) == (3, 30, False)


def test_a_warning_without_an_expiry_is_refused(admin_client):
    response = admin_client.post(f"{ADMIN}/passwordpolicy/add/", PASSWORD_POLICY | {"max_age_days": 0})

    assert response.status_code == 200 and "need no warning" in response.content.decode()


# -- trusted origins ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("HTTPS://App.Example.COM/", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:5173", "http://[::1]:5173"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(raw, expected):
    assert normalise_origin(raw) == expected


INVALID_ORIGINS = {
    "http://app.example.com": "Use https",
    "https://app.example.com/login": "no path",
    "https://app.example.com?x=1": "no path",
    "https://user@app.example.com": "no user name",
    "ftp://app.example.com": "scheme://host",
    "app.example.com": "scheme://host",
    "https://app.example.com:99999": "bad port",
}


@pytest.mark.parametrize(("origin", "message"), INVALID_ORIGINS.items())
def test_an_invalid_trusted_origin_is_refused_with_a_message(admin_client, origin, message):
    form = {"name": "App", "origin": origin, "cors": "on", "redirect": "on", "is_active": "on"}

    response = admin_client.post(f"{ADMIN}/trustedorigin/add/", form)

    assert response.status_code == 200 and message in response.content.decode()
    assert not TrustedOrigin.objects.exists()


def test_a_trusted_origin_is_stored_normalised_and_trusted_at_once(admin_client):
    from oidc_flows.authn import origins

    assert not origins.may_call("https://app.example.com")  # caches the empty list
    form = {"name": "App", "origin": "HTTPS://APP.example.com/", "cors": "on", "is_active": "on"}

    assert admin_client.post(f"{ADMIN}/trustedorigin/add/", form).status_code == 302

    assert TrustedOrigin.objects.get().origin == "https://app.example.com"
    assert origins.may_call("https://app.example.com")
    duplicate = admin_client.post(f"{ADMIN}/trustedorigin/add/", form | {"origin": "https://app.example.com:443"})
    assert "already exists" in duplicate.content.decode()


# -- a user's factors, reset, recovery, unlock ---------------------------------------------------------


def user_url(user, action: str = "change") -> str:
    return f"/admin/auth/user/{user.pk}/{action}/"


def test_the_users_page_lists_factors_without_secrets(admin_client, alice, factors):
    page = admin_client.get(user_url(alice)).content.decode()

    table = page[page.index('id="user-factors"') :]
    assert "Authenticator app (TOTP)" in table and "Phone" in table and "Email code" in table
    assert SEALED_SECRET not in page and FACTOR_EMAIL not in page
    assert "Reset factors" in page and "Send recovery email" in page
    assert "There is no MFA" not in page


def test_reset_factors_asks_then_deletes_them_and_logs_who(admin_client, root, alice, factors):
    question = admin_client.get(user_url(alice, "reset-factors"))
    assert question.status_code == 200 and Factor.objects.filter(user=alice).count() == 2

    response = admin_client.post(user_url(alice, "reset-factors"), {"confirm": "yes"})

    assert response.status_code == 302 and not Factor.objects.filter(user=alice).exists()
    (event,) = events_of(events.FACTOR_RESET)
    assert (event.user, event.outcome, event.detail) == (alice, "SUCCESS", {"by": "root", "count": 2})


def test_send_recovery_email_mails_one_token_the_admin_never_sees(admin_client, alice, mail_now, mailoutbox):
    response = admin_client.post(user_url(alice, "send-recovery"), follow=True)

    (message,) = mailoutbox
    assert message.to == ["alice@example.com"]
    token = re.search(r"Recovery token: (\S+)", message.body).group(1)
    stored = OneTimeToken.objects.get(user=alice, purpose="recovery")
    assert stored.token_hash == digest(token, purpose="recovery") and stored.data["type"] == "PASSWORD"
    page = response.content.decode()
    assert "recovery email is on its way" in page and token not in page
    assert events_of(events.RESET_REQUEST)[0].user == alice


def test_send_recovery_email_needs_an_address(admin_client, mail_now, mailoutbox):
    bob = make_user(username="bob")
    get_user_model().objects.filter(pk=bob.pk).update(email="")

    response = admin_client.post(user_url(bob, "send-recovery"), follow=True)

    assert "no email address" in response.content.decode() and not mailoutbox


def test_send_recovery_email_is_a_post(admin_client, alice, mail_now, mailoutbox):
    assert admin_client.get(user_url(alice, "send-recovery")).status_code == 302
    assert not mailoutbox


def test_unlock_writes_an_event(admin_client, alice):
    for _ in range(lockout.MAX_FAILURES):
        lockout.record_failure(alice)
    assert lockout.is_locked(alice) and len(events_of(events.LOCK)) == 1

    admin_client.post(user_url(alice, "unlock"))

    assert not lockout.is_locked(alice)
    (event,) = events_of(events.UNLOCK)
    assert (event.user, event.reason, event.detail["by"]) == (alice, "administrator", "root")


def test_the_unlock_action_writes_an_event_per_locked_user(admin_client, alice):
    bob = make_user(username="bob")
    for _ in range(lockout.MAX_FAILURES):
        lockout.record_failure(alice)

    admin_client.post("/admin/auth/user/", {"action": "unlock", "_selected_action": [alice.pk, bob.pk]})

    assert [event.user for event in events_of(events.UNLOCK)] == [alice]


# -- the sign-in log ---------------------------------------------------------------------------------


def log_event(username: str, ip: str, event_type: str = events.PRIMARY) -> AuthEvent:
    request = RequestFactory().post("/api/v1/authn", REMOTE_ADDR=ip)
    return events.record(event_type, "FAILURE", request=request, username=username, reason="invalid credentials")


@pytest.mark.parametrize(("query", "found"), [("alice", "198.51.100.1"), ("203.0.113.9", "203.0.113.9")])
def test_the_sign_in_log_is_searchable_by_username_and_address(admin_client, query, found):
    log_event("alice", "198.51.100.1")
    log_event("mallory", "203.0.113.9")

    response = admin_client.get(f"{ADMIN}/authevent/", {"q": query})

    shown = {str(row.client_ip) for row in response.context["cl"].result_list}
    assert shown == {found}


def test_the_sign_in_log_is_read_only(admin_client):
    event = log_event("alice", "198.51.100.1")

    changelist = admin_client.get(f"{ADMIN}/authevent/")
    detail = admin_client.get(f"{ADMIN}/authevent/{event.pk}/change/")

    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert admin_client.get(f"{ADMIN}/authevent/add/").status_code == 403
    assert admin_client.post(f"{ADMIN}/authevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuthEvent.objects.filter(pk=event.pk).exists()


def test_the_factor_list_is_read_only_and_filterable(admin_client, factors):
    response = admin_client.get(f"{ADMIN}/factor/", {"factor_type__exact": FactorType.TOTP})

    assert [f.pk for f in response.context["cl"].result_list] == [factors[0].pk]
    assert admin_client.get(f"{ADMIN}/factor/add/").status_code == 403
    assert SEALED_SECRET not in admin_client.get(f"{ADMIN}/factor/{factors[0].pk}/change/").content.decode()


# -- lockout thresholds from the password policy -------------------------------------------------------


def everyone_password_policy(**fields: object) -> PasswordPolicy:
    return PasswordPolicy.objects.create(name="Strict", priority=1, **fields)


def test_a_policy_with_max_failures_2_locks_after_two_wrong_passwords(alice):
    everyone_password_policy(max_failures=2, lockout_minutes=45)

    assert authenticate(username="alice", password="wrong") is None
    assert not lockout.is_locked(alice)
    assert authenticate(username="alice", password="wrong") is None

    until = lockout.locked_until(alice)
    assert until is not None and abs(until - timezone.now() - timedelta(minutes=45)) < timedelta(minutes=1)
    assert authenticate(username="alice", password=PASSWORD) is None  # even the right password
    (event,) = events_of(events.LOCK)
    assert (event.user, event.detail) == (alice, {"failures": 2, "policy": "Strict"})


def test_a_policy_with_max_failures_0_never_locks(alice):
    everyone_password_policy(max_failures=0)

    for _ in range(lockout.MAX_FAILURES * 3):
        lockout.record_failure(alice)

    assert not lockout.is_locked(alice) and authenticate(username="alice", password=PASSWORD) == alice
    assert not events_of(events.LOCK)


def test_the_threshold_is_the_users_own_policy(alice):
    staff = Group.objects.create(name="staff")
    everyone_password_policy(max_failures=2).groups.set([staff])
    bob = make_user(username="bob")
    bob.groups.add(staff)

    for user in (alice, bob):
        lockout.record_failure(user)
        lockout.record_failure(user)

    assert lockout.is_locked(bob) and not lockout.is_locked(alice)  # alice: the default, five


def test_the_users_page_states_the_policys_threshold(admin_client, alice):
    everyone_password_policy(max_failures=2, lockout_minutes=45)

    page = admin_client.get(user_url(alice)).content.decode()

    assert "under password policy “Strict” the account locks after 2 in a row, for 45 minutes" in page


# -- token preview -----------------------------------------------------------------------------------


def test_the_token_preview_shows_the_sign_on_rule(admin_client, alice):
    web = make_client(app_type="web")
    default = AuthorizationServer.objects.get(server_id="default")
    policy = SignOnPolicy.objects.create(name="Web apps", priority=1)
    rule = SignOnRule.objects.create(
        policy=policy, name="Keys for web", mfa="always", factor_types="webauthn", session_idle_minutes=30
    )
    rule.applications.set([web])

    response = admin_client.post(
        f"{ADMIN}/authorizationserver/{default.pk}/preview/",
        {"client": web.pk, "grant_type": "authorization_code", "scopes": "openid", "user": "alice"},
    )

    page = response.content.decode()
    panel = page[page.index('id="preview-sign-on"') :]
    panel = panel[: panel.index("</div>")]
    for text in ("Web apps", "Keys for web", "allowed", "always", "once per session", "Passkey", "30 minutes"):
        assert text in panel, text


def test_the_token_preview_has_no_sign_on_rule_without_a_user(admin_client):
    service = make_client(app_type="service")
    default = AuthorizationServer.objects.get(server_id="default")

    response = admin_client.post(
        f"{ADMIN}/authorizationserver/{default.pk}/preview/",
        {"client": service.pk, "grant_type": "client_credentials", "scopes": ""},
    )

    assert response.status_code == 200 and 'id="preview-sign-on"' not in response.content.decode()


def test_the_token_preview_shows_a_deny(admin_client, alice):
    web = make_client(app_type="web")
    default = AuthorizationServer.objects.get(server_id="default")
    SignOnRule.objects.create(policy=SignOnPolicy.objects.create(name="Closed", priority=1), name="No", access="deny")

    response = admin_client.post(
        f"{ADMIN}/authorizationserver/{default.pk}/preview/",
        {"client": web.pk, "grant_type": "authorization_code", "scopes": "openid", "user": "alice"},
    )

    assert "This user cannot sign in to this application" in response.content.decode()


# -- in a browser ----------------------------------------------------------------------------------------


def test_reset_factors_in_a_browser(admin_page):
    alice = make_user(username="alice")
    Factor.objects.create(user=alice, factor_type=FactorType.WEBAUTHN, status=FactorStatus.ACTIVE, name="YubiKey")
    page = admin_page

    page.goto(f"/admin/auth/user/{alice.pk}/change/")
    assert "YubiKey" in page.locator("#user-factors").inner_text()
    screenshot(page, "user-factors")
    page.click("#reset-factors")
    page.click("input[type=submit][value^='Yes']")
    page.wait_for_selector("text=Deleted 1 factor")

    screenshot(page, "user-factors-reset")
    assert not Factor.objects.filter(user=alice).exists()
    assert "None enrolled" in page.locator(".field-factors").inner_text()
    assert AuthEvent.objects.get(event_type=events.FACTOR_RESET).detail["by"] == "root"
