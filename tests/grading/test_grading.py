"""The instructor path: bad input named clearly (the graded class of broken and hostile work is test_attacks.py)."""

import json

import nbformat
import pytest
from submission_kit import edited_notebook, needs_bwrap

from autograder import Course, CourseError, grade_submissions, release
from autograder.plan import hidden_lines, is_test_cell
from curriculum.net import free_port
from curriculum.roadmap import REPO_ROOT


def test_wrong_submission_layout_says_which_layout_is_expected(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "cosine.ipynb").write_text(json.dumps({"cells": []}))
    with pytest.raises(CourseError, match=r"expected layout: <submissions>/<student_id>/<phase>/<notebook>\.ipynb"):
        grade_submissions(Course(root=tmp_path / "course"), tmp_path)


def test_missing_submission_folder_is_reported(tmp_path):
    with pytest.raises(CourseError, match="no such folder"):
        grade_submissions(Course(root=tmp_path / "course"), tmp_path / "nope")


@pytest.mark.slow
def test_a_scheduler_that_does_not_answer_is_named_and_nothing_is_written(tmp_path):
    from nbgrader.api import Gradebook

    (tmp_path / "subs" / "alice" / "00_prereqs").mkdir(parents=True)
    source = REPO_ROOT / "00_prereqs" / "01_cosine_similarity.ipynb"
    (tmp_path / "subs" / "alice" / "00_prereqs" / source.name).write_bytes(source.read_bytes())
    course = Course(root=tmp_path / "course", notebooks_root=REPO_ROOT)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(CourseError, match=f"scheduler at {address} did not answer.*nothing was graded"):
        grade_submissions(course, tmp_path / "subs", scheduler=address, sandbox=False)
    with Gradebook(course.db_url) as gb:
        assert gb.students == []


@pytest.mark.slow
@needs_bwrap
def test_nbgraders_own_autograde_runs_in_the_sandbox_and_its_feedback_hides_hidden_tests(tmp_path):
    """Formgrader's buttons call nbgrader's autograde and generate_feedback: they get the same sandbox and feedback."""
    source = REPO_ROOT / "00_prereqs" / "01_cosine_similarity.ipynb"
    probe = f"import os\nprint('repository:', sorted(os.listdir({str(REPO_ROOT)!r})))"
    course = Course(root=tmp_path / "course", notebooks_root=REPO_ROOT, timeout=120)
    release(course, ["00_prereqs"])
    (course.submitted_dir() / "alice" / "00_prereqs").mkdir(parents=True)
    nbformat.write(
        edited_notebook(source, [("after", "dot", probe)]),
        course.submitted_dir() / "alice" / "00_prereqs" / source.name,
    )
    api = course.api()
    assert api.autograde("00_prereqs", "alice", force=True, create=True)["success"]
    assert api.generate_feedback("00_prereqs", "alice", force=True)["success"]
    graded = nbformat.read(course.autograded_dir() / "alice" / "00_prereqs" / source.name, as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert "repository:" in printed and "00_prereqs" not in printed.split("repository:")[1].splitlines()[0]
    html = (course.feedback_dir() / "alice" / "00_prereqs" / "01_cosine_similarity.html").read_text()
    hidden = [ln for c in nbformat.read(source, as_version=4).cells if is_test_cell(c) for ln in hidden_lines(c.source)]
    assert "Score: 10.0 / 10.0" in html or "(Score: 10" in html
    assert not [ln for ln in hidden if len(ln) >= 12 and ln in html]


def test_grade_command_offers_parallel_cluster_resume_and_sandbox_options():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "curriculum.cli", "grade", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "TERM": "dumb"},
    )
    for option in ("--jobs", "--scheduler", "--student", "--force", "--no-sandbox", "--memory", "--wall-time"):
        assert option in done.stdout, option
