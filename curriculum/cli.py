"""The ``aie`` command line: parses arguments and calls the library; no logic of its own.

Errors in what the user gave (a missing file, a corrupt notebook, a wrong folder layout) print
one line naming the input and the reason, and exit with code 2.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import shutil
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

warnings.filterwarnings("ignore", message=r".*not in session.*")  # nbgrader's gradebook under SQLAlchemy 2.1

from curriculum.roadmap import REPO_ROOT, RoadmapError, load_roadmap, repository_problems

app = typer.Typer(
    help="AI Engineer Track: graded notebooks for the AI Engineer roadmap, and the capstone service.",
    no_args_is_help=True,
    add_completion=False,
)
kernel_app = typer.Typer(help="The project's Jupyter kernel (venv Python + offline environment).", no_args_is_help=True)
app.add_typer(kernel_app, name="kernel")

# Command groups that live with the code they drive register themselves here.
EXTENSIONS = ("capstone.cli", "curriculum.wiki.cli")


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit (2: the input was wrong)."""
    typer.echo(f"aie: error: {message}", err=True)
    raise typer.Exit(code)


def _course(timeout: int | None = None, root: Path | None = None):
    """The instructor's course (``AIE_COURSE_ROOT``, default the repository root)."""
    from autograder import Course

    root = root or Path(os.environ.get("AIE_COURSE_ROOT", REPO_ROOT))
    return Course(root=root, timeout=timeout)


# The learner's releases are generated in a course of their own, so that building a workspace never touches
# an instructor's gradebook (nbgrader refuses to regenerate an assignment that has submissions).
LEARNER_COURSE = REPO_ROOT / ".aie" / "learner-course"


@kernel_app.command("install")
def kernel_install() -> None:
    """Install the 'aie' kernel spec into this virtual environment."""
    from curriculum.kernel import install_kernel, install_lab_settings

    typer.echo(f"installed kernel spec: {install_kernel()}")
    typer.echo(f"JupyterLab settings (offline: no news, no update checks): {install_lab_settings()}")


@app.command()
def roadmap(
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Show the roadmap: phases, items, their notebooks and whether they are built."""
    try:
        rm = load_roadmap()
    except RoadmapError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([{"phase": i.phase, **{k: getattr(i, k) for k in ("id", "kind", "text", "notebook", "wiki", "points", "status")}} for i in rm.items], indent=1))
        return
    for phase in rm.phases:
        typer.echo(f"\n{phase.title}  ({phase.id})")
        for item in phase.items:
            mark = "✓" if item.ready else "·"
            arrow = "→ " if item.hands_on else ""
            typer.echo(f"  {mark} {arrow}{item.text}  [{item.notebook_path}, {item.points} pts]")
    problems = repository_problems(rm)
    if problems:
        typer.echo("\nproblems:\n  " + "\n  ".join(problems))


@app.command()
def release(
    phase: Annotated[Optional[str], typer.Argument(help="phase folder, e.g. 00_prereqs; default: all phases")] = None,
) -> None:
    """Generate the student version (solutions and hidden tests stripped) into release/."""
    from autograder import CourseError, release as do_release

    course = _course()
    try:
        released = do_release(course, [phase] if phase else None)
    except CourseError as exc:
        fail(str(exc))
    for ph, paths in released.items():
        typer.echo(f"{ph}: {len(paths)} notebook(s) -> {course.release_dir(ph).relative_to(REPO_ROOT)}/")


@app.command()
def workspace(
    path: Annotated[Path, typer.Option(help="learner workspace folder")] = REPO_ROOT / "workspace",
) -> None:
    """Release every phase and copy the notebooks into the learner workspace (never overwriting your edits)."""
    from autograder import CourseError, release as do_release, sync_workspace

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


@app.command()
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
        jupyter, "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={workspace_dir}", f"--IdentityProvider.token={token}",
        "--MultiKernelManager.default_kernel_name=aie",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


@app.command()
def check(
    notebook: Annotated[Path, typer.Argument(help="your notebook, e.g. workspace/00_prereqs/01_cosine_similarity.ipynb")],
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
    timeout: Annotated[Optional[int], typer.Option(help="seconds per cell (default: AIE_CELL_TIMEOUT or 300)")] = None,
) -> None:
    """Run your notebook with its visible tests and show the score of each graded cell."""
    from autograder import CourseError, check_notebook

    try:
        report = check_notebook(notebook, timeout=timeout)
    except (CourseError, RoadmapError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{notebook}  ({', '.join(report.roadmap_items)})")
        for col in ("cell", "points", "result", "first line of failure"):
            table.add_column(col)
        colours = {"passed": "green", "failed": "red", "timeout": "red", "manual": "yellow"}
        for c in report.cells:
            pts = f"{c.score:g}/{c.points:g}" if c.kind == "test" else f"–/{c.points:g}"
            table.add_row(c.grade_id, pts, f"[{colours[c.status]}]{c.status}[/]", c.message)
        console = Console()
        console.print(table)
        console.print(f"score: {report.score:g}/{report.max_score:g} (visible tests; hidden tests run at grading)  {report.seconds:.1f} s")
    raise typer.Exit(0 if report.passed else 1)


@app.command()
def grade(
    submissions: Annotated[Optional[Path], typer.Option(help="folder of submissions: <student>/<phase>/<notebook>.ipynb (default: submitted/)")] = None,
    timeout: Annotated[Optional[int], typer.Option(help="seconds per cell before it is stopped and scored 0")] = None,
    feedback: Annotated[bool, typer.Option(help="write feedback HTML per student")] = True,
) -> None:
    """Autograde every submission, write feedback HTML and export gradebook.csv."""
    from autograder import CourseError, grade_submissions

    course = _course(timeout)
    try:
        report = grade_submissions(course, submissions, feedback=feedback)
    except CourseError as exc:
        fail(str(exc))
    for row in report.rows:
        typer.echo(f"{row.student:<16} {row.phase}/{row.notebook:<32} {row.auto_score:g}/{row.auto_max:g}"
                   + (f"  (+{row.manual_pending:g} to grade by hand)" if row.manual_pending else ""))
    for failure in report.failures:
        typer.echo(f"could not grade {failure}", err=True)
    typer.echo(f"gradebook: {report.gradebook_csv}\nfeedback: {report.feedback_dir}/")
    raise typer.Exit(1 if report.failures else 0)


def _register_extensions() -> None:
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part of the project is not installed in this checkout
            raise
        module.register(app)


_register_extensions()

if __name__ == "__main__":
    app()
