"""Loading a search space: from a path, the name of a shipped space, YAML text or a dict (with
values set by path, ``--set``) to a parsed :class:`~archbuilder.search.space.SearchSpace`.

Nothing here imports Keras or KerasTuner.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from archbuilder.blueprint.catalog import is_yaml_text
from archbuilder.blueprint.errors import BlueprintError, Problem, did_you_mean
from archbuilder.blueprint.io import Overrides, Sources, load_blueprint_data
from archbuilder.blueprint.overrides import apply_overrides, as_overrides
from archbuilder.search.parsing import compile_space
from archbuilder.search.space import SearchSpace

SPACES_DIR = Path(__file__).parent / "spaces"


def locate_space(argument: str | os.PathLike[str]) -> Path:
    """A path, or the name of a space shipped in ``archbuilder/search/spaces`` (``pattern``).

    Args:
        argument: a path to a space's YAML file, or the name of a shipped space (see
            :func:`list_spaces`), with or without ``.yaml``. An existing file wins; a path with a
            folder or another suffix is returned as is, even when missing (the loader reports it).

    Returns:
        The path of the space's file.

    Raises:
        BlueprintError: a bare name that is neither a file nor a shipped space (with a did-you-mean).
    """
    path = Path(argument)
    if path.exists() or path.parent.name or path.suffix not in ("", ".yaml", ".yml"):
        return path
    shipped = SPACES_DIR / f"{path.stem}.yaml"
    if shipped.exists():
        return shipped
    known = list_spaces()
    raise BlueprintError.single(
        f"no such file, and no shipped search space '{path.stem}'."
        f"{did_you_mean(path.stem, known)} Shipped spaces: {', '.join(known)}.",
        file=str(argument),
    )


def list_spaces() -> list[str]:
    """Names of the example spaces shipped with archbuilder.

    Returns:
        The names, sorted, as :func:`load_space` and :func:`locate_space` take them (``"pattern"``).
    """
    return sorted(p.stem for p in SPACES_DIR.glob("*.yaml"))


def load_space(
    source: str | os.PathLike[str] | dict[str, Any] | SearchSpace,
    *,
    set_values: Overrides | None = None,
    **overrides: Any,
) -> SearchSpace:
    """Parse and check the markers and the ``search:`` section of a space (a path, YAML text, a dict,
    or the name of a shipped space). ``overrides`` replace ``search:`` settings (``max_trials=4``);
    ``set_values`` set values of the template by path before it is parsed, markers allowed
    (``{"head.classes": 10, "stages[0].repeat": {"int": [1, 3]}}``, or ``--set`` items).

    This checks each marker on its own; :func:`archbuilder.search.space_check.validate_space` checks the
    options against the blueprint format and the budgets.

    Args:
        source: a path to a YAML file, the name of a shipped space (see :func:`list_spaces`), YAML
            text, a dict, or a :class:`SearchSpace` (then only ``overrides`` apply).
        set_values: values to set by path in the template before it is parsed, as a mapping
            ``{path: value}`` or parsed ``--set`` items; ``None`` sets nothing.
        **overrides: ``search:`` settings to replace, by field name (``max_trials=4``,
            ``tuner="evolution"``, ``epochs=2``...); ``None`` values are ignored.

    Returns:
        The parsed :class:`SearchSpace`: its template, its parameters (parents before children)
        and its settings.

    Raises:
        BlueprintError: every problem, with its space path and (from a file) ``file:line:column``;
            also an unknown or invalid setting in ``overrides``.
        TypeError: ``set_values`` given with an already parsed :class:`SearchSpace`.
    """
    if isinstance(source, SearchSpace):
        if set_values:
            raise TypeError(
                "set_values applies to a space's source (a path, a shipped space's name, YAML text or a dict); "
                "this SearchSpace is already parsed: load its source with set_values instead."
            )
        return source.with_settings(**overrides)
    sources: Sources | None = None
    source_name: str | None = None
    if isinstance(source, dict):
        data: Any = apply_overrides(source, as_overrides(set_values))
    else:
        if not (isinstance(source, str) and is_yaml_text(source)):
            source = locate_space(source)
            source_name = str(source)
        data, sources = load_blueprint_data(source, set_values)
    if not isinstance(data, dict):
        problem = Problem(
            f"a search space is a blueprint mapping with a `search:` section. Received: {type(data).__name__}"
        )
        raise BlueprintError([sources.attach(problem) if sources else problem])
    space = compile_space(data, sources, source_name)
    return space.with_settings(**overrides)


__all__ = ["SPACES_DIR", "list_spaces", "load_space", "locate_space"]
