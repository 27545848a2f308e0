"""The index in PostgreSQL with pgvector: the second store behind `index.stores.Store`.

    <schema>.meta        schema version, model, dimension, chunking, generation, BM25 totals
    <schema>.documents   one row per document: its metadata and extracted text
    <schema>.chunks      spans, text, sentence spans, vector (HNSW, cosine)
    <schema>.words       each chunk's words as a tsvector (GIN) and their count, for BM25
    <schema>.sentences   each sentence's vector, embedded at index time
    <schema>.terms       each word's document frequency, for BM25

Every document is written in one transaction (upsert by content hash, delete by id; writers take
turns inside their transactions, not while they embed), which also bumps `generation`: several
`rag index` processes may write one database, and every reader sees each document whole or not at all. The connection string's
password is never printed: `location` shows it as `***`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from index.bm25 import lexemes, tsvector_literal
from index.chunk import indexed_text
from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    InputError,
)
from index.sentences_table import Span
from index.stores import check_same_build
from index.types import Chunk, DocumentInfo

SCHEMA_VERSION = 2
DEFAULT_SCHEMA = "rag"
EF_SEARCH = 200  # HNSW candidates per query: above the hybrid's depth of 100
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_WORD = re.compile(r"\w+", re.UNICODE)
_POOLS: dict[str, Any] = {}
_POOLS_LOCK = threading.Lock()

# schema version -> the statements that bring the version before it there ({s}: the schema, {d}: dimension)
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE {s}.documents (doc_id text PRIMARY KEY, source text NOT NULL, origin text NOT NULL, "
        "title text NOT NULL, content_hash text NOT NULL, n_chunks int NOT NULL, n_chars int NOT NULL, "
        "metadata jsonb NOT NULL, pages int[] NOT NULL, text text NOT NULL)",
        # tsv: the chunk's words as the folder store's BM25 counts them (index/bm25.py), with positions;
        # n_terms: how many
        "CREATE TABLE {s}.chunks (faiss_id bigint PRIMARY KEY, chunk_id text NOT NULL, "
        "doc_id text NOT NULL REFERENCES {s}.documents ON DELETE CASCADE, start_at int NOT NULL, "
        "end_at int NOT NULL, text text NOT NULL, sentences jsonb NOT NULL, embedding vector({d}) NOT NULL, "
        "tsv tsvector NOT NULL, n_terms int NOT NULL)",
        "CREATE INDEX chunks_doc ON {s}.chunks (doc_id)",
        "CREATE INDEX chunks_embedding ON {s}.chunks USING hnsw (embedding vector_cosine_ops)",
        "CREATE INDEX chunks_tsv ON {s}.chunks USING gin (tsv)",
        "CREATE TABLE {s}.sentences (doc_id text NOT NULL REFERENCES {s}.documents ON DELETE CASCADE, "
        "start_at int NOT NULL, end_at int NOT NULL, embedding vector({d}) NOT NULL, "
        "PRIMARY KEY (doc_id, start_at, end_at))",
        # BM25's statistics, kept by every document's transaction: each term's document frequency,
        # and (in meta) the chunk count and the total of their lengths
        "CREATE TABLE {s}.terms (lexeme text PRIMARY KEY, df int NOT NULL)",
        "INSERT INTO {s}.meta VALUES ('chunks', '0'), ('terms_total', '0')",
    ],
    # the words move to a narrow table of their own: BM25 reads thousands of chunks' words per
    # question; from the wide chunks rows (text and vector, ~2.8 kB) lexical search took 31.7 ms p50
    # at 101k chunks, from this table 24.3 ms (scripts/bench_pg.py's index)
    2: [
        "CREATE TABLE {s}.words (faiss_id bigint PRIMARY KEY REFERENCES {s}.chunks ON DELETE CASCADE, "
        "doc_id text NOT NULL, tsv tsvector NOT NULL, n_terms int NOT NULL)",
        "INSERT INTO {s}.words SELECT faiss_id, doc_id, tsv, n_terms FROM {s}.chunks",
        "CREATE INDEX words_doc ON {s}.words (doc_id)",
        "CREATE INDEX words_tsv ON {s}.words USING gin (tsv)",
        "ALTER TABLE {s}.chunks DROP COLUMN tsv, DROP COLUMN n_terms",
    ],
}
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, which the folder store uses
RARE_TERMS = 6  # lexical candidates hold one of the query's rarest terms ...
CANDIDATES = 5_000  # ... and are at most this many


def is_db_url(location: object) -> bool:
    """Whether `location` names a PostgreSQL database rather than an index folder."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """`url` with its password (in the address or as `password=`) shown as `***`."""
    url = re.sub(r"^([a-z]+://[^:/@?#]*:)[^@/?#]+@", r"\1***@", url)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)


def split_address(address: str) -> tuple[str, str]:
    """`postgresql://...#schema` as (the connection string, the schema: `rag` when none is given)."""
    url, _, schema = address.partition("#")
    return url, check_schema(schema or DEFAULT_SCHEMA)


def check_schema(name: str) -> str:
    if not _SCHEMA_NAME.fullmatch(name):
        raise InputError(
            f"'{name}' cannot name a PostgreSQL schema for an index: use lower-case letters, digits "
            "and '_', starting with a letter or '_'"
        )
    return name


def _pool(url: str) -> Any:
    """One connection pool per database per process, shared by every store on it."""
    try:
        from pgvector.psycopg import register_vector
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise InputError(
            "an index in PostgreSQL needs psycopg, psycopg-pool and pgvector: pip install 'rag-assistant[postgres]'"
        ) from None

    def configure(conn: Any) -> None:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.commit()
        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        conn.execute("SET hnsw.iterative_scan = strict_order")
        conn.commit()

    with _POOLS_LOCK:
        if url not in _POOLS:
            import psycopg

            pool = ConnectionPool(url, min_size=1, max_size=8, configure=configure, open=False)
            try:
                psycopg.connect(url, connect_timeout=5).close()  # fails fast, with the server's reason
                pool.open(wait=True, timeout=10)
            except Exception as exc:
                pool.close()
                raise IndexNotFoundError(
                    f"cannot connect to the database {redact(url)} ({_first_line(exc)}); check that it "
                    "runs and the address is right (`rag db start` starts one on this machine)"
                ) from None
            _POOLS[url] = pool
        return _POOLS[url]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact(text[0])[:200] if text else type(exc).__name__


class PgSentences:
    """The sentence vectors of a PgStore, as `SentenceTable` offers them to the answerer."""

    def __init__(self, store: PgStore) -> None:
        self._store = store

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._store.documents  # every document's sentences are written with it

    def add(self, doc_id: str, spans: Sequence[Span], vectors: np.ndarray) -> None:
        with self._store.connection() as conn, conn.transaction():
            self._store._write_sentences(conn, doc_id, spans, vectors)

    def lookup(self, keys: Iterable[tuple[str, int, int]]) -> list[np.ndarray | None]:
        keys = list(keys)
        if not keys:
            return []
        with self._store.connection() as conn:
            rows = conn.execute(
                f"SELECT k.doc_id, k.start_at, k.end_at, s.embedding FROM unnest(%s::text[], %s::int[], %s::int[]) "
                f"AS k(doc_id, start_at, end_at) JOIN {self._store.schema}.sentences s USING (doc_id, start_at, end_at)",
                ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]),
            ).fetchall()
        found = {(d, s, e): _array(v) for d, s, e, v in rows}
        return [found.get((d, int(s), int(e))) for d, s, e in keys]


class PgStore:
    """Documents, chunks, vectors and full text of one index in a PostgreSQL schema."""

    def __init__(self, url: str, schema: str, model: str, dimension: int, chunking: dict[str, int]) -> None:
        self.url = url
        self.schema = check_schema(schema)
        self.model = model
        self.dimension = dimension
        self.chunking = dict(chunking)
        self.generation = 0
        self.documents: dict[str, DocumentInfo] = {}
        self.sentences = PgSentences(self)
        self._text_cache: dict[str, str] = {}

    @property
    def location(self) -> str:
        """Where the index is, as shown to people: the address without its password, and the schema."""
        return f"{redact(self.url)} (schema {self.schema})"

    @property
    def address(self) -> str:
        """What opens this index again (with the password: never show it; `location` is for people)."""
        return f"{self.url}#{self.schema}"

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with _pool(self.url).connection() as conn:
            yield conn

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, schema: str = DEFAULT_SCHEMA) -> PgStore:
        """The index in `schema` of the database at `url`; errors say what is wrong and the remedy."""
        check_schema(schema)
        with _pool(url).connection() as conn:
            meta = _read_meta(conn, schema)
        if meta is None:
            raise IndexNotFoundError(
                f"no index in schema '{schema}' of {redact(url)}; run `rag index PATH... --db URL` first"
            )
        _check_version(meta, url)
        store = cls(url, schema, meta["model"], int(meta["dimension"]), meta["chunking"])
        store._load_documents()
        return store

    @classmethod
    def create(
        cls, url: str, model: str, dimension: int, chunking: dict[str, int], schema: str = DEFAULT_SCHEMA
    ) -> PgStore:
        """The index in `schema`, made (or brought to this version's schema) when needed; several
        processes may call this at once."""
        check_schema(schema)
        with _pool(url).connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"rag-schema:{schema}",))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.meta (key text PRIMARY KEY, value jsonb NOT NULL)"
            )
            meta = _read_meta(conn, schema) or {}
            if not meta:
                for key, value in (
                    ("schema_version", 0),
                    ("model", model),
                    ("dimension", dimension),
                    ("chunking", chunking),
                    ("generation", 0),
                ):
                    conn.execute(f"INSERT INTO {schema}.meta VALUES (%s, %s)", (key, json.dumps(value)))
                meta = _read_meta(conn, schema) or {}
            _migrate(conn, schema, int(meta["dimension"]), int(meta["schema_version"]), url)
        store = cls.open(url, schema)
        store.check_compatible(model, chunking)
        return store

    def _load_documents(self) -> None:
        with self.connection() as conn:
            gen = conn.execute(f"SELECT value FROM {self.schema}.meta WHERE key = 'generation'").fetchone()
            rows = conn.execute(
                f"SELECT doc_id, source, origin, title, content_hash, n_chunks, n_chars, metadata, pages "
                f"FROM {self.schema}.documents"
            ).fetchall()
        self.generation = int(gen[0]) if gen else 0
        self.documents = {
            r[0]: DocumentInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], dict(r[7]), tuple(r[8]))
            for r in rows
        }

    def stamp(self) -> tuple[int, int, int]:
        """Changes whenever any writer commits a document (the generation it bumps)."""
        try:
            with self.connection() as conn:
                row = conn.execute(
                    f"SELECT value FROM {self.schema}.meta WHERE key = 'generation'"
                ).fetchone()
        except Exception:  # the database is away: keep answering from what is loaded
            return (0, 0, self.generation)
        return (0, 0, int(row[0]) if row else 0)

    def reopen(self) -> PgStore:
        return PgStore.open(self.url, self.schema)

    def check_compatible(self, model: str, chunking: dict[str, int]) -> None:
        remedy = "index into another schema (postgresql://...#other)"
        check_same_build(self.location, (self.model, self.chunking), (model, chunking), remedy)

    # -- reading -------------------------------------------------------------------------------

    @property
    def n_chunks(self) -> int:
        return sum(d.n_chunks for d in self.documents.values())

    def dense(
        self, vector: np.ndarray, k: int, within: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """The ids of the `k` chunks nearest `vector` by cosine (HNSW), best first, with their cosine;
        `within`: those documents only."""
        if k < 1:
            raise InputError(f"k must be greater than 0. Currently, k is {k}")
        if within is not None and not within:
            return []
        where, args = ("WHERE doc_id = ANY(%s)", [list(within)]) if within is not None else ("", [])
        q = np.asarray(vector, dtype=np.float32)
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT c.faiss_id, 1 - (c.embedding <=> %s) FROM {self.schema}.chunks c {where} "
                f"ORDER BY c.embedding <=> %s LIMIT %s",
                (q, *args, q, k),
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def lexical(self, query: str, k: int, within: Collection[str] | None = None) -> list[int]:
        """The ids of the `k` chunks BM25 ranks first for `query` (Lucene scoring over the chunks'
        English lexemes, as the folder store ranks). The full-text index finds the chunks holding
        any of the query's lexemes."""
        if k < 1 or (within is not None and not within):
            return []
        words = lexemes(query)
        if not words:
            return []
        where = "AND c.doc_id = ANY(%(within)s)" if within is not None else ""
        s = self.schema
        # candidates: the chunks holding one of the query's rarest terms (the terms that decide
        # BM25's ranking): at most RARE_TERMS of them, taken rarest first while the chunks holding
        # the ones taken are fewer than CANDIDATES; each candidate scored over all the query's terms
        sql = f"""
            WITH st AS (
                SELECT (SELECT (value::text)::float FROM {s}.meta WHERE key = 'chunks') AS n,
                       greatest((SELECT (value::text)::float FROM {s}.meta WHERE key = 'terms_total'), 1)
                       / greatest((SELECT (value::text)::float FROM {s}.meta WHERE key = 'chunks'), 1) AS avgdl
            ),
            q AS (
                SELECT t.lexeme, t.df, ln(1 + (st.n - t.df + 0.5) / (t.df + 0.5)) AS idf
                FROM unnest(%(words)s::text[]) AS u(lexeme) JOIN {s}.terms t USING (lexeme), st
                WHERE t.df > 0
            ),
            terms AS (SELECT DISTINCT lexeme, df FROM q),
            rare AS (
                SELECT lexeme FROM (
                    SELECT lexeme, sum(df) OVER (ORDER BY df, lexeme) - df AS before,
                           row_number() OVER (ORDER BY df, lexeme) AS nth
                    FROM terms
                ) x
                WHERE nth <= {RARE_TERMS} AND (nth = 1 OR before < {CANDIDATES})
            ),
            cand AS (
                SELECT c.faiss_id, c.tsv, c.n_terms FROM {s}.words c
                WHERE c.tsv @@ (SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery FROM rare) {where}
                LIMIT {CANDIDATES}
            ),
            hits AS (
                SELECT c.faiss_id, sum(q.idf * tf.n * {BM25_K1 + 1}
                    / (tf.n + {BM25_K1} * ({1 - BM25_B} + {BM25_B} * c.n_terms / st.avgdl))) AS score
                FROM cand c
                CROSS JOIN LATERAL unnest(ts_filter(setweight(c.tsv, 'A', %(words)s), '{{a}}')) AS u
                JOIN q ON q.lexeme = u.lexeme
                CROSS JOIN LATERAL (SELECT coalesce(array_length(u.positions, 1), 1)::float AS n) tf, st
                GROUP BY c.faiss_id
                ORDER BY score DESC, c.faiss_id
                LIMIT %(k)s
            )
            SELECT faiss_id FROM hits ORDER BY score DESC, faiss_id"""
        args: dict[str, Any] = {"words": words, "k": k}
        if within is not None:
            args["within"] = list(within)
        with self.connection() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [int(r[0]) for r in rows]

    def fetch(self, ids: Sequence[int], vector: np.ndarray) -> list[tuple[Chunk, float]]:
        if not ids:
            return []
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLUMNS}, 1 - (c.embedding <=> %s) FROM {self.schema}.chunks c "
                f"WHERE c.faiss_id = ANY(%s)",
                (np.asarray(vector, dtype=np.float32), [int(i) for i in ids]),
            ).fetchall()
        found = {int(r[1]): (_chunk(r), float(r[-1])) for r in rows}
        return [found[i] for i in ids if i in found]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM {self.schema}.chunks c WHERE c.doc_id = %s ORDER BY c.start_at",
                (doc_id,),
            ).fetchall()
        return [_chunk(r) for r in rows]

    def text(self, doc_id: str) -> str:
        info = self.documents.get(doc_id)
        if info is None:
            raise InputError(f"document '{doc_id}' is not in the index at {self.location}")
        if info.content_hash not in self._text_cache:
            with self.connection() as conn:
                row = conn.execute(
                    f"SELECT text FROM {self.schema}.documents WHERE doc_id = %s", (doc_id,)
                ).fetchone()
            if row is None:
                raise InputError(f"document '{doc_id}' was removed from the index at {self.location}")
            self._text_cache[info.content_hash] = row[0]
        return self._text_cache[info.content_hash]

    def labels(self, doc_id: str) -> str:
        from index.store import document_labels

        return document_labels(self.documents[doc_id])

    # -- changing ------------------------------------------------------------------------------

    def add(
        self,
        info: DocumentInfo,
        text: str,
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentences: tuple[Sequence[Span], np.ndarray] | None = None,
    ) -> None:
        """Write one document (replacing an older version) in one transaction; a no-op when another
        writer already stored this very content."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        try:
            with self.connection() as conn, conn.transaction():
                self._lock_writes(conn)
                row = conn.execute(
                    f"SELECT content_hash FROM {self.schema}.documents WHERE doc_id = %s", (info.doc_id,)
                ).fetchone()
                if row is not None and row[0] == info.content_hash:
                    self.documents[info.doc_id] = info
                    return
                self._delete(conn, info.doc_id)
                conn.execute(
                    f"INSERT INTO {self.schema}.documents VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        info.doc_id,
                        info.source,
                        info.origin,
                        info.title,
                        info.content_hash,
                        info.n_chunks,
                        info.n_chars,
                        json.dumps(info.metadata),
                        list(info.pages),
                        text,
                    ),
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {self.schema}.chunks VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [
                            (
                                c.faiss_id,
                                c.chunk_id,
                                c.doc_id,
                                c.start,
                                c.end,
                                c.text,
                                json.dumps(c.sentences),
                                np.asarray(v, dtype=np.float32),
                            )
                            for c, v in zip(chunks, vectors, strict=True)
                        ],
                    )
                    cur.executemany(
                        f"INSERT INTO {self.schema}.words VALUES (%s, %s, %s::tsvector, %s)",
                        [
                            (c.faiss_id, c.doc_id, tsvector_literal(words), len(words))
                            for c in chunks
                            for words in [lexemes(indexed_text(info.title, c.text))]
                        ],
                    )
                if sentences is not None:
                    self._write_sentences(conn, info.doc_id, *sentences)
                self._count_terms(conn, info.doc_id, +1)
                self._bump(conn)
        except Exception as exc:
            raise _write_error(exc, self) from None
        self.documents[info.doc_id] = info
        self._text_cache[info.content_hash] = text

    def _write_sentences(self, conn: Any, doc_id: str, spans: Sequence[Span], vectors: np.ndarray) -> None:
        conn.execute(f"DELETE FROM {self.schema}.sentences WHERE doc_id = %s", (doc_id,))
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.schema}.sentences VALUES (%s, %s, %s, %s)",
                [
                    (doc_id, int(s), int(e), np.asarray(v, dtype=np.float32))
                    for (s, e), v in zip(spans, vectors, strict=True)
                ],
            )

    def remove(self, doc_id: str) -> None:
        """Remove a document with its chunks and sentences, in one transaction."""
        try:
            with self.connection() as conn, conn.transaction():
                self._lock_writes(conn)
                if self._delete(conn, doc_id):
                    self._bump(conn)
        except Exception as exc:
            raise _write_error(exc, self) from None
        self.documents.pop(doc_id, None)

    def clear(self) -> None:
        """Remove every document (`rag index --rebuild`), in one transaction."""
        try:
            with self.connection() as conn, conn.transaction():
                self._lock_writes(conn)
                conn.execute(f"DELETE FROM {self.schema}.documents")
                conn.execute(f"DELETE FROM {self.schema}.terms")
                conn.execute(
                    f"UPDATE {self.schema}.meta SET value = '0' WHERE key IN ('chunks', 'terms_total')"
                )
                self._bump(conn)
        except Exception as exc:
            raise _write_error(exc, self) from None
        self.documents.clear()

    def _lock_writes(self, conn: Any) -> None:
        """Writers take turns inside their transactions (the term statistics are shared); they
        embed outside them, which is where their time goes."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"rag-write:{self.schema}",))

    def _delete(self, conn: Any, doc_id: str) -> bool:
        """Delete a document, taking its chunks out of the term statistics first."""
        self._count_terms(conn, doc_id, -1)
        return bool(
            conn.execute(f"DELETE FROM {self.schema}.documents WHERE doc_id = %s", (doc_id,)).rowcount
        )

    def _count_terms(self, conn: Any, doc_id: str, sign: int) -> None:
        """Add (`sign` 1) or take out (-1) a document's chunks in the BM25 statistics."""
        s = self.schema
        conn.execute(
            f"INSERT INTO {s}.terms SELECT lexeme, %s * count(*) FROM {s}.words, unnest(tsv) WHERE doc_id = %s "
            f"GROUP BY lexeme ORDER BY lexeme ON CONFLICT (lexeme) DO UPDATE SET df = {s}.terms.df + EXCLUDED.df",
            (sign, doc_id),
        )
        conn.execute(
            f"UPDATE {s}.meta m SET value = to_jsonb((m.value::text)::bigint + %s * x.v) FROM (SELECT 'chunks' AS key, "
            f"count(*) AS v FROM {s}.words WHERE doc_id = %s UNION ALL SELECT 'terms_total', "
            f"coalesce(sum(n_terms), 0) FROM {s}.words WHERE doc_id = %s) x WHERE m.key = x.key",
            (sign, doc_id, doc_id),
        )

    def _bump(self, conn: Any) -> None:
        conn.execute(
            f"UPDATE {self.schema}.meta SET value = to_jsonb((value::text)::bigint + 1) WHERE key = 'generation'"
        )

    def save(self) -> None:
        """Every change is committed as it is made; this reads the generation they reached."""
        self._load_documents()

    def collect_garbage(self) -> None:
        """Nothing to collect: PostgreSQL keeps no superseded versions of its own files here."""


_CHUNK_COLUMNS = "c.chunk_id, c.faiss_id, c.doc_id, c.start_at, c.end_at, c.text, c.sentences"


def _array(value: Any) -> np.ndarray:
    """A vector as pgvector returns it (a `Vector`, or a numpy array) as float32."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def _chunk(row: Sequence[Any]) -> Chunk:
    return Chunk(row[0], int(row[1]), row[2], row[3], row[4], row[5], tuple(tuple(s) for s in row[6]))


def _read_meta(conn: Any, schema: str) -> dict[str, Any] | None:
    exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.meta",)).fetchone()[0]
    if exists is None:
        return None
    rows = conn.execute(f"SELECT key, value FROM {schema}.meta").fetchall()
    return {k: v for k, v in rows} or None


def _check_version(meta: dict[str, Any], url: str) -> None:
    version = int(meta.get("schema_version", 0))
    if version < SCHEMA_VERSION:
        raise IndexMismatchError(
            f"the index at {redact(url)} has schema version {version}, this version of rag reads "
            f"version {SCHEMA_VERSION}; upgrade it with `rag db upgrade --db URL` (or run `rag index` on it)"
        )
    if version > SCHEMA_VERSION:
        raise IndexMismatchError(
            f"the index at {redact(url)} has schema version {version}, newer than this version of rag "
            f"reads ({SCHEMA_VERSION}); upgrade rag-assistant"
        )


def _migrate(conn: Any, schema: str, dimension: int, version: int, url: str) -> None:
    """Apply the migrations past `version`, in order, in the caller's transaction."""
    if version > SCHEMA_VERSION:
        _check_version({"schema_version": version}, url)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target]:
            conn.execute(statement.format(s=schema, d=dimension))
        conn.execute(
            f"UPDATE {schema}.meta SET value = %s WHERE key = 'schema_version'", (json.dumps(target),)
        )


def upgrade(url: str, schema: str = DEFAULT_SCHEMA) -> tuple[int, int]:
    """Bring the index in `schema` to this version's schema; returns (version before, after)."""
    with _pool(url).connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"rag-schema:{schema}",))
        meta = _read_meta(conn, schema)
        if meta is None:
            raise IndexNotFoundError(f"no index in schema '{schema}' of {redact(url)}; nothing to upgrade")
        before = int(meta["schema_version"])
        _migrate(conn, schema, int(meta["dimension"]), before, url)
    return before, max(before, SCHEMA_VERSION)


def _write_error(exc: Exception, store: PgStore) -> Exception:
    if isinstance(exc, IndexCorruptError | IndexWriteError | InputError):
        return exc
    return IndexWriteError(
        f"could not write to the index at {store.location} ({_first_line(exc)}); documents written "
        "before are kept, this one is not; fix the cause and run the same command again"
    )
