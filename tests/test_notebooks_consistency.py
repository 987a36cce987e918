"""Every source notebook follows the course conventions and agrees with the roadmap."""

import pytest

from autograder.notebooks import graded_cells, read_notebook
from curriculum.kernel import KERNEL_NAME
from curriculum.roadmap import REPO_ROOT, load_roadmap

ROADMAP = load_roadmap()
READY = ROADMAP.notebook_paths(ready_only=True)


def test_every_notebook_in_a_phase_folder_is_in_the_roadmap():
    known = set(ROADMAP.notebook_paths())
    found = {p.relative_to(REPO_ROOT).as_posix() for ph in ROADMAP.phases for p in (REPO_ROOT / ph.id).glob("*.ipynb")}
    assert not found - known, f"notebooks not in roadmap.toml: {sorted(found - known)}"


@pytest.fixture(params=READY)
def notebook(request):
    return request.param, read_notebook(REPO_ROOT / request.param)


def test_notebook_uses_the_project_kernel(notebook):
    _, nb = notebook
    assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME


def test_notebook_is_committed_without_outputs(notebook):
    path, nb = notebook
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path}: strip outputs of cells {dirty}"


def test_first_cell_quotes_the_roadmap_line_and_links_the_wiki(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    for item in ROADMAP.items_for_notebook(path):
        if item.kind == "task":
            assert item.text in first.source, f"{path}: first cell must quote {item.text!r}"
            assert f"../wiki/{item.wiki}.md" in first.source, f"{path}: first cell must link ../wiki/{item.wiki}.md"


def test_questions_are_quoted_and_have_a_manual_answer_cell(notebook):
    path, nb = notebook
    questions = [i for i in ROADMAP.items_for_notebook(path) if i.kind == "question" and i.ready]
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for q in questions:
        assert q.text in text, f"{path}: question {q.text!r} not quoted"
    manual = [c for c in graded_cells(nb) if c.kind == "manual"]
    assert len(manual) >= len(questions)


def test_points_match_the_roadmap(notebook):
    path, nb = notebook
    expected = sum(i.points for i in ROADMAP.items_for_notebook(path) if i.ready)
    got = sum(c.points for c in graded_cells(nb))
    assert got == expected, f"{path}: cells carry {got} points, roadmap.toml gives {expected}"


def test_graded_cells_are_well_formed(notebook):
    path, nb = notebook
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"{path}: duplicate grade ids"
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source, f"{path}:{meta['grade_id']} has no solution markers"
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("points", 0) > 0 and meta.get("locked"), (
                f"{path}:{meta['grade_id']} must be locked with points"
            )
    assert any(c.kind == "test" for c in graded_cells(nb)), f"{path}: no autograded test cell"


def _loaded_names(source: str) -> set[str]:
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def test_cells_the_grader_skips_come_last_and_nothing_run_needs_them(notebook):
    """A ``skip-when-graded`` cell stands after the last test, and no cell the grader runs reads what it defines."""
    from autograder.plan import defined_names, skipped_cells

    path, nb = notebook
    skipped = set(skipped_cells(nb))  # raises on a tag before a test cell or on a graded cell
    ran: set[str] = set()  # names some cell that still runs binds
    only_skipped: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        names = defined_names(cell.source)
        if index in skipped:
            only_skipped |= names - ran
            continue
        needed = _loaded_names(cell.source) & only_skipped - names
        assert not needed, f"{path}: cell {index} runs while grading but reads {sorted(needed)} from skipped cells"
        ran |= names
