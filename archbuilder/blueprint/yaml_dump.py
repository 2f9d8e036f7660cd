"""Blueprints written as YAML: short items on one line, keys in field order, and strings the
loader would read as numbers quoted. (Separate from :mod:`archbuilder.blueprint.io`, which loads
files and imports the models: the models import this module to write themselves.)"""

from __future__ import annotations

from typing import Any

import yaml

from archbuilder.blueprint.yaml_source import _EXPONENT_FLOAT


class _Dumper(yaml.SafeDumper):
    pass


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(item, (dict, list)) for item in data) and len(data) <= 16
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = len(data) <= 6 and all(
        not isinstance(v, (dict, list))
        or (isinstance(v, list) and len(v) <= 4 and all(not isinstance(x, (dict, list)) for x in v))
        for v in data.values()
    )
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


# Strings like '1e-3' must be quoted: the loader reads them as floats (YAML 1.2).
_Dumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def dump_yaml(data: Any) -> str:
    """YAML with short items on one line (``{type: conv, filters: 64}``), keys in field order.

    Lists of up to 16 scalars and mappings of up to 6 short values are written on one line; strings
    the loader would read as numbers (``'1e-3'``) are quoted; keys keep their order.

    Args:
        data: plain data to write: mappings, lists, strings, numbers, booleans and ``None``, such
            as :meth:`Blueprint.to_dict` gives (a :class:`Blueprint` itself: ``blueprint.to_yaml()``).

    Returns:
        The YAML text, lines wrapped at 120 characters where YAML allows.

    Raises:
        yaml.representer.RepresenterError: ``data`` holds anything else (a Blueprint, a Path, another object).
    """
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


__all__ = ["dump_yaml"]
