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
        "argv": [sys.executable, "-m", "curriculum.kernel_launcher", "-f", "{connection_file}"],
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


# JupyterLab asks on first start whether to fetch news from the internet; the course runs offline.
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def install_lab_settings(prefix: Path | None = None) -> Path:
    """Write JupyterLab setting overrides for this venv (no news or update checks over the network)."""
    prefix = Path(prefix or sys.prefix)
    target = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(target.read_text()) if target.exists() else {}
    current.update(LAB_OVERRIDES)
    target.write_text(json.dumps(current, indent=1))
    return target
