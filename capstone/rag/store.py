"""Where chunks and vectors live: Postgres + pgvector (default) or Chroma, behind one interface.

The document registry (``documents``: source, owner, visibility, content hash) and the corpus
version counter are Postgres tables in both cases; the backend holds the chunk texts and vectors.

Replacing a document is all-or-nothing. With pgvector the registry row, the old chunks' removal
and the new chunks' insertion share one transaction. With Chroma (no transactions) the old chunks
are read back first and restored if anything fails after they were removed.

Access control is part of every read: a chunk is visible to a viewer when its document is public
or the viewer owns it (``viewer=None`` is the anonymous caller).

Why one module of this size: both stores (pgvector and Chroma) implement one interface, kept in one file so a
change to the interface shows both implementations.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import psycopg

from capstone.db import Database
from capstone.rag.chunking import Chunk, Document

if TYPE_CHECKING:
    from capstone.settings import Settings

VECTOR_DIM = 384  # all-MiniLM-L6-v2
EF_SEARCH = 100  # pgvector's HNSW candidate list per query (its default, 40, is below what the visibility filter needs)

__all__ = ["StoredChunk", "ChunkTable", "ChunkStore", "PgVectorStore", "ChromaStore", "open_store", "WriteResult"]

WriteResult = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store, with its document's access fields."""

    id: str
    source: str
    title: str
    heading: str
    text: str
    visibility: str
    owner_id: int | None
    flagged: bool = False

    def visible_to(self, viewer: int | None) -> bool:
        return self.visibility == "public" or (viewer is not None and self.owner_id == viewer)


@dataclass(frozen=True)
class ChunkTable:
    """Every chunk of the corpus, column-wise, for the in-memory BM25 index."""

    version: int
    chunks: list[StoredChunk]
    vectors: np.ndarray  # (n, 384) float32, row i belongs to chunks[i]

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.chunks]

    def row_of(self) -> dict[str, int]:
        """Chunk id -> row index (computed once per table)."""
        cached = self.__dict__.get("_rows")
        if cached is None:
            cached = {c.id: i for i, c in enumerate(self.chunks)}
            object.__setattr__(self, "_rows", cached)
        return cached


class ChunkStore(ABC):
    """Documents registry in Postgres plus a backend for chunk texts and vectors."""

    name = "abstract"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._table: ChunkTable | None = None
        self._table_lock = threading.Lock()

    # -- registry (Postgres in every backend) --------------------------------------------------
    def version(self) -> int:
        """A counter that grows with every change of the corpus."""
        with self.db.connection() as conn:
            return int(conn.execute("SELECT version FROM corpus_version WHERE id = 1").fetchone()[0])

    def document_hash(self, source: str) -> str | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT content_hash FROM documents WHERE source = %s", (source,)).fetchone()
        return row[0] if row else None

    def documents(self, viewer: int | None) -> list[dict]:
        """The documents a viewer may see: source, title, visibility, chunk count."""
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT source, title, connector, visibility, n_chunks, updated_at FROM documents "
                "WHERE visibility = 'public' OR owner_id = %s ORDER BY source",
                (viewer,),
            ).fetchall()
        return [dict(zip(("source", "title", "connector", "visibility", "chunks", "updated_at"), r)) for r in rows]

    def replace_document(
        self, doc: Document, chunks: list[Chunk], vectors: np.ndarray, flags: list[bool] | None = None
    ) -> WriteResult:
        """Insert or replace ``doc`` and its chunks atomically; unchanged content is left alone."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        flags = flags or [False] * len(chunks)
        try:
            return self._replace(doc, chunks, vectors, flags)
        except psycopg.errors.UniqueViolation:  # the same new document written concurrently: the row exists now
            return self._replace(doc, chunks, vectors, flags)

    def _replace(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray, flags: list[bool]) -> WriteResult:
        digest = doc.content_hash
        undo: list[Callable[[], None]] = []
        try:
            with self.db.transaction() as conn:
                row = conn.execute(
                    "SELECT id, content_hash FROM documents WHERE source = %s FOR UPDATE", (doc.source,)
                ).fetchone()
                if row and row[1] == digest:
                    return "unchanged"
                if row:
                    doc_id = row[0]
                    conn.execute(
                        "UPDATE documents SET title=%s, connector=%s, owner_id=%s, visibility=%s, content_hash=%s, n_chunks=%s, "
                        "flagged=%s, updated_at=now() WHERE id=%s",
                        (
                            doc.title,
                            doc.connector,
                            doc.owner_id,
                            doc.visibility,
                            digest,
                            len(chunks),
                            sum(flags),
                            doc_id,
                        ),
                    )
                else:
                    doc_id = conn.execute(
                        "INSERT INTO documents (source, title, connector, owner_id, visibility, content_hash, n_chunks, flagged) "
                        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
                        (
                            doc.source,
                            doc.title,
                            doc.connector,
                            doc.owner_id,
                            doc.visibility,
                            digest,
                            len(chunks),
                            sum(flags),
                        ),
                    ).fetchone()[0]
                conn.execute("UPDATE corpus_version SET version = version + 1 WHERE id = 1")
                self._write_chunks(
                    conn, doc_id, doc, chunks, np.asarray(vectors, dtype=np.float32), flags, row is not None, undo
                )
        except BaseException:
            for step in reversed(undo):  # the registry did not commit: take the backend back too
                step()
            raise
        self._table = None
        return "updated" if row else "added"

    def delete_document(self, source: str) -> bool:
        """Remove a document and its chunks; False when there was none."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id FROM documents WHERE source = %s FOR UPDATE", (source,)).fetchone()
            if not row:
                return False
            self._delete_chunks(conn, row[0], source)
            conn.execute("DELETE FROM documents WHERE id = %s", (row[0],))
            conn.execute("UPDATE corpus_version SET version = version + 1 WHERE id = 1")
        self._table = None
        return True

    def table(self) -> ChunkTable:
        """Every chunk (cached until the corpus version changes)."""
        version = self.version()
        table = self._table
        if table is not None and table.version == version:
            return table
        with self._table_lock:
            if self._table is None or self._table.version != version:
                chunks, vectors = self._load_all()
                self._table = ChunkTable(version, chunks, vectors)
            return self._table

    def get_chunks(self, ids: list[str], viewer: int | None) -> list[StoredChunk]:
        """The chunks of ``ids`` that ``viewer`` may see, in the order asked."""
        by_id = {c.id: c for c in self._load(ids)}
        return [by_id[i] for i in ids if i in by_id and by_id[i].visible_to(viewer)]

    def source_chunks(self, source: str, viewer: int | None) -> list[StoredChunk]:
        """Every chunk of one source, in order, if ``viewer`` may see it (else empty)."""
        return [c for c in self.table().chunks if c.source == source and c.visible_to(viewer)]

    # -- backend ---------------------------------------------------------------------------------
    @abstractmethod
    def _write_chunks(
        self,
        conn: psycopg.Connection,
        doc_id: int,
        doc: Document,
        chunks: list[Chunk],
        vectors: np.ndarray,
        flags: list[bool],
        replacing: bool,
        undo: list[Callable[[], None]],
    ) -> None:
        """Write a document's chunks inside the registry transaction ``conn``.

        A backend outside that transaction appends to ``undo`` a callable that takes its write
        back, before it writes; it runs if anything fails before the registry commits.
        """

    @abstractmethod
    def _delete_chunks(self, conn: psycopg.Connection, doc_id: int, source: str) -> None: ...

    @abstractmethod
    def _load_all(self) -> tuple[list[StoredChunk], np.ndarray]: ...

    @abstractmethod
    def _load(self, ids: list[str]) -> list[StoredChunk]: ...

    @abstractmethod
    def dense_search(self, vector: np.ndarray, k: int, viewer: int | None) -> list[tuple[str, float]]:
        """The ``k`` chunks nearest to ``vector`` (cosine similarity) that ``viewer`` may see."""

    def close(self) -> None:  # noqa: B027 -- an optional hook: a backend holding resources overrides it
        """Release backend resources."""


_CHUNK_COLUMNS = "c.id, d.source, d.title, c.heading, c.text, d.visibility, d.owner_id, c.flagged"


class PgVectorStore(ChunkStore):
    """Chunks and vectors in the ``chunks`` table (pgvector, HNSW cosine index)."""

    name = "pgvector"

    def _write_chunks(self, conn, doc_id, doc, chunks, vectors, flags, replacing, undo):
        if replacing:  # same transaction as the registry: a rollback undoes all of it
            conn.execute("DELETE FROM chunks WHERE document_id = %s", (doc_id,))
        copy_sql = (
            "COPY chunks (id, document_id, ordinal, heading, text, flagged, embedding) FROM STDIN WITH (FORMAT BINARY)"
        )
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.set_types(["text", "int8", "int4", "text", "text", "bool", "vector"])
            for chunk, vector, flag in zip(chunks, vectors, flags):
                copy.write_row((chunk.id, doc_id, chunk.ordinal, chunk.heading, chunk.text, flag, vector))

    def _delete_chunks(self, conn, doc_id, source):
        conn.execute("DELETE FROM chunks WHERE document_id = %s", (doc_id,))

    def _rows(self, sql: str, params: tuple) -> list[StoredChunk]:
        with self.db.connection() as conn:
            return [StoredChunk(*row) for row in conn.execute(sql, params).fetchall()]

    def _load_all(self):
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLUMNS}, c.embedding FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY d.source, c.ordinal"
            ).fetchall()
        chunks = [StoredChunk(*row[:-1]) for row in rows]
        vectors = np.array([row[-1].to_numpy() for row in rows], dtype=np.float32).reshape(len(rows), VECTOR_DIM)
        return chunks, vectors

    def _load(self, ids):
        if not ids:
            return []
        return self._rows(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(%s)",
            (list(ids),),
        )

    def dense_search(self, vector, k, viewer):
        vector = np.asarray(vector, dtype=np.float32)
        with self.db.transaction() as conn:
            # the HNSW scan yields ef_search candidates before the visibility filter: keep it well above k
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(EF_SEARCH, 2 * k)),))
            rows = conn.execute(
                "SELECT c.id, 1 - (c.embedding <=> %s) FROM chunks c JOIN documents d ON d.id = c.document_id "
                "WHERE d.visibility = 'public' OR d.owner_id = %s ORDER BY c.embedding <=> %s LIMIT %s",
                (vector, viewer, vector, k),
            ).fetchall()
        return [(r[0], float(r[1])) for r in rows]


class ChromaStore(ChunkStore):
    """Chunks and vectors in a persistent Chroma collection (cosine space); registry in Postgres."""

    name = "chroma"

    def __init__(self, db: Database, path, collection: str = "capstone_chunks") -> None:
        super().__init__(db)
        import chromadb

        self.client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
        self.collection = self.client.get_or_create_collection(
            collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._write_lock = threading.RLock()

    @staticmethod
    def _meta(doc: Document, chunk: Chunk, flag: bool) -> dict:
        return {
            "source": doc.source,
            "title": doc.title,
            "heading": chunk.heading,
            "ordinal": chunk.ordinal,
            "visibility": doc.visibility,
            "owner": doc.owner_id if doc.owner_id is not None else -1,
            "flagged": bool(flag),
        }

    @staticmethod
    def _stored(cid: str, text: str, meta: dict) -> StoredChunk:
        owner = meta.get("owner", -1)
        return StoredChunk(
            cid,
            meta["source"],
            meta["title"],
            meta["heading"],
            text,
            meta["visibility"],
            None if owner == -1 else owner,
            bool(meta.get("flagged")),
        )

    def _old(self, source: str) -> dict:
        return self.collection.get(where={"source": source}, include=["documents", "metadatas", "embeddings"])

    def _write_chunks(self, conn, doc_id, doc, chunks, vectors, flags, replacing, undo):
        with self._write_lock:
            old = self._old(doc.source) if replacing else {"ids": []}

            def restore() -> None:
                with self._write_lock:
                    self.collection.delete(ids=[c.id for c in chunks])
                    if old["ids"]:
                        self.collection.add(
                            ids=old["ids"],
                            documents=old["documents"],
                            metadatas=old["metadatas"],
                            embeddings=old["embeddings"],
                        )

            undo.append(restore)
            if old["ids"]:
                self.collection.delete(ids=old["ids"])
            for start in range(0, len(chunks), 5000):
                part = slice(start, start + 5000)
                self.collection.add(
                    ids=[c.id for c in chunks[part]],
                    documents=[c.text for c in chunks[part]],
                    metadatas=[self._meta(doc, c, f) for c, f in zip(chunks[part], flags[part])],
                    embeddings=vectors[part],
                )

    def _delete_chunks(self, conn, doc_id, source):
        with self._write_lock:
            self.collection.delete(where={"source": source})

    def _load_all(self):
        got = self.collection.get(include=["documents", "metadatas", "embeddings"])
        rows = sorted(
            zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"] if len(got["ids"]) else []),
            key=lambda r: (r[2]["source"], int(r[0].rsplit("#", 1)[1])),
        )
        chunks = [self._stored(i, t, m) for i, t, m, _ in rows]
        vectors = np.array([e for *_, e in rows], dtype=np.float32).reshape(len(rows), VECTOR_DIM)
        return chunks, vectors

    def _load(self, ids):
        if not ids:
            return []
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return [self._stored(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def dense_search(self, vector, k, viewer):
        where = {"visibility": "public"} if viewer is None else {"$or": [{"visibility": "public"}, {"owner": viewer}]}
        if self.collection.count() == 0:
            return []
        got = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, where=where, include=["distances"]
        )
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], got["distances"][0])]


def open_store(settings: Settings, db: Database) -> ChunkStore:
    """The store the settings name (``AIE_STORE``: pgvector or chroma)."""
    if settings.store == "chroma":
        return ChromaStore(db, settings.chroma_path)
    return PgVectorStore(db)
