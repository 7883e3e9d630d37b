"""Runs the Examples in every module's docstrings, imported under their real package names.

(``--doctest-modules`` would import ``schemas/…`` as a second, top-level ``schemas`` package.)
"""

import doctest
import importlib
import pkgutil

import pytest

# The design card's folders, installed from their own directories into the namespace, so
# walking botcopier.__path__ alone would not find them.
DESIGN_PACKAGES = ("schemas", "streams", "bridge", "trainers", "codegen", "infra")


def _modules() -> list[str]:
    names = set()
    for package in ("botcopier", *(f"botcopier.{p}" for p in DESIGN_PACKAGES)):
        module = importlib.import_module(package)
        names.add(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            names.add(info.name)
    return sorted(names)


# Importing it builds the Faust app from the environment's settings: it is a CLI entry point.
ENTRY_POINTS = {"botcopier.streams.agents_worker"}
MODULES = [name for name in _modules() if name not in ENTRY_POINTS]


def test_design_folders_are_found_and_walked():
    for package in DESIGN_PACKAGES:
        assert f"botcopier.{package}" in MODULES
    assert "botcopier.infra.broker.supervisor" in MODULES
    assert "botcopier.schemas.single_object" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
