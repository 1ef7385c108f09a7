"""The admin without a browser (Django's test client): secrets, revocation, lockout, sessions, consents.

Scenario: a superuser signed into /admin/; applications and tokens made with tests.factories.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.utils import timezone

from oidc_flows import lockout
from oidc_flows.admin.forms import ApplicationTypeGuideForm
from oidc_flows.models import (
    AccessPolicy,
    AccessToken,
    Application,
    BrowserSession,
    Consent,
    RefreshToken,
    Scope,
    UserProfile,
)
from tests.factories import PASSWORD, make_client, make_server, make_user


APPS = "/admin/oidc_flows/application/"


def token_request(client_id: str, secret: str) -> int:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = Client().post(
        "/oauth2/default/v1/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",  # RFC 6749 §4.4.2; multipart is refused
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    return response.status_code


def make_tokens(client: Application, user, *, family: str | None = None, n: int = 1) -> list[RefreshToken]:
    """Access tokens with bound refresh tokens (one rotation family), as /token would store them."""
    from oidc_flows.models import AuthorizationServer

    server = AuthorizationServer.objects.get(server_id="default")
    rows = []
    for i in range(n):
        access = AccessToken.objects.create(
            user=user,
            application=client,
            server=server,
            token=f"access-{client.pk}-{user.pk}-{i}-{family}",
            jti=f"jti-{i}",
            expires=timezone.now() + timedelta(hours=1),
            scope="openid",
        )
        rows.append(
            RefreshToken.objects.create(
                user=user,
                application=client,
                server=server,
                token=f"refresh-{client.pk}-{user.pk}-{i}-{family}",
                access_token=access,
                token_family=family,
            )
        )
    return rows


# -- applications --------------------------------------------------------------------------------------


def test_add_application_first_asks_for_the_type(admin_client):
    page = admin_client.get(f"{APPS}add/").content.decode()

    for app_type in ("web", "spa", "native", "service"):
        assert f"?application_type={app_type}" in page
    assert "Choosing a flow" in page and "Does a person sign in to it?" in page


@pytest.mark.parametrize(
    ("answers", "recommended"),
    [
        ({"has_user": "no"}, "service"),
        ({"has_user": "yes", "public": "no"}, "web"),
        ({"has_user": "yes", "public": "yes", "runs_in": "browser"}, "spa"),
        ({"has_user": "yes", "public": "yes", "runs_in": "device", "trusted": "yes"}, "native"),
        ({"has_user": "yes", "public": "yes"}, None),  # not decided yet: browser or device?
    ],
)
def test_the_guide_recommends_a_type(answers, recommended):
    recommendation = ApplicationTypeGuideForm(answers).recommendation()

    assert (recommendation.app_type if recommendation else None) == recommended


def test_the_guide_highlights_its_recommendation(admin_client):
    page = admin_client.get(f"{APPS}add/", {"has_user": "yes", "public": "yes", "runs_in": "browser"})

    assert 'id="type-spa"' in page.content.decode() and "oidc-recommended" in page.content.decode()
    assert page.context["recommendation"].app_type == "spa"


@pytest.mark.parametrize(
    ("app_type", "present", "absent"),
    [
        ("web", ["redirect_uris", "token_endpoint_auth_method"], ["allowed_origins"]),
        ("spa", ["redirect_uris", "allowed_origins"], ["token_endpoint_auth_method"]),
        ("native", ["redirect_uris"], ["allowed_origins", "token_endpoint_auth_method"]),
        ("service", ["token_endpoint_auth_method"], ["redirect_uris", "allowed_origins", "skip_authorization"]),
    ],
)
def test_each_type_form_has_only_its_settings(admin_client, app_type, present, absent):
    form = admin_client.get(f"{APPS}add/", {"application_type": app_type}).context["adminform"].form

    assert set(present) <= set(form.fields) and not set(absent) & set(form.fields)
    assert form.initial["grant_types"] == sorted(
        {"web": ["authorization_code", "refresh_token"], "service": ["client_credentials"]}.get(
            app_type, ["authorization_code", "refresh_token"]
        )
    )


def test_a_service_secret_is_shown_once_and_stored_hashed(admin_client):
    response = admin_client.post(
        f"{APPS}add/?application_type=service",
        {
            "name": "Nightly",
            "client_id": "nightly",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "is_active": "on",
        },
        follow=True,
    )

    secret = next(m.message for m in response.context["messages"] if "oidc-secret" in m.tags)
    secret = secret.split('class="oidc-secret"')[1].split(">", 1)[1].split("<", 1)[0]
    stored = Application.objects.get(client_id="nightly").client_secret
    assert stored.startswith("oidc_hmac_sha256$") and check_password(secret, stored)
    assert token_request("nightly", secret) == 200
    assert secret not in admin_client.get(f"{APPS}{Application.objects.get().pk}/change/").content.decode()


def test_spa_origins_must_be_origins(admin_client):
    response = admin_client.post(
        f"{APPS}add/?application_type=spa",
        {
            "name": "Dash",
            "client_id": "dash",
            "grant_types": ["authorization_code"],
            "redirect_uris": "https://app.example/cb",
            "allowed_origins": "https://app.example/cb",
        },
    )

    errors = response.context["adminform"].form.errors
    assert "is not an origin: write scheme://host[:port] with no path" in str(errors["allowed_origins"])


def test_rotate_secret_asks_first_then_the_old_secret_stops_working(admin_client):
    service = make_client(app_type="service")
    url = f"{APPS}{service.pk}/rotate-secret/"

    question = admin_client.get(url)
    assert (
        "stops working at once" in question.content.decode() and token_request(service.client_id, service.secret) == 200
    )

    response = admin_client.post(url, {"confirm": "yes"}, follow=True)

    message = next(m.message for m in response.context["messages"] if "oidc-secret" in m.tags)
    new_secret = message.split('class="oidc-secret"')[1].split(">", 1)[1].split("<", 1)[0]
    assert token_request(service.client_id, service.secret) == 401
    assert token_request(service.client_id, new_secret) == 200


def test_rotate_secret_needs_a_csrf_token(admin_client):
    service = make_client(app_type="service")
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = admin_client.cookies

    response = strict.post(f"{APPS}{service.pk}/rotate-secret/", {"confirm": "yes"})

    assert response.status_code == 403
    assert token_request(service.client_id, service.secret) == 200


def test_revoke_all_tokens_takes_refresh_families_along(admin_client):
    user = make_user()
    web, other = make_client(app_type="web"), make_client(app_type="web")
    make_tokens(web, user, family="6f1c6a52-3d6e-4a4f-9c8e-2d1f0f3b9a10", n=2)
    make_tokens(other, user, family="0b8e8d52-5a7f-4c0e-8a1e-7e6d0c9b1a22")

    admin_client.post(APPS, {"action": "revoke_all_tokens", "_selected_action": [web.pk], "confirm": "yes"})

    assert not AccessToken.objects.filter(application=web).exists()
    assert not RefreshToken.objects.filter(application=web, revoked__isnull=True).exists()
    assert AccessToken.objects.filter(application=other).count() == 1  # another client's tokens stay


def test_deactivate_action(admin_client):
    web = make_client(app_type="web")

    admin_client.post(APPS, {"action": "deactivate", "_selected_action": [web.pk]})

    web.refresh_from_db()
    assert web.is_active is False


def test_server_filter_lists_the_applications_a_server_serves(admin_client):
    payments = make_server("payments", default_policy=False)
    assigned, unassigned = make_client(app_type="service"), make_client(app_type="web")
    AccessPolicy.objects.create(server=payments, name="Only one", all_clients=False).clients.add(assigned)

    listed = admin_client.get(APPS, {"server": "payments"}).context["cl"].result_list
    everyone = admin_client.get(APPS, {"server": "default"}).context["cl"].result_list

    assert list(listed) == [assigned]
    assert set(everyone) == {assigned, unassigned}  # default's policy is for all applications


# -- servers -------------------------------------------------------------------------------------------


def test_a_server_with_fifty_scopes_stays_one_short_page(admin_client):
    payments = make_server("payments")
    Scope.objects.bulk_create(
        Scope(server=payments, name=f"payments:s{i:02d}", description=f"Scope {i}") for i in range(50)
    )

    page = admin_client.get(f"/admin/oidc_flows/authorizationserver/{payments.pk}/change/").content.decode()

    assert "Manage all 56 scopes" in page and "and 44 more" in page
    assert "payments:s49" not in page  # the rest is one click away, not an endless inline
    assert payments.discovery_url in page and payments.issuer in page


def test_rotate_key_button(admin_client):
    payments = make_server("payments")
    active = payments.signing_keys.get(status="active")

    admin_client.post(f"/admin/oidc_flows/authorizationserver/{payments.pk}/rotate-key/", {"confirm": "yes"})

    active.refresh_from_db()
    assert active.status == "retired" and payments.signing_keys.filter(status="active").exclude(pk=active.pk).exists()


def test_signing_key_pages_never_show_private_keys(admin_client):
    payments = make_server("payments")
    key = payments.signing_keys.first()

    page = admin_client.get(f"/admin/oidc_flows/signingkey/{key.pk}/change/").content.decode()

    assert key.kid in page and key.sealed_private_jwk not in page and '"d"' not in page


# -- tokens --------------------------------------------------------------------------------------------


def test_token_lists_show_jti_but_never_token_values(admin_client):
    user = make_user()
    (refresh,) = make_tokens(make_client(app_type="web"), user, family="1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b")
    access = refresh.access_token

    listing = admin_client.get("/admin/oidc_flows/accesstoken/", {"q": "alice"}).content.decode()
    # The user's and the application's pages link to these filtered lists.
    by_user = admin_client.get("/admin/oidc_flows/refreshtoken/", {"user__id__exact": user.pk, "status": "live"})
    by_client = admin_client.get("/admin/oidc_flows/accesstoken/", {"application__id__exact": access.application_id})
    assert list(by_user.context["cl"].result_list) == [refresh]
    assert list(by_client.context["cl"].result_list) == [access]
    detail = admin_client.get(f"/admin/oidc_flows/accesstoken/{access.pk}/change/").content.decode()

    assert "jti-0" in listing
    for page in (listing, detail):
        assert access.token_checksum not in page and "access-" not in page
    refresh_page = admin_client.get(f"/admin/oidc_flows/refreshtoken/{refresh.pk}/change/").content.decode()
    assert refresh.token_checksum not in refresh_page and "refresh-" not in refresh_page


def test_revoking_an_access_token_revokes_its_refresh_token(admin_client):
    (refresh,) = make_tokens(make_client(app_type="web"), make_user(), family="2e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b")

    admin_client.post(
        "/admin/oidc_flows/accesstoken/",
        {"action": "revoke_selected_tokens", "_selected_action": [refresh.access_token_id], "confirm": "yes"},
    )

    refresh.refresh_from_db()
    assert refresh.revoked is not None and not AccessToken.objects.exists()


# -- users ---------------------------------------------------------------------------------------------


def sign_in(password: str) -> bool:
    return Client().login(username="alice", password=password)


def test_lockout_after_repeated_wrong_passwords_and_unlock(admin_client):
    alice = make_user()
    for _ in range(lockout.MAX_FAILURES):
        assert not sign_in("wrong")

    assert lockout.is_locked(alice) and not sign_in(PASSWORD)  # even the right password
    page = admin_client.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert "Locked" in page and "Unlock sign-in" in page

    admin_client.post(f"/admin/auth/user/{alice.pk}/unlock/")

    assert not lockout.is_locked(alice) and sign_in(PASSWORD)
    assert UserProfile.objects.get(user=alice).failed_sign_ins == 0


def test_a_lock_expires_and_success_resets_the_count(db):
    alice = make_user()
    lockout.record_failure(alice)
    assert sign_in(PASSWORD) and UserProfile.objects.get(user=alice).failed_sign_ins == 0

    later = timezone.now() + lockout.LOCK_DURATION + timedelta(seconds=1)
    for _ in range(lockout.MAX_FAILURES):
        lockout.record_failure(alice)
    assert lockout.is_locked(alice) and not lockout.is_locked(alice, now=later)


def test_unknown_usernames_lock_nobody(db):
    for _ in range(lockout.MAX_FAILURES + 1):
        assert not Client().login(username="nobody", password="x")

    assert not UserProfile.objects.exists()


def test_custom_attributes_are_name_value_rows(admin_client):
    alice = make_user(attributes={"department": "Finance"})
    url = f"/admin/auth/user/{alice.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")}
    data |= {
        "password": "",
        "date_joined_0": "2025-01-01",
        "date_joined_1": "00:00:00",
        "last_login_0": "",
        "last_login_1": "",
        "is_active": "on",
    }
    profile = UserProfile.objects.get(user=alice)
    for prefix, total in (("oidc_profile", 1), ("oidc_browser_sessions", 0), ("oidc_consents", 0)):
        data |= {
            f"{prefix}-TOTAL_FORMS": total,
            f"{prefix}-INITIAL_FORMS": total,
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
    data |= {
        "oidc_profile-0-id": profile.pk,
        "oidc_profile-0-user": alice.pk,
        "oidc_profile-0-email_verified": "on",
        "oidc_profile-0-attributes_key_0": "department",
        "oidc_profile-0-attributes_value_0": "Sales",
        "oidc_profile-0-attributes_key_1": "roles",
        "oidc_profile-0-attributes_value_1": '["a", "b"]',
        "oidc_profile-0-attributes_key_2": "",
        "oidc_profile-0-attributes_value_2": "",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors or [
        f.errors for f in response.context["inline_admin_formsets"][0].formset
    ]
    assert UserProfile.objects.get(user=alice).attributes == {"department": "Sales", "roles": ["a", "b"]}

    data["oidc_profile-0-attributes_key_1"] = "1bad name"
    bad = admin_client.post(url, data)
    assert "Row 2: “1bad name” is not a usable name" in bad.content.decode()


def test_ending_a_session_signs_that_browser_out(admin_client):
    make_user()
    browser = Client()
    browser.post("/login/", {"username": "alice", "password": PASSWORD})
    record = BrowserSession.objects.get(user__username="alice")
    assert browser.get("/admin/").wsgi_request.user.is_authenticated

    admin_client.post(f"/admin/auth/user/{record.user_id}/end-sessions/", {"confirm": "yes"})

    assert not BrowserSession.objects.filter(user__username="alice").exists()
    assert not browser.get("/admin/").wsgi_request.user.is_authenticated


def test_revoking_a_consent(admin_client):
    from oidc_flows.models import AuthorizationServer

    alice = make_user()
    consent = Consent.objects.create(
        user=alice,
        application=make_client(),
        server=AuthorizationServer.objects.get(server_id="default"),
        scope="openid",
    )

    admin_client.post("/admin/oidc_flows/consent/", {"action": "revoke_consents", "_selected_action": [consent.pk]})

    assert not Consent.objects.exists()


def test_revoke_all_tokens_of_a_user(admin_client):
    alice = make_user()
    make_tokens(make_client(), alice, family="3e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b", n=2)

    admin_client.post(f"/admin/auth/user/{alice.pk}/revoke-tokens/", {"confirm": "yes"})

    assert not AccessToken.objects.exists() and not RefreshToken.objects.filter(revoked__isnull=True).exists()


def _basic(client: Application) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()


def _jwt_for(client: Application) -> str:
    response = Client().post(
        "/oauth2/default/v1/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=_basic(client),
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def _active(token: str, resource_server: Application) -> bool:
    response = Client().post(
        "/oauth2/default/v1/introspect",
        f"token={token}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=_basic(resource_server),
    )
    return response.json()["active"]


def test_revoke_all_tokens_ends_the_applications_jwt_access_tokens(admin_client):
    # JWT access tokens have no rows: the action puts the client on the revocation list instead.
    service, other, api = (make_client(app_type="service") for _ in range(3))
    revoked, kept = _jwt_for(service), _jwt_for(other)
    assert _active(revoked, api) and _active(kept, api)

    admin_client.post(APPS, {"action": "revoke_all_tokens", "_selected_action": [service.pk], "confirm": "yes"})

    assert not _active(revoked, api)
    assert _active(kept, api)  # another client's tokens stay
    assert _active(_jwt_for(service), api)  # tokens issued after the revocation are good
