"""Writing grades through nbgrader's Gradebook API, one submission per transaction, and reading them back.

nbgrader's ``Gradebook`` commits after almost every call; :func:`one_transaction` defers those commits to a
single one at the end (or a rollback), so a submission is either in the gradebook completely or not at all.
Only the grading coordinator calls this module: sandboxes never see the gradebook.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

from autograder.scoring import CellResult


@dataclass
class NotebookGrades:
    """What the coordinator writes for one notebook: cell scores and the solution cells left unanswered."""

    cells: list[CellResult] = field(default_factory=list)
    unanswered: set[str] = field(default_factory=set)


@contextlib.contextmanager
def one_transaction(gb) -> Iterator[None]:
    """Run nbgrader calls on ``gb`` as one transaction: their commits become flushes, then one commit."""
    session = gb.db
    commit = session.commit
    session.commit = session.flush
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    else:
        commit()
    finally:
        del session.commit


def write_submission(
    db_url: str, phase: str, student: str, graded: dict[str, NotebookGrades], timestamp: str | None = None
) -> None:
    """Record one student's phase: notebooks in ``graded`` get their scores, the others score 0 as missing."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(db_url) as gb, one_transaction(gb):
        warnings.filterwarnings("ignore", message=r".*not in session.*")  # nbgrader under SQLAlchemy 2.1
        gb.update_or_create_student(student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        submission = gb.update_or_create_submission(phase, student, **kwargs)
        for notebook in submission.notebooks:
            result = graded.get(notebook.name)
            scores = {c.grade_id: c.score for c in result.cells} if result else {}
            for grade in notebook.grades:
                if result is None:  # nbgrader's rule for a notebook that was not submitted
                    grade.auto_score, grade.needs_manual_grade = 0, False
                    continue
                grade.auto_score = scores.get(grade.name)
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            for comment in notebook.comments:
                comment.auto_comment = "No response." if result and comment.name in result.unanswered else None


def has_submission(db_url: str, phase: str, student: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            gb.find_submission(phase, student)
        except MissingEntry:
            return False
    return True


@dataclass
class CellRow:
    student: str
    phase: str
    notebook: str
    cell: str
    kind: str  # autograded | manual
    auto_score: float | None
    manual_score: float | None
    score: float
    max_score: float
    needs_manual_grade: bool


def cell_rows(db_url: str, students: list[str] | None = None) -> list[CellRow]:
    """Every grade in the gradebook (optionally of some students), one row per graded cell."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                if students is not None and submission.student.id not in students:
                    continue
                for notebook in submission.notebooks:
                    answers = {c.name for c in notebook.notebook.solution_cells}
                    for grade in notebook.grades:
                        rows.append(
                            CellRow(
                                submission.student.id,
                                assignment.name,
                                notebook.name,
                                grade.name,
                                "manual" if grade.name in answers else "autograded",
                                grade.auto_score,
                                grade.manual_score,
                                float(grade.score or 0),
                                float(grade.max_score),
                                bool(grade.needs_manual_grade),
                            )
                        )
    return rows
