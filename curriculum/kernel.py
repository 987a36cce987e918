"""The project's Jupyter kernel spec: the venv's Python plus the offline environment.

JupyterLab, nbval and nbgrader all start notebooks with the kernel named ``aie`` (the
notebooks' metadata says so), so a notebook behaves the same for the learner, in CI and in
grading.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from curriculum.env import OFFLINE_ENV

KERNEL_NAME = "aie"
DISPLAY_NAME = "Python 3 (AI Engineer Track)"


def kernel_spec() -> dict:
    """The ``kernel.json`` content for this interpreter."""
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "env": dict(OFFLINE_ENV),
        "metadata": {"debugger": True},
    }


def install_kernel(prefix: Path | None = None) -> Path:
    """Write the kernel spec under ``<prefix>/share/jupyter/kernels/aie`` (default: this venv)."""
    prefix = Path(prefix or sys.prefix)
    target = prefix / "share" / "jupyter" / "kernels" / KERNEL_NAME
    target.mkdir(parents=True, exist_ok=True)
    (target / "kernel.json").write_text(json.dumps(kernel_spec(), indent=1))
    try:  # reuse ipykernel's logos so the launcher shows a Python icon
        import ipykernel

        resources = Path(ipykernel.__file__).parent / "resources"
        for logo in resources.glob("logo-*.png"):
            (target / logo.name).write_bytes(logo.read_bytes())
    except ImportError:
        pass
    return target
