"""One analysis reports every independent problem of a file, each at its path with file:line:column,
and skips what depends on a broken layer (no cascade of problems that only repeat the first)."""

from __future__ import annotations

import textwrap

import pytest

from archbuilder import BlueprintError, analyze


def problems_of(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(BlueprintError) as caught:
        analyze(textwrap.dedent(text))
    return [(p.path, p.line, p.message) for p in caught.value.problems]


UNKNOWN = "is not the id of any layer, block or stage before this point"

# A concatenate of mismatched shapes, a layer reading an unknown id, an aux head at an unknown id:
# three independent mistakes. What reads the broken concatenate (stem[3], the stage, the head) and
# what reads the layer with the unknown input (stem[5]) is not checked.
THREE_MISTAKES = """\
    name: three
    input: {shape: [32, 32, 3]}
    stem:
      - {type: conv, filters: 16, kernel_size: 3, padding: same, id: a}
      - {type: max_pool, id: b}
      - {type: concatenate, inputs: [a, b], id: c}
      - {type: conv, filters: 8, kernel_size: 3}
      - {type: conv, filters: 8, kernel_size: 3, inputs: [e], id: f}
      - {type: relu, inputs: [f]}
    stages:
      - {block: {type: residual, filters: 16}, id: s}
    head: {classes: 10}
    aux_heads:
      - {at: early, name: aux, classes: 10}
"""


def test_three_independent_mistakes_in_one_run():
    assert problems_of(THREE_MISTAKES) == [
        ("stem[2]", 6, "cannot concatenate shapes 32x32x16, 16x16x16: all axes but the channels must match"),
        ("stem[4].inputs", 8, f"'e' {UNKNOWN} (known ids: a, b, c)"),
        ("aux_heads[0].at", 14, f"'early' {UNKNOWN} (known ids: a, b, c, f, s)"),
    ]


def test_from_a_file_each_has_its_file_line_column(tmp_path):
    path = tmp_path / "three.yaml"
    path.write_text(textwrap.dedent(THREE_MISTAKES))
    with pytest.raises(BlueprintError) as caught:
        analyze(path)
    assert [p.where() for p in caught.value.problems] == [f"{path}:6:5", f"{path}:8:54", f"{path}:14:10"]
    assert str(caught.value).startswith("3 problems:\n")


def test_a_layer_wired_around_a_broken_one_is_still_checked():
    # stem[2] is broken; stem[3] reads `a` (not the broken layer) and has its own geometry problem.
    assert problems_of("""\
        name: around
        input: {shape: [8, 8, 4]}
        stem:
          - {type: relu, id: a}
          - {type: max_pool, id: b}
          - {type: add, inputs: [a, b]}
          - {type: conv, filters: 4, kernel_size: 9, inputs: [a]}
    """) == [
        (
            "stem[2]",
            6,
            "cannot add shapes 8x8x4 and 4x4x4: they differ on axis 0 (8 vs 4) and Keras broadcasts only "
            "a size of 1. Use a 1x1 conv (projection), a pooling layer or a reshape to match them",
        ),
        (
            "stem[3]",
            7,
            "output size would be 0x0 (input 8x8, kernel_size=9, strides=1, padding='valid'). "
            "Use padding='same', a smaller kernel, or remove a downsampling stage.",
        ),
    ]


def test_every_unknown_id_of_one_layer_and_a_repeated_id():
    assert problems_of("""\
        name: ids
        input: {shape: [8, 8, 4]}
        stem:
          - {type: relu, id: a}
          - {type: relu, id: a}
          - {type: add, inputs: [x, a, y]}
    """) == [
        ("stem[1].id", 5, "id 'a' is defined twice; ids must be unique"),
        ("stem[2].inputs", 6, f"'x' {UNKNOWN} (known ids: a)"),
        ("stem[2].inputs", 6, f"'y' {UNKNOWN} (known ids: a)"),
    ]


def test_a_broken_block_stops_only_what_reads_it():
    # The bottleneck's identity shortcut cannot work (8 channels in, 16 out); the main head reads it
    # (skipped), the aux head reads the stem (checked: classifier none needs 10 channels).
    assert problems_of("""\
        name: blocks
        input: {shape: [8, 8, 3]}
        stem: [{type: conv, filters: 8, kernel_size: 1, id: stem_out}]
        stages:
          - {block: {type: residual, filters: 16, shortcut: identity}}
          - {block: {type: residual, filters: 16}}
        head: {classes: 10}
        aux_heads: [{at: stem_out, name: aux, classes: 10, classifier: none, pool: global_avg}]
    """) == [
        (
            "stages[0].blocks[0].shortcut",
            5,
            "an identity shortcut needs the input channels (8) to equal the output "
            "channels (16); use shortcut: projection (or auto)",
        ),
        (
            "aux_heads[0].classifier",
            8,
            "with no classifier layer (classifier: none) the head needs features with "
            "`classes` (10) channels; the head receives 8. Make the last conv have 10 filters",
        ),
    ]


def test_a_valid_blueprint_has_no_problem():
    analysis = analyze(
        textwrap.dedent(THREE_MISTAKES)
        .replace("inputs: [a, b], id: c", "inputs: [a, a], id: c")
        .replace("inputs: [e]", "inputs: [c]")
        .replace("at: early", "at: f")
    )
    assert analysis.outputs == {"predictions": (10,), "aux": (10,)}
