"""Retrieval: BM25 + dense (MiniLM) -> weighted reciprocal-rank fusion -> duplicate collapse.

Stages (every stage's list is kept in the :class:`Retrieval`, so the API's debug field and the
eval suite can score each one):

* ``bm25`` -- :class:`~capstone.rag.lexical.LexicalIndex`, text and head fields, scored with the
  statistics of the chunks the caller may read;
* ``dense`` -- cosine similarity of the question's and the chunks' all-MiniLM-L6-v2 vectors
  (chunks are embedded with their title and heading in front);
* ``fused`` -- weighted reciprocal-rank fusion, ``score(d) = sum_i w_i / (rrf_k + rank_i(d))``
  with :data:`FUSION_WEIGHTS` (one list alone is passed through as it is);
* ``reranked`` -- the fused list with each passage that several documents share credited to the
  most specific of them (:meth:`~capstone.rag.lexical.LexicalView.collapse`), in every mode.

The fusion weights and the head-field weight were chosen on the dev split of the retrieval
queries and are checked on the held-out split (``python -m capstone.evals.retrieval``).

Example::

    >>> rrf([["a", "b"], ["b", "c"]], k=60)[0][0]
    'b'
    >>> [doc for doc, _ in rrf([["a", "b"], ["b", "a"]], k=60, weights=[0.1, 0.9])]
    ['b', 'a']
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from capstone.rag.lexical import HEAD_WEIGHT, LexicalIndex
from capstone.rag.modes import MODES, RetrievalMode
from capstone.rag.store import ChunkStore, StoredChunk
from curriculum.embeddings import EmbedFn

__all__ = ["FUSION_WEIGHTS", "rrf", "fuse", "Retrieval", "Retriever"]

#: Weight of each list in the fusion (chosen on the dev split: ``capstone.evals.retrieval``).
FUSION_WEIGHTS = {"bm25": 0.3, "dense": 0.7}


def rrf(
    rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))``, ranks from 1, weights default 1."""
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
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
    similarity: dict[str, float] = field(default_factory=dict)  # dense cosine of every candidate
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def final(self) -> list[tuple[str, float]]:
        """The list the answer was built from (reranked when that stage ran, else fused)."""
        return self.reranked or self.fused

    def debug(self, limit: int = 10) -> dict:
        """A JSON-ready view of every stage (top ``limit`` of each list)."""
        trim = lambda pairs: [{"chunk_id": cid, "score": round(score, 5)} for cid, score in pairs[:limit]]  # noqa: E731
        return {
            "mode": self.mode,
            "bm25": trim(self.bm25),
            "dense": trim(self.dense),
            "fused": trim(self.fused),
            "reranked": trim(self.reranked),
            "best_similarity": round(self.best_similarity, 4),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def fuse(
    bm25: list[tuple[str, float]], dense: list[tuple[str, float]], k: int, weights: dict[str, float] = FUSION_WEIGHTS
) -> list[tuple[str, float]]:
    """The fused list of the two stages (one non-empty list is returned as it is)."""
    if not bm25 or not dense:
        return list(bm25 or dense)
    return rrf([[c for c, _ in bm25], [c for c, _ in dense]], k, [weights["bm25"], weights["dense"]])


class Retriever:
    """Runs the stages over one :class:`ChunkStore` for one viewer at a time."""

    def __init__(
        self,
        store: ChunkStore,
        embed: EmbedFn,
        *,
        candidates: int = 30,
        rrf_k: int = 60,
        rerank: bool = True,
        weights: dict[str, float] | None = None,
        head_weight: float = HEAD_WEIGHT,
    ) -> None:
        self.store = store
        self.embed = embed
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.use_rerank = rerank
        self.weights = dict(weights or FUSION_WEIGHTS)
        self.head_weight = head_weight
        self.lexical = LexicalIndex(store)

    def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        viewer: int | None = None,
        mode: RetrievalMode = "hybrid",
        rerank: bool | None = None,
    ) -> Retrieval:
        """The ``k`` best chunks for ``query`` that ``viewer`` may see."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        rerank = self.use_rerank if rerank is None else rerank
        out = Retrieval(query=query, mode=mode)
        t0 = time.perf_counter()
        self.lexical.refresh_if_stale()
        table, view = self.lexical.table, self.lexical.view(viewer)
        t1 = time.perf_counter()
        q_vec = self.embed([query])[0]
        t2 = time.perf_counter()
        if mode in ("hybrid", "bm25"):
            out.bm25 = view.search(query, self.candidates, self.head_weight)
        t3 = time.perf_counter()
        if mode in ("hybrid", "dense"):
            out.dense = self.store.dense_search(q_vec, self.candidates, viewer)
        t4 = time.perf_counter()
        out.fused = fuse(out.bm25, out.dense, self.rrf_k, self.weights)[: self.candidates]
        if rerank:
            out.reranked = view.collapse(out.fused)
        rows = table.row_of()
        ids = [cid for cid in dict.fromkeys(c for c, _ in out.fused + out.reranked) if cid in rows]
        sims = table.vectors[[rows[c] for c in ids]] @ q_vec if ids else np.zeros(0)
        out.best_similarity = float(sims.max()) if len(sims) else 0.0
        out.similarity = {cid: float(sim) for cid, sim in zip(ids, sims)}
        t5 = time.perf_counter()
        chosen = [cid for cid, _ in out.final[:k]]
        out.chunks = [table.chunks[rows[c]] for c in chosen if c in rows]
        out.timings_ms = {
            "load": (t1 - t0) * 1e3,
            "embed": (t2 - t1) * 1e3,
            "bm25": (t3 - t2) * 1e3,
            "dense": (t4 - t3) * 1e3,
            "fuse_rerank": (t5 - t4) * 1e3,
        }
        return out
