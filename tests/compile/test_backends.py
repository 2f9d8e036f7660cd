"""Backend smoke test: one network holding every block template builds, runs, saves and reloads
under JAX and PyTorch (CPU builds), in subprocesses so each gets its own KERAS_BACKEND."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile
    import numpy as np
    import keras
    from archbuilder.compile import build_model
    import archbuilder

    blueprint = '''
    name: every_block
    input: {shape: [32, 32, 3]}
    defaults: {batch_norm: true, use_bias: auto}
    stem:
      - {type: rescaling, scale: 0.00392}
      - {type: normalization, mean: [0.5, 0.4, 0.3], variance: [0.1, 0.2, 0.3]}
      - {type: conv, filters: 16, kernel_size: 3, padding: 1}
      - {type: lrn}
    stages:
      - {block: {type: residual, filters: 16}, repeat: 2}
      - {block: {type: residual, filters: 16, preact: true}}
      - {block: {type: bottleneck, filters: 8, se_ratio: 0.25, groups: 2}, strides: 2}
      - {block: {type: inverted_residual, filters: 32, se_ratio: 0.25, activation: swish}}
      - {block: {type: inception, filters_1x1: 8, reduce_3x3: 4, filters_3x3: 8, reduce_5x5: 4, filters_5x5: 8, \
pool_proj: 8}, id: mid}
      - {block: {type: inception, naive: true, filters_1x1: 8, filters_3x3: 8, filters_5x5: 8}}
      - {blocks: [{type: dense_block, num_layers: 2, growth_rate: 8}, {type: transition}]}
      - {block: {type: fire, squeeze: 8, expand_1x1: 16, expand_3x3: 16}}
      - {block: {type: squeeze_excite}}
      - {block: {type: depthwise, filters: 32}}
      - {block: {type: mlpconv, filters: [32, 16]}}
    head: {classes: 10}
    aux_heads:
      - {name: aux1, at: mid, layers: [{type: avg_pool, pool_size: 2}], fc: [16], classes: 10}
    '''
    model = build_model(blueprint)
    analysis = archbuilder.analyze(blueprint)
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    outputs = model.predict(x, verbose=0)
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    again = reloaded.predict(x, verbose=0)
    print(json.dumps({
        "backend": keras.backend.backend(),
        "params": model.count_params(),
        "analyzed": analysis.params,
        "shapes": [list(o.shape) for o in outputs],
        "finite": bool(all(np.isfinite(o).all() for o in outputs)),
        "reload_diff": max(float(np.abs(a - b).max()) for a, b in zip(outputs, again)),
    }))
    """
)


@pytest.mark.backends
@pytest.mark.slow  # tens of seconds per backend; the quick lane trains under PyTorch (training/test_backends.py)
@pytest.mark.parametrize("backend, module", [("jax", "jax"), ("torch", "torch")])
def test_every_block_runs_under_backend(backend: str, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (make test installs it)")
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert report["params"] == report["analyzed"]
    assert report["shapes"] == [[2, 10], [2, 10]]
    assert report["finite"]
    assert report["reload_diff"] < 1e-5
