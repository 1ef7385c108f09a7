"""The revocation list of JWT access tokens (oidc_flows/revocation.py): what each entry ends, and what it spares."""

from __future__ import annotations

import time
import uuid

import pytest

from oidc_flows import revocation, tokens


SERVER = 7


def payload(*, issued: float | None = None, family: str | None = None, uid: str | None = "42", **extra) -> dict:
    issued = time.time() if issued is None else issued
    found = {"jti": tokens.new_jti(issued), "iat": int(issued), "client_id": "app", "exp": int(issued) + 600}
    if family:
        found[revocation.FAMILY_CLAIM] = family
    if uid is not None:
        found["uid"] = uid
    return found | extra


@pytest.fixture
def revoked(db):
    return lambda token: revocation.is_revoked(SERVER, token)


def test_nothing_is_revoked_by_default(revoked):
    assert not revoked(payload())


def test_a_jti_entry_ends_that_token_only(revoked):
    token, other = payload(), payload()
    revocation.revoke_token(token["jti"], token["exp"])

    assert revoked(token) and not revoked(other)


def test_a_family_entry_ends_every_token_of_the_family_issued_before_or_after(revoked):
    family = uuid.uuid4()
    before = payload(family=family.hex)
    revocation.revoke_family(family)
    after = payload(family=family.hex)

    assert revoked(before) and revoked(after)
    assert not revoked(payload(family=uuid.uuid4().hex))


def test_a_holder_entry_spares_tokens_issued_after_it_even_in_the_same_second(revoked):
    before = payload()
    time.sleep(0.002)
    revocation.revoke_holder(SERVER, "app", "42")
    time.sleep(0.002)
    after = payload()

    assert int(revocation.issued_at(after)) - int(revocation.issued_at(before)) <= 1
    assert revoked(before) and not revoked(after)
    assert not revoked(payload(uid="43"))  # another user's
    assert not revocation.is_revoked(SERVER + 1, before)  # the same holder on another server


@pytest.mark.parametrize("entry", ["client", "user"])
def test_client_and_user_entries_apply_on_every_server(revoked, entry):
    token = payload()
    revocation.revoke_client("app") if entry == "client" else revocation.revoke_user("42")

    assert revoked(token) and revocation.is_revoked(SERVER + 1, token)
    assert not revoked(payload(client_id="other", uid="43"))


def test_issuance_time_comes_from_the_uuid7_jti_else_from_iat():
    now = time.time()
    assert abs(revocation.issued_at({"jti": tokens.new_jti(now)}) - now) < 0.001
    assert revocation.issued_at({"jti": uuid.uuid4().hex, "iat": 1700000000}) == 1700000000.0
