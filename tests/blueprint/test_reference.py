"""docs/format.md, the format reference generated from the pydantic models: current, complete, and true."""

from __future__ import annotations

import subprocess
import sys
from typing import Literal

import pytest
from pydantic import Field

from archbuilder.blueprint.blocks import BLOCK_CLASSES
from archbuilder.blueprint.layers import LAYER_CLASSES, Kind
from archbuilder.blueprint.model import Blueprint
from archbuilder.reference import REFERENCE_FILE, REGENERATE, _Writer, format_reference
from archbuilder.search.settings import SearchSettings


@pytest.fixture(scope="module")
def reference() -> str:
    return format_reference()


def test_docs_format_md_is_current(reference: str) -> None:
    shipped = REFERENCE_FILE.read_text(encoding="utf-8") if REFERENCE_FILE.is_file() else ""
    assert shipped == reference, f"docs/format.md is out of date; regenerate it: {REGENERATE}"


def _section(text: str, heading: str) -> str:
    start = text.index(f" {heading}\n")
    end = text.find("\n#", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_kind_and_every_field_is_described(reference: str) -> None:
    for cls in (*LAYER_CLASSES, *BLOCK_CLASSES):
        tags = cls.model_fields["type"].annotation.__args__  # type: ignore[union-attr]
        section = _section(reference, f"{cls.__name__}: {', '.join(tags)}")
        missing = [name for name in cls.model_fields if f"| `{name}` |" not in section]
        assert missing == [], cls.__name__
        assert all(f"`{tag}`" in reference for tag in tags)
    for name in (
        "Blueprint",
        "InputSpec",
        "Defaults",
        "Scaling",
        "Pattern",
        "Stage",
        "Head",
        "AuxHead",
        "TrainingRecipe",
        "Optimizer",
        "Budgets",
        "Objective",
    ):
        assert f"### {name}\n" in reference or f"## {name}\n" in reference, name
    settings = _section(reference, "`search:` SearchSettings")
    assert [name for name in SearchSettings.model_fields if f"| `{name}` |" not in settings] == []


def test_required_fields_and_defaults_are_shown(reference: str) -> None:
    head = _section(reference, "Head")
    assert "| `classes` | integer (>= 1, <= 1,000,000) | *required* |" in head
    assert "| `activation` | one of `softmax`, `sigmoid`, `linear` | `softmax` |" in head
    pattern = _section(reference, "Pattern")
    assert (
        "| `pool` | [MaxPool](#maxpool-max_pool) or [AvgPool](#avgpool-avg_pool) or null | "
        "`{type: max_pool, strides: 2}` |" in pattern
    )


def test_the_reference_picks_up_a_new_kind_by_itself() -> None:
    class Wobble(Kind):
        """A kind added later."""

        type: Literal["wobble"] = "wobble"
        amount: int = Field(3, ge=1, description="How much it wobbles.")

    text = _Writer(Blueprint, (*LAYER_CLASSES, Wobble), BLOCK_CLASSES, SearchSettings).text()
    section = _section(text, "Wobble: wobble")
    assert "A kind added later." in section
    assert "| `amount` | integer (>= 1) | `3` | How much it wobbles. |" in section
    assert "| `wobble` | [Wobble](#wobble-wobble) (layer) | A kind added later. |" in text


def test_the_shortcut_is_described_as_it_behaves(reference: str) -> None:
    """`shortcut: auto`: identity when shapes match, a parameter-free 1x1 max pool when only the stride changes,
    else a 1x1 projection conv: the reference says so, and the analyzer (which the compiler follows) does so."""
    from archbuilder.analysis import analyze

    assert reference.count("a parameter-free 1x1 max pool with the block's strides") == 2  # residual, bottleneck

    def shortcut(in_channels: int, strides: int, kind: str = "auto") -> tuple[str, int]:
        analysis = analyze(
            {
                "name": "n",
                "input": {"shape": [16, 16, in_channels]},
                "stages": [{"block": {"type": "residual", "filters": 64, "shortcut": kind}, "strides": strides}],
            }
        )
        layers = [layer for layer in analysis.layers if layer.name.endswith("_shortcut")]
        return (layers[0].type, layers[0].params) if layers else ("identity", 0)

    assert shortcut(64, 1) == ("identity", 0)
    assert shortcut(64, 2) == ("max_pool", 0)
    assert shortcut(32, 2) == ("conv", 32 * 64 + 64)
    assert shortcut(64, 2, "projection") == ("conv", 64 * 64 + 64)


def test_python_m_archbuilder_reference_checks_the_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "archbuilder.reference", "--check"], capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stderr) == (0, "")
