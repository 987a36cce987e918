"""The learner's local record of checks, and the roadmap progress built from it.

Every ``aie check`` appends one JSON line to ``<workspace>/.aie/progress.jsonl``: the notebook's path relative to
the workspace, its roadmap notebook and items, the visible-test score and maximum, and when. The workspace is the
nearest folder above the notebook that holds the workspace manifest (``aie workspace`` writes it); a notebook
outside any workspace is recorded in the folder that holds its phase folder. Lines are appended with one
``write`` on a file opened for appending, so concurrent checks never interleave; a corrupt line is skipped with a
warning and never costs the others. ``aie progress`` and the gate of ``aie solutions`` read this record. It is
the learner's own file: the gate it keeps is an honour system, not a lock.

Only :func:`append_record` and :func:`read_records` touch files; the rest is pure.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from autograder.workspace import MANIFEST
from curriculum.roadmap import Roadmap

__all__ = [
    "RECORD",
    "CheckRecord",
    "NotebookProgress",
    "PhaseProgress",
    "append_record",
    "has_check",
    "latest_checks",
    "learner_root",
    "progress",
    "read_records",
    "record_path",
]

RECORD = Path(".aie") / "progress.jsonl"


@dataclass(frozen=True)
class CheckRecord:
    """One ``aie check`` of one notebook."""

    notebook: str  # the checked file, relative to the workspace (posix)
    roadmap_notebook: str  # <phase>/<file>.ipynb in the roadmap
    items: tuple[str, ...]
    score: float
    max_score: float
    checked_at: str  # ISO 8601, UTC

    def to_json(self) -> str:
        d = asdict(self)
        d["items"] = list(self.items)
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> CheckRecord:
        """Build a record from a parsed line; raises ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        missing = [
            k for k in ("notebook", "roadmap_notebook", "items", "score", "max_score", "checked_at") if k not in data
        ]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        if not all(isinstance(data[k], str) for k in ("notebook", "roadmap_notebook", "checked_at")):
            raise ValueError("notebook, roadmap_notebook and checked_at must be strings")
        if not isinstance(data["items"], list) or not all(isinstance(i, str) for i in data["items"]):
            raise ValueError("items must be a list of strings")
        scores = (data["score"], data["max_score"])
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores):
            raise ValueError("score and max_score must be numbers")
        try:
            datetime.fromisoformat(data["checked_at"])
        except ValueError:
            raise ValueError(f"checked_at {data['checked_at']!r} is not an ISO 8601 time") from None
        return cls(
            data["notebook"],
            data["roadmap_notebook"],
            tuple(data["items"]),
            float(data["score"]),
            float(data["max_score"]),
            data["checked_at"],
        )

    @classmethod
    def now(cls, notebook: str, roadmap_notebook: str, items: list[str], score: float, max_score: float) -> CheckRecord:
        """A record stamped with the current UTC time."""
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(notebook, roadmap_notebook, tuple(items), float(score), float(max_score), stamp)


def learner_root(notebook: Path) -> Path:
    """The workspace a notebook belongs to (the nearest folder above it with the workspace manifest).

    A notebook in no workspace belongs to the folder that holds its phase folder.
    """
    path = Path(notebook).resolve()
    for folder in path.parents:
        if (folder / MANIFEST).is_file():
            return folder
    return path.parent.parent


def record_path(root: Path) -> Path:
    """The record file of a workspace (or course) root."""
    return Path(root) / RECORD


def append_record(root: Path, record: CheckRecord) -> Path:
    """Append one record as a single JSON line (one ``write`` in append mode); returns the record file."""
    path = record_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (record.to_json() + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn last line must not swallow this record
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_records(root: Path) -> tuple[list[CheckRecord], list[str]]:
    """Every valid record in file order, and one warning per line that had to be skipped."""
    path = record_path(root)
    if not path.is_file():
        return [], []
    records, warnings = [], []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                records.append(CheckRecord.from_dict(json.loads(raw.decode("utf-8"))))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                warnings.append(f"{path}:{number}: skipped a corrupt line ({type(exc).__name__})")
            except ValueError as exc:
                warnings.append(f"{path}:{number}: skipped a line that is not a check record ({exc})")
    return records, warnings


def has_check(records: list[CheckRecord], notebook: str) -> bool:
    """Whether the record holds a check of ``notebook`` (a path relative to the workspace)."""
    return any(r.notebook == notebook for r in records)


def latest_checks(records: list[CheckRecord]) -> dict[str, CheckRecord]:
    """The latest check of each roadmap notebook (the record is in time order: later lines win)."""
    latest: dict[str, CheckRecord] = {}
    for record in records:
        latest[record.roadmap_notebook] = record
    return latest


@dataclass
class NotebookProgress:
    """One roadmap notebook: its points and the latest check, and what is left to do."""

    notebook: str
    items: list[str]
    points: float  # roadmap points of its items (autograded and graded by hand)
    ready: bool
    score: float | None = None
    max_score: float | None = None
    checked_at: str | None = None

    @property
    def checked(self) -> bool:
        return self.score is not None

    @property
    def failing(self) -> float:
        """Visible-test points not earned in the latest check."""
        return (self.max_score or 0) - (self.score or 0) if self.checked else 0.0

    @property
    def by_hand(self) -> float:
        """Points no check can give: written answers an instructor grades."""
        return max(self.points - (self.max_score or 0), 0.0) if self.checked else 0.0

    @property
    def left(self) -> str:
        if not self.ready:
            return "in the backlog"
        if not self.checked:
            return f"not checked yet ({self.points:g} pts)"
        parts = [f"{self.failing:g} pts of failing tests"] if self.failing else []
        parts += [f"{self.by_hand:g} pts graded by hand"] if self.by_hand else []
        return "; ".join(parts) or "done"

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(checked=self.checked, failing=self.failing, by_hand=self.by_hand, left=self.left)
        return d


@dataclass
class PhaseProgress:
    """A phase's notebooks and the totals over them."""

    id: str
    title: str
    notebooks: list[NotebookProgress] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(n.score or 0 for n in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(n.max_score or 0 for n in self.notebooks)

    @property
    def points(self) -> float:
        return sum(n.points for n in self.notebooks)

    @property
    def checked(self) -> int:
        return sum(n.checked for n in self.notebooks)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "notebooks": [n.to_dict() for n in self.notebooks],
            "score": self.score,
            "max_score": self.max_score,
            "points": self.points,
            "checked": self.checked,
            "total": len(self.notebooks),
        }


def progress(roadmap: Roadmap, records: list[CheckRecord]) -> list[PhaseProgress]:
    """The roadmap, phase by phase, with each notebook's latest check from ``records``."""
    latest = latest_checks(records)
    phases = []
    for phase in roadmap.phases:
        row = PhaseProgress(phase.id, phase.title)
        for name in phase.notebooks:
            nb_path = f"{phase.id}/{name}"
            items = roadmap.items_for_notebook(nb_path)
            entry = NotebookProgress(
                nb_path, [i.id for i in items], float(sum(i.points for i in items)), any(i.ready for i in items)
            )
            if nb_path in latest:
                rec = latest[nb_path]
                entry.score, entry.max_score, entry.checked_at = rec.score, rec.max_score, rec.checked_at
            row.notebooks.append(entry)
        phases.append(row)
    return phases
