"""Imports run one way, down the table of DESIGN.md, and never in a loop.

Every module's imports are read with :mod:`ast`: those at the top, under ``if TYPE_CHECKING:`` and
inside functions alike (an import that is deferred or only for the type checker is still a dependency).
Three rules:

- no import loop between archbuilder modules;
- no module of ``archbuilder/plots/`` imports ``archbuilder.training`` or ``archbuilder.search``
  (pictures draw the data they are handed);
- no import from a lower layer to a higher one (:data:`LAYERS`); packages of the same layer do not
  import each other. An edge that breaks this and is too big to move yet is listed in
  :data:`KNOWN_EXCEPTIONS` with its reason, and the list must not go stale.

Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too: an import from outside a package counts
as an import of the packages it enters. A module's own packages (already being imported) do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The layers, lowest first. A unit is a subpackage of ``archbuilder`` or one of its top-level modules;
#: ``__init__`` is the package's own ``archbuilder/__init__.py`` (the public API: ``archbuilder.train``...).
#: A unit may import its own modules and the units of lower layers, nothing else.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "wording"),  # the one error root; counts in messages
    ("artifacts",),  # atomic files (their errors are ArchbuilderErrors)
    ("blueprint",),
    ("analysis",),
    ("zoo", "compile", "runtime", "plots"),  # plots: above analysis and blueprint, below what it draws for
    ("pretrained",),  # keras.applications twins built with their weights: train(weights=...) starts from them
    ("training",),
    ("export", "convert"),
    ("search",),
    ("reference", "__init__"),  # docs/format.md from the models; the public API
    ("schema",),  # the JSON Schemas (they carry archbuilder.__version__)
    ("cli",),
    ("__main__",),
)
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}

#: Upward imports that stay for now, (importer, imported module) -> why. Each must still exist.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Edge:
    """``importer`` imports ``target`` (an archbuilder module) at ``line``; ``implicit``: a package it enters."""

    importer: str
    target: str
    line: int
    implicit: bool = False

    def __str__(self) -> str:
        how = " (entering the package)" if self.implicit else ""
        return f"{self.importer}:{self.line} imports {self.target}{how}"


def find_modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, whether it is a package's ``__init__``)."""
    modules = {}
    for path in sorted((root / "archbuilder").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if package else parts)] = (path, package)
    return modules


def _existing(name: str, modules: Iterable[str]) -> str | None:
    """``name`` or its longest prefix that is an archbuilder module; ``None`` outside archbuilder."""
    known = set(modules)
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in known:
            return candidate
    return None


def imports_of(module: str, source: str, package: bool, modules: Iterable[str]) -> list[Edge]:
    """The archbuilder modules ``module`` imports anywhere in ``source`` (top, ``TYPE_CHECKING``, functions),
    with the packages each import enters from outside."""
    known = set(modules)
    own = module.split(".") if package else module.split(".")[:-1]  # the packages this module is inside
    edges: list[Edge] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own[: len(own) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            names = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
        for name in names:
            target = _existing(name, known)
            if target is None or target == module:
                continue
            edges.append(Edge(module, target, node.lineno))
            parts = target.split(".")
            for cut in range(1, len(parts)):
                entered = ".".join(parts[:cut])
                if entered in known and own[:cut] != parts[:cut]:
                    edges.append(Edge(module, entered, node.lineno, implicit=True))
    return edges


def import_graph(root: Path = ROOT) -> list[Edge]:
    """Every import edge between archbuilder modules."""
    modules = find_modules(root)
    edges: list[Edge] = []
    for name, (path, package) in modules.items():
        edges += imports_of(name, path.read_text(encoding="utf-8"), package, modules)
    return edges


def cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """The import loops: each strongly connected group of two or more modules, sorted (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def unit_of(module: str) -> str:
    """A module's layer unit: ``archbuilder.training.data.npz`` -> ``training``; ``archbuilder`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward(edges: Iterable[Edge]) -> list[Edge]:
    """The edges from a unit to another of the same or a higher layer."""
    return [
        edge
        for edge in edges
        if unit_of(edge.importer) != unit_of(edge.target)
        and LEVEL[unit_of(edge.importer)] <= LEVEL[unit_of(edge.target)]
    ]


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return import_graph()


# -- the rules ---------------------------------------------------------------------------------------------


def test_no_import_loop(edges) -> None:
    loops = cycles(edges)
    described = [
        " <-> ".join(group)
        + "\n"
        + "\n".join(f"    {edge}" for edge in edges if edge.importer in group and edge.target in group)
        for group in loops
    ]
    assert not loops, "import loops (move the shared names to the lower module, or pass values in):\n" + "\n".join(
        described
    )


def test_plots_import_neither_training_nor_search(edges) -> None:
    wrong = [
        str(edge)
        for edge in edges
        if unit_of(edge.importer) == "plots" and unit_of(edge.target) in ("training", "search")
    ]
    assert not wrong, "plots draw the data they are handed; read run folders and results in the caller:\n" + (
        "\n".join(wrong)
    )


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(name) for name in find_modules()}
    assert not units - set(LEVEL), f"place these in LAYERS (tests/test_layers.py): {sorted(units - set(LEVEL))}"


def test_imports_run_down_the_layers(edges) -> None:
    wrong = [str(edge) for edge in upward(edges) if (edge.importer, edge.target) not in KNOWN_EXCEPTIONS]
    order = " < ".join("/".join(units) for units in LAYERS)
    assert not wrong, f"imports from a lower layer to a higher one ({order}):\n" + "\n".join(sorted(set(wrong)))


def test_known_exceptions_still_exist(edges) -> None:
    present = {(edge.importer, edge.target) for edge in upward(edges)}
    stale = [f"{importer} -> {target}" for importer, target in KNOWN_EXCEPTIONS if (importer, target) not in present]
    assert not stale, "fixed: remove from KNOWN_EXCEPTIONS:\n" + "\n".join(stale)


# -- the checker itself ------------------------------------------------------------------------------------

MODULES = [
    "archbuilder",
    "archbuilder.a",
    "archbuilder.a.low",
    "archbuilder.a.high",
    "archbuilder.b",
    "archbuilder.b.x",
]


@pytest.mark.parametrize(
    ("module", "package", "source", "expected"),
    [
        ("archbuilder.a.low", False, "from typing import TYPE_CHECKING\nimport os\n", []),
        (
            "archbuilder.a.low",
            False,
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from archbuilder.a.high import Thing\n",
            [("archbuilder.a.high", False)],
        ),
        ("archbuilder.a.low", False, "def f():\n    from . import high\n", [("archbuilder.a.high", False)]),
        (
            "archbuilder.a.low",
            False,
            "import archbuilder.b.x\n",
            [("archbuilder.b.x", False), ("archbuilder.b", True)],
        ),
        ("archbuilder.a.low", False, "from archbuilder import b\n", [("archbuilder.b", False)]),
        ("archbuilder.a.low", False, "from archbuilder import __version__\n", [("archbuilder", False)]),
        ("archbuilder.a", True, "from .low import name\n", [("archbuilder.a.low", False)]),
        (
            "archbuilder.b.x",
            False,
            "from ..a.high import name\n",
            [("archbuilder.a.high", False), ("archbuilder.a", True)],
        ),
    ],
)
def test_imports_are_found_wherever_they_are(module, package, source, expected) -> None:
    found = [(edge.target, edge.implicit) for edge in imports_of(module, source, package, MODULES)]
    assert found == expected


def test_a_loop_behind_type_checking_is_a_loop() -> None:
    low = imports_of("archbuilder.a.low", "from archbuilder.a.high import f\n", False, MODULES)
    high = imports_of("archbuilder.a.high", "if TYPE_CHECKING:\n    from archbuilder.a.low import g\n", False, MODULES)
    assert cycles(low + high) == [["archbuilder.a.high", "archbuilder.a.low"]]
    assert cycles(low) == []


def test_an_upward_import_is_found() -> None:
    down = Edge("archbuilder.search.runner", "archbuilder.training.runner", 1)
    up = Edge("archbuilder.plots.curves", "archbuilder.training.history_file", 2)
    beside = Edge("archbuilder.zoo", "archbuilder.compile", 3)
    assert upward([down, up, beside]) == [up, beside]


#: The one module that calls ``Model.fit``: train, search trials and the final retraining go through it.
FIT_ENGINE = "archbuilder.training.engine"


def fit_calls(source: str) -> list[tuple[int, str]]:
    """``(line, receiver)`` of every ``<receiver>.fit(...)`` call."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fit":
            calls.append((node.lineno, ast.unparse(node.func.value)))
    return calls


def test_exactly_one_module_fits_models() -> None:
    found = {
        module: calls
        for module, (path, _) in find_modules().items()
        if (calls := fit_calls(path.read_text(encoding="utf-8")))
    }
    assert list(found) == [FIT_ENGINE], found


def test_a_fit_call_is_found() -> None:
    source = "def f(model, tuner):\n    model.fit(x)\n    tuner.hypermodel.fit(hp, model)\n    self.net.fit(**a)\n"
    assert fit_calls(source) == [(2, "model"), (3, "tuner.hypermodel"), (4, "self.net")]
