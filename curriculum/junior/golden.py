"""The golden questions of the synthetic Notion export (``data/notion-export-golden.jsonl``).

Example::

    >>> from curriculum.junior.golden import load_golden
    >>> questions = load_golden()
    >>> questions[0].question
    'How many days of paid time off do employees get per year?'
    >>> sum(q.answerable for q in questions) > 40
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from curriculum.paths import DATA_DIR

__all__ = ["GOLDEN_PATH", "GoldenQuestion", "load_golden"]

GOLDEN_PATH = DATA_DIR / "notion-export-golden.jsonl"
_FIELDS = ("id", "question", "answer", "pages", "page_ids", "reference")


@dataclass(frozen=True)
class GoldenQuestion:
    """One question with the page(s) that answer it; ``answer``/``reference`` are None when none does."""

    id: str
    question: str
    answer: str | None
    pages: tuple[str, ...]
    page_ids: tuple[str, ...]
    reference: str | None

    @property
    def answerable(self) -> bool:
        return bool(self.page_ids)


def load_golden(path: str | Path | None = None) -> list[GoldenQuestion]:
    """Read a golden-question JSONL file (default: the Notion export's); ValueError names a bad line."""
    path = Path(path) if path is not None else GOLDEN_PATH
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
        missing = [f for f in _FIELDS if f not in row]
        if missing:
            raise ValueError(f"{path}:{number}: missing field(s) {', '.join(missing)}")
        if len(row["pages"]) != len(row["page_ids"]):
            raise ValueError(f"{path}:{number}: 'pages' and 'page_ids' differ in length")
        questions.append(
            GoldenQuestion(
                row["id"], row["question"], row["answer"], tuple(row["pages"]), tuple(row["page_ids"]), row["reference"]
            )
        )
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate question ids")
    return questions
