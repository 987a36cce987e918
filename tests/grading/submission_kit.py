"""Building submissions for grading tests: a source notebook with some cells replaced, deleted, moved or added.

The edits come from the small text format of ``tests/grading/attacks/*.py`` (see the README there).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

ATTACKS = Path(__file__).parent / "attacks"
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
DIRECTIVE = re.compile(r"^# (cell|delete|after|move-after): (\S+)(?: (\S+))?\s*$")


def parse_edits(text: str) -> list[tuple[str, str, str]]:
    """``[(directive, grade_id, code or second id)]`` from an attack file."""
    edits: list[tuple[str, str, str]] = []
    current: list | None = None
    for line in text.splitlines():
        match = DIRECTIVE.match(line)
        if match:
            kind, target, extra = match.groups()
            current = [kind, target, extra or ""] if kind == "move-after" else [kind, target, ""]
            edits.append(current)  # type: ignore[arg-type]
        elif current is not None and current[0] in ("cell", "after"):
            current[2] += line + "\n"
    return [tuple(e) for e in edits]  # type: ignore[misc]


def _index(nb, grade_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def edited_notebook(source: Path, edits: list[tuple[str, str, str]], replace: dict[str, str] | None = None):
    """The notebook at ``source`` with ``edits`` applied (placeholders in code filled from ``replace``)."""
    nb = nbformat.read(source, as_version=4)
    for kind, target, payload in edits:
        for key, value in (replace or {}).items():
            payload = payload.replace("{" + key + "}", value)
        if kind == "cell":
            nb.cells[_index(nb, target)].source = payload.rstrip("\n")
        elif kind == "delete":
            del nb.cells[_index(nb, target)]
        elif kind == "after":
            nb.cells.insert(_index(nb, target) + 1, nbformat.v4.new_code_cell(payload.rstrip("\n")))
        elif kind == "move-after":
            cell = nb.cells.pop(_index(nb, target))
            nb.cells.insert(_index(nb, payload) + 1, cell)
    return nb


def attack_notebook(name: str, source: Path, replace: dict[str, str]):
    return edited_notebook(source, parse_edits((ATTACKS / f"{name}.py").read_text()), replace)


def attack_names() -> list[str]:
    return sorted(p.stem for p in ATTACKS.glob("*.py"))
