"""Instructor path: grade every submission in a sandbox, write the gradebook, feedback HTML and CSV exports.

Submissions follow nbgrader's layout ``<dir>/<student_id>/<phase>/<notebook>.ipynb``. The coordinator (this
module, in the instructor's process) does everything that touches course files:

1. release each phase with nbgrader (the gradebook learns the test cells, hidden tests included);
2. per notebook: read it, run nbgrader's sanitizing steps (released test cells put back), plan what the
   guard protects (``plan.py``) and make a job;
3. hand the jobs to worker threads or a Dask cluster; each runs in a fresh sandbox and returns only events;
4. per student and phase, once all its notebooks are back: score with nbgrader's rule (``scoring.py``), write
   the gradebook in one transaction (``gradebook.py``), the autograded notebooks, feedback HTML and a
   manifest that lets the next run skip it while the submitted files are unchanged.

One broken or hostile submission never stops the others: a file that cannot be read scores 0 as not
submitted and is named in the report; a run that could not happen at all (a lost worker) writes nothing
for that student and phase, so the next run grades it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import Course, CourseError, nbgrader_failure
from autograder.dispatch import runner
from autograder.exports import write_exports
from autograder.gradebook import NotebookGrades, has_submission, write_submission
from autograder.limits import Limits
from autograder.notebooks import read_notebook
from autograder.plan import Plan, build_plan, folder_files, is_solution_cell, make_job
from autograder.sandbox import SandboxUnavailable, check_bubblewrap
from autograder.sanitize import sanitize, structure_notes
from autograder.scoring import apply_run, score_cells

LAYOUT_HELP = (
    "expected layout: <submissions>/<student_id>/<phase>/<notebook>.ipynb, "
    "e.g. submitted/alice/00_prereqs/01_cosine_similarity.ipynb"
)
MANIFEST = ".aie-graded.json"
GRADER_VERSION = 2
# Models the senior notebooks build on first use; the coordinator builds them once into the course cache
# (trusted library code, outside any sandbox), which sandboxes then read without being able to change it.
CACHE_BUILDERS = {"03_senior": ("curriculum.senior.tiny_lm:tiny_lm_path", "curriculum.senior.triage:triage_model_path")}


@dataclass
class GradeRow:
    student: str
    phase: str
    notebook: str
    auto_score: float
    auto_max: float
    manual_pending: float
    status: str = "graded"  # graded | missing | unreadable | up to date


@dataclass
class GradeReport:
    rows: list[GradeRow] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # could not be graded as submitted, named by file
    notes: list[str] = field(default_factory=list)  # graded, but worth the instructor's eye
    skipped: list[str] = field(default_factory=list)  # student/phase already graded and unchanged
    gradebook_csv: Path | None = None
    exports: dict[str, Path] = field(default_factory=dict)
    feedback_dir: Path | None = None
    limits: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    coordinator_seconds: float = 0.0  # of which spent preparing, scoring and writing (serial, in this process)


@dataclass
class Progress:
    """One step for a progress display: ``kind`` is start | graded | skipped | failed."""

    kind: str
    student: str = ""
    phase: str = ""
    detail: str = ""
    total: int = 0


@dataclass
class _Submission:
    student: str
    phase: str
    folder: Path
    jobs: dict[str, dict] = field(default_factory=dict)
    sanitized: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    results: dict[str, dict | BaseException] = field(default_factory=dict)
    digest: dict = field(default_factory=dict)


def find_submissions(submissions: Path, phases: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """``{student: [phase, ...]}`` under ``submissions`` and the entries in the wrong place (named)."""
    if not submissions.is_dir():
        raise CourseError(f"{submissions}: no such folder; {LAYOUT_HELP}")
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    for student_dir in sorted(p for p in submissions.iterdir() if not p.name.startswith(".")):
        if not student_dir.is_dir():
            problems.append(f"{student_dir.name}: a file, not a student folder; {LAYOUT_HELP}")
            continue
        for phase_dir in sorted(p for p in student_dir.iterdir() if not p.name.startswith(".")):
            where = f"{student_dir.name}/{phase_dir.name}"
            if phase_dir.is_dir() and phase_dir.name in phases:
                if any(phase_dir.glob("*.ipynb")):
                    found.setdefault(student_dir.name, []).append(phase_dir.name)
                else:
                    problems.append(f"{where}: no notebooks in this phase folder")
            else:
                problems.append(f"{where}: not a phase folder ({', '.join(phases)}); {LAYOUT_HELP}")
    if not found:
        detail = f" ({'; '.join(problems[:3])})" if problems else " (it is empty)"
        raise CourseError(f"{submissions}: no submissions found{detail}; {LAYOUT_HELP}")
    return found, problems


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _release_digest(course: Course, phase: str) -> str:
    h = hashlib.sha256()
    for path in sorted(course.release_dir(phase).glob("*.ipynb")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _manifest_path(course: Course, student: str, phase: str) -> Path:
    return course.autograded_dir() / student / phase / MANIFEST


def _up_to_date(course: Course, student: str, phase: str, digest: dict) -> bool:
    path = _manifest_path(course, student, phase)
    try:
        recorded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return recorded == digest and has_submission(course.db_url, phase, student)


def warm_cache(phases: set[str]) -> list[str]:
    """Build the models ``phases`` need into the course cache; returns notes for builders that failed."""
    notes = []
    for phase in sorted(phases & set(CACHE_BUILDERS)):
        for spec in CACHE_BUILDERS[phase]:
            module, name = spec.split(":")
            try:
                getattr(importlib.import_module(module), name)(verbose=False)
            except Exception as exc:  # each sandbox then builds its own copy: slower, still correct
                notes.append(f"{phase}: could not build {spec} into the course cache ({type(exc).__name__}: {exc})")
    return notes


def _prepare(course: Course, student: str, phase: str, release_nbs: dict, timeout: int, files: dict) -> _Submission:
    folder = course.submitted_dir() / student / phase
    sub = _Submission(student, phase, folder)
    sub.digest = {
        "grader": GRADER_VERSION,
        "release": _release_digest(course, phase),
        "files": {p.name: _sha(p) for p in sorted(folder.glob("*.ipynb"))},
    }
    config = course.config()
    for path in sorted(folder.glob("*.ipynb")):
        name, label = path.stem, f"{student}/{phase}/{path.name}"
        if name not in release_nbs:
            sub.unreadable[name] = f"{label}: not a notebook of {phase} ({', '.join(sorted(release_nbs))}); ignored"
            continue
        try:
            submitted = read_notebook(path)
            notes = structure_notes(submitted, release_nbs[name])
            nb = sanitize(submitted, config, phase, student, name, course.db_url)
        except CourseError as exc:
            message = str(exc).replace(str(path), label)
            sub.unreadable[name] = message if message.startswith(label) else f"{label}: {message}"
            continue
        sub.sanitized[name], sub.plans[name] = nb, build_plan(nb, release_nbs[name])
        sub.jobs[name] = make_job(nb, sub.plans[name], timeout, files)
        sub.digest.setdefault("notes", {})[name] = notes
    return sub


def _read_rows(course: Course, student: str, phase: str, status: dict[str, str]) -> list[GradeRow]:
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(course.db_url) as gb:
        submission = gb.find_submission(phase, student)
        for notebook in submission.notebooks:
            names = {c.name for c in notebook.notebook.solution_cells}
            auto = [g for g in notebook.grades if g.name not in names]
            manual = [g for g in notebook.grades if g.name in names]
            rows.append(
                GradeRow(
                    student,
                    phase,
                    notebook.name,
                    float(sum(g.auto_score or 0 for g in auto)),
                    float(sum(g.max_score for g in auto)),
                    float(sum(g.max_score for g in manual if g.manual_score is None)),
                    status.get(notebook.name, "missing"),
                )
            )
    return rows


def _unanswered(nb: nbformat.NotebookNode) -> set[str]:
    from nbgrader.utils import compute_checksum

    out = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if is_solution_cell(cell) and meta.get("checksum") == compute_checksum(cell):
            out.add(meta.get("grade_id"))
    return out


class _Finisher:
    """Scores, records and renders one student's phase once all its notebooks are back (coordinator only)."""

    def __init__(self, course: Course, report: GradeReport, feedback: bool) -> None:
        self.course, self.report = course, report
        self.feedback = None
        if feedback:
            from autograder.feedback import FeedbackWriter

            self.feedback = FeedbackWriter(course.config(), course.db_url, course.feedback_dir())

    def finish(self, sub: _Submission) -> str:
        who = f"{sub.student}/{sub.phase}"
        broken = {n: r for n, r in sub.results.items() if isinstance(r, BaseException)}
        broken.update(
            {
                n: RuntimeError(e["reason"])
                for n, r in sub.results.items()
                if not isinstance(r, BaseException)
                for e in r.get("events", [])
                if e.get("event") == "error"
            }
        )
        if broken:
            name, exc = next(iter(broken.items()))
            self.report.failures.append(
                f"{who}/{name}.ipynb: could not be run ({type(exc).__name__}: {exc}); nothing was written for {who}"
            )
            return "failed"
        executed, graded, status = {}, {}, {}
        for name, run in sub.results.items():
            nb, summary = apply_run(sub.sanitized[name], run)
            nb.metadata["aie"] = {k: run.get(k) for k in ("seconds", "peak_memory_mb", "ended", "limits")}
            executed[name] = nb
            graded[name] = NotebookGrades(score_cells(nb, sub.plans[name].hidden_from), _unanswered(nb))
            status[name] = "graded"
            if summary.died_at is not None and summary.died_at < len(nb.cells):
                grade_id = nb.cells[summary.died_at].metadata.get("nbgrader", {}).get("grade_id")
                where = f"cell {summary.died_at + 1}" + (f" ({grade_id})" if grade_id else "")
                self.report.notes.append(f"{who}/{name}.ipynb: {summary.reason} at {where}; later cells scored 0")
        for name, message in sub.unreadable.items():
            self.report.failures.append(
                message + ("" if message.endswith("ignored") else "; scored 0 as not submitted")
            )
            status.setdefault(name, "unreadable")
        for name, notes in sub.digest.get("notes", {}).items():
            self.report.notes += [f"{who}/{name}.ipynb: {note}" for note in notes]
        stamp = sub.folder / "timestamp.txt"
        try:
            write_submission(
                self.course.db_url,
                sub.phase,
                sub.student,
                graded,
                stamp.read_text().strip() if stamp.is_file() else None,
            )
        except Exception as exc:  # the transaction was rolled back
            self.report.failures.append(
                f"{who}: the gradebook refused the grades ({type(exc).__name__}: {exc}); nothing was written"
            )
            return "failed"
        out = self.course.autograded_dir() / sub.student / sub.phase
        out.mkdir(parents=True, exist_ok=True)
        for name, nb in executed.items():
            for cell in nb.cells:  # nbgrader puts deleted test cells back without a cell id
                if nb.nbformat_minor >= 5 and "id" not in cell:
                    cell["id"] = uuid.uuid4().hex[:8]
            nbformat.write(nb, str(out / f"{name}.ipynb"))
            if self.feedback:
                self.feedback.write(nb, sub.student, sub.phase, name)
        _manifest_path(self.course, sub.student, sub.phase).write_text(json.dumps(sub.digest, indent=1))
        rows = _read_rows(self.course, sub.student, sub.phase, status)
        self.report.rows += rows
        return f"{sum(r.auto_score for r in rows):g}/{sum(r.auto_max for r in rows):g}"


def grade_submissions(
    course: Course,
    submissions: Path | None = None,
    feedback: bool = True,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    student: str | None = None,
    force: bool = False,
    sandbox: bool = True,
    limits: Limits | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> GradeReport:
    """Grade all submissions (copied into the course's ``submitted/`` first when elsewhere); see the module doc."""
    started = time.monotonic()
    progress = progress or (lambda event: None)
    limits = limits or Limits()
    submissions = Path(submissions).resolve() if submissions else course.submitted_dir()
    found, problems = find_submissions(submissions, course.phases)
    if sandbox:
        try:
            check_bubblewrap()
        except SandboxUnavailable as exc:
            raise CourseError(str(exc)) from None
    if student is not None:
        if student not in found:
            raise CourseError(
                f"no submission from student {student!r} in {submissions} "
                f"(students: {', '.join(sorted(found)) or 'none'})"
            )
        found = {student: found[student]}
        problems = [p for p in problems if p.startswith(f"{student}/")]
    report = GradeReport(failures=list(problems), feedback_dir=course.feedback_dir())
    if submissions != course.submitted_dir().resolve():
        for who, phases in found.items():
            for phase in phases:
                shutil.copytree(submissions / who / phase, course.submitted_dir() / who / phase, dirs_exist_ok=True)
    api = course.api()
    phases = sorted({p for ps in found.values() for p in ps})
    release_nbs: dict[str, dict] = {}
    for phase in phases:
        result = api.generate_assignment(phase, force=True, create=True)
        if not result.get("success"):
            raise CourseError(f"releasing {phase} failed: {nbgrader_failure(result)}")
        release_nbs[phase] = {
            p.stem: nbformat.read(p, as_version=4) for p in sorted(course.release_dir(phase).glob("*.ipynb"))
        }
    report.notes += warm_cache(set(phases))
    timeout = course.config().Execute.timeout
    pending: dict[tuple[str, str], _Submission] = {}
    for who, their_phases in found.items():
        for phase in their_phases:
            tick = time.monotonic()
            sub = _prepare(course, who, phase, release_nbs[phase], timeout, folder_files(course.release_dir(phase)))
            report.coordinator_seconds += time.monotonic() - tick
            if not force and _up_to_date(course, who, phase, sub.digest):
                report.skipped.append(f"{who}/{phase}")
                report.rows += _read_rows(course, who, phase, {Path(n).stem: "up to date" for n in sub.digest["files"]})
                progress(Progress("skipped", who, phase, "already graded, unchanged"))
                continue
            pending[(who, phase)] = sub
    progress(Progress("start", total=len(pending)))
    finisher = _Finisher(course, report, feedback)
    with runner(jobs, scheduler, limits, sandbox) as pool:
        for key, sub in pending.items():
            for name, job in sub.jobs.items():
                pool.submit((key, name), job)
        for key, sub in list(pending.items()):
            if not sub.jobs:  # nothing could be read: record the zeros straight away
                outcome = finisher.finish(sub)
                progress(Progress("failed" if outcome == "failed" else "graded", *key, outcome))
        for ((who, phase), name), result in pool.results():
            sub = pending[(who, phase)]
            sub.results[name] = result
            if len(sub.results) == len(sub.jobs):
                tick = time.monotonic()
                outcome = finisher.finish(sub)
                report.coordinator_seconds += time.monotonic() - tick
                report.limits = report.limits or (result.get("limits", {}) if isinstance(result, dict) else {})
                progress(Progress("failed" if outcome == "failed" else "graded", who, phase, outcome))
    report.exports = write_exports(course.db_url, course.root, course.phases)
    report.gradebook_csv = report.exports["gradebook"]
    report.seconds = round(time.monotonic() - started, 2)
    report.coordinator_seconds = round(report.coordinator_seconds, 2)
    return report
