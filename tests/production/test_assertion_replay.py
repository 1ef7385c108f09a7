"""A client assertion is accepted once by the whole deployment (RFC 7523 §3: ``jti``), whichever process or
node it reaches: on the embedded default (SQLite, each process its own local-memory cache: the record is a
row) and on PostgreSQL + Redis (the record is a Redis key), with two gunicorn workers, and across two nodes.
"""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from joserfc.jwk import OctKey

from tests.support.assertions import assertion_form, claims_for, signed


ATTEMPTS = 16


def register(deployment) -> tuple[str, str]:
    """A client_secret_jwt service, registered as an administrator scripts it; its client_id and secret."""
    client_id = f"replay-{uuid.uuid4().hex[:8]}"
    out = deployment.manage(
        "oidc_create_application", "service", client_id, f"--client-id={client_id}", "--auth-method=client_secret_jwt"
    )
    return client_id, re.search(r"client_secret:\s*(\S+)", out).group(1)


def assertion(deployment, client_id: str, secret: str) -> str:
    audience = f"{deployment.base_url}/oauth2/default"  # the issuer: the same for every node
    return signed(claims_for(client_id, audience), OctKey.import_key(secret), "HS256")


def token_request(node, jwt: str) -> requests.Response:
    data = {"grant_type": "client_credentials", **assertion_form(jwt)}
    return requests.post(f"{node.url}/oauth2/default/v1/token", data=data, timeout=30)


def test_one_assertion_sent_to_every_worker_at_once_is_accepted_once(idp):
    deployment, node = idp
    client_id, secret = register(deployment)
    jwt = assertion(deployment, client_id, secret)

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        responses = list(pool.map(lambda _: token_request(node, jwt), range(ATTEMPTS)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * (ATTEMPTS - 1), [r.text for r in responses]
    refused = [r.json() for r in responses if r.status_code == 401]
    assert all(body["error"] == "invalid_client" and "already used" in body["error_description"] for body in refused)


@pytest.mark.usefixtures("node_a")
def test_an_assertion_accepted_by_one_node_is_refused_by_the_other(deployment, node_a, node_b):
    client_id, secret = register(deployment)
    jwt = assertion(deployment, client_id, secret)

    assert token_request(node_a, jwt).status_code == 200
    replayed = token_request(node_b, jwt)

    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client"
