"""curriculum.junior: the golden-question loader and the synthetic vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from curriculum.connectors.notion import load_export
from curriculum.junior.golden import GOLDEN_PATH, load_golden
from curriculum.junior.vectors import clustered_unit_vectors
from curriculum.paths import DATA_DIR


def test_golden_questions_load_and_point_at_pages() -> None:
    questions = load_golden()
    assert len(questions) == len(GOLDEN_PATH.read_text(encoding="utf-8").splitlines()) == 46
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) == 43
    assert all(q.answer is None and q.reference is None for q in questions if not q.answerable)
    pages = load_export(DATA_DIR / "notion-export").pages
    assert all(pages[i].title == t for q in answerable for i, t in zip(q.page_ids, q.pages))


def test_golden_loader_rejects_bad_files(tmp_path: Path) -> None:
    good = {"id": "q1", "question": "?", "answer": "a", "pages": ["P"], "page_ids": ["x" * 32], "reference": "r"}
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(good) + "\n\n", encoding="utf-8")
    assert load_golden(path)[0].pages == ("P",)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"g.jsonl:1: not JSON"):
        load_golden(path)
    path.write_text(json.dumps({k: v for k, v in good.items() if k != "reference"}), encoding="utf-8")
    with pytest.raises(ValueError, match="missing field"):
        load_golden(path)
    path.write_text(json.dumps({**good, "pages": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="differ in length"):
        load_golden(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate"):
        load_golden(path)


def test_clustered_unit_vectors() -> None:
    x = clustered_unit_vectors(500, dim=64, clusters=8, seed=3)
    assert x.shape == (500, 64) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(x, clustered_unit_vectors(500, dim=64, clusters=8, seed=3))
    assert not np.array_equal(x, clustered_unit_vectors(500, dim=64, clusters=8, seed=4))
    # tighter clusters -> nearer neighbours
    tight = clustered_unit_vectors(400, dim=64, clusters=8, spread=0.3, seed=0)
    loose = clustered_unit_vectors(400, dim=64, clusters=8, spread=3.0, seed=0)

    def nearest(v: np.ndarray) -> float:
        s = v @ v.T
        np.fill_diagonal(s, -1)
        return float(s.max(axis=1).mean())

    assert nearest(tight) > nearest(loose)
    assert clustered_unit_vectors(0).shape == (0, 384)
    for bad in ({"n": -1}, {"n": 5, "dim": 0}, {"n": 5, "clusters": 0}, {"n": 5, "spread": -1.0}):
        with pytest.raises(ValueError):
            clustered_unit_vectors(**bad)
