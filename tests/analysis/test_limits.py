"""Limits on what a network may cost (docs/limits.md), and widths the analyzer derives.

Each case asserts the one line a user sees: ``<string>:line:column: path: message``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archbuilder import BlueprintError, analyze
from archbuilder.analysis.limits import LIMITS, MAX_ACTIVATION_BYTES, MAX_MACS, MAX_PARAMS, LimitSettingError, count
from archbuilder.analysis.report import human, human_bytes
from archbuilder.errors import ArchbuilderError

ZOO = sorted((Path(__file__).resolve().parents[2] / "blueprints").glob("*.yaml"))
HUGE_INPUT = "name: net\ninput: {shape: [1000000, 1000000, 1000000]}\nstem: [{type: conv, filters: 4}]\n"
SMALL = "name: net\ninput: {shape: [8, 8, 3]}\nstem: [{type: conv, filters: 4, kernel_size: 3}]\n"


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for limit in LIMITS:
        monkeypatch.delenv(limit.variable, raising=False)


def only_line(source: str) -> str:
    with pytest.raises(BlueprintError) as info:
        analyze(source)
    (problem,) = info.value.problems
    return str(problem)


TOO_COSTLY = [
    pytest.param(
        HUGE_INPUT,
        "<string>:2:16: input.shape: the input alone is 1000000x1000000x1000000 = 1.0e+18 values, 4.0e+18 bytes per "
        "example (float32), over the activation limit of 1,000,000,000,000 bytes. Use a smaller input, or raise the "
        "limit: ARCHBUILDER_MAX_ACTIVATION_BYTES=<bytes>",
        id="input-of-10^18-values",
    ),
    pytest.param(
        "name: net\ninput: {shape: [8, 8, 3]}\nscaling: {resolution: 1000000}\nstem: [{type: relu}]\n",
        "<string>:3:23: scaling.resolution: the input alone is 1000000x1000000x3 = 3,000,000,000,000 values, "
        "12,000,000,000,000 bytes per example (float32), over the activation limit of 1,000,000,000,000 bytes. Use a "
        "smaller input, or raise the limit: ARCHBUILDER_MAX_ACTIVATION_BYTES=<bytes>",
        id="input-set-by-scaling",
    ),
    pytest.param(
        "name: net\ninput: {shape: [10, 10, 1000000]}\nstem: [{type: flatten}, {type: dense, units: 1000000}]\n",
        "<string>:3:25: stem[1]: the network has 100,000,001,000,000 parameters, over the limit of "
        "1,000,000,000,000 (the total passes it at layer 'stem_1'). Use fewer or narrower layers, or raise the "
        "limit: ARCHBUILDER_MAX_PARAMS=<number>",
        id="parameters",
    ),
    pytest.param(
        "name: net\ninput: {shape: [1000, 1000, 3]}\nstem:\n"
        "  - {type: conv, filters: 100000, kernel_size: 3, padding: same}\n"
        "  - {type: conv, filters: 100000, kernel_size: 1}\n",
        "<string>:5:5: stem[1]: the network needs 1.0e+16 MACs per example, over the limit of 1.0e+15 (the total "
        "passes it at layer 'stem_1'). Use a smaller input, or fewer or narrower layers, or raise the limit: "
        "ARCHBUILDER_MAX_MACS=<number>",
        id="macs",
    ),
    pytest.param(
        "name: net\ninput: {shape: [100000, 100000, 3]}\nstem: [{type: conv, filters: 64, padding: same}]\n",
        "<string>:3:8: stem[0]: the network keeps 2,680,000,000,000 bytes of activations per example (float32), over "
        "the limit of 1,000,000,000,000 (the total passes it at layer 'stem_0'). Use a smaller input, or fewer or "
        "narrower layers, or raise the limit: ARCHBUILDER_MAX_ACTIVATION_BYTES=<number>",
        id="activations",
    ),
]


@pytest.mark.parametrize("text, expected", TOO_COSTLY)
def test_totals_over_the_limits(text: str, expected: str) -> None:
    assert only_line(text) == expected


def test_every_total_over_its_limit_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHBUILDER_MAX_PARAMS", "100")
    monkeypatch.setenv("ARCHBUILDER_MAX_MACS", "100")
    monkeypatch.setenv("ARCHBUILDER_MAX_ACTIVATION_BYTES", "1000")  # the input (768 bytes) fits, not with stem[0]
    with pytest.raises(BlueprintError) as info:
        analyze(SMALL)
    assert [problem.message.split(", over")[0] for problem in info.value.problems] == [
        "the network has 112 parameters",  # 3x3x3x4 + 4
        "the network needs 3,888 MACs per example",  # 6x6 outputs x 4 filters x 27
        "the network keeps 1,344 bytes of activations per example (float32)",  # (8x8x3 + 6x6x4) x 4
    ]
    assert [problem.path for problem in info.value.problems] == ["stem[0]", "stem[0]", "stem[0]"]


def test_a_limit_is_raised_with_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHBUILDER_MAX_ACTIVATION_BYTES", "1e19")
    monkeypatch.setenv("ARCHBUILDER_MAX_MACS", "100000000000000000000")
    analysis = analyze(
        "name: net\ninput: {shape: [100000, 100000, 3]}\nstem: [{type: conv, filters: 64, padding: same}]\n"
    )
    assert analysis.activation_bytes() > MAX_ACTIVATION_BYTES.default


def test_a_limit_is_lowered_with_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHBUILDER_MAX_PARAMS", "100")
    assert only_line(SMALL) == (
        "<string>:3:8: stem[0]: the network has 112 parameters, over the limit of 100 (the total passes it at layer "
        "'stem_0'). Use fewer or narrower layers, or raise the limit: ARCHBUILDER_MAX_PARAMS=<number>"
    )


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "nan", "inf", "1e400", "10 20"])
def test_a_limit_that_is_not_a_positive_whole_number(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ARCHBUILDER_MAX_MACS", value)
    with pytest.raises(LimitSettingError) as info:
        analyze(SMALL)
    assert isinstance(info.value, ArchbuilderError)
    assert str(info.value) == (
        f"ARCHBUILDER_MAX_MACS: expected a positive whole number (such as 1000000000000 or 1e12). Received: {value!r}. "
        "Fix or unset it"
    )


@pytest.mark.parametrize("limit, default", [(MAX_PARAMS, 10**12), (MAX_MACS, 10**15), (MAX_ACTIVATION_BYTES, 10**12)])
def test_defaults(limit, default: int) -> None:
    assert limit.value() == default


@pytest.mark.parametrize("path", ZOO, ids=[path.stem for path in ZOO])
def test_the_zoo_is_well_under_the_default_limits(path: Path) -> None:
    analysis = analyze(path)
    assert analysis.params * 100 < MAX_PARAMS.default
    assert analysis.macs * 100 < MAX_MACS.default
    assert analysis.activation_bytes() * 100 < MAX_ACTIVATION_BYTES.default


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0"),
        (1234567, "1,234,567"),
        (10**15 - 1, "999,999,999,999,999"),
        (10**15, "1.0e+15"),
        (123 * 10**22, "1.2e+24"),
        (10**400, "1.0e+400"),
    ],
)
def test_count(n: int, text: str) -> None:
    assert count(n) == text


def test_human_units_survive_numbers_beyond_a_float() -> None:
    assert (human(10**400), human_bytes(10**400), human(3211264)) == ("1.0e+400", "1.0e+400 B", "3.2M")


# --- widths the analyzer derives from the input -----------------------------------------------------

WIDE = (
    "name: net\ninput: {shape: [1, 1, 1]}\nstem:\n"
    "  - {type: conv, filters: 600000, kernel_size: 1, id: a}\n"
    "  - {type: conv, filters: 600000, kernel_size: 1, id: b}\n"
    "  - {type: concatenate, inputs: [a, b]}\n"
)

DERIVED_WIDTHS = [
    pytest.param(
        "name: net\ninput: {shape: [8, 8, 1000]}\n"
        "stages: [{block: {type: inverted_residual, filters: 4, expansion: 5000}}]\n",
        "<string>:3:67: stages[0].blocks[0].expansion: the expanded width input channels x expansion = 1000 x 5000 = "
        "5,000,000 is over the limit of 1,000,000. Use expansion <= 1000 here (the block's input has 1000 channels)",
        id="inverted-residual-expansion",
    ),
    pytest.param(
        WIDE + "stages: [{block: {type: squeeze_excite}}]\n",
        "<string>:7:18: stages[0].blocks[0].expand: this block would need a 'conv' with filters out of range: must be "
        "<= 1000000. Received: 1200000",
        id="squeeze-excite-on-too-many-channels",
    ),
    pytest.param(
        WIDE + "stages: [{block: {type: transition, reduction: 1}}]\n",
        "<string>:7:18: stages[0].blocks[0].conv: this block would need a 'conv' with filters out of range: must be "
        "<= 1000000. Received: 1200000",
        id="transition-on-too-many-channels",
    ),
]


@pytest.mark.parametrize("text, expected", DERIVED_WIDTHS)
def test_derived_widths_out_of_range(text: str, expected: str) -> None:
    assert only_line(text) == expected


def test_positions_come_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE_INPUT)
    assert only_line(str(path)).startswith(f"{path}:2:16: input.shape: the input alone is ")
