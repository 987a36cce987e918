"""What every ``aie`` command group shares: the one-line error convention.

Errors in what the user gave (a missing file, a corrupt notebook, a wrong folder layout) print one line
naming the input and the reason, and exit with code 2. Command groups living in other packages import
:func:`fail` from here, so the convention is written once.
"""

from __future__ import annotations

from typing import NoReturn

import typer

__all__ = ["fail", "warn"]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``aie: error: <message>`` on stderr and exit (code 2: the input was wrong)."""
    typer.echo(f"aie: error: {message}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """Print ``aie: warning: <message>`` on stderr and carry on."""
    typer.echo(f"aie: warning: {message}", err=True)
