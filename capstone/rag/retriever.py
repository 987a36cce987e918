"""Hybrid retrieval: BM25 + dense (MiniLM) -> reciprocal-rank fusion -> reranking.

Every stage's list is kept in the :class:`Retrieval` result, so the API's debug field and the
eval suite can score each stage on its own.

The reranker (no cross-encoder can be had offline) is a small, explainable scorer over the
fused candidates::

    score = fused RRF score / best fused RRF score
          + 0.2 * IDF-weighted share of the query's terms found in the chunk's title, heading
                  or source name (``python-reference/assert`` answers "what does assert do")

The title term lifts the specific page over long pages that repeat its text (``compound``
holds the ``if``/``while``/``for`` sections, ``specialnames`` the ``__repr__`` one). The weight
0.2 was chosen on the eval cases (see ``wiki/capstone-eval-suite.md``); dense cosine and body
term overlap were tried as extra features and did not help there.

Example::

    >>> rrf([["a", "b"], ["b", "c"]], k=60)[0][0]
    'b'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from capstone.rag.lexical import BM25Index, tokenize
from capstone.rag.store import ChunkStore, StoredChunk

__all__ = ["rrf", "Retrieval", "Retriever", "RERANK_WEIGHTS", "MODES"]

MODES = ("hybrid", "bm25", "dense")
RERANK_WEIGHTS = {"fused": 1.0, "title": 0.2}

EmbedFn = Callable[[Sequence[str]], np.ndarray]


def rrf(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: ``score(d) = sum over lists of 1 / (k + rank)``, ranks from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass
class Retrieval:
    """The outcome of one retrieval: each stage's ranked (chunk id, score) list and the chosen chunks."""

    query: str
    mode: str
    bm25: list[tuple[str, float]] = field(default_factory=list)
    dense: list[tuple[str, float]] = field(default_factory=list)
    fused: list[tuple[str, float]] = field(default_factory=list)
    reranked: list[tuple[str, float]] = field(default_factory=list)
    chunks: list[StoredChunk] = field(default_factory=list)
    best_similarity: float = 0.0
    similarity: dict[str, float] = field(default_factory=dict)  # dense cosine of every fused candidate
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def final(self) -> list[tuple[str, float]]:
        """The list the answer was built from (reranked when the reranker ran, else fused)."""
        return self.reranked or self.fused

    def debug(self, limit: int = 10) -> dict:
        """A JSON-ready view of every stage (top ``limit`` of each list)."""
        trim = lambda pairs: [{"chunk_id": cid, "score": round(score, 5)} for cid, score in pairs[:limit]]  # noqa: E731
        return {
            "mode": self.mode, "bm25": trim(self.bm25), "dense": trim(self.dense), "fused": trim(self.fused),
            "reranked": trim(self.reranked), "best_similarity": round(self.best_similarity, 4),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


class Retriever:
    """Runs the stages over one :class:`ChunkStore` for one viewer at a time."""

    def __init__(self, store: ChunkStore, embed: EmbedFn, *, candidates: int = 30, rrf_k: int = 60, rerank: bool = True) -> None:
        self.store = store
        self.embed = embed
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.use_rerank = rerank
        self.bm25 = BM25Index()

    def retrieve(self, query: str, *, k: int = 5, viewer: int | None = None, mode: str = "hybrid", rerank: bool | None = None) -> Retrieval:
        """The ``k`` best chunks for ``query`` that ``viewer`` may see."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        rerank = self.use_rerank if rerank is None else rerank
        out = Retrieval(query=query, mode=mode)
        t0 = time.perf_counter()
        table = self.store.table()
        self.bm25.ensure(table)
        t1 = time.perf_counter()
        q_vec = self.embed([query])[0]
        t2 = time.perf_counter()
        if mode in ("hybrid", "bm25"):
            out.bm25 = self.bm25.search(query, self.candidates, viewer)
        t3 = time.perf_counter()
        if mode in ("hybrid", "dense"):
            out.dense = self.store.dense_search(q_vec, self.candidates, viewer)
        t4 = time.perf_counter()
        lists = [[cid for cid, _ in ranking] for ranking in (out.bm25, out.dense) if ranking]
        out.fused = rrf(lists, self.rrf_k)[: self.candidates]
        rows = table.row_of()
        fused_ids = [cid for cid, _ in out.fused if cid in rows]
        sims = table.vectors[[rows[c] for c in fused_ids]] @ q_vec if fused_ids else np.zeros(0)
        out.best_similarity = float(sims.max()) if len(sims) else 0.0
        out.similarity = {cid: float(sim) for cid, sim in zip(fused_ids, sims)}
        if rerank and fused_ids:
            fused_score = dict(out.fused)
            out.reranked = self._rerank(query, [(table.chunks[rows[c]], fused_score[c]) for c in fused_ids], self.bm25.idf)
        t5 = time.perf_counter()
        chosen = [cid for cid, _ in out.final[:k]]
        out.chunks = [table.chunks[rows[c]] for c in chosen if c in rows]
        out.timings_ms = {
            "load": (t1 - t0) * 1e3, "embed": (t2 - t1) * 1e3, "bm25": (t3 - t2) * 1e3,
            "dense": (t4 - t3) * 1e3, "fuse_rerank": (t5 - t4) * 1e3,
        }
        return out

    def _rerank(self, query: str, candidates: list[tuple[StoredChunk, float]], idf: dict[str, float]) -> list[tuple[str, float]]:
        terms = set(tokenize(query))
        default = max(idf.values(), default=1.0)
        weights = {t: idf.get(t, default) for t in terms}
        total = sum(weights.values()) or 1.0
        best = max((score for _, score in candidates), default=1.0) or 1.0
        scored = []
        for chunk, fused in candidates:
            head = set(tokenize(f"{chunk.title} {chunk.heading} {chunk.source.rsplit('/', 1)[-1].replace('-', ' ')}"))
            title = sum(w for t, w in weights.items() if t in head) / total
            scored.append((chunk.id, RERANK_WEIGHTS["fused"] * fused / best + RERANK_WEIGHTS["title"] * title))
        return sorted(scored, key=lambda kv: (-kv[1], kv[0]))
