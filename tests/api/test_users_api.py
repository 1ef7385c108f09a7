"""/api/v1/users with real org tokens: a service application granted ``oidc_flows.users.*`` (and groups).

One end-to-end test over HTTP against the live server (create a user, put them in a group, the user signs
in with a browser, their session is listed and ended, then the user is deactivated); the others use
Django's test client with a token from the org server's /token.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model, password_validation
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.utils import timezone

from oidc_flows import lockout
from oidc_flows.authn import events
from oidc_flows.authn.models import AuthEvent, Factor, FactorStatus, FactorType
from oidc_flows.models import (
    AccessToken,
    AuthorizationServer,
    BrowserSession,
    Consent,
    LogoutDelivery,
    RefreshToken,
    SessionApplication,
    UserProfile,
)
from tests.factories import PASSWORD, make_client, make_user
from tests.support.oauth import AuthorizationRequest, is_sign_in_form


pytestmark = pytest.mark.django_db

User = get_user_model()
MANAGE = "oidc_flows.users.manage"
READ = "oidc_flows.users.read"
CAROL = {"login": "carol", "email": "carol@example.com", "firstName": "Carol", "lastName": "Danvers"}


def causes(response) -> list[str]:
    return [cause["errorSummary"] for cause in response.json()["errorCauses"]]


# -- end to end, over HTTP ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_administrator_script_creates_groups_signs_out_and_deactivates_a_user(
    browser, default_server, management_client
):
    # management_client after browser (so after the database): its connections close before the flush.
    api = management_client(MANAGE, "oidc_flows.groups.manage")
    created = api.post("/api/v1/users", {"profile": CAROL, "credentials": {"password": {"value": PASSWORD}}})
    assert created.status_code == 201, created.text
    carol = created.json()
    assert re.fullmatch(r"00u[0-9A-Za-z]{17}", carol["id"])
    assert (carol["status"], carol["profile"], carol["credentials"]) == ("ACTIVE", CAROL, {"password": {}})
    assert PASSWORD not in created.text

    group = api.post("/api/v1/groups", {"profile": {"name": "Engineering"}}).json()
    assert api.put(f"/api/v1/groups/{group['id']}/users/{carol['id']}").status_code == 204
    members = api.get(f"/api/v1/groups/{group['id']}/users").json()
    assert [member["id"] for member in members] == [carol["id"]]

    # Carol signs in to a web application in her browser.
    client = make_client()
    signed_in = browser.authorize(AuthorizationRequest(client, default_server).url, username="carol")
    assert signed_in.headers["Location"].startswith("https://rp.example/cb?code=")
    listed = api.get(f"/api/v1/users/{carol['id']}/sessions").json()
    assert len(listed) == 1
    assert [app["clientId"] for app in listed[0]["applications"]] == [client.client_id]
    assert [grant["clientId"] for grant in api.get(f"/api/v1/users/{carol['id']}/grants").json()] == [client.client_id]

    # Ending her sessions signs the browser out: the next authorization request asks her to sign in.
    assert api.delete(f"/api/v1/users/{carol['id']}/sessions").status_code == 204
    assert api.get(f"/api/v1/users/{carol['id']}/sessions").json() == []
    assert is_sign_in_form(browser.follow(AuthorizationRequest(client, default_server).url))

    # Deactivated, she can no longer sign in, even with her password.
    deactivated = api.post(f"/api/v1/users/{carol['id']}/lifecycle/deactivate")
    assert deactivated.json()["status"] == "DEPROVISIONED"
    page = browser.follow(AuthorizationRequest(client, default_server).url)
    refused = browser.post_form(page.url, page, {"username": "carol", "password": PASSWORD})
    assert is_sign_in_form(refused)
    assert not BrowserSession.objects.filter(user__username="carol").exists()
    assert api.get(f"/api/v1/users/{carol['id']}").json()["status"] == "DEPROVISIONED"


# -- fast: Django's test client with a real org token ---------------------------------------------------


def test_a_read_only_token_reads_but_cannot_write(django_api):
    api = django_api(READ)
    assert api.get("/api/v1/users").status_code == 200
    refused = api.post("/api/v1/users", {"profile": CAROL})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert MANAGE in refused.headers["WWW-Authenticate"]
    assert not User.objects.filter(username="carol").exists()


def test_validation_errors_name_the_field_with_djangos_messages(django_api):
    api = django_api(MANAGE)
    bad_email = api.post("/api/v1/users", {"profile": CAROL | {"email": "not-an-email"}})
    assert bad_email.status_code == 400
    assert bad_email.json()["errorSummary"] == "Api validation failed: profile.email"
    assert causes(bad_email) == ["profile.email: Enter a valid email address."]

    weak = api.post("/api/v1/users", {"profile": CAROL, "credentials": {"password": {"value": "carol123"}}})
    assert weak.status_code == 400
    with pytest.raises(ValidationError) as django_says:
        password_validation.validate_password("carol123", User(**{"username": "carol", "email": CAROL["email"]}))
    assert causes(weak) == [f"credentials.password.value: {message}" for message in django_says.value.messages]
    assert "carol123" not in weak.content.decode()

    make_user(username="carol")
    taken = api.post("/api/v1/users", {"profile": CAROL | {"login": "Carol"}})
    assert causes(taken) == ["profile.login: A user with that username already exists."]
    assert User.objects.filter(username__iexact="carol").count() == 1


def test_a_user_without_password_and_not_activated(django_api):
    created = django_api(MANAGE).post("/api/v1/users?activate=false", {"profile": CAROL})
    assert (created.status_code, created.json()["status"], created.json()["credentials"]) == (201, "DEPROVISIONED", {})
    assert not User.objects.get(username="carol").has_usable_password()


def test_locked_out_users_are_found_and_unlocked(django_api):
    alice = make_user()
    for _ in range(lockout.MAX_FAILURES):
        lockout.record_failure(alice)
    api = django_api(MANAGE)
    alice_id = UserProfile.objects.get(user=alice).subject
    assert api.get(f"/api/v1/users/{alice_id}").json()["status"] == "LOCKED_OUT"
    found = api.get("/api/v1/users", data={"search": 'status eq "LOCKED_OUT"'}).json()
    assert [user["id"] for user in found] == [alice_id]

    unlocked = api.post(f"/api/v1/users/{alice_id}/lifecycle/unlock")
    assert unlocked.json()["status"] == "ACTIVE"
    assert not lockout.is_locked(alice)
    event = AuthEvent.objects.filter(event_type=events.UNLOCK).get()
    assert (event.user, event.detail["by"]) == (alice, f"app:{api.application.client_id}")


def test_grants_are_listed_and_withdrawn_with_their_tokens(django_api):
    alice, client = make_user(), make_client()
    server = AuthorizationServer.objects.get(server_id="default")
    consent = Consent.objects.create(user=alice, application=client, server=server, scope="openid email")
    access = AccessToken.objects.create(
        user=alice, application=client, server=server, token="at-1", expires=timezone.now() + timedelta(hours=1)
    )
    refresh = RefreshToken.objects.create(user=alice, application=client, server=server, token="rt-1")
    api = django_api(MANAGE)
    alice_id = UserProfile.objects.get(user=alice).subject

    grants = api.get(f"/api/v1/users/{alice_id}/grants").json()
    assert [(g["id"], g["clientId"], g["scopes"], g["issuer"]) for g in grants] == [
        (str(consent.pk), client.client_id, ["email", "openid"], server.issuer)
    ]
    assert api.delete(f"/api/v1/users/{alice_id}/grants/{consent.pk}").status_code == 204
    assert not Consent.objects.filter(pk=consent.pk).exists()
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert api.delete(f"/api/v1/users/{alice_id}/grants/{consent.pk}").status_code == 404


def test_a_stale_if_match_is_refused_and_a_fresh_one_accepted(django_api):
    alice = make_user()
    api = django_api(MANAGE)
    url = f"/api/v1/users/{UserProfile.objects.get(user=alice).subject}"
    tag = api.get(url).headers["ETag"]
    changed = api.patch(url, {"profile": {"firstName": "Alicia"}}, headers={"If-Match": tag})
    assert changed.status_code == 200, changed.content
    assert changed.json()["profile"]["firstName"] == "Alicia"
    stale = api.patch(url, {"profile": {"lastName": "Other"}}, headers={"If-Match": tag})
    assert stale.status_code == 412
    alice.refresh_from_db()
    assert (alice.first_name, alice.last_name) == ("Alicia", "Liddell")


def test_pages_follow_link_headers_and_q_filters(django_api):
    for name in ("ann", "anna", "annabel", "bob"):
        make_user(username=name)
    api = django_api(READ)
    first = api.get("/api/v1/users", data={"q": "ann", "limit": 2})
    assert len(first.json()) == 2
    next_url = re.search(r'<([^>]+)>; rel="next"', first.headers["Link"]).group(1)
    assert "after=00u" in next_url
    rest = api.get(next_url.split("testserver", 1)[-1])
    assert 'rel="next"' not in rest.headers["Link"]
    logins = [u["profile"]["login"] for u in first.json() + rest.json()]
    assert sorted(logins) == ["ann", "anna", "annabel"]


def signed_in(user, client, server) -> BrowserSession:
    """A real Django session of ``user`` and its record, which signed ``client`` in (as tests/unit/test_applogout)."""
    store = SessionStore()
    store.create()
    record = BrowserSession.objects.create(
        user=user, session_key=store.session_key, last_seen=timezone.now(), expires=timezone.now() + timedelta(days=1)
    )
    SessionApplication.objects.create(session=record, application=client, server=server, last_seen=timezone.now())
    return record


def test_ending_a_session_deletes_it_and_owes_the_back_channel_logout(django_api):
    alice, server = make_user(), AuthorizationServer.objects.get(server_id="default")
    mail = make_client(backchannel_logout_uri="https://mail.example/backchannel-logout")
    record, other = signed_in(alice, mail, server), signed_in(alice, mail, server)
    api = django_api(MANAGE)
    url = f"/api/v1/users/{UserProfile.objects.get(user=alice).subject}/sessions"
    assert sorted(s["id"] for s in api.get(url).json()) == sorted([str(record.sid), str(other.sid)])

    assert api.delete(f"{url}/{record.sid}").status_code == 204
    assert not SessionStore().exists(record.session_key)
    assert [s["id"] for s in api.get(url).json()] == [str(other.sid)]
    assert LogoutDelivery.objects.get().sid == str(record.sid)
    assert api.delete(f"{url}/{record.sid}").status_code == 404


def test_reset_factors_deletes_every_factor(django_api):
    alice = make_user()
    Factor.objects.create(user=alice, factor_type=FactorType.EMAIL, status=FactorStatus.ACTIVE)
    api = django_api(MANAGE)
    reset = api.post(f"/api/v1/users/{UserProfile.objects.get(user=alice).subject}/lifecycle/reset_factors")
    assert reset.status_code == 200
    assert not Factor.objects.filter(user=alice).exists()
    assert AuthEvent.objects.filter(event_type=events.FACTOR_RESET, user=alice).get().detail["count"] == 1


def test_delete_deactivates_first_then_deletes(django_api):
    alice, client = make_user(), make_client()
    server = AuthorizationServer.objects.get(server_id="default")
    record = signed_in(alice, client, server)
    access = AccessToken.objects.create(
        user=alice, application=client, server=server, token="at-1", expires=timezone.now() + timedelta(hours=1)
    )
    api = django_api(MANAGE)
    url = f"/api/v1/users/{UserProfile.objects.get(user=alice).subject}"
    assert api.delete(url).status_code == 204
    alice.refresh_from_db()
    assert not alice.is_active
    assert not BrowserSession.objects.filter(user=alice).exists()
    assert not SessionStore().exists(record.session_key)
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    assert api.get(url).json()["status"] == "DEPROVISIONED"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_each_write_is_in_the_system_log_with_the_application_as_actor(django_api):
    pytest.importorskip("oidc_flows.systemlog")  # merged with the system log
    api = django_api(MANAGE, "oidc_flows.groups.manage")
    carol = api.post("/api/v1/users", {"profile": CAROL}).json()
    api.patch(f"/api/v1/users/{carol['id']}", {"profile": {"lastName": "Marvel"}})
    group = api.post("/api/v1/groups", {"profile": {"name": "Engineering"}}).json()
    api.put(f"/api/v1/groups/{group['id']}/users/{carol['id']}")
    lockout.record_failure(User.objects.get(username="carol"))
    api.post(f"/api/v1/users/{carol['id']}/lifecycle/unlock")
    api.post(f"/api/v1/users/{carol['id']}/lifecycle/reset_factors")
    api.post(f"/api/v1/users/{carol['id']}/lifecycle/deactivate")

    logged = AuthEvent.objects.exclude(event_type__startswith="app.oauth2.as.token").order_by("pk")
    assert [(e.event_type, e.actor_id, e.target_alternate_id) for e in logged] == [
        ("user.lifecycle.create", api.application.client_id, "carol"),
        ("user.account.update_profile", api.application.client_id, "carol"),
        ("group.lifecycle.create", api.application.client_id, "Engineering"),
        ("group.user_membership.add", api.application.client_id, "Engineering"),
        ("user.account.unlock", api.application.client_id, "carol"),
        ("user.mfa.factor.reset_all", api.application.client_id, "carol"),
        ("user.lifecycle.deactivate", api.application.client_id, "carol"),
    ]
