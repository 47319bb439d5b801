"""API tokens in the database: made, listed (never with their secrets), revoked, and what
``authenticate`` says of a token that is revoked, expired, forged or not one at all."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from ades.auth.authenticators import WithAdminToken
from ades.auth.principal import ADMIN
from ades.auth.tokens import TokenStore
from ades.db.schema import api_tokens
from ades.errors import NotAuthenticated

FORMAT = re.compile(r"^ades_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def store(engine) -> TokenStore:
    return TokenStore(engine)


def _refused(store_or_auth, token: str) -> str:
    with pytest.raises(NotAuthenticated) as refused:
        store_or_auth.authenticate(token)
    return str(refused.value)


def test_a_new_token_proves_its_workspace_only(store):
    record, token = store.create("demo", "ci")
    assert FORMAT.match(token), token
    assert token.split("_")[1] == record.id
    assert (record.workspace, record.name, record.expires) == ("demo", "ci", None)
    principal = store.authenticate(token)
    assert principal.workspaces == frozenset({"demo"})
    assert principal.may_use("demo") and not principal.may_use("lab")
    assert principal.name == f"API token {record.id} (ci)"
    assert token.split("_", 2)[2] not in principal.name


def test_only_a_digest_of_the_secret_is_stored(store, engine):
    record, token = store.create("demo")
    secret = token.split("_", 2)[2]
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == record.id)).one()
    assert secret not in "".join(str(v) for v in row)


def test_list_in_order_by_workspace_without_secrets(store):
    first, _ = store.create("demo", "one")
    second, _ = store.create("lab", "two")
    third, _ = store.create("demo", "three", expires_days=2)
    assert [t.id for t in store.list()] == [first.id, second.id, third.id]
    assert [t.id for t in store.list("demo")] == [first.id, third.id]
    assert store.list("nobody") == []
    listed = store.list("demo")[1]
    assert not hasattr(listed, "digest") and not hasattr(listed, "secret")
    assert listed.expires is not None
    assert timedelta(days=1) < listed.expires - datetime.now(UTC) <= timedelta(days=2)
    assert not listed.expired


def test_a_revoked_token_stops_working(store):
    record, token = store.create("demo")
    revoked = store.revoke(record.id)
    assert revoked is not None and revoked.id == record.id
    assert store.list() == []
    assert _refused(store, token) == f"API token {record.id} is unknown or revoked"
    assert store.revoke(record.id) is None


def test_an_expired_token_says_when_it_expired(store, engine):
    record, token = store.create("demo", expires_days=1)
    past = datetime(2020, 1, 2, 3, 4, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.id == record.id).values(expires=past))
    assert store.list()[0].expired
    assert _refused(store, token) == f"API token {record.id} expired at 2020-01-02T03:04:00Z"


def test_a_forged_secret_is_refused_naming_the_id_only(store):
    record, token = store.create("demo")
    forged = f"ades_{record.id}_" + "A" * 43
    message = _refused(store, forged)
    assert message == f"API token {record.id} is unknown or revoked"
    assert "A" * 43 not in message
    # An id no token has, in the right format.
    assert "is unknown or revoked" in _refused(store, "ades_" + "0" * 16 + "_" + "B" * 43)


@pytest.mark.parametrize(
    "token",
    ["", "ades_", "nonsense", "ades_XYZ_" + "A" * 43, "ades_" + "0" * 16 + "_short",
     "ades_" + "0" * 16 + "_" + "A" * 42 + "!", "Bearer ades_" + "0" * 16 + "_" + "A" * 43],
)
def test_what_is_not_an_api_token_is_refused_as_such(store, token):
    assert _refused(store, token) == "the bearer token is not an API token of this server"


def test_the_admin_token_comes_first_and_others_go_to_the_store(store):
    _, token = store.create("lab")
    auth = WithAdminToken("the-admin-token", store)
    assert auth.authenticate("the-admin-token") is ADMIN
    assert ADMIN.may_use("anything")
    assert auth.authenticate(token).workspaces == frozenset({"lab"})
    assert "not an API token" in _refused(auth, "the-admin-token-not")


def test_without_an_admin_token_none_is_the_admin(store):
    auth = WithAdminToken("", store)
    assert "not an API token" in _refused(auth, "")
