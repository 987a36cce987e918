"""Offline all-MiniLM-L6-v2 embeddings: shape, normalisation, batching, progress, offline guard."""

from __future__ import annotations

import numpy as np
import pytest

from curriculum import embeddings
from curriculum.embeddings import DIM, embed, embedding_model

TEXTS = [
    "The assert statement checks a condition while debugging.",
    "Assertions help find bugs during development.",
    "Paris is the capital of France.",
    "pass",
    "A much longer sentence about loops: break terminates the nearest enclosing for or while loop, "
    "and continue skips to the next cycle of that loop.",
]


@pytest.fixture(scope="module")
def vectors():
    return embed(TEXTS)


def test_rows_are_384_dimensional_float32_unit_vectors(vectors):
    assert vectors.shape == (len(TEXTS), DIM) == (5, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_list_gives_an_empty_matrix():
    out = embed([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_batch_size_and_length_sorting_do_not_change_rows_or_their_order(vectors):
    one_by_one = embed(TEXTS, batch_size=1)
    assert np.allclose(one_by_one, vectors, atol=1e-5)
    reversed_rows = embed(TEXTS[::-1], batch_size=2)
    assert np.allclose(reversed_rows[::-1], vectors, atol=1e-5)


def test_related_sentences_are_closer_than_unrelated_ones(vectors):
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2


def test_matches_the_sentence_transformers_encoding(vectors):
    reference = embedding_model().encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(reference, vectors, atol=1e-5)


def test_model_is_loaded_once_and_reused():
    assert embedding_model() is embedding_model()


def test_progress_bar_shows_when_asked(capsys):
    embed(["one", "two"], progress=True)
    assert "embedding" in capsys.readouterr().err


def test_progress_bar_shows_by_default_only_above_the_threshold(capsys):
    embed(["short text"] * 3)
    assert "embedding" not in capsys.readouterr().err
    embed([f"t{i}" for i in range(embeddings.PROGRESS_THRESHOLD + 1)], batch_size=257)
    assert "embedding" in capsys.readouterr().err


def test_a_single_string_is_refused():
    with pytest.raises(TypeError, match="list of texts"):
        embed("just one text")


def test_refuses_to_run_when_the_hub_is_not_offline(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE=1"):
        embed(["anything"])
