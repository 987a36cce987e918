"""Feedback HTML that shows what a learner may see: visible tests, and for hidden tests only how they ended.

:class:`HideHiddenTests` is an nbconvert preprocessor, used by ``aie grade`` and registered in nbgrader's
``GenerateFeedback`` (see ``course.apply_config``), so formgrader's "generate feedback" hides them too:

* a test cell shows its visible part; its hidden part becomes one line, ``passed``, ``failed: <first line>``
  or ``not run``, with that first line withheld when it quotes the hidden tests;
* a test cell's outputs are replaced by that summary (nothing learner code printed during a test shows);
* every cell that ran after a hidden test ran shows no outputs at all: from then on learner code may have
  seen hidden test code, so nothing it printed reaches the learner.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from autograder.plan import hidden_lines, hidden_start_line, is_test_cell, visible_part
from autograder.scoring import first_line_of_error

MAX_MESSAGE = 160
WITHHELD_OUTPUT = "(output not shown in feedback: this cell ran after hidden tests had run)"
WITHHELD_MESSAGE = "(message withheld: it quotes the hidden tests)"


def _squash(text: str) -> str:
    return "".join(text.split())


def scrub(message: str, hidden: list[str], raised_by_test: bool = True) -> str:
    """``message`` cut to one short line, withheld when it quotes the hidden tests.

    A message the test raised itself (an ``assert`` or ``raise`` in the test) is the test author's and is
    withheld only when it contains a whole hidden line. One raised in learner code is withheld as soon as any
    16 characters of it (spaces ignored) appear in the hidden tests: learner code called by a hidden test can
    look at that test's frame.
    """
    line = message.strip().splitlines()[0] if message.strip() else ""
    if any(len(h) >= 8 and h in line for h in hidden):
        return WITHHELD_MESSAGE
    if not raised_by_test and hidden:
        source, squashed = _squash("".join(hidden)), _squash(line)
        if any(squashed[i : i + 16] in source for i in range(max(0, len(squashed) - 15))):
            return WITHHELD_MESSAGE
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


def test_summary(cell: nbformat.NotebookNode, hidden: list[str]) -> tuple[list[str], bool]:
    """Summary lines of a test cell's result and whether it failed (``hidden``: the notebook's hidden lines)."""
    info = cell.metadata.get("aie", {})
    by_test = bool(info.get("raised_by_test", False))
    start = hidden_start_line(cell.source)
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    status = info.get("status") or (
        "failed" if errors or stderr else "passed" if cell.get("execution_count") else "not run"
    )
    message = info.get("message") or (first_line_of_error(errors[0]) if errors else "")
    if not message and stderr:
        message = "wrote to stderr: " + (stderr[0].get("text", "").strip().splitlines() or [""])[0]
    if status == "passed":
        return (["visible tests: passed"] + (["hidden tests: passed"] if start else [])), False
    if status == "not run":
        return [f"not run: {scrub(message, hidden, by_test)}" if message else "not run"], True
    lineno = info.get("lineno")
    if start and lineno is not None and lineno >= start:
        shown = scrub(message, hidden, by_test)
        return ["visible tests: passed", f"hidden tests: {status}: {shown}"], True
    lines = [f"visible tests: {status}: {scrub(message, hidden, by_test)}"]
    if start:
        lines.append("hidden tests: not run")
    return lines, True


class HideHiddenTests(Preprocessor):
    """Remove hidden tests, and everything that could quote them, from a graded notebook before it is rendered."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        hidden_ran = False
        hidden = [line for c in nb.cells if is_test_cell(c) for line in hidden_lines(c.source)]
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                lines, failed = test_summary(cell, hidden)
                ran_hidden = hidden_start_line(cell.source) is not None and cell.get("execution_count") is not None
                cell.source = visible_part(cell.source) + ("\n# hidden tests: not shown" if ran_hidden else "")
                text = "\n".join(lines)
                cell.outputs = [
                    nbformat.v4.new_output("error", ename="TestFailed", evalue=lines[-1], traceback=lines)
                    if failed
                    else nbformat.v4.new_output("stream", name="stdout", text=text + "\n")
                ]
                hidden_ran = hidden_ran or ran_hidden
            elif hidden_ran and cell.get("outputs"):
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=WITHHELD_OUTPUT + "\n")]
            cell.metadata.pop("aie", None)
        return nb, resources


def _exporter(config):
    """nbconvert's HTML exporter set up the way nbgrader's GenerateFeedback sets it up."""
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades
    from traitlets.config import Config

    base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    config = Config(config)
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
    config.HTMLExporter.extra_template_paths = [str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    exporter = HTMLExporter(config=config)
    for step in (HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor):
        exporter.register_preprocessor(step(config=config), enabled=True)
    return exporter


class FeedbackWriter:
    """Renders feedback HTML for graded notebooks of a course (one exporter reused for a whole run)."""

    def __init__(self, config, db_url: str, feedback_dir: Path) -> None:
        self.exporter = _exporter(config)
        self.db_url, self.feedback_dir = db_url, feedback_dir

    def write(self, nb: nbformat.NotebookNode, student: str, phase: str, notebook: str) -> Path:
        import copy

        resources = {
            "nbgrader": {"student": student, "assignment": phase, "notebook": notebook, "db_url": self.db_url},
            "unique_key": notebook,
        }
        html, _ = self.exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)
        target = self.feedback_dir / student / phase / f"{notebook}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        return target
