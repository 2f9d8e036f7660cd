"""Random small networks: what the analyzer accepts, Keras builds with the analyzer's numbers.

Blueprints are generated as dicts (layers, the block templates, merges by id, the `pattern:` form,
heads and auxiliary heads), written as YAML and loaded like a user's file. Properties:

- the analyzer either accepts a blueprint or raises a user error (``ArchbuilderError``), never
  anything else; an accepted one dumps in canonical (resolved) form and loads back equal, with the
  same analysis;
- every accepted one builds in Keras, and the analyzer's per-layer output shapes and parameter
  counts (trainable and non-trainable), total parameters and output shape(s) equal Keras's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import assume, given, note

import archbuilder
from archbuilder.blueprint import load_blueprint
from archbuilder.errors import ArchbuilderError

from .fuzzlib import dump, fuzz_settings
from .networks import network

#: Analyzer-only examples (fast) and Keras builds (about half a second each on a CPU).
ANALYZER_EXAMPLES = 150
KERAS_BUILDS = 25


def _write(folder: Path, blueprint: dict[str, Any]) -> Path:
    path = folder / "network.yaml"
    path.write_text(dump(blueprint), encoding="utf-8")
    return path


def _analyze_or_none(path: Path) -> archbuilder.Analysis | None:
    try:
        return archbuilder.analyze(path)
    except ArchbuilderError:
        return None


@fuzz_settings(ANALYZER_EXAMPLES)
@given(blueprint=network())
def test_random_network_analyzes_and_round_trips(scratch_dir: Path, blueprint: dict[str, Any]) -> None:
    text = dump(blueprint)
    note(text)
    path = _write(scratch_dir, blueprint)
    analysis = _analyze_or_none(path)  # anything but a user error fails the test here
    assume(analysis is not None)
    resolved = analysis.blueprint
    again = load_blueprint(resolved.to_yaml())
    assert again == resolved, "the resolved form does not load back equal"
    assert again.resolve() == resolved, "resolving the resolved form changes it"
    assert load_blueprint(yaml.safe_load(text)).resolve() == resolved, "the dict and the file resolve differently"
    reanalysis = archbuilder.analyze(again)
    assert [(r.name, r.output_shape, r.trainable_params, r.non_trainable_params) for r in reanalysis.layers] == [
        (r.name, r.output_shape, r.trainable_params, r.non_trainable_params) for r in analysis.layers
    ]
    assert reanalysis.macs == analysis.macs


@fuzz_settings(KERAS_BUILDS)
@given(blueprint=network())
def test_random_network_builds_with_the_analyzers_numbers(scratch_dir: Path, blueprint: dict[str, Any]) -> None:
    import keras

    from ..compile.support import assert_analysis_equals_model  # imports Keras: not at collection

    note(dump(blueprint))
    path = _write(scratch_dir, blueprint)
    try:
        analysis = archbuilder.analyze(path)
    except Exception:  # rejected, or a crash that the analyzer-only test reports
        analysis = None
    assume(analysis is not None)
    keras.backend.clear_session()
    try:
        model = archbuilder.build_model(path)
        assert_analysis_equals_model(analysis, model)
        outputs = model(np.full((1, *analysis.blueprint.input.shape), 0.5, "float32"), training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for output, shape in zip(outputs, analysis.outputs.values(), strict=True):  # a real forward pass
            assert tuple(output.shape) == (1, *shape)
            assert np.isfinite(keras.ops.convert_to_numpy(output)).all(), "a forward pass gives NaN or infinity"
    finally:
        keras.backend.clear_session()
