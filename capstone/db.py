"""The capstone's Postgres database: schema, and a small pool of psycopg connections.

Every table the service needs is created by :func:`migrate` (idempotent, run at start-up, by each
worker process under an advisory lock). Later columns are added with ``ALTER TABLE ... IF NOT EXISTS``:
``users.role`` arrived with roles, and rows that existed then became ``editor`` (they could publish
before), while new users default to ``reader``. ``quotas`` counts each caller's requests and spend
per UTC day; ``requests`` keeps every answer (question, answer, citations) that ``feedback`` refers to.
Chunks and their vectors live in ``chunks`` when the store is pgvector; with the Chroma store
they live in Chroma and every other table stays here.

Example::

    db = Database.open(settings)          # embedded pgserver unless DATABASE_URL is set
    with db.transaction() as conn:
        conn.execute("INSERT INTO tickets (title, body) VALUES (%s, %s)", ("t", "b"))
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
from pgvector.psycopg import register_vector

if TYPE_CHECKING:
    from capstone.settings import Settings

__all__ = ["SCHEMA", "Database"]

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS users (
    id bigserial PRIMARY KEY,
    name text UNIQUE NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS api_keys (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_hash text UNIQUE NOT NULL,
    prefix text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS documents (
    id bigserial PRIMARY KEY,
    source text UNIQUE NOT NULL,
    title text NOT NULL,
    connector text NOT NULL,
    owner_id bigint REFERENCES users(id) ON DELETE CASCADE,
    visibility text NOT NULL CHECK (visibility IN ('public', 'private')),
    content_hash text NOT NULL,
    n_chunks integer NOT NULL,
    flagged integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS chunks (
    id text PRIMARY KEY,
    document_id bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    heading text NOT NULL,
    text text NOT NULL,
    flagged boolean NOT NULL DEFAULT false,
    embedding vector(384) NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks (document_id);
CREATE INDEX IF NOT EXISTS chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops);
CREATE TABLE IF NOT EXISTS corpus_version (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO corpus_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS usage_events (
    id bigserial PRIMARY KEY,
    ts timestamptz NOT NULL DEFAULT now(),
    request_id text NOT NULL,
    feature text NOT NULL,
    user_id bigint,
    model text NOT NULL,
    input_tokens integer NOT NULL,
    output_tokens integer NOT NULL,
    cost_usd double precision NOT NULL,
    reserved_usd double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_events_feature_ts ON usage_events (feature, ts);
CREATE TABLE IF NOT EXISTS budgets (
    feature text NOT NULL,
    day date NOT NULL,
    reserved_usd double precision NOT NULL DEFAULT 0,
    spent_usd double precision NOT NULL DEFAULT 0,
    tripped boolean NOT NULL DEFAULT false,
    tripped_at timestamptz,
    tripped_ceiling double precision,
    alerts integer NOT NULL DEFAULT 0,
    PRIMARY KEY (feature, day)
);
CREATE TABLE IF NOT EXISTS tickets (
    id bigserial PRIMARY KEY,
    user_id bigint REFERENCES users(id) ON DELETE SET NULL,
    title text NOT NULL,
    body text NOT NULL,
    source text,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- roles: users created before roles existed keep publishing (editor); new users are readers
ALTER TABLE users ADD COLUMN IF NOT EXISTS role text NOT NULL DEFAULT 'editor' CHECK (role IN ('admin', 'editor', 'reader'));
ALTER TABLE users ALTER COLUMN role SET DEFAULT 'reader';
CREATE TABLE IF NOT EXISTS quotas (
    subject text NOT NULL,
    day date NOT NULL,
    requests integer NOT NULL DEFAULT 0,
    reserved_usd double precision NOT NULL DEFAULT 0,
    spent_usd double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, day)
);
CREATE TABLE IF NOT EXISTS requests (
    request_id text PRIMARY KEY,
    user_id bigint REFERENCES users(id) ON DELETE SET NULL,
    anonymous boolean NOT NULL,
    question text NOT NULL,
    answer text NOT NULL,
    citations jsonb NOT NULL,
    abstained boolean NOT NULL,
    refused boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS requests_created ON requests (created_at);
CREATE TABLE IF NOT EXISTS feedback (
    id bigserial PRIMARY KEY,
    request_id text UNIQUE NOT NULL REFERENCES requests(request_id) ON DELETE CASCADE,
    rating text NOT NULL CHECK (rating IN ('up', 'down')),
    comment text,
    user_id bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

_MIGRATE_LOCK = 726_411  # pg_advisory_xact_lock key: one migrator at a time


class Database:
    """A pool of autocommit connections to one Postgres database (with pgvector types registered)."""

    def __init__(self, url: str, *, size: int = 8) -> None:
        self.url = url
        self.size = size
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    @classmethod
    def open(cls, settings: Settings, *, size: int = 8) -> Database:
        """The database named by the settings (DATABASE_URL, else the embedded server), migrated."""
        url = settings.database_url
        if not url:
            from curriculum.pg import embedded_server

            url = embedded_server(settings.pg_name, root=settings.pg_root).get_uri()
        db = cls(url, size=size)
        db.migrate()
        return db

    def _new(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True)
        try:
            register_vector(conn)
        except psycopg.ProgrammingError:  # extension not created yet (first migration)
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(conn)
        return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """Borrow an autocommit connection; it returns to the pool afterwards."""
        if self._closed:
            raise RuntimeError("database pool is closed")
        self._slots.acquire()
        conn = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._new()
            if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.close()
                conn = self._new()
            yield conn
        except psycopg.OperationalError:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            if conn is not None and not conn.closed and not self._closed:
                self._idle.put(conn)
            elif conn is not None:
                conn.close()
            self._slots.release()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction: committed on success, rolled back on any error."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def migrate(self) -> None:
        """Create every table and index the service uses (safe to run concurrently and repeatedly)."""
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            conn.execute(SCHEMA)

    def close(self) -> None:
        """Close every idle connection; borrowed ones close when returned."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
