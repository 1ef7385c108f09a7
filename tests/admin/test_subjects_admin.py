"""The admin's subject settings (OIDC Core §8): public or pairwise per application, and each user's public sub."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from oidc_flows import subjects
from tests.admin.test_request_settings_admin import APPS, web_form
from tests.factories import make_client


SUBJECT_FIELDS = {"subject_type", "sector_identifier_uri"}


def test_only_applications_that_sign_users_in_have_the_subject_settings(admin_client):
    web = admin_client.get(f"{APPS}add/", {"application_type": "web"}).context["adminform"].form
    service = admin_client.get(f"{APPS}add/", {"application_type": "service"}).context["adminform"].form

    assert SUBJECT_FIELDS <= set(web.fields) and not SUBJECT_FIELDS & set(service.fields)


def test_an_application_is_made_pairwise_only_with_one_sector(admin_client):
    client = make_client(app_type="web")
    two_hosts = "https://bank.example/cb\nhttps://bank.example.org/cb"

    refused = admin_client.post(
        f"{APPS}{client.pk}/change/", web_form(subject_type="pairwise", redirect_uris=two_hosts)
    )
    assert refused.status_code == 200
    assert "several hosts" in str(refused.context["adminform"].form.errors["redirect_uris"])

    saved = admin_client.post(f"{APPS}{client.pk}/change/", web_form(subject_type="pairwise"))
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    client.refresh_from_db()
    assert client.is_pairwise and subjects.sector_identifier(client) == "bank.example"

    # A form that leaves the field out never turns a pairwise application public (its subs would change).
    admin_client.post(f"{APPS}{client.pk}/change/", web_form())
    client.refresh_from_db()
    assert client.is_pairwise


def test_a_users_page_shows_their_public_sub(admin_client):
    root = get_user_model().objects.get(username="root")
    sub = subjects.public_id(root)

    page = admin_client.get(f"/admin/auth/user/{root.pk}/change/")

    assert page.status_code == 200 and f"<code>{sub}</code>" in page.content.decode()
