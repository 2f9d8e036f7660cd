"""Registration does not depend on import order: importing any public module alone (in a fresh process,
or with every archbuilder module dropped from ``sys.modules`` first) leaves every registry it can reach
full (the analyzer's rules and block lowerings, the compiler's builders), keyed by exactly the kinds
written once in ``archbuilder.blueprint.kinds``; and the search's oracle builders are keyed by exactly
the tuners written once in ``archbuilder.search.tuners``.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import archbuilder

ROOT = Path(__file__).resolve().parents[1]
# Modules that import Keras take seconds each; the light ones are all checked, and the Keras side
# through the modules that build models (compile, the training run, the search's trials).
HEAVY_ENTRY_POINTS = [
    "archbuilder.compile",
    "archbuilder.compile.builders",
    "archbuilder.compile.model",
    "archbuilder.training.runner",
    "archbuilder.search.tuner",
]


def public_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(archbuilder.__path__, "archbuilder.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return sorted(names)


# For each module named: every archbuilder module is dropped from sys.modules, so that importing the
# module runs it and everything it imports from scratch, as in a fresh process (archbuilder's registries
# are its modules' globals); then what each registry it reached lacks or has extra, by registry.
PROGRAM = """
import importlib, json, sys
findings = {}
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "archbuilder" or m.startswith("archbuilder.")]:
        del sys.modules[loaded]
    importlib.import_module(name)
    from archbuilder.blueprint.kinds import BLOCK_KINDS, LAYER_KINDS
    found = {}
    if "archbuilder.analysis.rules" in sys.modules:
        from archbuilder.analysis import LOWERINGS, RULES
        found["rules"] = sorted(set(LAYER_KINDS) ^ set(RULES))
        found["lowerings"] = sorted(set(BLOCK_KINDS) ^ set(LOWERINGS))
    if "archbuilder.compile.builders" in sys.modules:
        from archbuilder.compile.builders import BUILDERS
        found["builders"] = sorted(set(LAYER_KINDS) ^ set(BUILDERS))  # blocks are lowered to layers first
    if "archbuilder.search.oracle_factory" in sys.modules:
        from archbuilder.search.oracle_registry import ORACLE_BUILDERS
        from archbuilder.search.tuners import TUNER_BY_TAG
        found["oracles"] = sorted(set(TUNER_BY_TAG) ^ set(ORACLE_BUILDERS))
    findings[name] = found
print(json.dumps(findings))
"""


def light_modules() -> list[str]:
    """Modules that import no Keras (checked by importing each in a fresh process below)."""
    return [
        name
        for name in public_modules()
        if name.split(".")[1] in ("blueprint", "analysis", "errors", "artifacts", "zoo") or name == "archbuilder"
    ]


def check_each(*modules: str) -> dict[str, dict[str, list[str]]]:
    """Each module imported alone (see PROGRAM), all in one fresh process: findings by module."""
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, *modules],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def check(module: str) -> dict[str, list[str]]:
    return check_each(module)[module]


@pytest.fixture(scope="module")
def light_findings() -> dict[str, dict[str, list[str]]]:
    return check_each(*light_modules())


def test_the_module_list_is_not_empty() -> None:
    assert "archbuilder.analysis.graph" in light_modules() and "archbuilder.blueprint.kinds" in light_modules()


@pytest.mark.parametrize("module", light_modules())
def test_importing_a_light_module_alone_fills_every_registry_it_reaches(
    module: str, light_findings: dict[str, dict[str, list[str]]]
) -> None:
    found = light_findings[module]
    assert all(difference == [] for difference in found.values()), found  # the kinds missing or extra, by registry


@pytest.mark.parametrize(  # ten seconds of a fresh TensorFlow each: the package itself in the quick lane
    "module", [m if m == "archbuilder.compile" else pytest.param(m, marks=pytest.mark.slow) for m in HEAVY_ENTRY_POINTS]
)
def test_importing_a_keras_entry_point_alone_fills_the_builders(module: str) -> None:
    found = check(module)
    assert set(found) == {"rules", "lowerings", "builders"}, found
    assert all(difference == [] for difference in found.values()), found


def test_importing_the_oracle_factory_alone_registers_an_oracle_for_every_tuner() -> None:
    found = check("archbuilder.search.oracle_factory")
    assert found.get("oracles") == [], found  # the tuners without an oracle, or oracles without a tuner
