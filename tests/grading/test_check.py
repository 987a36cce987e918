"""``aie check`` reads the learner's notebook and nothing of the instructor's: no source notebook, no gradebook."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from autograder import Course, release
from curriculum.roadmap import REPO_ROOT, load_roadmap

AUDIT = r"""
import json, sys
opened = []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        opened.append(args[0].decode() if isinstance(args[0], bytes) else args[0])
sys.addaudithook(hook)
from autograder import check_notebook
report = check_notebook(sys.argv[1], timeout=120)
print(json.dumps({"opened": opened, "score": report.score, "max": report.max_score}))
"""


@pytest.mark.slow
def test_check_opens_no_source_notebook_and_no_gradebook(tmp_path):
    course = Course(root=tmp_path / "course", notebooks_root=REPO_ROOT)
    (released,) = [p for p in release(course, ["00_prereqs"])["00_prereqs"] if p.stem == "01_cosine_similarity"]
    learner = tmp_path / "workspace" / "00_prereqs" / released.name
    learner.parent.mkdir(parents=True)
    learner.write_bytes(released.read_bytes())
    done = subprocess.run(
        [sys.executable, "-c", AUDIT, str(learner)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["score"] == 0 and result["max"] == 10
    phases = [REPO_ROOT / p.id for p in load_roadmap().phases]
    sources = [f for f in result["opened"] if f.endswith(".ipynb") and any(f.startswith(str(p) + "/") for p in phases)]
    assert sources == [], f"aie check opened source notebooks: {sources}"
    assert not [f for f in result["opened"] if f.endswith("gradebook.db")]
    assert str(learner) in result["opened"]
