"""Grading throughput: a generated class graded at --jobs 1 and 2, the sandbox's cost, a 2-worker Dask cluster.

The class: 40 submissions of ``00_prereqs/01_cosine_similarity`` (the phase's quickest notebook): 10 correct,
10 blank releases, 10 wrong answers (four kinds), 10 hostile ones (the attacks of ``tests/grading/attacks``
except the endless loop, which would only measure its own timeout). Printed: seconds per submission, the
throughput of --jobs 2 against --jobs 1, the sandbox's overhead per notebook (the median difference of runs of
the same notebook with and without it, alternated so both see the same load: a one-cell notebook and the real
one), and the same class on a ``LocalCluster`` with two
worker processes. Also, as before, how long a learner waits for ``aie check``. The load average is printed
with every figure: on a shared machine it moves them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from curriculum.roadmap import REPO_ROOT

PHASE, NAME = "00_prereqs", "01_cosine_similarity"
NOTEBOOK = REPO_ROOT / PHASE / f"{NAME}.ipynb"
ATTACKS = REPO_ROOT / "tests" / "grading" / "attacks"
HOSTILE = (
    "source_lookup",
    "tamper",
    "secrets_and_network",
    "print_hidden_tests",
    "patched_checks",
    "input_transformer",
    "kernel_exit",
    "edited_tests",
)
WRONG = [
    ("dot", "import math\n\n\ndef dot(a, b):\n    return sum(x * y for x, y in zip(a, b))\n"),
    ("norm", "def norm(a):\n    return sum(abs(x) for x in a)\n"),
    ("cosine", "def cosine_similarity(a, b):\n    return dot(a, b) / (norm(a) * norm(b))\n"),
    ("cosine", "def cosine_similarity(a, b):\n    return 1.0\n"),
]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min) on {os.cpu_count()} cores"


def _kit():
    sys.path.insert(0, str(REPO_ROOT / "tests" / "grading"))
    import submission_kit

    return submission_kit


def generate_class(folder: Path, release_nb: Path, size: int = 40) -> list[str]:
    """Write ``size`` submissions under ``folder``; returns the student ids."""
    kit = _kit()
    replace = {"COURSE_ROOT": str(folder.parent / "course"), "REPO_ROOT": str(REPO_ROOT), "PORT": "9"}
    kinds = ["correct", "blank", "wrong", "hostile"]
    students = []
    for i in range(size):
        kind = kinds[i % len(kinds)]
        if kind == "correct":
            nb = nbformat.read(NOTEBOOK, as_version=4)
        elif kind == "blank":
            nb = nbformat.read(release_nb, as_version=4)
        elif kind == "wrong":
            nb = kit.edited_notebook(NOTEBOOK, [("cell", *WRONG[(i // len(kinds)) % len(WRONG)])])
        else:
            nb = kit.attack_notebook(HOSTILE[(i // len(kinds)) % len(HOSTILE)], NOTEBOOK, replace)
        student = f"s{i:03d}-{kind}"
        (folder / student / PHASE).mkdir(parents=True)
        nbformat.write(nb, folder / student / PHASE / f"{NAME}.ipynb")
        students.append(student)
    return students


def grade_class(size: int, **options) -> tuple[float, int, str]:
    """Grade a fresh class in a fresh course; returns (seconds, submissions, load average after) and prints the
    coordinator's own share (preparing, scoring, writing: the serial part)."""
    from autograder import Course, grade_submissions, release

    with tempfile.TemporaryDirectory(prefix="aie-grade-bench-") as tmp:
        course = Course(root=Path(tmp) / "course", notebooks_root=REPO_ROOT, timeout=120)
        release(course, [PHASE])  # the release is not what is measured
        students = generate_class(Path(tmp) / "incoming", course.release_dir(PHASE) / f"{NAME}.ipynb", size)
        started = time.perf_counter()
        report = grade_submissions(course, Path(tmp) / "incoming", feedback=True, **options)
        seconds = time.perf_counter() - started
        graded = {r.student for r in report.rows if r.notebook == NAME and r.status == "graded"}
        print(f"  coordinator: {report.coordinator_seconds / len(students):.2f} s per submission (serial)")
        if graded != set(students):
            print(f"  note: {len(set(students) - graded)} submission(s) not graded: {report.failures[:3]}")
    return seconds, len(students), _load()


def paired_runs(job: dict, pairs: int) -> tuple[float, float, float]:
    """Median seconds with and without the sandbox, and the median of the paired differences (alternated runs,
    so both see the same load)."""
    from autograder.sandbox import run_notebook

    boxed, bare, diffs = [], [], []
    for i in range(pairs):
        order = (True, False) if i % 2 == 0 else (False, True)
        times = {sandbox: run_notebook(job, sandbox=sandbox)["seconds"] for sandbox in order}
        boxed.append(times[True])
        bare.append(times[False])
        diffs.append(times[True] - times[False])
    return statistics.median(boxed), statistics.median(bare), statistics.median(diffs)


def notebook_job(nb: nbformat.NotebookNode) -> dict:
    from autograder.plan import build_plan, make_job

    return make_job(nb, build_plan(nb, nb), 120)


def check_wait(runs: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / PHASE / NOTEBOOK.name
        target.parent.mkdir()
        shutil.copy(NOTEBOOK, target)
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "curriculum.cli", "check", str(target), "--json"], capture_output=True
            )
            seconds.append(time.perf_counter() - start)
    print(f"aie check {PHASE}/{NOTEBOOK.name}: median {statistics.median(seconds):.2f} s over {runs} runs  [{_load()}]")


def main() -> None:
    from distributed import LocalCluster

    print(f"start  [{_load()}]")
    one_cell = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    one_cell.metadata["kernelspec"] = {"name": "aie", "display_name": "aie", "language": "python"}
    boxed, bare, diff = paired_runs(notebook_job(one_cell), pairs=8)
    print(
        f"one-cell notebook, 8 alternated pairs: {boxed:.2f} s in the sandbox, {bare:.2f} s without; "
        f"sandbox overhead (median of pair differences) {diff:+.2f} s  [{_load()}]"
    )
    boxed, bare, diff = paired_runs(notebook_job(nbformat.read(NOTEBOOK, as_version=4)), pairs=6)
    print(
        f"{NAME} (solution), 6 alternated pairs: {boxed:.2f} s in the sandbox, {bare:.2f} s without; "
        f"sandbox overhead {diff:+.2f} s per notebook  [{_load()}]"
    )
    s1, n, load = grade_class(40, jobs=1)
    print(f"{n} submissions (correct, blank, wrong, hostile), --jobs 1: {s1:.0f} s, {s1 / n:.2f} s each  [{load}]")
    s2, n, load = grade_class(40, jobs=2)
    print(
        f"{n} submissions, --jobs 2: {s2:.0f} s, {s2 / n:.2f} s each; throughput x{s1 / s2:.2f} of --jobs 1  [{load}]"
    )
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        sd, n, load = grade_class(40, scheduler=cluster.scheduler_address)
    print(
        f"{n} submissions, Dask LocalCluster (2 worker processes): {sd:.0f} s, {sd / n:.2f} s each; "
        f"x{s1 / sd:.2f} of --jobs 1  [{load}]"
    )
    check_wait()
