# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""Print hidden tests into the output: read them from the source notebooks of this and another phase, from the
kernel's input history after a test ran, and from the calling test's frame while it runs (then print them in a
later cell and raise them as an error message). Expected: no line of a hidden test in the feedback HTML."""

# cell: dot
import sys
from pathlib import Path

STOLEN = []
for nb in list(Path("{REPO_ROOT}").glob("0*/*.ipynb")):
    try:
        STOLEN.append(nb.read_text()[:2000])
    except OSError:
        pass


def dot(a, b):
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, str) and "HIDDEN" in value:
                STOLEN.append(value)
            if isinstance(value, dict) and isinstance(value.get("code"), str):
                STOLEN.append(value["code"])
        frame = frame.f_back
    if len(a) != len(b):
        raise ValueError("lengths differ")
    return sum(x * y for x, y in zip(a, b))


# cell: norm
import math

print("history:", globals().get("In"))
print("stolen:", "\n".join(STOLEN))


def norm(a):
    if STOLEN:
        raise RuntimeError(STOLEN[-1].replace("\n", " ")[:400])
    return math.sqrt(dot(a, a))
