"""Hypothesis strategies for small random blueprints (plain dicts, as a user would write them in YAML).

They are meant to be mostly valid: spatial sizes are tracked roughly so that downsampling stops in
time, but channel-dependent rules (groups, merges, shortcuts) are left to the analyzer, which is the
judge of validity in the tests.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from archbuilder.blueprint.fields import ACTIVATIONS
from archbuilder.blueprint.layers import Activation

SMALL = st.integers(2, 12)


def _kernel() -> st.SearchStrategy[Any]:
    return st.sampled_from([1, 2, 3, 3, 5, [1, 3], [3, 1], [2, 3]])


@st.composite
def _conv_options(draw: st.DrawFn, layer: dict[str, Any]) -> dict[str, Any]:
    if draw(st.booleans()):
        layer["activation"] = draw(st.sampled_from(ACTIVATIONS))
    if draw(st.integers(0, 3)) == 0:
        layer["batch_norm"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        layer["use_bias"] = draw(st.sampled_from([True, False, "auto"]))
    if draw(st.integers(0, 5)) == 0:
        layer["kernel_regularizer"] = {"l2": 1e-4}
    if draw(st.integers(0, 5)) == 0:
        layer["kernel_initializer"] = draw(
            st.sampled_from(
                [
                    "he_normal",
                    "zeros",
                    {"type": "random_normal", "stddev": 0.01},
                    {"type": "variance_scaling", "scale": 2.0, "mode": "fan_out"},
                ]
            )
        )
    return layer


@st.composite
def _spatial(draw: st.DrawFn, layer: dict[str, Any], size: list[int], allow_stride: bool = True) -> dict[str, Any]:
    """kernel_size, strides, padding, dilation_rate of a conv-like layer; updates ``size`` roughly."""
    kernel = draw(_kernel())
    layer["kernel_size"] = kernel
    stride = draw(st.sampled_from([1, 1, 2])) if allow_stride and size[0] >= 4 else 1
    if stride != 1:
        layer["strides"] = stride
    padding = draw(st.sampled_from(["same", "same", "valid", 1, [1, 0]])) if size[0] >= 6 else "same"
    layer["padding"] = padding
    if stride == 1 and draw(st.integers(0, 5)) == 0:
        layer["dilation_rate"] = draw(st.sampled_from([2, [1, 2]]))
        if padding == "valid":
            size[0] -= 2 * ((max(kernel) if isinstance(kernel, list) else kernel) - 1)
    if padding == "valid":
        size[0] -= (max(kernel) if isinstance(kernel, list) else kernel) - 1
    size[0] = -(-size[0] // stride)
    return layer


@st.composite
def plain_layer(draw: st.DrawFn, size: list[int]) -> dict[str, Any]:
    """One layer kind (no merges), shape-preserving or downsampling with care."""
    kind = draw(
        st.sampled_from(
            [
                "conv",
                "conv",
                "conv",
                "depthwise_conv",
                "separable_conv",
                "max_pool",
                "avg_pool",
                "batch_norm",
                "layer_norm",
                "dropout",
                "spatial_dropout",
                "activation",
                "leaky_relu",
                "elu",
                "lrn",
                "zero_padding",
                "rescaling",
                "normalization",
                "dense",
                "stochastic_depth",
                "global_pool",
            ]
        )
    )
    if kind == "conv":
        layer = {"type": "conv", "filters": draw(SMALL)}
        draw(_spatial(layer, size))
        if draw(st.integers(0, 4)) == 0:
            layer["groups"] = draw(st.sampled_from([2, 3]))
            layer["filters"] = layer["groups"] * draw(st.integers(1, 4))
        return draw(_conv_options(layer))
    if kind == "depthwise_conv":
        layer = {"type": "depthwise_conv", "depth_multiplier": draw(st.integers(1, 2))}
        return draw(_conv_options(draw(_spatial(layer, size))))
    if kind == "separable_conv":
        layer = {"type": "separable_conv", "filters": draw(SMALL), "depth_multiplier": draw(st.integers(1, 2))}
        return draw(_conv_options(draw(_spatial(layer, size))))
    if kind in ("max_pool", "avg_pool"):
        pool = draw(st.sampled_from([2, 3]))
        layer = {"type": kind, "pool_size": pool}
        if size[0] < 4:
            layer.update(strides=1, padding="same")
            return layer
        stride = draw(st.sampled_from([None, 1, 2]))
        if stride is not None:
            layer["strides"] = stride
        padding = draw(st.sampled_from(["valid", "same", 1]))
        layer["padding"] = padding
        step = pool if stride is None else stride
        size[0] = -(-size[0] // step)
        return layer
    if kind == "batch_norm":
        return {"type": "batch_norm", "center": draw(st.booleans()), "scale": draw(st.booleans())}
    if kind == "layer_norm":
        return {"type": "layer_norm"}
    if kind in ("dropout", "spatial_dropout", "stochastic_depth"):
        return {"type": kind, "rate": draw(st.sampled_from([0.0, 0.1, 0.5]))}
    if kind == "activation":
        return {"type": draw(st.sampled_from(Activation.tags()))}
    if kind == "leaky_relu":
        return {"type": "leaky_relu", "negative_slope": draw(st.sampled_from([0.0, 0.1, 0.3]))}
    if kind == "elu":
        return {"type": "elu", "alpha": draw(st.sampled_from([0.5, 1.0]))}
    if kind == "lrn":
        return {"type": "lrn", "size": draw(st.sampled_from([1, 3, 5]))}
    if kind == "zero_padding":
        padding = draw(st.sampled_from([1, [1, 2], [[0, 1], [2, 0]]]))
        size[0] += 2
        return {"type": "zero_padding", "padding": padding}
    if kind == "rescaling":
        return {"type": "rescaling", "scale": 0.5, "offset": draw(st.sampled_from([0.0, -1.0]))}
    if kind == "normalization":
        return {"type": "normalization", "mean": 0.5, "variance": 2.0}
    if kind == "global_pool":  # keepdims: the map becomes 1x1 and the network goes on
        size[0] = 1
        return {"type": draw(st.sampled_from(["global_avg_pool", "global_max_pool"])), "keepdims": True}
    return {"type": "dense", "units": draw(SMALL), "activation": draw(st.sampled_from(ACTIVATIONS))}


@st.composite
def block(draw: st.DrawFn, size: list[int]) -> dict[str, Any]:
    """One block template with random options."""
    kind = draw(
        st.sampled_from(
            [
                "residual",
                "bottleneck",
                "inverted_residual",
                "inception",
                "squeeze_excite",
                "depthwise",
                "fire",
                "dense_block",
                "transition",
                "mlpconv",
            ]
        )
    )
    stride = draw(st.sampled_from([1, 1, 2])) if size[0] >= 4 else 1
    common: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:
        common["activation"] = draw(st.sampled_from(ACTIVATIONS))
    if draw(st.integers(0, 3)) == 0:
        common["batch_norm"] = draw(st.booleans())
    if kind == "residual":
        spec = {
            "type": "residual",
            "filters": draw(SMALL),
            "strides": stride,
            "shortcut": draw(st.sampled_from(["auto", "auto", "identity", "projection", "zero_pad"])),
            "preact": draw(st.booleans()),
            "kernel_size": draw(st.sampled_from([3, 3, 1, [3, 1]])),
        }
        if draw(st.booleans()):
            spec["se_ratio"] = draw(st.sampled_from([0.25, 0.5, 1.0]))
        if draw(st.integers(0, 3)) == 0:
            spec["dropout"] = 0.2
        if draw(st.integers(0, 3)) == 0:
            spec["drop_path"] = 0.1
    elif kind == "bottleneck":
        groups = draw(st.sampled_from([1, 1, 2]))
        spec = {
            "type": "bottleneck",
            "filters": 2 * draw(st.integers(1, 4)),
            "strides": stride,
            "expansion": draw(st.integers(1, 4)),
            "width_factor": draw(st.sampled_from([0.5, 1.0, 2.0])),
            "groups": groups,
            "stride_on": draw(st.sampled_from(["1x1", "3x3"])),
            "preact": draw(st.booleans()),
            "shortcut": draw(st.sampled_from(["auto", "auto", "projection", "zero_pad"])),
            "padding": draw(st.sampled_from(["same", "same", 1])),
        }
        if draw(st.booleans()):
            spec["se_ratio"] = draw(st.sampled_from([0.0625, 0.25]))
        if draw(st.integers(0, 3)) == 0:
            spec["drop_path"] = 0.2
    elif kind == "inverted_residual":
        spec = {
            "type": "inverted_residual",
            "filters": draw(SMALL),
            "strides": stride,
            "expansion": draw(st.sampled_from([1, 2, 6])),
            "kernel_size": draw(st.sampled_from([3, 5])),
            "padding": draw(st.sampled_from(["same", "same", 1])),
        }
        if draw(st.booleans()):
            spec["se_ratio"] = draw(st.sampled_from([0.25, 0.5]))
        if draw(st.integers(0, 3)) == 0:
            spec["drop_path"] = 0.2
        stride = stride if spec["padding"] == "same" else 1
        spec["strides"] = stride
    elif kind == "inception":
        stride = 1
        if draw(st.booleans()):
            spec = {
                "type": "inception",
                "naive": True,
                "filters_1x1": draw(SMALL),
                "filters_3x3": draw(SMALL),
                "filters_5x5": draw(SMALL),
            }
        else:
            spec = {
                "type": "inception",
                "filters_1x1": draw(SMALL),
                "reduce_3x3": draw(SMALL),
                "filters_3x3": draw(SMALL),
                "reduce_5x5": draw(SMALL),
                "filters_5x5": draw(SMALL),
                "pool_proj": draw(SMALL),
            }
    elif kind == "squeeze_excite":
        stride = 1
        spec = {"type": "squeeze_excite", "ratio": draw(st.sampled_from([0.0625, 0.25, 1.0]))}
    elif kind == "depthwise":
        spec = {
            "type": "depthwise",
            "filters": draw(SMALL),
            "strides": stride,
            "depth_multiplier": draw(st.integers(1, 2)),
            "kernel_size": draw(st.sampled_from([3, 5])),
        }
    elif kind == "fire":
        stride = 1
        spec = {"type": "fire", "squeeze": draw(SMALL), "expand_1x1": draw(SMALL), "expand_3x3": draw(SMALL)}
    elif kind == "dense_block":
        stride = 1
        spec = {
            "type": "dense_block",
            "num_layers": draw(st.integers(1, 3)),
            "growth_rate": draw(st.integers(2, 6)),
            "bottleneck_width": draw(st.sampled_from([None, 2, 4])),
        }
    elif kind == "transition":
        stride = 2 if size[0] >= 2 else 1
        spec = {"type": "transition", "reduction": draw(st.sampled_from([0.5, 1.0, 0.3]))}
    else:
        spec = {
            "type": "mlpconv",
            "filters": draw(st.lists(SMALL, min_size=1, max_size=3)),
            "strides": stride,
            "kernel_size": draw(st.sampled_from([1, 3, 5])),
        }
    size[0] = -(-size[0] // stride)
    if spec.get("strides") == 1:
        del spec["strides"]
    return {**spec, **common}


@st.composite
def merge_group(draw: st.DrawFn, size: list[int], prefix: str) -> list[dict[str, Any]]:
    """Two branches with ids, merged by add, concatenate or multiply (shapes may not match: the analyzer judges)."""
    first = draw(
        st.sampled_from(
            [
                {"type": "conv", "filters": 6, "kernel_size": 1},
                {"type": "conv", "filters": 6, "kernel_size": 3, "padding": "same"},
                {"type": "separable_conv", "filters": 6, "kernel_size": 3, "padding": "same"},
            ]
        )
    )
    second = draw(
        st.sampled_from(
            [
                {"type": "conv", "filters": 6, "kernel_size": 3, "padding": "same"},
                {"type": "conv", "filters": 3, "kernel_size": 1},
                {"type": "batch_norm"},
                {"type": "global_avg_pool", "keepdims": True},
            ]
        )
    )
    merge = draw(st.sampled_from(["add", "concatenate", "multiply"]))
    return [
        {**first, "id": f"{prefix}_a"},
        {**second, "id": f"{prefix}_b"},
        {"type": merge, "inputs": [f"{prefix}_a", f"{prefix}_b"], "id": f"{prefix}_m"},
    ]


@st.composite
def head(draw: st.DrawFn, pattern: bool, required: bool = False) -> dict[str, Any] | None:
    if not required and draw(st.integers(0, 5)) == 0:
        return None
    spec: dict[str, Any] = {"classes": draw(st.integers(2, 10))}
    classifier = draw(st.sampled_from(["dense", "dense", "dense", "conv", "none"]))
    if classifier == "conv":
        spec["classifier"] = "conv"
        spec["pool"] = draw(st.sampled_from(["global_avg", "global_max"]))
    else:
        if classifier == "none":
            spec["classifier"] = "none"
        if draw(st.booleans()):
            spec["pool"] = draw(st.sampled_from(["flatten", "global_avg", "global_max", "none"]))
        if not pattern and draw(st.integers(0, 2)) == 0:
            spec["fc"] = draw(st.lists(SMALL, min_size=1, max_size=2))
            if draw(st.booleans()):
                spec["fc_dropout"] = 0.3
    if draw(st.integers(0, 3)) == 0:
        spec["dropout"] = 0.2
    spec["activation"] = draw(st.sampled_from(["softmax", "sigmoid", "linear"]))
    if classifier == "none" and draw(st.booleans()):
        spec["layers"] = [{"type": "conv", "filters": spec["classes"], "kernel_size": 1}]
    return spec


@st.composite
def defaults(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if draw(st.booleans()):
        spec["batch_norm"] = draw(st.booleans())
    if draw(st.booleans()):
        spec["use_bias"] = draw(st.sampled_from([True, False, "auto"]))
    if draw(st.booleans()):
        spec["activation"] = draw(st.sampled_from(ACTIVATIONS))
    if draw(st.integers(0, 3)) == 0:
        spec["stochastic_depth"] = 0.2
    if draw(st.integers(0, 3)) == 0:
        spec["dropout"] = 0.1
    return spec


@st.composite
def pattern_network(draw: st.DrawFn, shape: list[int]) -> dict[str, Any]:
    conv: dict[str, Any] = {
        "kernel_size": draw(st.sampled_from([1, 3, 3, 5])),
        "padding": draw(st.sampled_from(["same", "same", "valid"])),
    }
    if draw(st.integers(0, 3)) == 0:
        conv["batch_norm"] = True
    pattern: dict[str, Any] = {"conv": conv}
    if draw(st.booleans()):
        pattern["stages"] = [
            {"filters": draw(SMALL), "convs": draw(st.integers(0, 2)), "pool": draw(st.booleans())}
            for _ in range(draw(st.integers(1, 3)))
        ]
    else:
        pattern.update(
            N=draw(st.integers(1, 2)),
            M=draw(st.integers(1, 3)),
            filters={"start": draw(st.integers(2, 8)), "growth": draw(st.sampled_from([1.0, 1.5, 2.0]))},
        )
    pool = draw(st.sampled_from(["max", "avg", "none"]))
    if pool == "none":
        pattern["pool"] = None
    else:
        pattern["pool"] = {"type": f"{pool}_pool", "pool_size": 2, "strides": 2}
    fc = draw(st.sampled_from(["none", "list", "repeat"]))
    if fc == "list":
        pattern["fc"] = draw(st.lists(SMALL, min_size=1, max_size=2))
    elif fc == "repeat":
        pattern.update(fc=draw(SMALL), K=draw(st.integers(1, 2)))
    if fc != "none" and draw(st.booleans()):
        pattern["dropout"] = 0.5
    return {"pattern": pattern}


@st.composite
def staged_network(draw: st.DrawFn, shape: list[int]) -> dict[str, Any]:
    size = [min(shape[0], shape[1])]
    body: dict[str, Any] = {}
    stem = [draw(plain_layer(size)) for _ in range(draw(st.integers(0, 3)))]
    if stem and draw(st.integers(0, 9)) == 0:  # a skip connection from the input of the stem's last layer
        stem[-1] = {**stem[-1], "id": "stem_out"}
        stem.append({"type": "concatenate", "inputs": ["stem_out", "stem_out"]})
    if stem:
        body["stem"] = stem
    stages = []
    for index in range(draw(st.integers(1 if not stem else 0, 3))):
        form = draw(st.sampled_from(["block", "block", "blocks", "merge"]))
        if form == "block":
            stage: dict[str, Any] = {"block": draw(block(size)), "repeat": draw(st.integers(1, 2))}
            strided = stage["block"]["type"] in ("residual", "bottleneck", "inverted_residual", "depthwise", "mlpconv")
            if strided and "strides" not in stage["block"] and size[0] >= 4 and draw(st.integers(0, 3)) == 0:
                stage["strides"] = 2
                size[0] = -(-size[0] // 2)
                if stage["repeat"] > 1 and draw(st.booleans()):
                    stage["stride_block"] = "last"
        elif form == "blocks":
            items = [draw(st.one_of(block(size), plain_layer(size))) for _ in range(draw(st.integers(1, 3)))]
            stage = {"blocks": items}
        else:
            stage = {"blocks": draw(merge_group(size, f"s{index}"))}
        if draw(st.integers(0, 4)) == 0:
            stage["id"] = f"stage{index}"
        stages.append(stage)
    if stages:
        body["stages"] = stages
    return body


@st.composite
def network(draw: st.DrawFn) -> dict[str, Any]:
    """A small random blueprint as a dict: input 8..32 x 8..32 x 1..3, a pattern or stem + stages, a head."""
    shape = [draw(st.integers(8, 32)), draw(st.integers(8, 32)), draw(st.integers(1, 3))]
    blueprint: dict[str, Any] = {"name": "fuzzed", "input": {"shape": shape}}
    spec_defaults = draw(defaults())
    if spec_defaults:
        blueprint["defaults"] = spec_defaults
    if draw(st.integers(0, 5)) == 0:  # compound scaling (EfficientNet): widths, repeats, resolution
        blueprint["scaling"] = {
            "width_multiplier": draw(st.sampled_from([0.5, 1.0, 1.5, 2.0])),
            "depth_multiplier": draw(st.sampled_from([1.0, 1.5, 2.0])),
            "divisor": draw(st.sampled_from([1, 2, 4, 8])),
        }
        if draw(st.booleans()):
            blueprint["scaling"]["resolution"] = draw(st.integers(8, 32))
    is_pattern = draw(st.integers(0, 3)) == 0
    blueprint.update(draw(pattern_network(shape) if is_pattern else staged_network(shape)))
    spec_head = draw(head(is_pattern, required="fc" in blueprint.get("pattern", {})))
    if spec_head is not None:
        blueprint["head"] = spec_head
        ids = [s["id"] for s in blueprint.get("stages", []) if "id" in s]
        if ids and draw(st.booleans()):
            blueprint["aux_heads"] = [
                {
                    "name": "aux",
                    "at": draw(st.sampled_from(ids)),
                    "classes": 3,
                    "pool": "global_avg",
                    "fc": [4],
                    "loss_weight": 0.3,
                }
            ]
    return blueprint
