"""Subject identifiers (OIDC Core §8): an opaque public ``sub``, and pairwise subs per sector (§8.1).

Scenario: alice signs in once and uses three applications: a public one and two pairwise ones on
different hosts. Tokens are verified with joserfc against the server's JWKS, as a relying party would.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from oidc_flows import subjects
from oidc_flows.models import UserProfile
from tests.factories import make_client, make_user
from tests.support.jose import verify_jwt
from tests.support.oauth import AuthorizationRequest, Browser, location_params


OPAQUE_ID = re.compile(r"^00u[0-9A-Za-z]{17}$")


@pytest.fixture
def sessions() -> Iterator[list]:
    """HTTP sessions to close before the live server goes (a kept-alive one would outlive the database)."""
    opened: list = []
    yield opened
    for session in opened:
        session.close()


def test_pairwise_applications_see_their_own_stable_sub_everywhere(base_url, browser, default_server, user, sessions):
    public = make_client(redirect_uris=("https://rp.example/cb",))
    mail = make_client(redirect_uris=("https://mail.example/cb",), subject_type="pairwise")
    news = make_client(redirect_uris=("https://news.example/cb",), subject_type="pairwise")
    for client in (public, mail, news):
        client.redirect = client.redirect_uris

    subs = {}
    for client in (public, mail, news):
        auth = AuthorizationRequest(client, default_server, scope="openid profile", redirect_uri=client.redirect)
        sessions.append(auth.session)
        token = auth.exchange(browser.authorize(auth.url))
        subs[client.client_id] = (token, verify_jwt(token["id_token"], **jwt_args(default_server, client)))

    public_sub = subs[public.client_id][1]["sub"]
    mail_token, mail_id = subs[mail.client_id]
    assert OPAQUE_ID.match(public_sub) and public_sub == subjects.public_id(user) != str(user.pk)
    assert len({public_sub, mail_id["sub"], subs[news.client_id][1]["sub"]}) == 3  # no correlation

    # The pairwise app sees its sub in the ID token, the JWT access token (uid too), userinfo and introspection.
    access = verify_jwt(
        mail_token["access_token"],
        jwks_url=default_server.endpoint_url("keys"),
        issuer=default_server.issuer,
        audience="api://default",
        typ="at+jwt",
    )
    assert access["sub"] == access["uid"] == mail_id["sub"]
    userinfo = requests.get(
        default_server.endpoint_url("userinfo"),
        headers={"Authorization": f"Bearer {mail_token['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == mail_id["sub"], userinfo.text
    introspection = requests.post(
        default_server.endpoint_url("introspect"),
        data={"token": mail_token["access_token"]},
        auth=(mail.client_id, mail.secret),
        timeout=10,
    ).json()
    assert introspection["active"] is True and introspection["sub"] == mail_id["sub"]
    assert "username" not in introspection  # a login would let pairwise applications correlate

    # The same application, another sign-in (a new browser), the same sub; an id_token_hint naming it works.
    again = Browser(base_url)
    auth = AuthorizationRequest(mail, default_server, scope="openid", redirect_uri=mail.redirect)
    sessions += [again.http, auth.session]
    second = verify_jwt(auth.exchange(again.authorize(auth.url))["id_token"], **jwt_args(default_server, mail))
    assert second["sub"] == mail_id["sub"]
    hinted = AuthorizationRequest(
        mail,
        default_server,
        scope="openid",
        redirect_uri=mail.redirect,
        extra={"prompt": "none", "id_token_hint": mail_token["id_token"]},
    )
    sessions.append(hinted.session)
    response = again.get(hinted.url)
    assert "code" in location_params(response), response.headers.get("Location")


def jwt_args(server, client) -> dict:
    return {"jwks_url": server.endpoint_url("keys"), "issuer": server.issuer, "audience": client.client_id}


# -- the public id -------------------------------------------------------------------------------------


def test_the_public_sub_is_opaque_random_and_made_on_first_need(transactional_db):
    first, second = make_user(username="ann"), make_user(username="ben")
    ids = [subjects.public_id(first), subjects.public_id(second)]
    assert all(OPAQUE_ID.match(i) for i in ids) and ids[0] != ids[1]
    assert str(first.pk) not in ids and str(second.pk) not in ids

    # createsuperuser, the admin or any other path may leave a user without a profile: one is made, once.
    bare = get_user_model().objects.create_user("carl", password="x")
    assert not UserProfile.objects.filter(user=bare).exists()
    made = subjects.public_id(bare)
    fresh = get_user_model().objects.get(pk=bare.pk)
    fresh.username = "carl2"
    fresh.save()
    assert subjects.public_id(fresh) == made and UserProfile.objects.filter(user=bare).count() == 1
    assert subjects.user_for(made, None).pk == bare.pk


def test_user_for_reverses_only_the_subs_an_application_was_issued(transactional_db):
    alice = make_user()
    mail = make_client(redirect_uris=("https://mail.example/cb",), subject_type="pairwise")
    mail_admin = make_client(redirect_uris=("https://mail.example/admin/cb",), subject_type="pairwise")
    news = make_client(redirect_uris=("https://news.example/cb",), subject_type="pairwise")

    sub = subjects.subject_for(alice, mail)
    assert subjects.subject_for(alice, mail_admin) == sub  # one sector (the host), one sub
    assert subjects.user_for(sub, mail).pk == alice.pk
    assert subjects.user_for(sub, news) is None  # another sector's sub names nobody there
    assert subjects.user_for(subjects.public_id(alice), mail) is None  # nor does the public id
    assert subjects.user_for(sub, None) is None


# -- the sector identifier (OIDC Core §8.1, Registration §5) -------------------------------------------


@pytest.fixture
def sector_document() -> Iterator[tuple[str, list]]:
    """A tiny server of the sector identifier document on 127.0.0.1; the test fills the list it serves."""
    listed: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(listed).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sector.json", listed
    server.shutdown()
    server.server_close()


def test_a_sector_identifier_uri_must_list_every_redirect_uri(transactional_db, sector_document):
    uri, listed = sector_document
    redirects = ("https://app.example/cb", "https://login.example.org/cb")

    with pytest.raises(ValidationError) as refused:
        make_client(redirect_uris=redirects, subject_type="pairwise")  # two hosts, no sector
    assert "several hosts" in str(refused.value.message_dict["redirect_uris"])

    listed[:] = [redirects[0]]
    with pytest.raises(ValidationError) as refused:
        make_client(redirect_uris=redirects, subject_type="pairwise", sector_identifier_uri=uri)
    assert "https://login.example.org/cb" in str(refused.value.message_dict["sector_identifier_uri"])

    listed[:] = [*redirects, "https://third.example/cb"]
    app = make_client(redirect_uris=redirects, subject_type="pairwise", sector_identifier_uri=uri)
    sibling = make_client(
        redirect_uris=("https://third.example/cb",), subject_type="pairwise", sector_identifier_uri=uri
    )
    assert subjects.sector_identifier(app) == "127.0.0.1"
    alice = make_user()
    assert subjects.subject_for(alice, app) == subjects.subject_for(alice, sibling)  # one sector


def test_an_unreachable_sector_identifier_uri_is_refused(transactional_db):
    with pytest.raises(ValidationError) as refused:
        make_client(subject_type="pairwise", sector_identifier_uri="http://127.0.0.1:9/nothing.json")
    assert "could not be fetched" in str(refused.value.message_dict["sector_identifier_uri"])
