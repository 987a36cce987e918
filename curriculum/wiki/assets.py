"""Files the roadmap site ships besides its pages: the chip stylesheet and the formula script (real files in
``curriculum/wiki/assets/``, package data) and a local copy of KaTeX to typeset formulas offline.

Example::

    copy_assets(docs_dir, katex=find_katex())  # writes docs_dir/assets/...
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

__all__ = ["CSS_PATH", "KATEX_ASSETS", "KATEX_DIRS", "KATEX_ENV", "MATH_JS_PATH", "copy_assets", "find_katex"]

# Where the files land inside the site (relative to its root).
CSS_PATH = "assets/aie-roadmap.css"
MATH_JS_PATH = "assets/aie-math.js"
KATEX_ASSETS = "assets/katex"
KATEX_ENV = "AIE_KATEX_DIR"
KATEX_DIRS = (Path("/usr/share/javascript/katex"),)  # Debian package libjs-katex


def find_katex() -> Path | None:
    """A local KaTeX (``$AIE_KATEX_DIR``, else Debian's libjs-katex) to typeset formulas offline, or None."""
    explicit = os.environ.get(KATEX_ENV)
    for folder in [Path(explicit)] if explicit else KATEX_DIRS:
        if (folder / "katex.min.js").is_file() and (folder / "katex.min.css").is_file():
            return folder
    return None


def _packaged(name: str) -> bytes:
    return resources.files("curriculum.wiki").joinpath("assets", name).read_bytes()


def _copy_katex(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("katex.min.js", "katex.min.css"):
        shutil.copyfile(source / name, target / name)
    fonts = source / "fonts"
    if fonts.is_dir():
        (target / "fonts").mkdir(exist_ok=True)
        for font in fonts.glob("*.woff2"):  # every browser the site targets reads woff2
            shutil.copyfile(font, target / "fonts" / font.name)


def copy_assets(docs_dir: Path, katex: Path | None) -> None:
    """Write the stylesheet into ``docs_dir``; with ``katex`` (a KaTeX folder) also KaTeX and the formula script."""
    for rel in (CSS_PATH, *((MATH_JS_PATH,) if katex else ())):
        target = docs_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_packaged(Path(rel).name))
    if katex:
        _copy_katex(katex, docs_dir / KATEX_ASSETS)
