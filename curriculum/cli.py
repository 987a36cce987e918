"""The ``aie`` command line: a composition root that parses arguments and calls the library.

It holds only ``aie kernel install`` and ``aie roadmap``; every other command group is registered by the
package that owns it through the ``aie.commands`` entry points (built-ins use the same hook a plugin
would). A group that cannot be loaded is named in one warning line on stderr and the rest keep working.

The offline environment (``curriculum.env.OFFLINE_ENV``) is set before anything can import
``huggingface_hub`` or ``transformers``, so ``.venv/bin/aie`` behaves the same with or without the Makefile;
a value the user set is kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Annotated

import typer

from curriculum.cli_support import fail, warn
from curriculum.env import OFFLINE_ENV
from curriculum.roadmap import RoadmapError, load_roadmap, repository_problems

# Before any command group is imported: they are what reaches huggingface_hub, transformers and ragas.
# (tests/test_layers.py fails if one of the imports above ever gets there first.)
for _name, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_name, _value)

__all__ = ["COMMAND_GROUP", "app", "register_command_groups"]

COMMAND_GROUP = "aie.commands"

app = typer.Typer(
    help="AI Engineer Track: graded notebooks for the AI Engineer roadmap, and the capstone service.",
    no_args_is_help=True,
    add_completion=False,
)
kernel_app = typer.Typer(help="The project's Jupyter kernel (venv Python + offline environment).", no_args_is_help=True)
app.add_typer(kernel_app, name="kernel")


@kernel_app.command("install")
def kernel_install() -> None:
    """Install the 'aie' kernel spec into this virtual environment."""
    from curriculum.kernel import install_kernel, install_lab_settings

    typer.echo(f"installed kernel spec: {install_kernel()}")
    typer.echo(f"JupyterLab settings (offline: no news, no update checks): {install_lab_settings()}")


@app.command()
def roadmap(
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Show the roadmap: phases, items, their notebooks and whether they are built."""
    try:
        rm = load_roadmap()
    except RoadmapError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "phase": i.phase,
                        **{k: getattr(i, k) for k in ("id", "kind", "text", "notebook", "wiki", "points", "status")},
                    }
                    for i in rm.items
                ],
                indent=1,
            )
        )
        return
    for phase in rm.phases:
        typer.echo(f"\n{phase.title}  ({phase.id})")
        for item in phase.items:
            mark = "✓" if item.ready else "·"
            arrow = "→ " if item.hands_on else ""
            typer.echo(f"  {mark} {arrow}{item.text}  [{item.notebook_path}, {item.points} pts]")
    problems = repository_problems(rm)
    if problems:
        typer.echo("\nproblems:\n  " + "\n  ".join(problems))


def register_command_groups(target: typer.Typer, groups: Iterable[EntryPoint] | None = None) -> list[str]:
    """Load each ``aie.commands`` entry point and call its ``register(target)``.

    A group whose import or ``register`` raises is reported by name in one warning line on stderr
    (``aie: warning: command group 'capstone' (capstone.cli:register) could not be loaded: ...``);
    the others are still registered. Returns the names of the groups that were registered.
    """
    loaded = []
    for group in entry_points(group=COMMAND_GROUP) if groups is None else groups:
        try:
            group.load()(target)
        except Exception as exc:  # any failure of a group must leave the other commands usable
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            warn(f"command group {group.name!r} ({group.value}) could not be loaded: {reason}")
            continue
        loaded.append(group.name)
    return loaded


register_command_groups(app)

if __name__ == "__main__":
    app()
