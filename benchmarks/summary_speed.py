"""`archbuilder summary` of ResNet-152 against building Keras's ResNet152 and calling `.summary()`.

Both sides run as whole processes (interpreter start and imports included), since that is what a
user waits for. Run from the repository root::

    python benchmarks/summary_speed.py --repeats 3

Prints the machine, the median wall time of each side, the speed ratio, and both parameter counts
(which must agree).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESNET152_REPEATS = (3, 8, 36, 3)
KERAS_PROGRAM = (
    "import keras\n"
    "model = keras.applications.ResNet152(weights=None)\n"
    "model.summary()\n"
    "print('PARAMS', model.count_params())\n"
)


def resnet152_blueprint(folder: Path) -> Path:
    """The zoo's resnet152 if there is one, else resnet50 with repeats 3, 8, 36, 3 written to ``folder``."""
    zoo = ROOT / "archbuilder" / "zoo" / "blueprints"
    if (zoo / "resnet152.yaml").is_file():
        return zoo / "resnet152.yaml"
    data = yaml.safe_load((zoo / "resnet50.yaml").read_text(encoding="utf-8"))
    data["name"] = "resnet152"
    for stage, repeat in zip(data["stages"], RESNET152_REPEATS):
        stage["repeat"] = repeat
    path = folder / "resnet152.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def timed(command: list[str]) -> tuple[float, str]:
    """Wall time of one process and its standard output; a failure stops the benchmark."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environment)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed, result.stdout


def median_time(command: list[str], repeats: int, warmup: int) -> tuple[float, list[float], str]:
    for _ in range(warmup):
        timed(command)
    runs = [timed(command) for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), [t for t, _ in runs], runs[-1][1]


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    return (
        f"{platform.platform()}; {platform.processor() or platform.machine()}; {os.cpu_count()} CPUs; "
        f"python {platform.python_version()}; keras {version('keras')}; tensorflow {version('tensorflow')}; "
        f"archbuilder {version('archbuilder')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each side (default: 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first, to warm the file cache (default: 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        blueprint = resnet152_blueprint(Path(folder))
        ours = [sys.executable, "-m", "archbuilder", "summary", str(blueprint)]
        ours_time, ours_runs, _ = median_time(ours, args.repeats, args.warmup)
        _, ours_json = timed(ours + ["--json"])
        keras_time, keras_runs, keras_output = median_time(
            [sys.executable, "-c", KERAS_PROGRAM], args.repeats, args.warmup
        )
    ours_params = json.loads(ours_json)["params"]
    keras_params = int(keras_output.rsplit("PARAMS", 1)[1])
    print(f"machine: {machine()}")
    print(f"blueprint: {blueprint.name} ({'zoo' if 'zoo' in blueprint.parts else 'resnet50 with repeats 3, 8, 36, 3'})")
    print(f"repeats: {args.repeats} (after {args.warmup} warm-up run(s)); whole processes, wall time")
    print(f"archbuilder summary (no Keras):            median {ours_time:.3f} s  runs {_format(ours_runs)}")
    print(f"keras.applications.ResNet152().summary():  median {keras_time:.3f} s  runs {_format(keras_runs)}")
    print(f"speed ratio: {keras_time / ours_time:.1f}x (target >= 10x)")
    agree = "equal" if ours_params == keras_params else "DIFFERENT"
    print(f"params: archbuilder {ours_params:,}, keras {keras_params:,} ({agree})")


def _format(runs: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in runs)


if __name__ == "__main__":
    main()
