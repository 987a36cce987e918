"""Reading notebooks and their nbgrader cells, with errors that name the file and the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course import CourseError


@dataclass(frozen=True)
class GradedCell:
    """An nbgrader cell that carries points.

    ``kind`` is ``"test"`` for autograded test cells and ``"manual"`` for answer cells that an
    instructor grades by hand (the roadmap's questions).
    """

    grade_id: str
    points: float
    kind: str
    index: int


def read_notebook(path: Path | str) -> nbformat.NotebookNode:
    """Read a notebook, turning every way it can be unreadable into one clear :class:`CourseError`."""
    path = Path(path)
    if not path.exists():
        raise CourseError(f"{path}: no such file")
    if path.is_dir():
        raise CourseError(f"{path}: is a folder, not a notebook")
    if path.suffix != ".ipynb":
        raise CourseError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CourseError(f"{path}: not a notebook (the file is not UTF-8 text)") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CourseError(f"{path}: corrupt notebook JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise CourseError(f"{path}: not a notebook (no 'cells' in the JSON)")
    try:
        nb = nbformat.reads(raw, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several validation error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CourseError(f"{path}: invalid notebook format ({first})") from None
    return nb


def graded_cells(nb: nbformat.NotebookNode) -> list[GradedCell]:
    """The cells that carry points, in notebook order."""
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        kind = "manual" if meta.get("solution") else "test"
        cells.append(GradedCell(meta.get("grade_id", f"cell-{index}"), float(meta.get("points", 0)), kind, index))
    return cells
