"""The public API documents itself in Keras's manner: every function a package exports says what each
argument is (an ``Args:`` entry per parameter), and what it returns, in its docstring.

The public functions are the callables in the ``__all__`` of ``archbuilder`` and its packages, plus
those of the modules users import by name (``archbuilder.export``, ``archbuilder.pretrained``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from typing import Any

import pytest

PUBLIC_MODULES = (
    "archbuilder",
    "archbuilder.analysis",
    "archbuilder.blueprint",
    "archbuilder.compile",
    "archbuilder.training",
    "archbuilder.search",
    "archbuilder.zoo",
    "archbuilder.export",
    "archbuilder.pretrained",
)
SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Yields|Example|Examples|Note|Notes):\s*$")
ENTRY = re.compile(r"^\s+(\*{0,2}\w+)(?: \([^)]*\))?:")


def public_functions() -> list[tuple[str, Callable[..., Any]]]:
    """Every function exported through a public module's ``__all__``, once, by its first public name."""
    seen: set[int] = set()
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value) and id(value) not in seen:
                seen.add(id(value))
                found.append((f"{module_name}.{name}", value))
    return found


def documented_arguments(doc: str) -> set[str]:
    """The names listed in a docstring's ``Args:`` section (``*``/``**`` stripped)."""
    names: set[str] = set()
    inside = False
    for line in doc.splitlines():
        heading = SECTION.match(line.strip())
        if heading:
            inside = heading.group(1) in ("Args", "Arguments")
            continue
        entry = ENTRY.match(line)
        if inside and entry and len(line) - len(line.lstrip()) <= 4:
            names.add(entry.group(1).lstrip("*"))
    return names


FUNCTIONS = public_functions()


def test_the_public_api_is_found() -> None:
    names = {name for name, _ in FUNCTIONS}
    for expected in ("archbuilder.train", "archbuilder.build_model", "archbuilder.search.run", "archbuilder.analyze"):
        assert expected in names
    assert len(FUNCTIONS) > 30


@pytest.mark.parametrize(("name", "function"), FUNCTIONS, ids=[name for name, _ in FUNCTIONS])
def test_public_function_documents_its_arguments_and_result(name: str, function: Callable[..., Any]) -> None:
    doc = inspect.getdoc(function) or ""
    assert doc, f"{name} has no docstring"
    parameters = [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]
    if parameters:
        missing = [p for p in parameters if p not in documented_arguments(doc)]
        assert not missing, f"{name}: the Args: section does not describe {missing}"
    returns = inspect.signature(function).return_annotation
    if returns not in (None, "None", inspect.Signature.empty):
        assert re.search(r"^Returns:", doc, re.MULTILINE), f"{name} returns {returns} but has no Returns: section"


def test_documented_arguments_reads_keras_style_sections() -> None:
    doc = """Do it.

    Args:
        blueprint: a blueprint.
        data (str): the data,
            over two lines: not an entry.
        **options: the rest.

    Returns:
        value: not an argument.
    """
    assert documented_arguments(inspect.cleandoc(doc)) == {"blueprint", "data", "options"}


@pytest.mark.parametrize("module_name", [name for name in PUBLIC_MODULES if name.count(".") <= 1])
def test_exported_names_stay_what_they_are_once_every_submodule_is_imported(module_name: str) -> None:
    """``archbuilder.training.predict`` must stay the function once its modules are imported: Python binds a
    submodule imported later to its package's attribute of the same name (``archbuilder.train`` was a
    package for that reason; ``training/predict.py`` is ``prediction.py`` for it)."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{module_name}."):
            if not info.name.endswith("__main__"):  # running the CLI is not importing it
                importlib.import_module(info.name)
    shadowed = [name for name in module.__all__ if inspect.ismodule(getattr(module, name))]
    assert not shadowed, f"{module_name}: {shadowed} are modules, not what the package exports"
