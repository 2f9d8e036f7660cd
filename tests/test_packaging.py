"""``pip install`` as the Python world does it: ``python -m build`` makes an sdist and, from it, a wheel; the wheel,
installed into an empty environment, carries the zoo, the shipped search spaces, the schemas and the embedded
digits, and its ``archbuilder`` command works away from this checkout.

The environment is empty of archbuilder: the wheel is its only copy. Its dependencies (TensorFlow and the rest,
gigabytes) are not installed again: a ``.pth`` line puts this environment's ``site-packages`` on its path, as a
plain folder (its own ``.pth`` files, among them the editable install of this checkout, are not run).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import archbuilder
from tests.commands import QUIET

ROOT = Path(__file__).resolve().parents[1]
#: What a checkout holds that is not the project's source (a copy of the rest is built).
NOT_SOURCE = (".git", ".venv*", ".whl", "build", "dist", "*.egg-info", "__pycache__", "runs", "searches", ".*_cache")


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel ``python -m build`` makes of a copy of the checkout (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE), symlinks=True)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [sdist] = (work / "dist").glob("archbuilder-*.tar.gz")
    [wheel] = (work / "dist").glob("archbuilder-*.whl")
    assert (sdist.name, wheel.name) == (  # the names the README shows
        f"archbuilder-{archbuilder.__version__}.tar.gz",
        f"archbuilder-{archbuilder.__version__}-py3-none-any.whl",
    )
    return {"sdist": sdist, "wheel": wheel, "work": work}


def test_the_wheel_carries_the_package_data(distributions: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(distributions["wheel"]).namelist())
    for expected in (
        "archbuilder/zoo/blueprints/resnet50.yaml",
        "archbuilder/zoo/blueprints/lenet5.yaml",
        "archbuilder/zoo/archbuilder-blueprint.schema.json",
        "archbuilder/search/spaces/pattern.yaml",
        "archbuilder/search/archbuilder-space.schema.json",
        "archbuilder/training/data/README.md",
    ):
        assert expected in names, expected
    assert any(name.startswith("archbuilder/training/data/") and name.endswith(".csv.gz") for name in names)
    zoo = [name for name in names if name.startswith("archbuilder/zoo/blueprints/") and name.endswith(".yaml")]
    assert len(zoo) == len(list((ROOT / "archbuilder/zoo/blueprints").glob("*.yaml")))
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert "archbuilder = archbuilder.cli:main" in zipfile.ZipFile(distributions["wheel"]).read(entry_points).decode()


def test_the_installed_wheel_works_away_from_the_checkout(distributions: dict[str, Path]) -> None:
    work = distributions["work"]
    environment = work / "empty-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True, timeout=120)
    python = environment / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check", "install", "-q"]
        + ["--no-deps", "--no-index", str(distributions["wheel"])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    [packages] = environment.glob("lib/python3*/site-packages")
    (packages / "dependencies.pth").write_text(site.getsitepackages()[0] + "\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")} | QUIET
    outside = work / "elsewhere"
    outside.mkdir()

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(command), cwd=outside, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        return done

    where = run(str(python), "-c", "import archbuilder; print(archbuilder.__file__)").stdout.strip()
    assert Path(where).is_relative_to(packages), where  # the wheel's copy, not this checkout
    loaded = run(str(python), "-c", "import archbuilder; print(archbuilder.load_blueprint('resnet50').name)")
    assert loaded.stdout.strip() == "resnet50"
    command = environment / "bin" / "archbuilder"
    assert "25,636,712" in run(str(command), "summary", "resnet50").stdout  # keras.applications' ResNet50
    checked = run(str(command), "search", "pattern", "--check").stdout
    assert "sampled candidates are valid and within budget" in checked
    schema = run(str(command), "schema").stdout
    assert '"$schema"' in schema
