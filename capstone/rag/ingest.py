"""Ingestion: documents -> cleaned, chunked, screened, embedded, stored (one transaction per document).

Idempotent: a document whose content hash is already stored is skipped without embedding.
A changed document replaces all its chunks in one transaction, so a failure leaves the previous
version in place. Before chunking, links and images to hosts outside the allow-list are
neutralised; each chunk is screened for injected instructions and quarantined when it matches.
Embedding is paid work of the ``ingest`` feature: reserved before, settled after.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from capstone.cost.ledger import Ledger, RequestBudget
from capstone.guard.injection import screen
from capstone.guard.links import clean
from capstone.rag.chunking import Chunk, Document, chunk_document
from capstone.rag.embedder import CachedEmbedder
from capstone.rag.store import ChunkStore
from capstone.settings import Settings

__all__ = ["IngestReport", "Ingestor"]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    quarantined: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, {len(self.failed)} failed; "
            f"{self.chunks} chunks ({self.embedded} embedded, {self.quarantined} quarantined), {self.tokens} tokens, ${self.cost_usd:.6f}"
        )


@contextmanager
def _bulk_threads(n_texts: int):
    """Use every core for a bulk embedding run (serving keeps one thread per request)."""
    if n_texts < 64:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(before, os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Ingestor:
    """Runs documents into a :class:`ChunkStore`."""

    def __init__(self, store: ChunkStore, embedder: CachedEmbedder, ledger: Ledger, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.ledger = ledger
        self.settings = settings

    def prepare(self, doc: Document) -> tuple[list[Chunk], list[bool]]:
        """Chunks of the cleaned document and the quarantine flag of each."""
        cleaned = clean(doc.text, self.settings.allowed_link_hosts).text
        chunks = chunk_document(
            Document(doc.source, doc.title, cleaned, doc.connector, doc.visibility, doc.owner_id),
            self.settings.chunk_chars,
        )
        flags = [screen(c.text, deep=False).flagged for c in chunks]
        return chunks, flags

    def ingest(
        self,
        docs: Iterable[Document],
        *,
        progress: bool = False,
        user_id: int | None = None,
        raise_errors: bool = False,
    ) -> IngestReport:
        """Store every changed document; returns what happened to each."""
        from curriculum.llm.tokens import count_tokens

        report = IngestReport()
        pending: list[tuple[Document, list[Chunk], list[bool]]] = []
        for doc in docs:
            if self.store.document_hash(doc.source) == doc.content_hash:
                report.unchanged.append(doc.source)
                continue
            chunks, flags = self.prepare(doc)
            if not chunks:
                report.failed.append((doc.source, "no text to index"))
                if raise_errors:
                    raise ValueError(f"{doc.source}: no text to index")
                continue
            pending.append((doc, chunks, flags))
        if not pending:
            return report
        texts = [c.embedding_text() for _, chunks, _ in pending for c in chunks]
        todo = self.embedder.missing(texts)
        tokens = sum(count_tokens(t) for t in todo)
        cost = tokens * self.settings.embedding_price_per_mtok / 1e6
        budget = RequestBudget.new(max(cost, self.settings.request_limit_usd), user_id)
        reservation = self.ledger.reserve("ingest", cost, budget)
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc="embedding chunks", unit="chunk")
        try:
            with _bulk_threads(len(todo)):
                vectors = self.embedder(texts, on_batch=bar.update if bar else None)
        except BaseException:
            self.ledger.release(reservation, budget)
            raise
        finally:
            if bar is not None:
                bar.close()
        self.ledger.settle(
            reservation, cost_usd=cost, input_tokens=tokens, output_tokens=0, model="all-MiniLM-L6-v2", budget=budget
        )
        self.embedder.save()
        report.tokens, report.cost_usd, report.embedded = tokens, cost, len(todo)
        offset = 0
        docs_bar = None
        if progress and len(pending) > 1:
            from tqdm.auto import tqdm

            docs_bar = tqdm(total=len(pending), desc="storing documents", unit="doc")
        for doc, chunks, flags in pending:
            part = vectors[offset : offset + len(chunks)]
            offset += len(chunks)
            try:
                result = self.store.replace_document(doc, chunks, part, flags)
            except Exception as exc:  # one bad document must not stop a folder
                if raise_errors:
                    raise
                report.failed.append((doc.source, f"{type(exc).__name__}: {exc}"))
                continue
            finally:
                if docs_bar is not None:
                    docs_bar.update(1)
            getattr(report, result).append(doc.source)
            report.chunks += len(chunks)
            report.quarantined += sum(flags)
        if docs_bar is not None:
            docs_bar.close()
        return report
