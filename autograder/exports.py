"""The CSV files an instructor takes away, written from the whole gradebook after every grading run.

* ``gradebook.csv``: one row per student, phase and notebook (autograded score, manual points still to grade);
* ``gradebook-cells.csv``: one row per graded cell (autograded and manual scores, whether it needs a human);
* ``canvas.csv``: Canvas's gradebook import shape: ``Student, ID, SIS User ID, SIS Login ID, Section``, one
  column per phase (the assignment), a ``Points Possible`` row first; points are nbgrader's scores (a manual
  grade, where given, replaces the autograded one). Canvas matches students on ``SIS Login ID``, which holds
  the nbgrader student id; ``ID`` is left empty (Canvas's own number, unknown here).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from autograder.gradebook import CellRow, cell_rows

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def notebook_table(rows: list[CellRow]) -> list[dict]:
    """Per-notebook totals from per-cell rows."""
    totals: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        t = totals.setdefault(
            (r.student, r.phase, r.notebook),
            {
                "student": r.student,
                "phase": r.phase,
                "notebook": r.notebook,
                "auto_score": 0.0,
                "auto_max": 0.0,
                "manual_pending": 0.0,
                "score": 0.0,
                "max_score": 0.0,
            },
        )
        if r.kind == "autograded":
            t["auto_score"] += r.auto_score or 0.0
            t["auto_max"] += r.max_score
        elif r.manual_score is None:
            t["manual_pending"] += r.max_score
        t["score"] += r.score
        t["max_score"] += r.max_score
    return [totals[k] for k in sorted(totals)]


def canvas_table(rows: list[CellRow], phases: list[str]) -> list[list]:
    """Rows of the Canvas import file (header, ``Points Possible``, one row per student)."""
    scores: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    maxima: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        scores[r.student][r.phase] += r.score
        maxima[r.phase][r.student] += r.max_score
    used = [p for p in phases if maxima[p]]
    table = [CANVAS_FIXED + used, ["Points Possible", "", "", "", ""] + [f"{max(maxima[p].values()):g}" for p in used]]
    for student in sorted(scores):
        table.append([student, "", student, student, ""] + [f"{scores[student].get(p, 0.0):g}" for p in used])
    return table


def write_exports(db_url: str, root: Path, phases: list[str]) -> dict[str, Path]:
    """Write the three CSV files under ``root``; returns their paths by name."""
    rows = cell_rows(db_url)
    paths = {name: root / f"{name}.csv" for name in ("gradebook", "gradebook-cells", "canvas")}
    table = notebook_table(rows)
    with paths["gradebook"].open("w", newline="") as fh:
        writer = csv.DictWriter(
            fh, ["student", "phase", "notebook", "auto_score", "auto_max", "manual_pending", "score", "max_score"]
        )
        writer.writeheader()
        writer.writerows({k: (f"{v:g}" if isinstance(v, float) else v) for k, v in row.items()} for row in table)
    with paths["gradebook-cells"].open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "student",
                "phase",
                "notebook",
                "cell",
                "kind",
                "auto_score",
                "manual_score",
                "score",
                "max_score",
                "needs_manual_grade",
            ]
        )
        for r in sorted(rows, key=lambda r: (r.student, r.phase, r.notebook, r.cell)):
            writer.writerow(
                [
                    r.student,
                    r.phase,
                    r.notebook,
                    r.cell,
                    r.kind,
                    "" if r.auto_score is None else f"{r.auto_score:g}",
                    "" if r.manual_score is None else f"{r.manual_score:g}",
                    f"{r.score:g}",
                    f"{r.max_score:g}",
                    int(r.needs_manual_grade),
                ]
            )
    with paths["canvas"].open("w", newline="") as fh:
        csv.writer(fh).writerows(canvas_table(rows, phases))
    return paths
