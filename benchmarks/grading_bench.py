"""How long a learner waits for `aie check`: the cosine notebook, median of 5 runs, as a subprocess."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from curriculum.roadmap import REPO_ROOT

NOTEBOOK = REPO_ROOT / "00_prereqs" / "01_cosine_similarity.ipynb"


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "00_prereqs" / NOTEBOOK.name
        target.parent.mkdir()
        shutil.copy(NOTEBOOK, target)
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "curriculum.cli", "check", str(target), "--json"],
                           check=True, capture_output=True)
            seconds.append(time.perf_counter() - start)
    print(f"aie check {NOTEBOOK.relative_to(REPO_ROOT)}: median {statistics.median(seconds):.2f} s over {runs} runs "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f})")
