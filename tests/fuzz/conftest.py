"""Fixtures of the property-based tests: a scratch copy of the zoo, and crash logs kept out of ~/.cache."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .fuzzlib import ZOO_FILES


@pytest.fixture(scope="session", autouse=True)
def _crash_logs_in_a_scratch_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An internal error (exit 3) writes a crash log; keep them in the test's temporary folder, and make
    sure ARCHBUILDER_DEBUG does not change the contract under test."""
    saved = {name: os.environ.get(name) for name in ("ARCHBUILDER_LOG_DIR", "ARCHBUILDER_DEBUG")}
    os.environ["ARCHBUILDER_LOG_DIR"] = str(tmp_path_factory.mktemp("crash_logs"))
    os.environ.pop("ARCHBUILDER_DEBUG", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def scratch_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a copy of every zoo file, so that a mutant's ``extends:`` finds its base."""
    folder = tmp_path_factory.mktemp("zoo")
    for path in ZOO_FILES:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def scratch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the generated blueprints (one file, rewritten by every example)."""
    return tmp_path_factory.mktemp("generated")
