"""The assistant as one object: database, store, retriever, model, cost ledger and agent, wired from Settings.

The HTTP routes and the CLI only call these methods (keyword-only), so both faces behave alike.

Example::

    assistant = Assistant.open(Settings())
    assistant.ensure_default_corpus(progress=True)
    assistant.ask("What does the assert statement do?", user=None)["answer"]
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from capstone.agent.answering import Agent
from capstone.cost.alerts import Alerter
from capstone.cost.ledger import Ledger, RequestBudget
from capstone.cost.quotas import Quotas
from capstone.db import Database
from capstone.feedback import add_feedback, record_answer
from capstone.guard.auth import Forbidden, User
from capstone.guard.output import LEAK_REFUSAL, guard_response, leaks_canary
from capstone.rag.chunking import Document
from capstone.rag.connectors import UnreadableDocument, parse_upload, python_reference, wiki_pages
from capstone.rag.embedder import CachedEmbedder, default_embed
from capstone.rag.ingest import Ingestor, IngestReport
from capstone.rag.retriever import Retriever
from capstone.rag.store import ChunkStore, open_store
from capstone.settings import Settings

__all__ = ["Assistant", "UnknownDocument", "default_corpus"]

log = logging.getLogger("capstone")
_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


class UnknownDocument(LookupError):
    """No document of that name that the caller may see (HTTP 404)."""


def _scrub(value: Any, question: str) -> Any:
    """``value`` with every copy of the question replaced: a response never echoes what was asked."""
    if isinstance(value, str):
        return value.replace(question, "(the question)") if question in value else value
    if isinstance(value, dict):
        return {k: _scrub(v, question) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, question) for v in value]
    return value


def _set_torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def default_corpus(settings: Settings) -> list[Document]:
    """The Python language reference (``pydoc_data.topics``) and the project's wiki pages."""
    return python_reference() + wiki_pages(settings.wiki_dir)


class Assistant:
    """Everything a request needs, created once per process."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: ChunkStore,
        *,
        model: Any = None,
        embed=None,
        alerter: Alerter | None = None,
    ) -> None:
        from curriculum.paths import cache_dir

        self.settings = settings
        _set_torch_threads(settings.torch_threads)
        self.db = db
        self.store = store
        self.embed = embed or default_embed
        cache = settings.embedding_cache or cache_dir("capstone") / "embeddings.npz"
        self.embedder = CachedEmbedder(self.embed, cache)
        self.alerter = alerter or Alerter(settings.alert_webhook_url)
        self.ledger = Ledger(db, settings, self.alerter)
        self.quotas = Quotas(db, settings)
        self.blocked_responses = 0  # answers replaced because they would have leaked the canary (this process)
        self.retriever = Retriever(
            store, self.embed, candidates=settings.candidates, rrf_k=settings.rrf_k, rerank=settings.rerank
        )
        if model is None:
            from curriculum.llm import get_model

            model = get_model(settings.model)
        self.model = model
        self.agent = Agent(model, self.retriever, db, self.ledger, settings)
        self.ingestor = Ingestor(store, self.embedder, self.ledger, settings)

    @classmethod
    def open(cls, settings: Settings | None = None, **kwargs: Any) -> Assistant:
        """Connect to the configured database and store (creating tables on first use)."""
        settings = settings or Settings()
        db = Database.open(settings)
        return cls(settings, db, open_store(settings, db), **kwargs)

    # -- corpus ----------------------------------------------------------------------------------
    def ensure_default_corpus(self, *, progress: bool = False) -> IngestReport:
        """Ingest the default corpus; unchanged documents are skipped, so later starts cost nothing."""
        return self.ingestor.ingest(default_corpus(self.settings), progress=progress)

    def ingest(self, docs: Iterable[Document], *, progress: bool = False, user: User | None = None) -> IngestReport:
        return self.ingestor.ingest(docs, progress=progress, user_id=user.id if user else None)

    def upload(self, *, filename: str, data: bytes, visibility: str, user: User) -> dict:
        """Ingest one uploaded file as ``upload/<user>/<filename>``; raises UnsupportedDocument, Forbidden, QuotaExceeded."""
        if visibility not in ("public", "private"):
            raise UnreadableDocument(f"visibility must be 'public' or 'private', got {visibility!r}")
        if visibility == "public" and not user.can_publish:
            raise Forbidden(
                f"user {user.name!r} is a {user.role}: only editors and admins publish public documents; "
                "upload it as private, or ask an admin for the editor role"
            )
        self.quotas.admit(self.quotas.for_user(user))
        if len(data) > self.settings.max_upload_bytes:
            raise UnreadableDocument(
                f"{filename}: {len(data)} bytes is over the limit of {self.settings.max_upload_bytes}"
            )
        name = _FILENAME.sub("_", Path(filename or "").name).strip(" .") or "upload"
        doc = parse_upload(name, data, source=f"upload/{user.name}/{name}", visibility=visibility, owner_id=user.id)
        report = self.ingestor.ingest([doc], user_id=user.id, raise_errors=True)
        status = "added" if report.added else "updated" if report.updated else "unchanged"
        stored = len(self.store.source_chunks(doc.source, user.id))
        return {
            "source": doc.source,
            "status": status,
            "visibility": visibility,
            "chunks": stored,
            "quarantined_chunks": report.quarantined,
        }

    def delete(self, source: str, *, user: User) -> dict:
        """Remove a document (its owner or an admin); raises UnknownDocument or Forbidden."""
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT owner_id, visibility, n_chunks FROM documents WHERE source = %s", (source,)
            ).fetchone()
        if row is None or (row[1] == "private" and row[0] != user.id and not user.is_admin):
            raise UnknownDocument(f"no document {source!r} that you may see")  # another's private one is not confirmed
        owner, _, chunks = row
        if owner != user.id and not user.is_admin:
            raise Forbidden(f"{source!r} is not yours: only its owner or an admin may delete it")
        if not self.store.delete_document(source):
            raise UnknownDocument(f"no document {source!r} that you may see")
        return {"deleted": source, "chunks": chunks}

    def feedback(self, *, request_id: str, rating: str, comment: str | None, user: User | None) -> dict:
        """Rate one of the caller's answers; raises capstone.feedback.UnknownRequest."""
        return {"id": add_feedback(self.db, request_id=request_id, rating=rating, comment=comment, user=user)}

    def document_counts(self) -> dict[str, int]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT visibility, count(*) FROM documents GROUP BY visibility").fetchall()
        return {"public": 0, "private": 0, **dict(rows)}

    # -- answers ---------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        user: User | None,
        mode: str | None = None,
        debug: bool = False,
        on_token: Callable[[str], None] | None = None,
    ) -> dict:
        """Answer a question for ``user`` (None: anonymous, public documents only); the /v1/ask body.

        Counts against the caller's quota (raises QuotaExceeded). ``debug`` adds the retrieval
        stages, the agent's trace and the cost of each call (the API gives it to signed-in
        callers who ask for it); no part of the response repeats the question. ``on_token``
        receives a generative model's draft as it is written (``POST /v1/ask`` with ``stream``).
        """
        started = time.perf_counter()
        quota = self.quotas.for_user(user)
        self.quotas.admit(quota)
        budget = RequestBudget.new(self.settings.request_limit_usd, user.id if user else None, quota=quota)
        result = self.agent.run(question, viewer=user.id if user else None, budget=budget, mode=mode, on_token=on_token)
        guarded = guard_response(
            result.answer, result.citations, self.settings.canary, self.settings.allowed_link_hosts
        )
        blocked = guarded.leaked or bool(result.guard.get("canary_blocked"))
        response = {
            "answer": LEAK_REFUSAL if blocked else guarded.answer,
            "citations": [] if blocked else guarded.citations,
            "usage": {
                "input_tokens": budget.input_tokens,
                "output_tokens": budget.output_tokens,
                "cost_usd": round(budget.cost_usd, 8),
            },
            "latency_ms": 0.0,
            "abstained": result.abstained or blocked or not guarded.citations,
            "refused": result.refused
            and not blocked,  # a blocked leak reads like any uncitable answer: no guess oracle
            "request_id": budget.request_id,
            "dropped_sentences": len(result.dropped_claims),
            "extractive_fallback": result.extractive_fallback and not blocked,
            "answered_by": result.answered_by,
        }
        if debug:
            retrieval = result.retrieval
            response["debug"] = _scrub(
                {
                    "retrieval": retrieval.debug(limit=20) if retrieval is not None else None,
                    "evidence": [
                        {
                            "number": e.number,
                            "chunk_id": e.chunk_id,
                            "kind": e.kind,
                            **({"text": e.text} if e.kind == "tool" else {}),
                        }
                        for e in result.evidence
                    ],
                    "quarantined": result.quarantined,
                    "trace": result.trace,
                    "stop_reason": result.stop_reason,
                    "dropped_claims": len(result.dropped_claims),
                    "draft_sentences": result.draft_sentences,
                    "guard": {
                        **result.guard,
                        "dropped_citations": guarded.dropped_citations,
                        "removed_on_output": len(guarded.removed),
                    },
                    "calls": budget.calls,
                    "server": {"pid": os.getpid()},
                },
                question,
            )
        if leaks_canary(json.dumps(response), self.settings.canary):  # last line of defence: nothing carries the canary
            blocked = True
            response.update(answer=LEAK_REFUSAL, citations=[], abstained=True, refused=False, extractive_fallback=False)
            if debug:
                response["debug"] = {"guard": {"output_blocked": True}}
        if blocked:
            self.blocked_responses += 1
            log.warning(
                "a response would have revealed the canary; answered with the abstention (request %s)",
                budget.request_id,
            )
        record_answer(self.db, request_id=budget.request_id, user=user, question=question, response=response)
        response["latency_ms"] = round((time.perf_counter() - started) * 1e3, 2)
        return response

    def chunk(self, chunk_id: str, *, user: User | None) -> dict | None:
        """One chunk the user may see (for the web page's citation view), else None."""
        found = self.store.get_chunks([chunk_id], user.id if user else None)
        if not found:
            return None
        c = found[0]
        return {
            "chunk_id": c.id,
            "source": c.source,
            "title": c.title,
            "heading": c.heading,
            "text": c.text,
            "visibility": c.visibility,
        }

    def close(self) -> None:
        self.alerter.close()
        self.store.close()
        self.db.close()
