"""Where the project's files live, for notebooks run from any folder (source, workspace, grading copies)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
WIKI_DIR = REPO_ROOT / "wiki"


def cache_dir(*parts: str) -> Path:
    """A git-ignored folder for things built once and reused (``AIE_CACHE_DIR``, default ``.aie/cache``)."""
    base = Path(os.environ.get("AIE_CACHE_DIR", REPO_ROOT / ".aie" / "cache"))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
