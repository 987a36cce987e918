"""Retrieval quality of the three modes, with every weight chosen on a split that the report does not score.

Queries: ``data/capstone/golden_queries.jsonl``, each with the documents that answer it, split
once by a seeded hash of the question (:data:`SPLIT_SEED`): half **dev**, half **test**. (The
eval cases are not used here: they are worded like the documents they ask about, favour BM25,
and would outvote the golden dev half; they stay the eval gate's.)

:func:`tune` chooses, on the dev queries only: first the head-field weight of BM25 alone
(:data:`~capstone.rag.lexical.HEAD_WEIGHT`, grid :data:`HEAD_GRID`), then the fusion weight of
BM25 against dense given it (:data:`~capstone.rag.retriever.FUSION_WEIGHTS`, grid
:data:`FUSION_GRID`), each by recall@5 + MRR@10 (ties: the smaller head weight, the fusion weight
nearest an even split). The committed constants are what it picks (a test checks that).
:func:`compare_modes` scores hybrid, BM25 alone and dense alone on the **test** queries only.
Each mode runs as the service runs it (``Retriever.retrieve(mode=...)``); documents are ranked by
the first position of any of their chunks; metrics come from ``ranx``.

Run ``python -m capstone.evals.retrieval`` (add ``--tune`` for the dev grid) on the default corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from capstone.rag.modes import MODES
from curriculum.paths import DATA_DIR

if TYPE_CHECKING:
    from capstone.rag.retriever import Retriever

__all__ = [
    "GOLDEN_PATH",
    "SPLIT_SEED",
    "HEAD_GRID",
    "FUSION_GRID",
    "METRICS",
    "RetrievalQuery",
    "Tuning",
    "golden_queries",
    "split_golden",
    "dev_queries",
    "held_out_queries",
    "ranked_sources",
    "plain_ranx",
    "score_rankings",
    "mode_rankings",
    "compare_modes",
    "tune",
    "objective",
]

GOLDEN_PATH = DATA_DIR / "capstone" / "golden_queries.jsonl"
SPLIT_SEED = "aie-golden-2026"
HEAD_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
FUSION_GRID = tuple(round(0.1 * i, 1) for i in range(11))  # weight of BM25; dense gets 1 - it
METRICS = ("recall@5", "mrr@10")


@dataclass(frozen=True)
class RetrievalQuery:
    """A question and the documents that answer it."""

    id: str
    question: str
    sources: tuple[str, ...]


def golden_queries(path: Path = GOLDEN_PATH) -> list[RetrievalQuery]:
    """The golden queries that have sources (``golden-<line>`` ids)."""
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            question, sources = raw["question"], raw["sources"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {number}: {exc}") from None
        if sources:
            out.append(RetrievalQuery(f"golden-{number}", question, tuple(sources)))
    return out


def split_golden(
    queries: list[RetrievalQuery], seed: str = SPLIT_SEED
) -> tuple[list[RetrievalQuery], list[RetrievalQuery]]:
    """(dev, test): queries ordered by ``sha256(seed:question)``, the first half dev (stable as queries are added)."""
    ordered = sorted(queries, key=lambda q: hashlib.sha256(f"{seed}:{q.question}".encode()).hexdigest())
    half = (len(ordered) + 1) // 2
    return ordered[:half], ordered[half:]


def dev_queries() -> list[RetrievalQuery]:
    """The tuning queries: the dev half of the golden queries."""
    return split_golden(golden_queries())[0]


def held_out_queries() -> list[RetrievalQuery]:
    """The held-out queries: the test half of the golden queries (never used to choose a weight)."""
    return split_golden(golden_queries())[1]


def ranked_sources(chunk_ids: list[str]) -> list[str]:
    """Documents in the order of their first chunk: ``["a#2", "b#0", "a#0"] -> ["a", "b"]``."""
    out: list[str] = []
    for chunk_id in chunk_ids:
        source = chunk_id.rsplit("#", 1)[0]
        if source not in out:
            out.append(source)
    return out


@contextmanager
def plain_ranx() -> Iterator:
    """ranx with numba's JIT switched off while it is imported and used.

    ~100 queries score faster as plain Python than the tens of seconds the first JIT compilation
    of ranx's metrics takes on a small machine. The switch is restored afterwards, so other users
    of numba in the process are not affected; ranx's own functions stay plain Python.
    """
    os.environ.setdefault("NUMBA_DISABLE_JIT", "1")
    from numba.core import config

    previous = config.DISABLE_JIT
    config.DISABLE_JIT = os.environ["NUMBA_DISABLE_JIT"] == "1" or previous
    try:
        import ranx

        yield ranx
    finally:
        config.DISABLE_JIT = previous


def score_rankings(rankings: dict[str, list[str]], queries: list[RetrievalQuery]) -> dict[str, float]:
    """Mean recall@5 and MRR@10 of ranked documents per query id."""
    if not queries:
        raise ValueError("no queries to score")
    with plain_ranx() as ranx:
        qrels = ranx.Qrels({q.id: {s: 1 for s in q.sources} for q in queries})
        run = ranx.Run(
            {q.id: {s: 1.0 / (i + 1) for i, s in enumerate(rankings.get(q.id, []))} or {"(none)": 0.0} for q in queries}
        )
        scores = ranx.evaluate(qrels, run, list(METRICS), make_comparable=True)
    return {name: float(scores[name]) for name in METRICS}


def objective(metrics: dict[str, float]) -> float:
    """What tuning maximises: recall@5 + MRR@10."""
    return metrics["recall@5"] + metrics["mrr@10"]


def mode_rankings(retriever: Retriever, queries: list[RetrievalQuery], mode: str) -> dict[str, list[str]]:
    """Ranked documents per query, as ``retriever.retrieve(mode=mode)`` (anonymous caller) orders them."""
    return {q.id: ranked_sources([cid for cid, _ in retriever.retrieve(q.question, mode=mode).final]) for q in queries}


def compare_modes(retriever: Retriever, queries: list[RetrievalQuery]) -> dict[str, dict[str, float]]:
    """recall@5 and MRR@10 of every mode on ``queries``."""
    return {mode: score_rankings(mode_rankings(retriever, queries, mode), queries) for mode in MODES}


@dataclass
class Tuning:
    """The weights :func:`tune` chose and the dev scores of every grid point."""

    head_weight: float
    bm25_weight: float
    head_scores: dict[float, dict[str, float]] = field(default_factory=dict)  # BM25 alone, per head weight
    fusion_scores: dict[float, dict[str, float]] = field(default_factory=dict)  # hybrid, per BM25 weight

    @property
    def fusion_weights(self) -> dict[str, float]:
        return {"bm25": self.bm25_weight, "dense": round(1.0 - self.bm25_weight, 6)}


def _memoized(embed):
    cache: dict[str, object] = {}

    def memo(texts):
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, embed(missing)))
        return np.stack([cache[t] for t in texts])

    return memo


def tune(retriever: Retriever, queries: list[RetrievalQuery]) -> Tuning:
    """Choose the head-field weight (BM25 alone), then the fusion weight (hybrid), on ``queries``."""
    from capstone.rag.retriever import Retriever

    trial = Retriever(
        retriever.store,
        _memoized(retriever.embed),
        candidates=retriever.candidates,
        rrf_k=retriever.rrf_k,
        rerank=retriever.use_rerank,
    )
    head_scores = {}
    for weight in HEAD_GRID:
        trial.head_weight = weight
        head_scores[weight] = score_rankings(mode_rankings(trial, queries, "bm25"), queries)
    head = max(HEAD_GRID, key=lambda w: (round(objective(head_scores[w]), 9), -w))
    trial.head_weight = head
    fusion_scores = {}
    for weight in FUSION_GRID:
        trial.weights = {"bm25": weight, "dense": 1.0 - weight}
        fusion_scores[weight] = score_rankings(mode_rankings(trial, queries, "hybrid"), queries)
    bm25_weight = max(FUSION_GRID, key=lambda w: (round(objective(fusion_scores[w]), 9), -abs(w - 0.5), -w))
    return Tuning(head, bm25_weight, head_scores, fusion_scores)


def _table(rows: dict, label: str) -> str:
    lines = [f"{label:<10} {'recall@5':>9} {'MRR@10':>8}"]
    lines += [f"{str(key):<10} {m['recall@5']:>9.3f} {m['mrr@10']:>8.3f}" for key, m in rows.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print every mode's scores on the held-out queries (and, with ``--tune``, the dev grid)."""
    parser = argparse.ArgumentParser(prog="python -m capstone.evals.retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="also run the weight search on the dev queries")
    args = parser.parse_args(argv)
    from capstone.rag.lexical import HEAD_WEIGHT
    from capstone.rag.retriever import FUSION_WEIGHTS
    from capstone.service import Assistant

    assistant = Assistant.open()
    try:
        assistant.ensure_default_corpus(progress=True)
        dev, test = dev_queries(), held_out_queries()
        print(f"golden queries: {len(dev)} dev, {len(test)} held out (split seed {SPLIT_SEED!r})")
        print(f"committed weights: head {HEAD_WEIGHT}, fusion {FUSION_WEIGHTS}")
        if args.tune:
            tuning = tune(assistant.retriever, dev)
            print("\nBM25 alone on dev, per head weight\n" + _table(tuning.head_scores, "head"))
            print("\nhybrid on dev, per BM25 fusion weight\n" + _table(tuning.fusion_scores, "bm25 w"))
            same = tuning.head_weight == HEAD_WEIGHT and tuning.fusion_weights == FUSION_WEIGHTS
            print(
                f"\ndev picks head {tuning.head_weight}, fusion {tuning.fusion_weights}: {'as committed' if same else 'DIFFERENT from the committed weights'}"
            )
        print(f"\nheld-out golden queries ({len(test)})\n" + _table(compare_modes(assistant.retriever, test), "mode"))
    finally:
        assistant.close()


if __name__ == "__main__":
    main()
