"""Start the ``aie`` Jupyter kernel with two known, harmless warnings silenced first.

Whenever transformers loads a model it imports torchao, which logs on stderr that its CUDA-only kernels cannot
load into a CPU build of torch, and torch then warns about torchao's enums. nbgrader scores a test cell that
writes to stderr as failed, so a notebook whose first model load happens inside a test cell would lose points
for noise. Only those two loggers are quieted (to errors); every other warning still reaches stderr.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["QUIET_LOGGERS", "main", "quiet_known_warnings"]

#: Loggers whose warnings are known noise on a CPU-only machine.
QUIET_LOGGERS = ("torchao", "torch.utils._pytree")


def quiet_known_warnings() -> None:
    """Let only errors through the loggers in :data:`QUIET_LOGGERS`."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    """What ``python -m ipykernel_launcher`` does, after :func:`quiet_known_warnings`."""
    quiet_known_warnings()
    if sys.path and sys.path[0] in ("", "."):
        del sys.path[0]  # as ipykernel_launcher: the working folder does not shadow installed packages
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
