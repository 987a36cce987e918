"""Instructor path: autograde every submission, write feedback HTML and a gradebook CSV.

Submissions follow nbgrader's layout ``<dir>/<student_id>/<phase>/<notebook>.ipynb``. Each
student and phase is graded on its own, so one broken submission never stops the others.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import Course, CourseError, nbgrader_failure

LAYOUT_HELP = (
    "expected layout: <submissions>/<student_id>/<phase>/<notebook>.ipynb, "
    "e.g. submitted/alice/00_prereqs/01_cosine_similarity.ipynb"
)


@dataclass
class GradeRow:
    student: str
    phase: str
    notebook: str
    auto_score: float
    auto_max: float
    manual_pending: float
    status: str = "graded"


@dataclass
class GradeReport:
    rows: list[GradeRow] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    gradebook_csv: Path | None = None
    feedback_dir: Path | None = None


def find_submissions(submissions: Path, phases: list[str]) -> dict[str, list[str]]:
    """``{student: [phase, ...]}`` found under ``submissions``; raises with the expected layout."""
    if not submissions.is_dir():
        raise CourseError(f"{submissions}: no such folder; {LAYOUT_HELP}")
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    for student_dir in sorted(p for p in submissions.iterdir() if not p.name.startswith(".")):
        if not student_dir.is_dir():
            problems.append(f"{student_dir.name} is a file, not a student folder")
            continue
        for phase_dir in sorted(p for p in student_dir.iterdir() if not p.name.startswith(".")):
            if phase_dir.is_dir() and phase_dir.name in phases:
                if any(phase_dir.glob("*.ipynb")):
                    found.setdefault(student_dir.name, []).append(phase_dir.name)
                else:
                    problems.append(f"{student_dir.name}/{phase_dir.name} has no notebooks")
            else:
                problems.append(f"{student_dir.name}/{phase_dir.name} is not a phase folder ({', '.join(phases)})")
    if not found:
        detail = f" ({'; '.join(problems[:3])})" if problems else " (it is empty)"
        raise CourseError(f"{submissions}: no submissions found{detail}; {LAYOUT_HELP}")
    return found


def _read_rows(course: Course, student: str, phase: str) -> list[GradeRow]:
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(course.db_url) as gb:
        assignment = gb.find_assignment(phase)
        for notebook in assignment.notebooks:
            try:
                sub = gb.find_submission_notebook(notebook.name, phase, student)
            except MissingEntry:
                rows.append(GradeRow(student, phase, notebook.name, 0.0, 0.0, 0.0, "missing"))
                continue
            auto = [g for g in sub.grades if g.auto_score is not None]
            manual = [g for g in sub.grades if g.auto_score is None]
            rows.append(
                GradeRow(
                    student,
                    phase,
                    notebook.name,
                    auto_score=float(sum(g.auto_score for g in auto)),
                    auto_max=float(sum(g.max_score for g in auto)),
                    manual_pending=float(sum(g.max_score for g in manual if g.manual_score is None)),
                )
            )
    return rows


def grade_submissions(course: Course, submissions: Path | None = None, feedback: bool = True) -> GradeReport:
    """Autograde all submissions (copied into the course's ``submitted/`` first when elsewhere)."""
    submissions = Path(submissions).resolve() if submissions else course.submitted_dir()
    found = find_submissions(submissions, course.phases)
    if submissions != course.submitted_dir().resolve():
        for student, phases in found.items():
            for phase in phases:
                shutil.copytree(submissions / student / phase, course.submitted_dir() / student / phase, dirs_exist_ok=True)
    api = course.api()
    report = GradeReport(feedback_dir=course.feedback_dir())
    released: set[str] = set()
    for student, phases in found.items():
        for phase in phases:
            if phase not in released:
                result = api.generate_assignment(phase, force=True, create=True)
                if not result.get("success"):
                    raise CourseError(f"releasing {phase} failed: {nbgrader_failure(result)}")
                released.add(phase)
            result = api.autograde(phase, student, force=True, create=True)
            if not result.get("success"):
                report.failures.append(f"{student}/{phase}: {nbgrader_failure(result)}")
                continue
            if feedback:
                fb = api.generate_feedback(phase, student, force=True)
                if not fb.get("success"):
                    report.failures.append(f"{student}/{phase}: feedback could not be generated")
            report.rows.extend(_read_rows(course, student, phase))
    report.gradebook_csv = write_gradebook(report.rows, course.root / "gradebook.csv")
    return report


def write_gradebook(rows: list[GradeRow], path: Path) -> Path:
    """One row per student, phase and notebook."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "phase", "notebook", "auto_score", "auto_max", "manual_pending", "status"])
        for r in rows:
            writer.writerow([r.student, r.phase, r.notebook, r.auto_score, r.auto_max, r.manual_pending, r.status])
    return path
