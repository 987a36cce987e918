"""``aie release``, ``workspace``, ``lab``, ``check``, ``solutions``, ``progress`` and ``grade``: parse, call, print.

Registered into the ``aie`` command by :func:`register` (entry point ``aie.commands: grading``); the
autograder itself is imported inside the commands so ``aie --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from curriculum.cli_support import fail, warn
from curriculum.roadmap import REPO_ROOT, RoadmapError

__all__ = ["LEARNER_COURSE", "lab_command", "register"]

warnings.filterwarnings("ignore", message=r".*not in session.*")  # nbgrader's gradebook under SQLAlchemy 2.1

# The learner's releases are generated in a course of their own, so that building a workspace never touches
# an instructor's gradebook (nbgrader refuses to regenerate an assignment that has submissions).
LEARNER_COURSE = REPO_ROOT / ".aie" / "learner-course"


def _course(timeout: int | None = None, root: Path | None = None):
    """The instructor's course (``AIE_COURSE_ROOT``, default the repository root)."""
    from autograder import Course

    root = root or Path(os.environ.get("AIE_COURSE_ROOT", REPO_ROOT))
    return Course(root=root, timeout=timeout)


def release(
    phase: Annotated[str | None, typer.Argument(help="phase folder, e.g. 00_prereqs; default: all phases")] = None,
) -> None:
    """Generate the student version (solutions and hidden tests stripped) into release/."""
    from autograder import CourseError
    from autograder import release as do_release

    course = _course()
    try:
        released = do_release(course, [phase] if phase else None)
    except CourseError as exc:
        fail(str(exc))
    for ph, paths in released.items():
        folder = course.release_dir(ph)
        shown = folder.relative_to(REPO_ROOT) if folder.is_relative_to(REPO_ROOT) else folder
        typer.echo(f"{ph}: {len(paths)} notebook(s) -> {shown}/")


def workspace(
    path: Annotated[Path, typer.Option(help="learner workspace folder")] = REPO_ROOT / "workspace",
) -> None:
    """Release every phase and copy the notebooks into the learner workspace (never overwriting your edits)."""
    from autograder import CourseError, sync_workspace
    from autograder import release as do_release

    course = _course(root=LEARNER_COURSE)
    try:
        do_release(course)
    except CourseError as exc:
        fail(str(exc))
    report = sync_workspace(course.root / "release", path)
    # the notebooks link their wiki pages as ../wiki/<slug>.md; keep a fresh read-only copy beside them
    shutil.copytree(REPO_ROOT / "wiki", path / "wiki", dirs_exist_ok=True)
    for label in ("copied", "updated", "kept", "offered"):
        names = getattr(report, label)
        if names:
            typer.echo(f"{label}: {', '.join(n for n in names if n.endswith('.ipynb')) or len(names)}")
    if report.kept:
        typer.echo("your edited notebooks were kept; a newer release sits beside each as *.new-release.ipynb")
    typer.echo(f"workspace ready: {path}")


def lab(
    port: Annotated[int, typer.Option(help="port for JupyterLab on 127.0.0.1")] = 8888,
    path: Annotated[Path, typer.Option(help="learner workspace folder")] = REPO_ROOT / "workspace",
    sync: Annotated[bool, typer.Option(help="release and sync the workspace first")] = True,
) -> None:
    """Build the learner workspace and start JupyterLab on it (prints the URL with its token)."""
    if sync:
        workspace(path)
    token = os.environ.get("AIE_LAB_TOKEN") or secrets.token_hex(24)
    argv = lab_command(path, port, token)
    typer.echo(f"\nJupyterLab: http://127.0.0.1:{port}/lab?token={token}\n")
    sys.stdout.flush()
    os.execv(argv[0], argv)


def lab_command(workspace_dir: Path, port: int, token: str) -> list[str]:
    """The exact JupyterLab command line `aie lab` runs (tests start it the same way)."""
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    argv = [
        jupyter,
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={workspace_dir}",
        f"--IdentityProvider.token={token}",
        "--MultiKernelManager.default_kernel_name=aie",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def check(
    notebook: Annotated[
        Path, typer.Argument(help="your notebook, e.g. workspace/00_prereqs/01_cosine_similarity.ipynb")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
    timeout: Annotated[int | None, typer.Option(help="seconds per cell (default: AIE_CELL_TIMEOUT or 300)")] = None,
) -> None:
    """Run your notebook with its visible tests and show the score of each graded cell.

    For each visible test that fails it prints the author's hint. Every check is appended to your workspace's
    record, <workspace>/.aie/progress.jsonl, which `aie progress` and `aie solutions` read.
    """
    from autograder import CourseError, check_notebook
    from autograder.progress import CheckRecord, append_record, learner_root

    try:
        report = check_notebook(notebook, timeout=timeout)
    except (CourseError, RoadmapError) as exc:
        fail(str(exc))
    root = learner_root(notebook)
    record = CheckRecord.now(
        notebook.resolve().relative_to(root).as_posix(),
        report.roadmap_notebook,
        report.roadmap_items,
        report.score,
        report.max_score,
    )
    try:
        append_record(root, record)
    except OSError as exc:
        warn(f"this check was not recorded ({exc})")
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1))
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=f"{notebook}  ({', '.join(report.roadmap_items)})")
        for col in ("cell", "points", "result", "first line of failure"):
            table.add_column(col)
        colours = {
            "passed": "green",
            "partial": "yellow",
            "failed": "red",
            "timeout": "red",
            "not run": "red",
            "manual": "yellow",
        }
        for c in report.cells:
            pts = f"{c.score:g}/{c.points:g}" if c.kind == "test" else f"–/{c.points:g}"
            table.add_row(c.grade_id, pts, f"[{colours[c.status]}]{c.status}[/]", c.message)
        console = Console()
        console.print(table)
        for note in report.notes:
            console.print(f"[yellow]note:[/] {note}")
        for grade_id, hint in report.hints.items():
            console.print(Text.assemble(("hint", "cyan bold"), f" for {grade_id}: {hint}"))
        console.print(
            f"score: {report.score:g}/{report.max_score:g} (visible tests; hidden tests run at grading)  {report.seconds:.1f} s"
        )
    raise typer.Exit(0 if report.passed else 1)


def solutions(
    notebook: Annotated[
        Path, typer.Argument(help="your notebook, e.g. workspace/00_prereqs/01_cosine_similarity.ipynb")
    ],
    force: Annotated[bool, typer.Option(help="replace an existing <stem>.solution.ipynb")] = False,
) -> None:
    """Place the model solution beside your notebook as <stem>.solution.ipynb (never over your file).

    The copy is the course's source notebook: the solutions, the hidden tests and the rubrics of the written
    answers. It is given only once `aie check` has recorded a check of this very notebook. That gate is an
    honour system (the record is your own file): try the exercises first.
    """
    from autograder import CourseError
    from autograder.solutions import SolutionRefused, place_solution

    try:
        target, warnings = place_solution(notebook, force=force)
    except SolutionRefused as exc:
        fail(str(exc), code=1)
    except (CourseError, RoadmapError) as exc:
        fail(str(exc))
    for line in warnings:
        warn(line)
    typer.echo(f"model solution: {target}")
    typer.echo("it holds the solutions, hidden tests and rubrics; the gate is honour-system, your record is yours")


def progress(
    path: Annotated[Path, typer.Option(help="learner workspace folder")] = REPO_ROOT / "workspace",
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """The roadmap with each notebook's latest `aie check` score and what is left, from the workspace's record."""
    from autograder.progress import progress as build_progress
    from autograder.progress import read_records, record_path
    from curriculum.roadmap import load_roadmap

    try:
        roadmap = load_roadmap()
    except RoadmapError as exc:
        fail(str(exc))
    if path.exists() and not path.is_dir():
        fail(f"{path}: is a file, not a workspace folder")
    records, warnings = read_records(path)
    for line in warnings:
        warn(line)
    phases = build_progress(roadmap, records)
    if as_json:
        data = {"record": str(record_path(path)), "phases": [p.to_dict() for p in phases], "warnings": warnings}
        typer.echo(json.dumps(data, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for phase in phases:
        table = Table(title=f"{phase.id} · {phase.title}", title_justify="left")
        table.add_column("notebook", no_wrap=True)
        table.add_column("roadmap items", overflow="fold")
        for col in ("points", "latest check", "when", "left"):
            table.add_column(col)
        for n in phase.notebooks:
            score = f"{n.score:g}/{n.max_score:g}" if n.checked else "–"
            when = n.checked_at.replace("T", " ").replace("+00:00", " UTC") if n.checked_at else "–"
            colour = "green" if n.left == "done" else "yellow" if n.checked else "red"
            name, items = n.notebook.split("/", 1)[1], "\n".join(n.items)
            left = f"[{colour}]{n.left}[/]" if n.ready else n.left
            table.add_row(name, items, f"{n.points:g}", score, when, left, style=None if n.ready else "dim")
        table.add_section()
        table.add_row(
            "total",
            f"{phase.checked}/{len(phase.notebooks)} checked",
            f"{phase.points:g}",
            f"{phase.score:g}/{phase.max_score:g}",
            "",
            "",
            style="bold",
        )
        console.print(table)
    if not records:
        console.print(f"no checks on record yet in {record_path(path)}: run `aie check NOTEBOOK` in your workspace")


def grade(
    submissions: Annotated[
        Path | None,
        typer.Option(help="folder of submissions: <student>/<phase>/<notebook>.ipynb (default: submitted/)"),
    ] = None,
    timeout: Annotated[int | None, typer.Option(help="seconds per cell before it is stopped and scored 0")] = None,
    feedback: Annotated[bool, typer.Option(help="write feedback HTML per student")] = True,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="notebooks graded in parallel on this machine")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://HOST:8786: grade on its workers instead")
    ] = None,
    student: Annotated[str | None, typer.Option(help="grade only this student's submissions")] = None,
    force: Annotated[bool, typer.Option(help="regrade submissions that are already graded and unchanged")] = False,
    no_sandbox: Annotated[
        bool, typer.Option("--no-sandbox", help="run submissions without bubblewrap (trusted submissions only)")
    ] = False,
    memory: Annotated[int, typer.Option(help="memory limit per notebook, in MB")] = 4096,
    wall_time: Annotated[int, typer.Option(help="time limit per notebook, in seconds")] = 1800,
) -> None:
    """Autograde every submission in a sandbox, write feedback HTML and the gradebook CSV exports."""
    from tqdm import tqdm

    from autograder import NO_SANDBOX_WARNING, CourseError, Limits, grade_submissions

    if no_sandbox:
        typer.secho(NO_SANDBOX_WARNING, err=True, fg="red", bold=True)
    course = _course(timeout)
    bar = tqdm(total=0, unit="submission", file=sys.stderr, disable=None)

    def progress(event) -> None:
        if event.kind == "start":
            bar.reset(total=event.total)
        elif event.kind in ("graded", "failed"):
            bar.update(1)
            bar.write(f"{event.kind:<7} {event.student}/{event.phase}  {event.detail}", file=sys.stderr)
        elif event.kind == "skipped":
            bar.write(f"skipped {event.student}/{event.phase}  ({event.detail})", file=sys.stderr)

    try:
        report = grade_submissions(
            course,
            submissions,
            feedback=feedback,
            jobs=jobs,
            scheduler=scheduler,
            student=student,
            force=force,
            sandbox=not no_sandbox,
            limits=Limits(memory_mb=memory, wall_seconds=wall_time),
            progress=progress,
        )
    except CourseError as exc:
        bar.close()
        fail(str(exc))
    bar.close()
    for row in report.rows:
        typer.echo(
            f"{row.student:<16} {row.phase}/{row.notebook:<32} {row.auto_score:g}/{row.auto_max:g}  {row.status}"
            + (f"  (+{row.manual_pending:g} to grade by hand)" if row.manual_pending else "")
        )
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    for failure in report.failures:
        typer.echo(f"could not grade {failure}", err=True)
    if report.limits:
        typer.echo("limits: " + "; ".join(f"{k} {v}" for k, v in report.limits.items()))
    typer.echo("exports: " + ", ".join(str(p) for p in report.exports.values()))
    typer.echo(f"feedback: {report.feedback_dir}/  ({report.seconds:.0f} s)")
    raise typer.Exit(1 if report.failures else 0)


def register(app: typer.Typer) -> None:
    """Add the learner and instructor commands to the main ``aie`` app."""
    for command in (release, workspace, lab, check, solutions, progress, grade):
        app.command(command.__name__)(command)
