"""PostgreSQL beyond the shared contract: many writers, kill -9 mid-write, schema versions, secrets.
Real server (the `pg_url` fixture), real `rag index` processes with the real model."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.build import build_index
from index.errors import IndexMismatchError, IndexNotFoundError
from index.pgstore import SCHEMA_VERSION, PgStore, redact, split_address, upgrade
from index.settings import IndexSettings
from tests.conftest import ROOT, FakeEmbedder, fresh_schema, write

pytestmark = pytest.mark.integration


def _sql(address: str, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run `query` on the index's database, `{s}` standing for its schema."""
    import psycopg

    url, schema = split_address(address)
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query.replace("{s}", schema), params)
        return cur.fetchall() if cur.description else []


def _rag_index(folder: Path, address: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "index", str(folder), "--db", address, "--quiet"],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _whole(address: str) -> list[str]:
    """Documents that are not whole: chunk count, or sentence vectors, short of what they record."""
    return [
        str(row[0])
        for row in _sql(
            address,
            "SELECT d.doc_id FROM {s}.documents d WHERE d.n_chunks <> (SELECT count(*) FROM {s}.chunks c "
            "WHERE c.doc_id = d.doc_id) OR (d.n_chunks > 0 AND NOT EXISTS (SELECT 1 FROM {s}.sentences t "
            "WHERE t.doc_id = d.doc_id))",
        )
    ]


def _documents(address: str) -> int:
    """How many documents the index holds (0 before its tables exist)."""
    if _sql(address, "SELECT to_regclass('{s}.documents')")[0][0] is None:
        return 0
    return int(_sql(address, "SELECT count(*) FROM {s}.documents")[0][0])  # type: ignore[call-overload]


@pytest.mark.unit
def test_a_password_is_never_shown() -> None:
    assert redact("postgresql://app:s3cret@db.example:5432/rag") == "postgresql://app:***@db.example:5432/rag"
    assert redact("postgresql://db/rag?user=app&password=s3cret&sslmode=require") == (
        "postgresql://db/rag?user=app&password=***&sslmode=require"
    )
    assert redact("postgresql:///rag?host=/tmp/pg") == "postgresql:///rag?host=/tmp/pg"


def test_errors_name_the_database_without_its_password(pg_url: str) -> None:
    with_password = pg_url.replace(
        "postgres:@", "postgres:s3cret-pw@"
    )  # the socket trusts; the password is only shown
    with pytest.raises(IndexNotFoundError) as caught:
        PgStore.open(with_password, "nothing_here")
    assert (
        "s3cret-pw" not in str(caught.value)
        and "***" in str(caught.value)
        and "rag index" in str(caught.value)
    )
    with pytest.raises(IndexNotFoundError, match=r"cannot connect .*\*\*\*") as caught:
        PgStore.open("postgresql://postgres:s3cret-pw@/postgres?host=/nonexistent-socket-dir", "rag")
    assert "s3cret-pw" not in str(caught.value)


def test_an_old_schema_is_refused_with_the_upgrade_command_and_upgrade_brings_it_forward(pg_url: str) -> None:
    address = fresh_schema(pg_url)
    url, schema = split_address(address)
    _sql(address, "CREATE SCHEMA {s}")
    _sql(address, "CREATE TABLE {s}.meta (key text PRIMARY KEY, value jsonb NOT NULL)")
    meta = {"schema_version": 0, "model": "fake-embedder", "dimension": 64, "generation": 0}
    meta["chunking"] = {"chunk_size": 48, "chunk_overlap": 8}
    for key, value in meta.items():
        _sql(address, "INSERT INTO {s}.meta VALUES (%s, %s)", (key, json.dumps(value)))
    with pytest.raises(IndexMismatchError, match="schema version 0.*rag db upgrade"):
        PgStore.open(url, schema)
    assert upgrade(url, schema) == (0, SCHEMA_VERSION)
    assert PgStore.open(url, schema).documents == {}
    _sql(address, "UPDATE {s}.meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(
        IndexMismatchError, match="newer than this version of rag reads.*upgrade rag-assistant"
    ):
        PgStore.open(url, schema)


def test_upgrade_from_schema_1_moves_the_words_and_keeps_the_bm25_ranking(
    pg_url: str, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    address = fresh_schema(pg_url)
    url, schema = split_address(address)
    for name, body in (
        ("a", "Alpha ships apples to Lyon."),
        ("b", "Beta ships bananas and apples."),
        ("c", "Gamma"),
    ):
        write(tmp_path / f"{name}.md", f"# {name}\n\n{body}\n")
    build_index([tmp_path], address, fake_embedder, IndexSettings(chunk_size=48, chunk_overlap=8))
    store = PgStore.open(url, schema)
    query = fake_embedder.embed_query("apples")
    before = [
        (c.doc_id, c.chunk_id, round(s, 5)) for c, s in store.fetch(store.lexical("apples Lyon", 5), query)
    ]
    # back to schema 1's shape: the words in the chunks table
    _sql(address, "ALTER TABLE {s}.chunks ADD COLUMN tsv tsvector, ADD COLUMN n_terms int")
    _sql(
        address,
        "UPDATE {s}.chunks c SET tsv = w.tsv, n_terms = w.n_terms FROM {s}.words w WHERE w.faiss_id = c.faiss_id",
    )
    _sql(address, "DROP TABLE {s}.words")
    _sql(address, "UPDATE {s}.meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(IndexMismatchError, match="schema version 1.*rag db upgrade"):
        PgStore.open(url, schema)
    assert upgrade(url, schema) == (1, SCHEMA_VERSION)
    store = PgStore.open(url, schema)
    assert [
        (c.doc_id, c.chunk_id, round(s, 5)) for c, s in store.fetch(store.lexical("apples Lyon", 5), query)
    ] == before
    assert before[0][0].endswith("a.md")  # the only chunk holding both words
    store.remove(next(d for d in store.documents if d.endswith("a.md")))  # its words go with it
    assert _sql(address, "SELECT count(*) FROM {s}.words")[0][0] == store.n_chunks


def test_two_writers_into_one_database_neither_corrupt_nor_duplicate(pg_url: str, tmp_path: Path) -> None:
    address = fresh_schema(pg_url)
    for side in ("a", "b"):
        for i in range(8):
            write(
                tmp_path / side / f"{side}{i}.md",
                f"# {side} {i}\n\nWarehouse {side}{i} ships {i * 7} crates a day.\n",
            )
    writers = [_rag_index(tmp_path / side, address) for side in ("a", "b")]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    store = PgStore.open(*split_address(address))
    assert sorted(Path(d).name for d in store.documents) == sorted(
        f"{s}{i}.md" for s in "ab" for i in range(8)
    )
    assert _sql(address, "SELECT count(*) FROM {s}.chunks")[0][0] == store.n_chunks
    assert _whole(address) == []
    # each run again: nothing changes, and neither removes the other's documents
    again = _rag_index(tmp_path / "a", address)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0 and "Removed: 0 documents" in out, err
    assert len(PgStore.open(*split_address(address)).documents) == 16


def test_kill_9_of_rag_index_leaves_every_document_whole_or_absent(pg_url: str, tmp_path: Path) -> None:
    address = fresh_schema(pg_url)
    docs = tmp_path / "docs"
    for i in range(40):
        body = " ".join(f"Depot {i} in zone {j} ships {100 + i * j} parcels to port {j}." for j in range(40))
        write(docs / f"depot-{i:02d}.txt", f"Depot {i}\n\n{body}\n")
    rng = random.Random(7)
    seen: set[int] = set()
    for _ in range(10):
        writer = _rag_index(docs, address)
        before, deadline = _documents(address), time.monotonic() + 120
        while writer.poll() is None and _documents(address) == before and time.monotonic() < deadline:
            time.sleep(0.2)  # until this run has written something (a loaded machine starts slowly)
        time.sleep(rng.uniform(0.0, 2.0))
        writer.kill()  # SIGKILL: no cleanup, no rollback handler of ours runs
        writer.wait()
        assert _whole(address) == []
        seen.add(_documents(address))
    finished = _rag_index(docs, address)
    _, err = finished.communicate(timeout=600)
    assert finished.returncode == 0, err
    assert len(PgStore.open(*split_address(address)).documents) == 40 and _whole(address) == []
    assert len(seen) > 1  # the kills landed at different points of the run


def test_rebuild_starts_the_database_index_over(
    pg_url: str, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    address = fresh_schema(pg_url)
    settings = IndexSettings(chunk_size=48, chunk_overlap=8)
    write(tmp_path / "one" / "a.md", "Alpha ships apples.\n")
    write(tmp_path / "two" / "b.md", "Beta ships bananas.\n")
    build_index([tmp_path / "one"], address, fake_embedder, settings)
    build_index([tmp_path / "two"], address, fake_embedder, settings, rebuild=True)
    assert [Path(d).name for d in PgStore.open(*split_address(address)).documents] == ["b.md"]
