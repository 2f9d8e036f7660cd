"""Transfer learning: weights taken by layer name from another model, and frozen blueprint parts.

archbuilder names every Keras layer after its blueprint path (``stages[2].blocks[0].conv1`` is the
layer ``stages_2_blocks_0_conv1``), so two models built from blueprints that share a body share
layer names: :func:`load_weights_by_name` copies every layer whose name and weight shapes match,
and reports the layers that are new (not in the source) and those that do not fit (a head with
other ``classes``), with both shapes.

:func:`freeze` sets ``trainable = False`` on the layers under blueprint path patterns: ``stem``,
``stages[0:3]`` (a Python slice over the indices present), ``stages[*].blocks[0]``, ``head``
(fnmatch wildcards ``*`` and ``?``). A frozen BatchNormalization layer runs in inference mode
(Keras 3 uses its moving statistics when ``trainable`` is False), so fine-tuning on a new dataset
does not disturb the statistics the body learned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from archbuilder.analysis import analyze
from archbuilder.analysis.graph import build_graph
from archbuilder.blueprint.io import load_blueprint
from archbuilder.blueprint.layers import KerasApplication
from archbuilder.blueprint.resolve import resolve_with_origins
from archbuilder.compile import build_model
from archbuilder.compile.builders import keep_batch_norm_frozen
from archbuilder.compile.model import load_model_file
from archbuilder.training.errors import RunError

Shapes = list[tuple[int, ...]]


@dataclass
class TransferReport:
    """What :func:`load_weights_by_name` did, layer by layer (layers without weights are left out)."""

    source: str
    loaded: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # no layer of that name (with weights) in the source
    mismatched: list[tuple[str, Shapes, Shapes]] = field(default_factory=list)  # (name, model's, source's)
    unused: list[str] = field(default_factory=list)  # source layers the model has no layer for

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data: layer names, and each mismatch with both shape lists."""
        return {
            "source": self.source,
            "loaded": self.loaded,
            "new": self.new,
            "unused": self.unused,
            "mismatched": [
                {"layer": name, "model": [list(s) for s in mine], "source": [list(s) for s in theirs]}
                for name, mine, theirs in self.mismatched
            ],
        }

    def format(self) -> str:
        """The report as text: one summary line, then the new, mismatched and unused layers."""
        lines = [
            f"init_weights {self.source}: loaded {len(self.loaded)} layers, {len(self.new)} new, "
            f"{len(self.mismatched)} did not fit, {len(self.unused)} source layers unused"
        ]
        if self.new:
            lines.append("  new (not in the source): " + ", ".join(self.new))
        for name, mine, theirs in self.mismatched:
            lines.append(f"  did not fit: {name}: model {_shapes(mine)} vs source {_shapes(theirs)}")
        if self.unused:
            lines.append("  unused source layers: " + ", ".join(self.unused))
        return "\n".join(lines)


def _shapes(shapes: Shapes) -> str:
    return ", ".join(str(tuple(int(d) for d in shape)) for shape in shapes)


# -- weights by name -----------------------------------------------------------------------------


def _layer_stores(model: keras.Model) -> dict[str, list[Any]]:
    """The weights of each layer that has any, by layer name."""
    stores: dict[str, list[Any]] = {}
    for layer in model.layers:
        if layer.weights:
            stores[layer.name] = [np.asarray(w) for w in layer.weights]
    return stores


def _read_source(path: Path) -> dict[str, list[np.ndarray]]:
    if not path.exists():
        raise RunError(f"init_weights: {path} does not exist.")
    if path.suffix == ".keras":
        return _layer_stores(load_model_file(path, RunError, prefix="init_weights: "))
    if path.name.endswith(".weights.h5"):
        blueprint_file = path.with_name("blueprint.yaml")
        if not blueprint_file.exists():
            raise RunError(
                f"init_weights: {path} holds weights only; archbuilder rebuilds its model from the "
                f"blueprint.yaml beside it, and {blueprint_file} does not exist. Put the source blueprint "
                "there, or pass the .keras model (a run folder's best.keras or last.keras)."
            )
        source = build_model(analyze(load_blueprint(blueprint_file)))
        try:
            source.load_weights(path)
        except Exception as error:  # noqa: BLE001
            raise RunError(
                f"init_weights: {path} does not match the blueprint beside it ({blueprint_file}): "
                f"{type(error).__name__}: {error}"
            ) from None
        return _layer_stores(source)
    raise RunError(f"init_weights must name a .keras model or a .weights.h5 file. Received: {path}")


def load_weights_by_name(model: keras.Model, path: str | Path, *, verbose: bool = True) -> TransferReport:
    """Copy into ``model`` every layer's weights from the model saved at ``path`` whose layer has the same
    name and the same weight shapes; the rest keep their initialization. Returns (and prints) the report.

    Raises:
        RunError: the file is missing or not a Keras model (or weights with their blueprint beside them).
    """
    path = Path(path)
    source = _read_source(path)
    report = TransferReport(str(path))
    names = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        names.add(layer.name)
        theirs = source.get(layer.name)
        if theirs is None:
            report.new.append(layer.name)
            continue
        mine = [tuple(w.shape) for w in layer.weights]
        their_shapes = [tuple(w.shape) for w in theirs]
        if mine != their_shapes:
            report.mismatched.append((layer.name, mine, their_shapes))
            continue
        layer.set_weights(theirs)
        report.loaded.append(layer.name)
    report.unused = [name for name in source if name not in names]
    if verbose:
        print(report.format())
    return report


# -- freezing ------------------------------------------------------------------------------------

_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]|(\.)")


def _pattern_regex(pattern: str) -> tuple[re.Pattern[str], list[slice]]:
    """The layer-name regex of a blueprint path pattern, with a group for each slice."""
    parts: list[str] = []
    slices: list[slice] = []
    position = 0
    for match in _SEGMENT.finditer(pattern):
        if match.start() != position:
            raise RunError(f"freeze: cannot read the pattern '{pattern}' (at '{pattern[position:]}').")
        position = match.end()
        name, index, _dot = match.groups()
        if name is not None:
            parts.append(
                ("_" if parts else "")
                + "".join(".*" if c == "*" else "[^_]" if c == "?" else re.escape(c) for c in name)
            )
        elif index is not None:
            index = index.strip()
            if index == "*":
                parts.append(r"_\d+")
            elif re.fullmatch(r"-?\d*:-?\d*(:-?\d*)?", index):
                bounds = [int(b) if b else None for b in index.split(":")]
                slices.append(slice(*bounds))
                parts.append(r"_(\d+)")
            elif re.fullmatch(r"\d+", index):
                parts.append(f"_{int(index)}")
            else:
                raise RunError(f"freeze: '[{index}]' in '{pattern}' is not an index, a slice (0:3) or *.")
    if position != len(pattern) or not parts:
        raise RunError(f"freeze: cannot read the pattern '{pattern}'.")
    return re.compile("".join(parts) + "(?:_.*)?"), slices


def _layer_names(model: keras.Model) -> list[str]:
    """The name of every layer as a pattern sees it: a nested network's layers (a ``backbone``) as
    ``<network>_<layer>``, after the network itself."""
    names: list[str] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        names.append(layer.name)
        if isinstance(layer, keras.Model):
            names += [
                f"{layer.name}_{inner.name}" for inner in layer.layers if not isinstance(inner, keras.layers.InputLayer)
            ]
    return names


def match_layers(model: keras.Model, pattern: str, *, head_names: tuple[str, ...] = ("predictions",)) -> list[str]:
    """Names of the model's layers under the blueprint path ``pattern`` (``head`` includes the classifier).

    The layers of a nested network are reached through it: ``backbone.conv5*`` names the layers
    of the ``backbone`` whose names start with ``conv5`` (returned as ``backbone_conv5_...``).
    """
    regex, slices = _pattern_regex(pattern)
    candidates: list[tuple[str, tuple[int, ...]]] = []
    for qualified in _layer_names(model):
        for name in (qualified, f"head_{qualified}") if qualified in head_names else (qualified,):
            match = regex.fullmatch(name)
            if match:
                candidates.append((qualified, tuple(int(g) for g in match.groups())))
                break
    if not slices:
        return [name for name, _ in candidates]
    # Each slice picks among the indices present (so stages[-2:] means the last two stages).
    allowed = [set(sorted({groups[i] for _, groups in candidates})[s]) for i, s in enumerate(slices)]
    return [name for name, groups in candidates if all(g in allowed[i] for i, g in enumerate(groups))]


def freeze(
    model: keras.Model,
    patterns: list[str] | tuple[str, ...],
    *,
    head_names: tuple[str, ...] = ("predictions",),
    pretrained: tuple[str, ...] = (),
) -> list[str]:
    """Make every layer trainable, then freeze the layers under ``patterns``; returns the frozen names.

    ``pretrained`` names nested networks (a blueprint's ``backbone``) whose BatchNormalization
    layers stay frozen even when the network is trained (see
    :func:`archbuilder.compile.builders.keep_batch_norm_frozen`).

    Call ``model.compile`` afterwards: Keras reads ``trainable`` when it compiles.

    Raises:
        RunError: a pattern matches no layer (the error names it).
    """
    frozen: list[str] = []
    for pattern in patterns:
        names = match_layers(model, pattern, head_names=head_names)
        if not names:
            raise RunError(
                f"freeze: the pattern '{pattern}' matches no layer of model '{model.name}'. Patterns are "
                "blueprint paths such as 'stem', 'stages[0:3]', 'stages[*].blocks[0]' or 'head'."
            )
        frozen += [name for name in names if name not in frozen]
    for layer in model.layers:
        layer.trainable = layer.name not in frozen  # a nested network passes this on to its layers
        if isinstance(layer, keras.Model) and layer.trainable:
            for inner in layer.layers:
                inner.trainable = f"{layer.name}_{inner.name}" not in frozen
            if layer.name in pretrained:
                keep_batch_norm_frozen(layer)
    return frozen


def nested_networks(blueprint: Any) -> tuple[list[str], tuple[str, ...]]:
    """The layer names of a blueprint's keras.applications networks (its ``backbone``): those it
    freezes (``trainable: false``, the default when pretrained) and those that are pretrained."""
    networks = [
        (node.name, node.spec)
        for node in build_graph(resolve_with_origins(blueprint)).nodes
        if isinstance(node.spec, KerasApplication)
    ]
    return (
        [name for name, spec in networks if not spec.is_trainable],
        tuple(name for name, spec in networks if spec.pretrained),
    )


__all__ = ["TransferReport", "freeze", "load_weights_by_name", "match_layers", "nested_networks"]
