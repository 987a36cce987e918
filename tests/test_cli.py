"""The aie command line: bad input gets one clear line and exit code 2, and nothing is written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from autograder.cli import lab_command
from curriculum.cli import app
from curriculum.roadmap import REPO_ROOT

runner = CliRunner()


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("missing.ipynb", None, "no such file"),
        ("notes.txt", "hello", "not a notebook"),
        ("01_cosine_similarity.ipynb", '{"cells": [', "corrupt notebook JSON"),
        ("99_unknown.ipynb", nbformat.writes(nbformat.v4.new_notebook()), "not a notebook of the roadmap"),
    ],
)
def test_check_rejects_bad_input_with_one_line_and_exit_2(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    before = _snapshot(tmp_path)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert reason in result.output
    assert str(path) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _snapshot(tmp_path) == before


def test_grade_with_wrong_layout_names_the_expected_layout(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "answers.ipynb").write_text("{}")
    result = runner.invoke(app, ["grade", "--submissions", str(tmp_path)])
    assert result.exit_code == 2
    assert "expected layout: <submissions>/<student_id>/<phase>/<notebook>.ipynb" in result.output


def test_help_lists_the_commands_of_every_group():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "lab",
        "check",
        "release",
        "grade",
        "workspace",
        "roadmap",
        "kernel",
        "serve",
        "ingest",
        "user",
        "eval",
        "wiki",
    ):
        assert f" {command} " in result.output


def test_roadmap_json_lists_every_item():
    result = runner.invoke(app, ["roadmap", "--json"])
    items = json.loads(result.output)
    assert {"cosine-similarity", "meeting-agent", "int8-quantization"} <= {i["id"] for i in items}


@pytest.mark.slow
def test_check_scores_the_release_zero_and_the_solution_full(tmp_path):
    """`aie check --json` as a learner runs it, on a copy of the solution and of the blank release."""
    aie = [sys.executable, "-m", "curriculum.cli"]
    phase = tmp_path / "00_prereqs"
    phase.mkdir()
    solved = phase / "01_cosine_similarity.ipynb"
    solved.write_bytes((REPO_ROOT / "00_prereqs" / solved.name).read_bytes())
    done = subprocess.run([*aie, "check", str(solved), "--json"], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert report["score"] == report["max_score"] > 0
    blank = nbformat.read(solved, as_version=4)
    for cell in blank.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source = "raise NotImplementedError()"
    nbformat.write(blank, solved)
    done = subprocess.run([*aie, "check", str(solved), "--json"], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert report["score"] == 0
    assert all(c["status"] == "failed" and c["message"] for c in report["cells"] if c["kind"] == "test")


def test_lab_command_binds_loopback_uses_the_project_kernel_and_allows_root(tmp_path):
    argv = lab_command(tmp_path, 8899, "tok")
    assert "--ServerApp.ip=127.0.0.1" in argv
    assert "--IdentityProvider.token=tok" in argv
    assert "--MultiKernelManager.default_kernel_name=aie" in argv
    assert ("--allow-root" in argv) == (os.geteuid() == 0)


def test_check_fails_a_test_cell_that_writes_to_stderr_as_the_grader_does():
    from autograder.scoring import score_cells

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import warnings; warnings.warn('old')", execution_count=1)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1, "locked": True}
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: old\n")]
    nb.cells = [cell]
    (result,) = score_cells(nb)
    assert result.status == "failed" and result.score == 0
    assert "UserWarning: old" in result.message
