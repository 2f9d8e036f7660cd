"""Training under the JAX and PyTorch backends (NumPy / PyDataset pipelines), and deterministic runs,
each in a subprocess with its own KERAS_BACKEND."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TRAIN_RESUME_PREDICT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import keras
    import archbuilder
    from archbuilder.training.evaluation import evaluate
    from archbuilder.training.prediction import predict

    folder = sys.argv[1]
    blueprint = '''
    name: tiny
    input: {shape: [16, 16, 3]}
    stem: [{type: conv, filters: 8, kernel_size: 3, strides: 2, padding: same}, {type: batch_norm}]
    head: {pool: global_avg, classes: 10}
    training:
      optimizer: {type: sgd, learning_rate: 0.05, momentum: 0.9, nesterov: true}
      schedule: {type: cosine, warmup_epochs: 1}
      batch_size: 32
      epochs: 2
      label_smoothing: 0.1
      metrics: [accuracy, top5]
      augmentation: {flip: horizontal, translation: 0.1, rotation: 0.05, zoom: 0.1, contrast: 0.2, crop_padding: 2}
    '''
    first = archbuilder.train(blueprint, data="shapes:160", output=folder, verbose=0)
    resumed = archbuilder.train(blueprint, output=folder, resume=True, epochs=3, verbose=0)
    np.save(os.path.join(folder, "x.npy"), np.zeros((2, 16, 16, 3), dtype="float32"))
    print(json.dumps({
        "backend": keras.backend.backend(),
        "pipeline": first.metrics["settings"]["input_pipeline"],
        "epochs": resumed.history["epoch"],
        "iterations": int(resumed.model.optimizer.iterations),
        "finite": bool(np.isfinite(resumed.history["loss"]).all()),
        "test_keys": sorted(resumed.test),
        "evaluated": sorted(evaluate(os.path.join(folder, "last.keras"))),
        "predicted": len(predict(os.path.join(folder, "best.keras"), [os.path.join(folder, "x.npy")], top_k=2)),
    }))
    """
)


def run(program: str, backend: str, *arguments: str) -> dict:
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "CUDA_VISIBLE_DEVICES": "",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        [sys.executable, "-c", program, *arguments], capture_output=True, text=True, env=env, cwd=REPO, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.backends
@pytest.mark.parametrize("backend", [pytest.param("jax", marks=pytest.mark.slow), "torch"])
def test_train_resume_evaluate_predict_under_backend(backend, tmp_path) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (make test installs it)")
    report = run(TRAIN_RESUME_PREDICT, backend, str(tmp_path / "run"))
    assert report["backend"] == backend
    assert report["pipeline"] == "py_dataset"  # augmentation without tf.data
    assert report["epochs"] == [1.0, 2.0, 3.0]  # counted from 1
    assert report["iterations"] == 3 * 5  # 144 training images in batches of 32
    assert report["finite"]
    assert report["test_keys"] == ["accuracy", "loss", "top5"]
    assert report["evaluated"] == ["accuracy", "confusion", "images", "loss", "per_class", "split", "top5"]
    assert report["predicted"] == 2


DETERMINISTIC = textwrap.dedent(
    """
    import json, sys
    import archbuilder
    blueprint = '''
    name: tiny
    input: {shape: [16, 16, 3]}
    stem: [{type: conv, filters: 8, kernel_size: 3, strides: 2, padding: same}]
    head: {pool: global_avg, classes: 10}
    training: {epochs: 2, batch_size: 32, augmentation: {flip: horizontal, translation: 0.1}}
    '''
    losses = [archbuilder.train(blueprint, data="shapes:128", output=f"{sys.argv[1]}/{i}", seed=5,
                                deterministic=True, verbose=0).history["loss"] for i in range(2)]
    other = archbuilder.train(blueprint, data="shapes:128", output=f"{sys.argv[1]}/2", seed=6,
                              deterministic=True, verbose=0).history["loss"]
    print(json.dumps({"same": losses[0] == losses[1], "differs": other != losses[0]}))
    """
)


@pytest.mark.slow  # two trainings in fresh processes: the quick lane's 10 minutes (the flag's plumbing is tested there)
def test_deterministic_runs_repeat_exactly(tmp_path) -> None:
    report = run(DETERMINISTIC, "tensorflow", str(tmp_path))
    assert report == {"same": True, "differs": True}
