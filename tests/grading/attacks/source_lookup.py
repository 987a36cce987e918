# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""Find the instructor's source notebook on disk (via curriculum's REPO_ROOT, by walking up from the working
folder, by searching the file system) and run its solutions. Expected: nothing found, zero points."""

# cell: dot
import json
import os
from pathlib import Path

FOUND = []


def _solutions():
    roots = []
    try:
        from curriculum.roadmap import REPO_ROOT as r

        roots.append(Path(r))
    except Exception:
        pass
    roots += [Path("{REPO_ROOT}"), Path("{COURSE_ROOT}"), *Path.cwd().parents]
    for root in roots:
        for pattern in (
            "01_cosine_similarity.ipynb",
            "*/01_cosine_similarity.ipynb",
            "*/*/01_cosine_similarity.ipynb",
            "*/*/*/01_cosine_similarity.ipynb",
        ):
            try:
                hits = list(root.glob(pattern))
            except OSError:
                continue
            for hit in hits:
                try:
                    text = hit.read_text()
                except OSError:
                    continue
                if "BEGIN SOLUTION" in text:
                    FOUND.append(str(hit))
                    return [
                        c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                        for c in json.loads(text)["cells"]
                        if c.get("metadata", {}).get("nbgrader", {}).get("solution") and c["cell_type"] == "code"
                    ]
    return []


for _code in _solutions():
    exec(_code)
print("source notebooks found:", FOUND)
if not FOUND:

    def dot(a, b):
        raise NotImplementedError("no source notebook in reach")


# cell: norm
if not FOUND:

    def norm(a):
        raise NotImplementedError("no source notebook in reach")


# cell: cosine
if not FOUND:

    def cosine_similarity(a, b):
        raise NotImplementedError("no source notebook in reach")
