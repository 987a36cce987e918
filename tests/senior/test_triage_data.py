"""The shipped support-ticket and help-center data: reproducible, balanced, no leakage."""

import importlib.util
import json
from collections import Counter

from curriculum.paths import DATA_DIR
from curriculum.senior import ops_service, triage

TICKETS = DATA_DIR / "support-tickets"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_tickets", TICKETS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_match_the_generator():
    train, heldout = _generator().generate()
    for name, rows in (("train.jsonl", train), ("heldout.jsonl", heldout)):
        expected = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        assert (TICKETS / name).read_text(encoding="utf-8") == expected, f"{name} differs from generate.py's output"


def test_splits_are_balanced_and_disjoint():
    train, heldout = triage.load_split("train"), triage.load_split("heldout")
    assert len(train) == 600 and len(heldout) == 200
    assert not {t.text for t in train} & {t.text for t in heldout}
    assert len({t.id for t in train + heldout}) == 800
    for split in (train, heldout):
        counts = Counter(t.label for t in split)
        assert set(counts) == set(triage.LABELS)
        assert max(counts.values()) < 2 * min(counts.values())
    assert {t.phrasing for t in train} == {"seen"}
    assert Counter(t.phrasing for t in heldout) == {"seen": 100, "new": 100}
    assert 0.15 < sum(t.hard for t in train) / len(train) < 0.35


def test_readmes_say_the_data_is_synthetic():
    for folder in (TICKETS, DATA_DIR / "help-center"):
        text = (folder / "README.md").read_text(encoding="utf-8").lower()
        assert "synthetic" in text


def test_help_center_questions_name_existing_articles():
    ids = {a.id for a in ops_service.load_articles()}
    with open(DATA_DIR / "help-center" / "questions.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    assert len(rows) == len(ops_service.load_questions()) >= 20
    assert all(r["article"] in ids for r in rows)


def test_load_split_refuses_unknown_names():
    import pytest

    with pytest.raises(ValueError, match="split must be"):
        triage.load_split("test")
