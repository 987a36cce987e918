"""Helpers for course authors: build nbgrader source notebooks from Python.

Example::

    from autograder.authoring import md, code, solution, tests, answer, write_notebook
    cells = [
        md("# Title"),
        solution("def dot(a, b):\\n    ### BEGIN SOLUTION\\n    return sum(x * y for x, y in zip(a, b))\\n    ### END SOLUTION", "dot"),
        tests("assert dot([1, 2], [3, 4]) == 11", "test_dot", points=2),
        answer("Explain ...", "q_why", points=5, rubric="full marks when ...", model_answer="..."),
    ]
    write_notebook(cells, "00_prereqs/01_example.ipynb")

Every graded cell gets a unique ``grade_id``; test cells are locked so a learner's edits are
overwritten at grading time.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from curriculum.kernel import DISPLAY_NAME, KERNEL_NAME

SCHEMA = 3


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str) -> nbformat.NotebookNode:
    """A teaching text cell."""
    return new_markdown_cell(text.strip("\n"))


def code(source: str) -> nbformat.NotebookNode:
    """An ordinary code cell (demonstrations, measurements, plots)."""
    return new_code_cell(source.strip("\n"))


def solution(source: str, grade_id: str) -> nbformat.NotebookNode:
    """A cell the learner completes; wrap the answer in ``### BEGIN SOLUTION`` / ``### END SOLUTION``."""
    if "### BEGIN SOLUTION" not in source:
        raise ValueError(f"solution cell {grade_id!r} has no ### BEGIN SOLUTION marker")
    return new_code_cell(source.strip("\n"), metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def tests(source: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """An autograded test cell; put edge cases between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``."""
    return new_code_cell(
        source.strip("\n"), metadata=_meta(grade_id, grade=True, solution=False, locked=True, points=points)
    )


def answer(prompt: str, grade_id: str, points: float, rubric: str, model_answer: str) -> list[nbformat.NotebookNode]:
    """A manually graded question: a prompt cell and an answer cell.

    In the source notebook the answer cell holds a model answer and the instructor's rubric
    between solution markers; the released notebook shows only ``YOUR ANSWER HERE``.
    """
    prompt_cell = new_markdown_cell(prompt.strip("\n"))
    body = (
        "### BEGIN SOLUTION\n**Model answer.** "
        + model_answer.strip("\n")
        + f"\n\n**Rubric ({points:g} points).**\n"
        + rubric.strip("\n")
        + "\n### END SOLUTION"
    )
    answer_cell = new_markdown_cell(
        body, metadata=_meta(grade_id, grade=True, solution=True, locked=False, points=points)
    )
    return [prompt_cell, answer_cell]


def new_course_notebook(cells: list) -> nbformat.NotebookNode:
    flat: list = []
    for c in cells:
        flat.extend(c if isinstance(c, list) else [c])
    nb = new_notebook(cells=flat)
    nb.metadata = {
        "kernelspec": {"name": KERNEL_NAME, "display_name": DISPLAY_NAME, "language": "python"},
        "language_info": {"name": "python"},
    }
    return nb


def write_notebook(cells: list, path: Path | str) -> Path:
    """Validate and write a source notebook (no outputs)."""
    nb = new_course_notebook(cells)
    nbformat.validate(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
