"""The public surface of each package is what its ``__all__`` says, and it changes only on purpose.

Notebooks and the capstone import these names; a rename or removal must show up here as a reviewed edit.
"""

import importlib

import pytest

PUBLIC = ("curriculum.agents", "curriculum.wiki", "curriculum.llm", "capstone", "autograder")


def _members(module) -> list[str]:
    return sorted(name for name in vars(module) if not name.startswith("_") and not _is_submodule(module, name))


def _is_submodule(module, name: str) -> bool:
    value = getattr(module, name)
    return (
        getattr(value, "__name__", "").startswith(module.__name__ + ".")
        and hasattr(value, "__path__")
        or (type(value).__name__ == "module")
    )


@pytest.mark.parametrize("package", PUBLIC)
def test_all_names_exist_and_are_unique(package):
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__)), f"{package}.__all__ lists a name twice"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("package", PUBLIC)
def test_every_public_name_is_exported(package):
    """A public (non-underscore) name imported into the package is either in ``__all__`` or made private."""
    module = importlib.import_module(package)
    unlisted = [name for name in _members(module) if name not in module.__all__ and name != "annotations"]
    assert not unlisted, f"{package} has public names outside __all__: {unlisted}"
