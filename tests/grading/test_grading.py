"""The instructor path: broken submissions are graded without stopping the others."""

import csv
import json
import shutil

import nbformat
import pytest

from autograder import Course, CourseError, grade_submissions
from curriculum.roadmap import REPO_ROOT

COSINE = REPO_ROOT / "00_prereqs" / "01_cosine_similarity.ipynb"

BROKEN = {
    "dot": "def dot(a, b):\n    return sum(x * y for x, y in zip(a, b)\n",  # syntax error
    "norm": "def norm(a):\n    while True:\n        pass\n",  # infinite loop, stopped by the cell timeout
    "cosine": "def cosine_similarity(a, b):\n    raise RuntimeError('not today')\n",  # exception
}


def _broken_copy(dest):
    nb = nbformat.read(COSINE, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in BROKEN:
            cell.source = BROKEN[grade_id]
    nbformat.write(nb, dest)


@pytest.mark.slow
def test_broken_submissions_score_zero_per_cell_and_others_are_still_graded(tmp_path):
    subs = tmp_path / "incoming"
    (subs / "alice" / "00_prereqs").mkdir(parents=True)
    (subs / "zed" / "00_prereqs").mkdir(parents=True)
    shutil.copy(COSINE, subs / "alice" / "00_prereqs" / COSINE.name)
    _broken_copy(subs / "zed" / "00_prereqs" / COSINE.name)
    course = Course(root=tmp_path / "course", notebooks_root=REPO_ROOT, timeout=5)

    report = grade_submissions(course, subs)

    assert not report.failures
    rows = {(r.student, r.notebook): r for r in report.rows}
    assert rows[("alice", "01_cosine_similarity")].auto_score == rows[("alice", "01_cosine_similarity")].auto_max > 0
    assert rows[("zed", "01_cosine_similarity")].auto_score == 0
    with report.gradebook_csv.open() as fh:
        table = list(csv.DictReader(fh))
    assert {r["student"] for r in table} == {"alice", "zed"}
    feedback = course.feedback_dir() / "zed" / "00_prereqs" / "01_cosine_similarity.html"
    assert feedback.exists()
    html = feedback.read_text()
    for shown in ("SyntaxError", "CellTimeoutError", "RuntimeError", "not today"):
        assert shown in html, f"feedback does not show {shown}"
    # the incoming folder is left as it was
    assert sorted(p.name for p in subs.iterdir()) == ["alice", "zed"]


def test_wrong_submission_layout_says_which_layout_is_expected(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "cosine.ipynb").write_text(json.dumps({"cells": []}))
    with pytest.raises(CourseError, match=r"expected layout: <submissions>/<student_id>/<phase>/<notebook>\.ipynb"):
        grade_submissions(Course(root=tmp_path / "course"), tmp_path)


def test_missing_submission_folder_is_reported(tmp_path):
    with pytest.raises(CourseError, match="no such folder"):
        grade_submissions(Course(root=tmp_path / "course"), tmp_path / "nope")
