"""Both stores, against the real databases: pgvector (embedded Postgres) and Chroma (persistent client).

Same tests, same interface: idempotent ingestion, atomic replacement (a failure leaves the old
version), access control on every read, and hybrid retrieval finding the right page.
"""

from __future__ import annotations

import numpy as np
import pytest

from capstone.db import Database
from capstone.rag.chunking import Document
from capstone.rag.connectors import python_reference
from capstone.service import Assistant

TOPICS = ("assert", "break", "continue", "pass", "yield", "lambda", "global", "nonlocal")


@pytest.fixture(scope="module", params=["pgvector", "chroma"])
def small(request, fresh_settings, tmp_path_factory):
    settings = fresh_settings(store=request.param, chroma_path=tmp_path_factory.mktemp("chroma"))
    service = Assistant.open(settings)
    docs = [d for d in python_reference() if d.source.rsplit("/", 1)[1] in TOPICS]
    report = service.ingest(docs)
    assert len(report.added) == len(TOPICS)
    yield service
    service.close()


def test_reingest_is_idempotent_and_replaces_changed_documents(small):
    docs = [d for d in python_reference() if d.source.rsplit("/", 1)[1] in TOPICS]
    again = small.ingest(docs)
    assert sorted(again.unchanged) == sorted(d.source for d in docs) and again.embedded == 0
    version = small.store.version()
    changed = Document(
        "python-reference/pass",
        "The pass statement",
        "pass does nothing at all. It is a placeholder.",
        "python-reference",
    )
    report = small.ingest([changed])
    assert report.updated == ["python-reference/pass"]
    chunks = small.store.source_chunks("python-reference/pass", None)
    assert [c.text for c in chunks] == ["pass does nothing at all. It is a placeholder."]
    assert small.store.version() > version


def test_failed_replacement_leaves_the_previous_version(small, monkeypatch):
    before = [c.text for c in small.store.source_chunks("python-reference/break", None)]
    new = Document("python-reference/break", "break", "A broken new version of the break page.", "python-reference")
    chunks, flags = small.ingestor.prepare(new)
    vectors = np.zeros((len(chunks), 384), dtype=np.float32)
    vectors[:, 0] = 1.0
    original = type(small.store)._write_chunks

    def fail_after_write(self, conn, *args, **kwargs):
        original(self, conn, *args, **kwargs)
        raise RuntimeError("disk full")  # fails after the chunks were written

    monkeypatch.setattr(type(small.store), "_write_chunks", fail_after_write)
    with pytest.raises(RuntimeError, match="disk full"):
        small.store.replace_document(new, chunks, vectors, flags)
    monkeypatch.undo()
    small.store._table = None
    assert [c.text for c in small.store.source_chunks("python-reference/break", None)] == before
    assert small.store.document_hash("python-reference/break") != new.content_hash


def test_private_chunks_are_seen_by_their_owner_only(small):
    from capstone.guard.auth import create_user

    owner, _ = create_user(small.db, f"owner-{small.store.name}")
    other, _ = create_user(small.db, f"other-{small.store.name}")
    doc = Document(
        f"upload/{owner.name}/plan.md",
        "Plan",
        "The zebra migration plan moves the herd north in May.",
        "upload",
        "private",
        owner.id,
    )
    small.ingest([doc])
    query_vec = small.embed(["zebra migration plan"])[0]
    for viewer, visible in ((owner.id, True), (other.id, False), (None, False)):
        dense = [cid for cid, _ in small.store.dense_search(query_vec, 5, viewer)]
        hybrid = [c.id for c in small.retriever.retrieve("zebra migration plan", viewer=viewer).chunks]
        assert (f"upload/{owner.name}/plan.md#0" in dense) is visible
        assert (f"upload/{owner.name}/plan.md#0" in hybrid) is visible
        assert bool(small.store.get_chunks([f"upload/{owner.name}/plan.md#0"], viewer)) is visible


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_retrieval_finds_the_page(small, mode):
    found = small.retriever.retrieve("What does the nonlocal statement do?", k=3, mode=mode)
    assert found.chunks and found.chunks[0].source == "python-reference/nonlocal"
    stages = found.debug()
    assert stages["mode"] == mode
    assert bool(stages["bm25"]) == (mode != "dense") and bool(stages["dense"]) == (mode != "bm25")


def test_migrations_are_repeatable(small):
    Database(small.db.url).migrate()
    small.db.migrate()
