"""No import inside a function dodges an import loop.

An ``import`` of an archbuilder module inside a function is allowed only when it defers a heavy
dependency: the imported module imports Keras, TensorFlow, KerasTuner or matplotlib when it is
loaded (so ``validate``, ``summary`` and ``import archbuilder`` stay fast and Keras-free), or the
importer is a CLI command module (a command imports what it runs when it runs). Any other
function-level import would be hiding a loop, and is listed here as a failure.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("keras", "tensorflow", "keras_tuner", "matplotlib", "jax", "torch")


def function_level_imports() -> list[tuple[str, str, int]]:
    found = []
    for path in sorted((ROOT / "archbuilder").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.module.startswith("archbuilder"):
                    targets = (
                        [inner.module]
                        if inner.module not in ("archbuilder.training", "archbuilder.runtime")
                        else [f"{inner.module}.{alias.name}" for alias in inner.names]
                    )
                    found += [(module, target, inner.lineno) for target in targets]
                elif isinstance(inner, ast.Import):
                    found += [
                        (module, alias.name, inner.lineno)
                        for alias in inner.names
                        if alias.name.startswith("archbuilder")
                    ]
    return found


#: Run in one fresh process: each module imported with the heavy packages blocked. A module is heavy when
#: importing it asks for one (directly or through the modules it imports); the modules a heavy import
#: loaded are dropped again, so no verdict depends on the order (a cached module asks nothing twice).
HEAVY_PROBE = f"""
import importlib, importlib.abc, json, sys
asked = []

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            asked.append(name)
            raise ImportError(f"blocked by the test: {{name}}", name=name)
        return None

sys.meta_path.insert(0, Blocked())
heavy = []
for name in sys.argv[1:]:
    asked.clear()
    before = set(sys.modules)
    try:
        importlib.import_module(name)
    except ImportError:
        if not asked:
            raise
    if asked:
        heavy.append(name)
        for loaded in set(sys.modules) - before:
            del sys.modules[loaded]
print(json.dumps(heavy))
"""


def heavy_modules(modules: set[str]) -> set[str]:
    """The modules whose import loads a heavy dependency (one fresh process, the heavy ones blocked)."""
    result = subprocess.run(
        [sys.executable, "-c", HEAVY_PROBE, *sorted(modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_probe_finds_a_heavy_import_behind_a_light_one() -> None:
    heavy = heavy_modules({"archbuilder.blueprint", "archbuilder.compile.model", "archbuilder.analysis"})
    assert heavy == {"archbuilder.compile.model"}


def test_function_level_imports_only_defer_heavy_modules() -> None:
    found = [
        (importer, target, line)
        for importer, target, line in function_level_imports()
        if not importer.startswith("archbuilder.cli")
    ]
    heavy = heavy_modules({target for _, target, _ in found})
    hiding = [
        f"{importer}:{line} imports {target} inside a function"
        for importer, target, line in found
        if target not in heavy
    ]
    assert not hiding, "imports that may hide a loop (import at the top, or split the modules):\n" + "\n".join(hiding)
