"""API keys: who may use `rag serve`, on which collections, and who may change documents.

A key is given as `KEY`, optionally followed by `@COLLECTION+COLLECTION` (only those collections)
and `:read` (questions only; no adding or removing documents):

    rag serve --api-key sk-admin-7f3c2a --api-key "sk-hr-19ab44@hr:read"
    RAG_API_KEYS="sk-admin-7f3c2a, sk-hr-19ab44@hr:read" rag serve
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rag import InputError

COOKIE = "rag-key"
_KEY = re.compile(r"[A-Za-z0-9._~-]{8,200}")
_SPEC = re.compile(r"(?P<key>[^@:]+)(?:@(?P<collections>[^:]+))?(?::(?P<rights>read|write))?")


class AccessDenied(Exception):
    """A request without a valid key (`status` 401) or whose key may not do this (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Key:
    digest: bytes  # sha256 of the key: the key itself is not kept
    collections: frozenset[str] | None  # None: every collection
    write: bool


def parse_key(spec: str) -> Key:
    """One key as `--api-key` takes it (see the module's docstring)."""
    m = _SPEC.fullmatch(spec.strip())
    if not m or not _KEY.fullmatch(m["key"]):
        raise InputError(
            "an API key must be 8-200 characters of letters, digits, '.', '_', '~' or '-', optionally "
            "followed by @COLLECTION+COLLECTION and :read (e.g. 'sk-hr-19ab44@hr:read'); "
            f"got a key of {len(spec.strip())} characters that does not fit"
        )
    names = frozenset(m["collections"].split("+")) if m["collections"] else None
    return Key(_digest(m["key"]), names, m["rights"] != "read")


class KeyRing:
    """The keys a server accepts; with none, every request is let in (the server then binds
    127.0.0.1 unless told otherwise)."""

    def __init__(self, specs: Iterable[str] = ()) -> None:
        self.keys = tuple(parse_key(s) for s in specs if s.strip())

    @classmethod
    def from_options(cls, given: Iterable[str] | None, env: Mapping[str, str]) -> KeyRing:
        """The keys of `--api-key` options, else of RAG_API_KEYS (comma or space separated)."""
        specs = list(given or []) or re.split(r"[,\s]+", env.get("RAG_API_KEYS", ""))
        return cls(specs)

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def find(self, presented: str | None) -> Key | None:
        """The key `presented` is, comparing its digest with every key's in constant time."""
        if not presented:
            return None
        digest = _digest(presented)
        found = None
        for key in self.keys:  # no early exit: the time taken says nothing of which key matched
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found

    def check(self, presented: str | None, collection: str | None = None, write: bool = False) -> None:
        """Raise AccessDenied unless `presented` may read (or, with `write`, change) `collection`
        (None: no collection in particular)."""
        if not self.enabled:
            return
        key = self.find(presented)
        if key is None:
            raise AccessDenied(
                401,
                "a valid API key is required: send it as 'Authorization: Bearer KEY' "
                "(OpenAI clients: api_key=KEY)"
                + ("" if not presented else "; the key sent is not one of them"),
            )
        if collection is not None and key.collections is not None and collection not in key.collections:
            raise AccessDenied(
                403,
                f"this API key may not use the collection '{collection}'; it may use: "
                + ", ".join(sorted(key.collections)),
            )
        if write and not key.write:
            raise AccessDenied(
                403,
                "this API key may only ask questions; adding or removing documents needs a key with write rights",
            )

    def open_to_all(self, collection: str) -> bool:
        """Whether every key (or, with none, everyone) may read `collection`."""
        return all(k.collections is None or collection in k.collections for k in self.keys)

    def allows(self, presented: str | None, collection: str) -> bool:
        try:
            self.check(presented, collection)
        except AccessDenied:
            return False
        return True


def presented_key(headers: Mapping[str, str], cookies: Mapping[str, str] | None = None) -> str | None:
    """The key a request carries: `Authorization: Bearer KEY`, `X-API-Key: KEY`, or (the browser
    chat, after its sign-in page) the `COOKIE` cookie."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or (cookies or {}).get(COOKIE) or None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()
