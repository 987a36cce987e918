"""The grader's pure parts: what the guard may trust, how a dead kernel is scored, what feedback shows, exports."""

from __future__ import annotations

import nbformat
import pytest

from autograder.exports import canvas_table, notebook_table
from autograder.feedback import WITHHELD_MESSAGE, WITHHELD_OUTPUT, HideHiddenTests, scrub
from autograder.gradebook import CellRow
from autograder.plan import build_plan, hidden_lines, visible_part
from autograder.scoring import apply_run, score_cells

TEST_SOURCE = (
    "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(-1) == 0, 'f must clamp at zero'\n### END HIDDEN TESTS"
)


def _cell(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "task": False, **nbgrader}
    return cell


def _notebook():
    return nbformat.v4.new_notebook(
        cells=[
            _cell("import numpy as np\nfrom tools import to_utc\ndef helper():\n    return 1"),
            _cell("def to_utc(x):\n    raise NotImplementedError()", grade=False, solution=True, grade_id="to_utc"),
            _cell(TEST_SOURCE, grade=True, solution=False, grade_id="test_f", points=3),
            _cell("print('after the tests')"),
            _cell("assert f(2) == 3", grade=True, solution=False, grade_id="test_g", points=2),
        ]
    )


def test_the_guard_trusts_released_imports_but_not_names_the_learner_must_write():
    release = _notebook()
    plan = build_plan(release, release)
    assert "import numpy as np" in plan.guard["trusted_imports"]
    assert not any("to_utc" in s for s in plan.guard["trusted_imports"])
    assert plan.tests == {2: "test_f", 4: "test_g"} and plan.hidden_from[2] == 2
    assert plan.intact[0] == ["helper"]


def test_a_released_cell_the_learner_changed_is_not_trusted():
    release, submitted = _notebook(), _notebook()
    submitted.cells[0].source = "def helper():\n    return 2"
    assert 0 not in build_plan(submitted, release).intact


def test_a_dead_kernel_scores_what_ran_and_gives_later_tests_an_error_naming_the_cell():
    nb = _notebook()
    run = {
        "events": [
            {"event": "cell", "index": 0, "execution_count": 1, "outputs": [], "aie": {"status": "ran"}},
            {"event": "cell", "index": 1, "execution_count": 2, "outputs": [], "aie": {"status": "ran"}},
            {"event": "cell", "index": 2, "execution_count": 3, "outputs": [], "aie": {"status": "passed"}},
            {"event": "died", "index": 3, "reason": "the kernel died"},
        ]
    }
    executed, summary = apply_run(nb, run)
    assert summary.died_at == 3
    cells = {c.grade_id: c for c in score_cells(executed)}
    assert (cells["test_f"].score, cells["test_f"].status) == (3, "passed")
    assert (cells["test_g"].score, cells["test_g"].status) == (0, "not run")
    assert "cell 4" in cells["test_g"].message


def test_a_run_stopped_without_a_word_counts_as_stopped_after_its_last_cell():
    nb = _notebook()
    run = {"ended": "wall-time", "events": [{"event": "cell", "index": 0, "execution_count": 1, "outputs": []}]}
    executed, summary = apply_run(nb, run)
    assert summary.died_at == 1 and "wall-time" in summary.reason
    assert {c.grade_id: c.score for c in score_cells(executed) if c.kind == "test"} == {"test_f": 0, "test_g": 0}


def test_scrub_withholds_what_quotes_hidden_tests():
    hidden = hidden_lines(TEST_SOURCE)
    assert scrub("AssertionError: f must clamp at zero", hidden) == "AssertionError: f must clamp at zero"
    assert scrub("ValueError: assert f(-1) == 0, 'f must clamp at zero'", hidden) == WITHHELD_MESSAGE
    assert scrub("RuntimeError: f(-1)==0,'fmustclamp", hidden, raised_by_test=False) == WITHHELD_MESSAGE
    assert scrub("RuntimeError: not today", hidden, raised_by_test=False) == "RuntimeError: not today"


def test_feedback_shows_the_visible_part_one_line_for_the_hidden_part_and_nothing_printed_after():
    nb = _notebook()
    nb.cells[2].execution_count = 3
    nb.cells[2].metadata["aie"] = {
        "status": "failed",
        "message": "AssertionError: f must clamp at zero",
        "lineno": 3,
        "raised_by_test": True,
    }
    nb.cells[2].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="x", traceback=[TEST_SOURCE])]
    nb.cells[3].execution_count = 4
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="assert f(-1) == 0\n")]
    out, _ = HideHiddenTests().preprocess(nb, {})
    assert out.cells[2].source.startswith(visible_part(TEST_SOURCE)) and "f(-1)" not in out.cells[2].source
    assert out.cells[2].outputs[0]["traceback"] == [
        "visible tests: passed",
        "hidden tests: failed: AssertionError: f must clamp at zero",
    ]
    assert out.cells[3].outputs[0]["text"].strip() == WITHHELD_OUTPUT
    assert "aie" not in out.cells[2].metadata


def test_canvas_sheet_has_the_import_columns_a_points_row_and_one_column_per_phase():
    rows = [
        CellRow("ann", "00_prereqs", "01", "t1", "autograded", 3.0, None, 3.0, 3.0, False),
        CellRow("ann", "00_prereqs", "01", "q1", "manual", None, 4.0, 4.0, 5.0, False),
        CellRow("bob", "00_prereqs", "01", "t1", "autograded", 0.0, None, 0.0, 3.0, False),
        CellRow("bob", "00_prereqs", "01", "q1", "manual", None, None, 0.0, 5.0, True),
    ]
    table = canvas_table(rows, ["00_prereqs", "01_junior"])
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "00_prereqs"]
    assert table[1][-1] == "8" and table[2] == ["ann", "", "ann", "ann", "", "7"]
    bob = [t for t in notebook_table(rows) if t["student"] == "bob"][0]
    assert (bob["auto_score"], bob["auto_max"], bob["manual_pending"]) == (0.0, 3.0, 5.0)


def _with_measurement():
    """The toy notebook with two trailing measurement cells tagged skip-when-graded."""
    nb = _notebook()
    for source in ("import time\nMEASURED = time.sleep(120)", "print(MEASURED)"):
        cell = _cell(source)
        cell.metadata["tags"] = ["skip-when-graded"]
        nb.cells.append(cell)
    return nb


def test_measurements_tagged_skip_when_graded_are_skipped_unless_the_learner_edited_them():
    release = submitted = _with_measurement()
    assert build_plan(submitted, release).skip == [5, 6]
    edited = _with_measurement()
    edited.cells[6].source = "print('mine')"
    assert build_plan(edited, release).skip == [5]


def test_the_skip_tag_is_refused_before_a_test_cell_or_on_a_graded_cell():
    from autograder.plan import skipped_cells

    early = _notebook()
    early.cells[3].metadata["tags"] = ["skip-when-graded"]  # a plain cell, but test_g comes after it
    with pytest.raises(ValueError, match="cell 3 is tagged 'skip-when-graded' but the test cell 4 comes after it"):
        skipped_cells(early)
    graded = _with_measurement()
    graded.cells[4].metadata["tags"] = ["skip-when-graded"]
    with pytest.raises(ValueError, match="cell 4 is tagged 'skip-when-graded' but is not a plain code cell"):
        skipped_cells(graded)


def test_the_executor_reports_a_skipped_cell_without_running_it():
    from autograder.check import check_job
    from autograder.executor import SKIPPED_OUTPUT
    from autograder.limits import Limits
    from autograder.sandbox import run_notebook

    nb = nbformat.v4.new_notebook(cells=[_cell("f = lambda x: x + 1"), *_notebook().cells[2:3]])
    nb.metadata["kernelspec"] = {"name": "aie", "display_name": "aie", "language": "python"}
    for source in ("MEASURED = 1", "print(globals().get('MEASURED', 'not measured'))"):
        nb.cells.append(_cell(source))
    nb.cells[2].metadata["tags"] = ["skip-when-graded"]
    job, _ = check_job(nb, timeout=60)
    executed, summary = apply_run(nb, run_notebook(job, Limits(), sandbox=False))
    assert summary.died_at is None
    assert executed.cells[2].outputs[0]["text"] == SKIPPED_OUTPUT["text"]
    assert executed.cells[2].metadata["aie"]["status"] == "skipped"
    assert executed.cells[3].outputs[0]["text"] == "not measured\n"
    assert score_cells(executed)[0].score == 3
