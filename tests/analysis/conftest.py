"""Shared helpers for the analysis tests: tiny blueprints analyzed, layers looked up by Keras name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from archbuilder import analyze
from archbuilder.analysis import Analysis, LayerReport


class Net:
    """An :class:`Analysis` with its layers indexed by Keras name."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.by_name = {layer.name: layer for layer in analysis.layers}

    def __getitem__(self, name: str) -> LayerReport:
        return self.by_name[name]

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.analysis.layers]

    @property
    def last(self) -> LayerReport:
        return self.analysis.layers[-1]

    @property
    def warnings(self) -> list[str]:
        return [str(problem) for problem in self.analysis.warnings]


def blueprint(
    *,
    shape: tuple[int, int, int] = (8, 8, 16),
    stem: list[dict[str, Any]] | None = None,
    blocks: list[dict[str, Any]] | None = None,
    defaults: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A blueprint dict: ``stem`` layers and/or one stage listing ``blocks``; no head unless given."""
    data: dict[str, Any] = {"name": "t", "input": {"shape": list(shape)}, **top}
    if defaults:
        data["defaults"] = defaults
    if stem:
        data["stem"] = stem
    if blocks:
        data["stages"] = [{"blocks": blocks}]
    return data


@pytest.fixture
def net() -> Callable[..., Net]:
    """``net(shape=..., stem=[...], blocks=[...], defaults={...}, head={...})`` -> analyzed :class:`Net`."""

    def build(**kwargs: Any) -> Net:
        return Net(analyze(blueprint(**kwargs)))

    return build
