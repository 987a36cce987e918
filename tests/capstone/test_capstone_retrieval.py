"""Retrieval that earns its fusion, statistics that keep private words private, and an index that follows the database.

* On the held-out half of the golden queries, hybrid is at least as good as the better of BM25 and
  dense on recall@5 and on MRR@10, and the committed weights are the ones the dev half picks.
* A private document changes no score that another caller sees (BM25 statistics per view).
* A document written through one process is found (and, once deleted, no longer found) through
  another process's retriever on its next request.
"""

from __future__ import annotations

import pytest

from capstone.evals.retrieval import (
    FUSION_GRID,
    HEAD_GRID,
    compare_modes,
    dev_queries,
    golden_queries,
    held_out_queries,
    objective,
    split_golden,
    tune,
)
from capstone.rag.chunking import Document
from capstone.rag.connectors import python_reference
from capstone.rag.lexical import HEAD_WEIGHT, LexicalView
from capstone.rag.retriever import FUSION_WEIGHTS
from capstone.rag.store import StoredChunk
from capstone.service import Assistant

TOPICS = ("assert", "break", "continue", "pass", "while", "for")
QUESTION = "Which loop does the zebra migration plan break out of?"


def test_golden_split_is_fixed_disjoint_and_complete():
    queries = golden_queries()
    dev, test = split_golden(queries)
    assert {q.id for q in dev}.isdisjoint({q.id for q in test})
    assert sorted(q.id for q in dev + test) == sorted(q.id for q in queries)
    assert abs(len(dev) - len(test)) <= 1 and len(test) >= 15
    assert [q.id for q in dev_queries()] == [q.id for q in dev] and [q.id for q in held_out_queries()] == [
        q.id for q in test
    ]
    assert split_golden(queries, seed="another seed") != (dev, test)  # the seed decides, not the file order


def test_hybrid_is_at_least_as_good_as_either_retriever_on_held_out_queries(assistant):
    scores = compare_modes(assistant.retriever, held_out_queries())
    print(
        "\n"
        + "\n".join(f"{mode:<7} recall@5 {m['recall@5']:.3f}  MRR@10 {m['mrr@10']:.3f}" for mode, m in scores.items())
    )
    for metric in ("recall@5", "mrr@10"):
        best_alone = max(scores["bm25"][metric], scores["dense"][metric])
        assert scores["hybrid"][metric] >= best_alone, (metric, scores)


def test_committed_weights_are_what_the_dev_half_picks(assistant):
    tuning = tune(assistant.retriever, dev_queries())
    assert set(tuning.head_scores) == set(HEAD_GRID) and set(tuning.fusion_scores) == set(FUSION_GRID)
    best_head = max(objective(m) for m in tuning.head_scores.values())
    assert objective(tuning.head_scores[HEAD_WEIGHT]) == pytest.approx(best_head), tuning.head_scores
    best_fusion = max(objective(m) for m in tuning.fusion_scores.values())
    assert objective(tuning.fusion_scores[FUSION_WEIGHTS["bm25"]]) == pytest.approx(best_fusion), tuning.fusion_scores
    assert FUSION_WEIGHTS["bm25"] + FUSION_WEIGHTS["dense"] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def workers(fresh_settings):
    """Two service instances on one database, as two server processes would be (no shared memory)."""
    settings = fresh_settings()
    first, second = Assistant.open(settings), Assistant.open(settings)
    first.ingest([d for d in python_reference() if d.source.rsplit("/", 1)[1] in TOPICS])
    yield first, second
    second.close()
    first.close()


def _bm25(service: Assistant, question: str, viewer: int | None) -> list[tuple[str, float]]:
    return service.retriever.retrieve(question, viewer=viewer, mode="bm25").bm25


def test_a_private_document_changes_no_score_another_caller_sees(workers):
    from capstone.guard.auth import create_user

    first, second = workers
    alice, _ = create_user(first.db, "alice-lexical")
    bob, _ = create_user(first.db, "bob-lexical")
    before = {viewer: _bm25(second, QUESTION, viewer) for viewer in (None, bob.id)}
    assert before[None] and before[None] == before[bob.id]
    secret = Document(
        "upload/alice-lexical/plan.md",
        "Zebra migration plan",
        "The zebra migration plan: break every loop north. Zebra zebra loop.",
        "upload",
        "private",
        alice.id,
    )
    first.ingest([secret])
    for viewer in (None, bob.id):
        assert _bm25(second, QUESTION, viewer) == before[viewer]  # same chunks, same scores to the last bit
    index = second.retriever.lexical
    assert index.view(bob.id) is index.view(None)  # bob is scored with the public statistics
    assert not any(cid.startswith("upload/") for cid in index.view(None).ids)
    mine = _bm25(second, QUESTION, alice.id)
    assert mine[0][0] == "upload/alice-lexical/plan.md#0"


def test_a_private_change_rebuilds_only_its_owner_view(workers):
    from capstone.guard.auth import create_user

    first, second = workers
    carol, _ = create_user(first.db, "carol-lexical")
    index = second.retriever.lexical
    second.retriever.retrieve(QUESTION)
    public = index.view(None)
    first.ingest(
        [Document("upload/carol-lexical/n.md", "Notes", "Carol keeps quokka notes.", "upload", "private", carol.id)]
    )
    assert index.refresh_if_stale() is True
    assert index.refresh_if_stale() is False  # nothing moved since
    assert index.view(None) is public
    assert index.view(carol.id) is not public and "upload/carol-lexical/n.md#0" in index.view(carol.id).ids


def test_a_write_through_one_process_is_searchable_through_the_other(workers):
    first, second = workers
    question = "What does the quagga stripe registry record?"
    assert not any(cid.startswith("wiki/quagga") for cid, _ in _bm25(second, question, None))
    doc = Document(
        "wiki/quagga-registry", "Quagga registry", "The quagga stripe registry records every stripe pattern.", "wiki"
    )
    first.ingest([doc])
    assert _bm25(second, question, None)[0][0] == "wiki/quagga-registry#0"
    assert second.retriever.retrieve(question).chunks[0].source == "wiki/quagga-registry"
    assert first.store.delete_document("wiki/quagga-registry")
    assert not any(cid.startswith("wiki/quagga") for cid, _ in _bm25(second, question, None))


def _chunk(cid: str, text: str) -> StoredChunk:
    return StoredChunk(cid, cid.split("#")[0], cid.split("#")[0], "", text, "public", None)


def test_a_passage_shared_by_documents_is_credited_to_the_most_specific_one():
    chunks = [
        _chunk("compound#0", "Compound statements contain other statements."),
        _chunk("compound#1", "The if statement chooses."),
        _chunk("compound#2", "The while statement repeats."),
        _chunk("if#0", "The  if statement\nchooses."),
        _chunk("else#0", "The if statement chooses."),
    ]
    view = LexicalView.build(chunks, "test", lambda c: (c.text.lower().split(), c.source.split()))
    ranked = [("compound#1", 3.0), ("compound#2", 2.0), ("if#0", 1.5), ("compound#0", 1.0)]
    assert view.collapse(ranked) == [("if#0", 3.0), ("else#0", 3.0), ("compound#2", 2.0), ("compound#0", 1.0)]
