"""Layers point one way, and ``aie`` is composed from the command groups its packages register.

``curriculum`` (the library) imports neither ``capstone`` nor ``autograder``; those two import
``curriculum`` and not each other. The ``aie.commands`` entry points declared in pyproject.toml are the
only link from the command line to the packages.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from curriculum.cli import COMMAND_GROUP, register_command_groups
from curriculum.env import OFFLINE_ENV
from curriculum.roadmap import REPO_ROOT

IMPORT_FUNCTIONS = {"import_module", "__import__"}


def imported_packages(source: str) -> set[str]:
    """Top-level package names a module imports: ``import``, ``from ... import`` and ``import_module("...")``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in IMPORT_FUNCTIONS and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return {name.split(".")[0] for name in names}


def imports_of_package(package: str) -> dict[str, set[str]]:
    """``{module path: top-level packages it imports}`` for every module of ``package``."""
    return {
        str(path.relative_to(REPO_ROOT)): imported_packages(path.read_text(encoding="utf-8"))
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
    }


def test_import_scanner_sees_plain_from_and_string_imports():
    source = "import capstone.app\nfrom autograder.check import x\nimportlib.import_module('capstone.cli')\n"
    assert imported_packages(source) == {"capstone", "autograder"}
    assert imported_packages("import_module('autograder')") == {"autograder"}
    assert imported_packages("from . import sibling\nimport json") == {"json"}


@pytest.mark.parametrize(
    "package, forbidden",
    [("curriculum", {"capstone", "autograder"}), ("capstone", {"autograder"}), ("autograder", {"capstone"})],
)
def test_package_does_not_import_the_layers_it_must_not_know(package, forbidden):
    modules = imports_of_package(package)
    assert modules, f"no modules found under {package}/"
    offenders = {path: sorted(names & forbidden) for path, names in modules.items() if names & forbidden}
    assert offenders == {}


def _declared_groups() -> dict[str, str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["project"]["entry-points"][COMMAND_GROUP]


def test_command_groups_are_declared_in_pyproject_and_installed():
    declared = _declared_groups()
    assert {"grading", "capstone", "wiki", "model"} <= set(declared)
    installed = {ep.name: ep.value for ep in entry_points(group=COMMAND_GROUP)}
    assert installed == declared, "entry points are stale: run `pip install --no-deps -e .`"


@pytest.mark.parametrize("name", sorted(_declared_groups()))
def test_each_declared_command_group_resolves_to_a_register_function(name):
    group = EntryPoint(name=name, value=_declared_groups()[name], group=COMMAND_GROUP)
    register = group.load()
    app = typer.Typer()
    register(app)
    assert app.registered_commands or app.registered_groups, f"{group.value} registered no command"


def test_a_broken_group_is_named_in_one_warning_and_the_others_still_work(capsys):
    groups = [
        EntryPoint(name="missing", value="no_such_package_for_aie.cli:register", group=COMMAND_GROUP),
        EntryPoint(name="raising", value="json:loads", group=COMMAND_GROUP),  # register(app) raises TypeError
        EntryPoint(name="grading", value="autograder.cli:register", group=COMMAND_GROUP),
    ]
    app = typer.Typer()
    loaded = register_command_groups(app, groups)
    assert loaded == ["grading"]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("aie: warning: command group 'missing' (no_such_package_for_aie.cli:register)")
    assert "ModuleNotFoundError" in lines[0]
    assert lines[1].startswith("aie: warning: command group 'raising' (json:loads) could not be loaded: TypeError")
    result = CliRunner().invoke(app, ["release", "--help"])
    assert result.exit_code == 0 and "student version" in result.output


def test_aie_sets_the_offline_environment_before_anything_imports_the_hub():
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    probe = (
        "import curriculum.cli, os, huggingface_hub.constants as hub\n"
        "print(hub.HF_HUB_OFFLINE, *(os.environ[k] for k in curriculum.cli.OFFLINE_ENV))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", *OFFLINE_ENV.values()]


def test_aie_keeps_an_offline_setting_the_user_chose():
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV} | {"HF_HUB_OFFLINE": "0"}
    probe = "import curriculum.cli, os; print(os.environ['HF_HUB_OFFLINE'])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "0", done.stderr


def test_installed_aie_help_lists_every_command_of_every_group_without_a_warning():
    aie = Path(sys.executable).parent / "aie"
    done = subprocess.run([str(aie), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "a command group failed to load"
    commands = "roadmap kernel release workspace lab check grade serve ingest user eval wiki model"
    missing = [name for name in commands.split() if f" {name} " not in done.stdout]
    assert missing == []
