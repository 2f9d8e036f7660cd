"""Building the ResNet-50 blueprint vs keras.applications.ResNet50(weights=None), same process.

Alternates the two builders for --repeats rounds (after one warm-up each) and prints median
wall times and the ratio archbuilder / Keras. Target: <= 1.1.

    python benchmarks/build_speed.py [--repeats 7] [--blueprint resnet50]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from archbuilder.compile import build_model  # noqa: E402
from archbuilder.zoo import load_zoo_blueprint  # noqa: E402


def timed(build: object) -> float:
    gc.collect()
    keras.backend.clear_session()
    start = time.perf_counter()
    model = build()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    del model
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--blueprint", default="resnet50")
    parser.add_argument("--application", default="ResNet50")
    args = parser.parse_args()
    blueprint = load_zoo_blueprint(args.blueprint)
    reference = getattr(keras.applications, args.application)
    ours_build = lambda: build_model(blueprint)  # noqa: E731
    keras_build = lambda: reference(weights=None)  # noqa: E731
    timed(ours_build), timed(keras_build)  # warm-up: imports, first-call tracing
    ours, theirs = [], []
    for _ in range(args.repeats):
        ours.append(timed(ours_build))
        theirs.append(timed(keras_build))
    ours_median, keras_median = statistics.median(ours), statistics.median(theirs)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"Keras {keras.__version__} ({keras.backend.backend()})"
    )
    print(f"archbuilder build_model({args.blueprint}): median {ours_median * 1000:.0f} ms over {args.repeats}")
    print(
        f"keras.applications.{args.application}(weights=None): median {keras_median * 1000:.0f} ms over {args.repeats}"
    )
    print(f"ratio archbuilder / keras: {ours_median / keras_median:.2f}x (target <= 1.10x)")


if __name__ == "__main__":
    main()
