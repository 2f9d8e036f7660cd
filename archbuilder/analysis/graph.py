"""The layer graph Keras will build, derived from a resolved blueprint.

Every block template and every conv-with-batch-norm is lowered here into primitive layers, each
a :class:`Node` with its blueprint path, its Keras layer name and its analyzed effect. The
compiler builds exactly these nodes, so the analyzer and the model cannot disagree about
structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from archbuilder.analysis.rules import RULES, Effect, FitLoss, GeometryError, Tensor
from archbuilder.blueprint import layers as L
from archbuilder.blueprint.errors import BlueprintError, Location, Problem, Severity
from archbuilder.blueprint.fields import ACTIVATIONS, padding_amounts
from archbuilder.blueprint.kinds import KIND_BY_TAG
from archbuilder.blueprint.layers import Kind
from archbuilder.blueprint.model import Blueprint, Defaults, Head
from archbuilder.blueprint.resolve import Resolution
from archbuilder.blueprint.translate import problem_from_error

#: Activations Keras layers can apply themselves (``Conv2D(activation=...)``), with the same
#: defaults as the standalone layer. Others get their own layer: leaky_relu, whose Keras function
#: defaults to negative_slope=0.2 where the LeakyReLU layer (and the blueprint) take 0.3.
FUSABLE_ACTIVATIONS = frozenset(ACTIVATIONS) - {"leaky_relu"}

INPUT_NAME = "input"

_K = TypeVar("_K", bound=Kind)


def layer_name(path: Location) -> str:
    """``('stages', 2, 'blocks', 0, 'conv')`` -> ``stages_2_blocks_0_conv`` (a valid Keras name)."""
    return "_".join(str(part) for part in path)


@dataclass(frozen=True)
class Node:
    """One Keras layer to be: where it comes from, what it is, what it consumes and produces."""

    path: Location
    name: str
    spec: Kind | None  # None for the model input
    inputs: tuple[str, ...]
    effect: Effect

    @property
    def type(self) -> str:
        """The layer's ``type`` tag (``input`` for the model input)."""
        return self.spec.type if self.spec is not None else "input"

    @property
    def output(self) -> Tensor:
        """The tensor the layer produces."""
        return self.effect.output


@dataclass
class Graph:
    """The analyzed layer graph of a blueprint, in build order: what the compiler builds.

    Attributes:
        nodes: Every layer, the model input first; each reads only nodes before it.
        outputs: Node names of the model's outputs: the main output first, then auxiliary heads.
        ids: The node name of each user ``id`` in the blueprint.
        warnings: Problems of severity ``warning`` found while analyzing (e.g. inexact fits).
    """

    nodes: list[Node]
    outputs: list[str]  # node names: the main output first, then auxiliary heads
    ids: dict[str, str]  # user id -> node name
    warnings: list[Problem] = field(default_factory=list)

    def node(self, name: str) -> Node:
        """The node named ``name``."""
        return self._index[name]

    def __post_init__(self) -> None:
        self._index = {node.name: node for node in self.nodes}


BlockLowering = Callable[["GraphBuilder", Location, Any, str], str]
LOWERINGS: dict[str, BlockLowering] = {}


def lowering(tag: str) -> Callable[[BlockLowering], BlockLowering]:
    """Register the decorated function as the lowering of the block template ``tag``.

    A lowering is called as ``lowering(g, path, block, x)`` with the :class:`GraphBuilder`, the block's
    blueprint path, the block and the name of its input node; it adds the block's layers with ``g``'s
    helpers and returns the name of its output node. :data:`LOWERINGS` maps each tag to it.

    Args:
        tag: The block ``type`` the lowering handles.

    Returns:
        A decorator that registers a lowering and returns it unchanged.
    """

    def register(function: BlockLowering) -> BlockLowering:
        LOWERINGS[tag] = function
        return function

    return register


class GraphBuilder:
    """Adds analyzed nodes one at a time; block lowerings call its helpers.

    With ``collect=True`` a layer, block or head that cannot be analyzed does not stop the build: its
    problems are kept in :attr:`problems`, its output is *broken*, and whatever reads a broken output
    is skipped silently (its checks would only repeat the first problem), while independent parts
    (other branches wired by ``inputs``, ids, auxiliary heads) are still checked.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        defaults: Defaults,
        resolution: Resolution[Blueprint] | None = None,
        strict_fit: bool = False,
        collect: bool = False,
    ) -> None:
        self.defaults = defaults
        self.resolution = resolution
        self.strict_fit = strict_fit
        self.collect = collect
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.ids: dict[str, str] = {}
        self.warnings: list[Problem] = []
        self.problems: list[Problem] = []
        self.broken: set[str] = set()
        self._append(Node((INPUT_NAME,), INPUT_NAME, None, (), Effect(Tensor(tuple(input_shape)))))

    # -- problems, collected or raised -----------------------------------------------------------
    def _record(self, error: BlueprintError) -> None:
        if not self.collect:
            raise error
        self.problems.extend(p for p in error.problems if p not in self.problems)

    def _broken(self, path: Location) -> str:
        """The name of an output that could not be analyzed (what reads it is skipped)."""
        name = f"{layer_name(path)}!broken"
        self.broken.add(name)
        return name

    def attempt(self, path: Location, function: Callable[..., str], *args: Any) -> str:
        """``function(*args)``; when collecting, a problem it raises is recorded and a broken output returned."""
        try:
            return function(*args)
        except BlueprintError as error:
            self._record(error)
            return self._broken(path)

    # -- primitives ------------------------------------------------------------------------------
    def add(
        self,
        path: Location,
        spec: Kind,
        inputs: list[str],
        name: str | None = None,
        trailing_padding: tuple[int, int] = (0, 0),
    ) -> str:
        """Analyze ``spec`` on ``inputs`` and record it; returns the node's name.

        ``trailing_padding``: zero rows/columns a preceding zero_padding added at the bottom/right;
        a window that leaves only those unread drops no input pixel, so it is no inexact fit.
        """
        name = name or layer_name(path)
        if any(i in self.broken for i in inputs):
            return self._broken(path)
        if name in self.by_name:
            raise self.error(path, f"layer name '{name}' is used twice; give the output a different name")
        tensors = [self.by_name[i].output for i in inputs]

        def warn(loss: FitLoss) -> None:
            loss = FitLoss(
                max(0, loss.rows - trailing_padding[0]),
                max(0, loss.columns - trailing_padding[1]),
                loss.described + (f" after zero padding {list(trailing_padding)}" if any(trailing_padding) else ""),
            )
            if not (loss.rows or loss.columns):
                return
            if self.strict_fit:
                raise GeometryError(loss.message(strict=True))
            self.warnings.append(self.problem(path, loss.message(), "warning"))

        try:
            effect = RULES[spec.type](spec, tensors, warn)
        except GeometryError as exc:
            raise self.error(path, str(exc)) from None
        self._append(Node(path, name, spec, tuple(inputs), effect))
        return name

    def _append(self, node: Node) -> None:
        self.nodes.append(node)
        self.by_name[node.name] = node

    def shape(self, name: str) -> tuple[int, ...]:
        """The output shape of the node ``name`` (no batch axis)."""
        return self.by_name[name].output.shape

    def channels(self, name: str) -> int:
        """The channels (last axis) of the node ``name``'s output."""
        return self.shape(name)[-1]

    def problem(self, path: Location, message: str, severity: Severity = "error") -> Problem:
        """A problem at ``path``, with the user's path of it (its origin in ``resolution``) when there is one."""
        origin = self.resolution.origin_of(path) if self.resolution else None
        return Problem(message, path, severity, origin=origin)

    def error(self, path: Location, message: str) -> BlueprintError:
        """A :class:`BlueprintError` of one :meth:`problem` at ``path``, to raise."""
        return BlueprintError([self.problem(path, message)])

    # -- conv units: padding, conv, batch norm, activation ---------------------------------------
    def unit(self, path: Location, spec: L.ConvOptions, x: str) -> str:
        """A conv-like layer (conv, depthwise_conv, separable_conv, dense) with its BN and activation."""
        padding = getattr(spec, "padding", "valid")
        trailing = (0, 0)
        if padding not in ("same", "valid"):
            x, trailing = self.zero_pad(path, padding, x)
            spec = spec.model_copy(update={"padding": "valid"})
        batch_norm = bool(spec.batch_norm)
        activation = spec.activation or "linear"
        use_bias = spec.use_bias
        if use_bias == "auto" or use_bias is None:
            use_bias = not batch_norm
        fused = not batch_norm and activation in FUSABLE_ACTIVATIONS
        spec = spec.model_copy(
            update={
                "batch_norm": False,
                "use_bias": use_bias,
                "activation": activation if fused else "linear",
                "kernel_initializer": spec.kernel_initializer or self.defaults.kernel_initializer,
            }
        )
        out = self.add(path, spec, [x], trailing_padding=trailing)
        if batch_norm:
            out = self.batch_norm(path + ("bn",), out)
        if not fused:
            out = self.activation(path, activation, out)
        return out

    def zero_pad(self, path: Location, padding: Any, x: str) -> tuple[str, tuple[int, int]]:
        """Explicit padding as a ZeroPadding2D layer (``<path>_pad``); returns it and its bottom/right amounts."""
        spec = L.ZeroPadding(padding=padding)
        (_, bottom), (_, right) = padding_amounts(spec.padding)
        return self.add(path + ("pad",), spec, [x]), (bottom, right)

    def batch_norm(self, path: Location, x: str) -> str:
        """A batch norm layer with the epsilon and momentum of ``defaults``."""
        spec = L.BatchNorm(epsilon=self.defaults.batch_norm_epsilon, momentum=self.defaults.batch_norm_momentum)
        return self.add(path, spec, [x])

    def activation(self, path: Location, activation: str, x: str) -> str:
        """An activation layer named ``<path>_<activation>`` (nothing for linear)."""
        if activation == "linear":
            return x
        spec = KIND_BY_TAG[activation](type=activation)  # Activation, or the class of one with a parameter
        return self.add(path + (activation,), spec, [x])

    def conv(
        self,
        path: Location,
        x: str,
        filters: int,
        kernel_size: Any = 1,
        *,
        strides: Any = 1,
        padding: Any = "same",
        groups: int = 1,
        activation: str | None = None,
        batch_norm: bool,
        use_bias: Any = None,
    ) -> str:
        """A block's conv, taking initializer, regularizer and bias from ``defaults``."""
        return self._block_unit(
            path,
            x,
            L.Conv,
            use_bias,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            groups=groups,
            activation=activation,
            batch_norm=batch_norm,
        )

    def spec(self, path: Location, kind: type[_K], **fields: Any) -> _K:
        """A layer a block lowers to, validated; a width or setting it cannot take is the block's problem."""
        try:
            return kind(**fields)
        except ValidationError as exc:
            first = problem_from_error(exc.errors()[0], root=kind)
            raise self.error(
                path,
                f"this block would need a '{kind.model_fields['type'].default}' with "
                f"{first.path} out of range: {first.message}",
            ) from None

    def depthwise(
        self,
        path: Location,
        x: str,
        kernel_size: Any,
        *,
        strides: Any = 1,
        padding: Any = "same",
        depth_multiplier: int = 1,
        activation: str,
        batch_norm: bool,
    ) -> str:
        """A block's depthwise conv, taking initializer, regularizer and bias from ``defaults``."""
        return self._block_unit(
            path,
            x,
            L.DepthwiseConv,
            None,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            depth_multiplier=depth_multiplier,
            activation=activation,
            batch_norm=batch_norm,
        )

    def _block_unit(self, path: Location, x: str, kind: type[L.SpatialOptions], use_bias: Any, **fields: Any) -> str:
        """A conv-like layer of a block (checked by :meth:`spec`) as a :meth:`unit`, with the initializer,
        the regularizer and, unless ``use_bias`` is given, the bias of ``defaults``."""
        spec = self.spec(
            path,
            kind,
            **fields,
            use_bias=self.defaults.use_bias if use_bias is None else use_bias,
            kernel_initializer=self.defaults.kernel_initializer,
            kernel_regularizer=self.defaults.kernel_regularizer,
        )
        return self.unit(path, spec, x)

    # -- blueprint items -------------------------------------------------------------------------
    def item(self, path: Location, item: Kind, x: str) -> str:
        """A layer or block of the stem, a stage or a head (skipped when what it reads is broken)."""
        inputs = [x]
        if item.inputs:
            inputs = [self.attempt(path + ("inputs",), self.reference, path + ("inputs",), ref) for ref in item.inputs]
        if any(name in self.broken for name in inputs):
            out = self._broken(path)
        else:
            out = self.attempt(path, self._lower, path, item, inputs)
        if item.id is not None:
            self.define(path, item.id, out)
        return out

    def _lower(self, path: Location, item: Kind, inputs: list[str]) -> str:
        lower = LOWERINGS.get(item.type)
        if lower is not None:
            out = lower(self, path, item, inputs[0])
        elif isinstance(item, (L.Conv, L.DepthwiseConv, L.SeparableConv, L.Dense)):
            out = self.unit(path, item, inputs[0])
        elif isinstance(item, (L.MaxPool, L.AvgPool)) and item.padding not in ("same", "valid"):
            padded, trailing = self.zero_pad(path, item.padding, inputs[0])
            out = self.add(path, item.model_copy(update={"padding": "valid"}), [padded], trailing_padding=trailing)
        else:
            out = self.add(path, item, inputs)
        return out

    def define(self, path: Location, identifier: str, node_name: str) -> None:
        """Name ``node_name`` by the user id ``identifier``; an id given twice is a problem at ``path``'s ``id``."""
        if identifier in self.ids:
            self._record(self.error(path + ("id",), f"id '{identifier}' is defined twice; ids must be unique"))
            return
        self.ids[identifier] = node_name

    def reference(self, path: Location, identifier: str) -> str:
        """The node an ``inputs``/``at`` id names; ``path`` is the field that holds the reference."""
        if identifier not in self.ids:
            known = ", ".join(sorted(self.ids)) or "none yet"
            raise self.error(
                path,
                f"'{identifier}' is not the id of any layer, block or stage before this point (known ids: {known})",
            )
        return self.ids[identifier]

    def head(self, prefix: Location, head: Head, x: str) -> str:
        """A head at ``prefix`` on ``x``: its layers, pooling, FC layers, dropout and classifier."""
        for index, layer in enumerate(head.layers):
            x = self.item(prefix + ("layers", index), layer, x)
        if x in self.broken:
            return x
        keepdims = head.classifier == "conv"
        if head.pool == "flatten":
            x = self.add(prefix + ("flatten",), L.Flatten(), [x])
        elif head.pool == "global_avg":
            x = self.add(prefix + ("pool",), L.GlobalAvgPool(keepdims=keepdims), [x])
        elif head.pool == "global_max":
            x = self.add(prefix + ("pool",), L.GlobalMaxPool(keepdims=keepdims), [x])
        for index, units in enumerate(head.fc):
            dense = L.Dense(
                units=units,
                activation=self.defaults.activation,
                batch_norm=False,
                use_bias=True,
                kernel_initializer=head.kernel_initializer or self.defaults.kernel_initializer,
                kernel_regularizer=self.defaults.kernel_regularizer,
            )
            x = self.unit(prefix + ("fc", index), dense, x)
            if head.fc_dropout:
                x = self.add(prefix + ("fc", index, "dropout"), L.Dropout(rate=head.fc_dropout), [x])
        if head.dropout:
            x = self.add(prefix + ("dropout",), L.Dropout(rate=head.dropout), [x])
        return self.classifier(prefix, head, x)

    def classifier(self, prefix: Location, head: Head, x: str) -> str:
        """The last layer, named after the output (``predictions``, ``aux1``, ...)."""
        path = prefix + ("classifier",)
        options = {
            "kernel_initializer": head.kernel_initializer or self.defaults.kernel_initializer,
            "kernel_regularizer": self.defaults.kernel_regularizer,
            "batch_norm": False,
            "use_bias": True,
        }
        if head.classifier == "dense":
            return self.add(
                path, L.Dense(units=head.classes, activation=head.activation, **options), [x], name=head.name
            )
        if head.classifier == "conv":
            x = self.add(path, L.Conv(filters=head.classes, kernel_size=1, activation="linear", **options), [x])
            x = self.add(prefix + ("flatten",), L.Flatten(), [x])
        elif self.channels(x) != head.classes:
            raise self.error(
                path,
                f"with no classifier layer (classifier: none) the head needs features with `classes` ({head.classes}) "
                f"channels; the head receives {self.channels(x)}. Make the last conv have {head.classes} filters",
            )
        return self.add(path, L.Activation(type=head.activation), [x], name=head.name)

    def finish(self, outputs: list[str]) -> Graph:
        """The :class:`Graph` of the nodes added so far, with these ``outputs``."""
        return Graph(self.nodes, outputs, self.ids, self.warnings)


def build_graph(resolution: Resolution[Blueprint]) -> Graph:
    """Lower a resolved blueprint into its analyzed layer graph.

    Args:
        resolution: the resolved blueprint (:func:`archbuilder.blueprint.resolve`), with its
            source positions for the error messages.

    Returns:
        The :class:`Graph`: every layer node with its input and output shapes, in order.

    Raises:
        BlueprintError: every independent problem (each named by its path): a layer that cannot be
            applied, an unknown or repeated id, a head that cannot be attached. What reads the output
            of a layer in error is not checked (it would only repeat that problem).
    """
    blueprint: Blueprint = resolution.blueprint
    builder = GraphBuilder(blueprint.input.shape, blueprint.defaults, resolution, blueprint.strict_fit, collect=True)
    x = INPUT_NAME
    if blueprint.backbone is not None:
        for step, layer in blueprint.backbone.layers():
            path = ("backbone", step) if step else ("backbone",)
            x = builder.attempt(path, builder.add, path, layer, [x])
    for index, layer in enumerate(blueprint.stem):
        x = builder.item(("stem", index), layer, x)
    for s, stage in enumerate(blueprint.stages):
        for b, block in enumerate(stage.blocks or []):
            x = builder.item(("stages", s, "blocks", b), block, x)
        if stage.id is not None:
            builder.define(("stages", s), stage.id, x)
    outputs = [
        builder.attempt(("head",), builder.head, ("head",), blueprint.head, x) if blueprint.head is not None else x
    ]
    for index, aux in enumerate(blueprint.aux_heads):
        at = ("aux_heads", index, "at")
        start = builder.attempt(at, builder.reference, at, aux.at)
        outputs.append(builder.attempt(("aux_heads", index), builder.head, ("aux_heads", index), aux, start))
    if builder.problems:
        raise BlueprintError(builder.problems)
    return builder.finish(outputs)
