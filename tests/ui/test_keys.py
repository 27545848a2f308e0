"""API keys: parsed as documented, compared by digest, held to their collections and rights."""

from __future__ import annotations

import pytest

from rag import InputError
from ui.keys import AccessDenied, KeyRing, parse_key, presented_key

pytestmark = pytest.mark.unit


def test_a_key_spec_names_collections_and_rights() -> None:
    key = parse_key("sk-hr-19ab44@hr+sales:read")
    assert key.collections == frozenset({"hr", "sales"}) and not key.write
    assert parse_key("sk-admin-7f3c2a").collections is None and parse_key("sk-admin-7f3c2a").write
    assert b"sk-admin" not in parse_key("sk-admin-7f3c2a").digest  # the key itself is not kept


@pytest.mark.parametrize(
    "bad", ["short", "has space in it", "sk-ok-but@", "sk-fine-key:admin", "sk-é-non-ascii"]
)
def test_a_bad_key_spec_says_what_a_key_may_hold(bad: str) -> None:
    with pytest.raises(InputError, match="8-200 characters") as caught:
        parse_key(bad)
    assert bad not in str(caught.value)  # a key is a secret: never echoed


def test_without_keys_everyone_is_let_in() -> None:
    ring = KeyRing()
    ring.check(None, "hr", write=True)
    assert not ring.enabled and ring.allows(None, "anything")


def test_keys_are_checked_for_presence_collection_and_rights() -> None:
    ring = KeyRing(["sk-admin-7f3c2a", "sk-hr-19ab44@hr:read"])
    ring.check("sk-admin-7f3c2a", "sales", write=True)
    ring.check("sk-hr-19ab44", "hr")
    for presented, collection, write, status, words in [
        (None, "hr", False, 401, "a valid API key is required"),
        ("sk-wrong-000000", "hr", False, 401, "not one of them"),
        ("sk-hr-19ab44", "sales", False, 403, "may use: hr"),
        ("sk-hr-19ab44", "hr", True, 403, "write rights"),
    ]:
        with pytest.raises(AccessDenied, match=words) as caught:
            ring.check(presented, collection, write)
        assert caught.value.status == status
    assert ring.open_to_all("hr") and not ring.open_to_all("sales")


def test_keys_come_from_options_else_from_the_environment() -> None:
    assert len(KeyRing.from_options(None, {"RAG_API_KEYS": "sk-one-111111, sk-two-222222@hr"}).keys) == 2
    assert len(KeyRing.from_options(["sk-three-33333"], {"RAG_API_KEYS": "sk-one-111111"}).keys) == 1
    assert not KeyRing.from_options(None, {}).enabled


def test_a_request_presents_its_key_as_bearer_header_or_cookie() -> None:
    assert presented_key({"authorization": "Bearer sk-a-1234567"}) == "sk-a-1234567"
    assert presented_key({"x-api-key": "sk-b-1234567"}) == "sk-b-1234567"
    assert presented_key({}, {"rag-key": "sk-c-1234567"}) == "sk-c-1234567"
    assert presented_key({"authorization": "Basic abc"}) is None
