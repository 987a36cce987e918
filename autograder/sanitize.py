"""Before a submission runs: nbgrader's own sanitizing steps, and notes on how its cells differ from the release.

The steps are nbgrader's autograde "sanitize" preprocessors, in nbgrader's order: clear outputs, drop
duplicated grade ids, restore the kernel spec, put back the released test cells (from the gradebook, hidden
tests included; a deleted test cell is added back) and check the cell metadata. They read the gradebook and
never write it.
"""

from __future__ import annotations

import nbformat
from traitlets.config import Config

from autograder.course import CourseError
from autograder.plan import nbgrader_meta


def sanitize(
    nb: nbformat.NotebookNode, config: Config, phase: str, student: str, notebook: str, db_url: str
) -> nbformat.NotebookNode:
    """``nb`` as nbgrader would run it: released test cells restored; raises :class:`CourseError` naming the problem."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    config = Config(config)
    config.OverwriteCells.add_missing_cells = True
    resources = {"nbgrader": {"assignment": phase, "student": student, "notebook": notebook, "db_url": db_url}}
    for step in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        try:
            nb, resources = step(config=config).preprocess(nb, resources)
        except Exception as exc:  # nbgrader raises several types; the message is what the instructor needs
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CourseError(f"{step.__name__}: {first}") from None
    return nb


def structure_notes(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[str]:
    """How the learner's notebook differs in shape from the release (graded cells deleted, moved; cells added)."""
    notes = []
    released_ids = [nbgrader_meta(c).get("grade_id") for c in release.cells if nbgrader_meta(c).get("grade_id")]
    submitted_ids = [nbgrader_meta(c).get("grade_id") for c in submitted.cells if nbgrader_meta(c).get("grade_id")]
    missing = [g for g in released_ids if g not in submitted_ids]
    if missing:
        notes.append(f"graded cell(s) deleted: {', '.join(missing)} (test cells were put back from the release)")
    common = [g for g in submitted_ids if g in released_ids]
    expected = [g for g in released_ids if g in common]
    if common != list(dict.fromkeys(common)) or list(dict.fromkeys(common)) != expected:
        notes.append(
            f"graded cells are not in the released order (expected {', '.join(expected)}); they ran as submitted"
        )
    extra = [g for g in submitted_ids if g not in released_ids]
    if extra:
        notes.append(f"cell(s) with unknown grade ids ignored: {', '.join(sorted(set(extra)))}")
    released_cells = {c.get("id") for c in release.cells if c.get("id")}
    added = [c for c in submitted.cells if c.get("id") and c.get("id") not in released_cells]
    if released_cells and added:
        notes.append(f"{len(added)} cell(s) added")
    kept = {c.get("id") for c in submitted.cells}
    deleted = [i for i in released_cells if i not in kept]
    if released_cells and deleted and any(c.get("id") for c in submitted.cells):
        notes.append(f"{len(deleted)} released cell(s) deleted")
    return notes
