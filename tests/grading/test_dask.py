"""Grading on a Dask cluster: a LocalCluster with two worker processes, each running the same sandbox."""

from __future__ import annotations

import pytest
from submission_kit import edited_notebook, needs_bwrap

from autograder import Course, grade_submissions
from curriculum.roadmap import REPO_ROOT

PHASE, NAME = "00_prereqs", "01_cosine_similarity"
SOURCE = REPO_ROOT / PHASE / f"{NAME}.ipynb"


@pytest.mark.slow
@needs_bwrap
def test_a_two_worker_cluster_grades_into_one_gradebook(tmp_path):
    import nbformat
    from distributed import LocalCluster

    students = {
        "solution": nbformat.read(SOURCE, as_version=4),
        "nodot": edited_notebook(SOURCE, [("cell", "dot", "import math\n")]),
    }
    for student, nb in students.items():
        (tmp_path / "subs" / student / PHASE).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "subs" / student / PHASE / f"{NAME}.ipynb")
    course = Course(root=tmp_path / "course", notebooks_root=REPO_ROOT, timeout=120)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        report = grade_submissions(course, tmp_path / "subs", scheduler=cluster.scheduler_address)
    assert not report.failures
    scores = {r.student: r.auto_score for r in report.rows if r.notebook == NAME}
    assert scores == {"solution": 10, "nodot": 0}
    assert report.exports["canvas"].read_text().count("\n") == 4  # header, points possible, two students
