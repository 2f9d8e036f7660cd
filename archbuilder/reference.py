"""The format reference (``docs/format.md``), generated from the pydantic models.

Every section, kind and field comes from the models themselves (their JSON Schema for types and
bounds, their fields for defaults and descriptions), so a new kind or field appears here without
editing this module. Regenerate the file with::

    archbuilder schema --markdown -o docs/format.md      # or: python -m archbuilder.reference

Nothing here imports Keras.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from archbuilder.artifacts import write_text_atomic
from archbuilder.blueprint.blocks import BLOCK_CLASSES
from archbuilder.blueprint.layers import LAYER_CLASSES
from archbuilder.blueprint.model import Blueprint
from archbuilder.search.markers import MARKER_KEYS, MODIFIERS
from archbuilder.search.settings import SearchSettings

REFERENCE_FILE = Path(__file__).resolve().parents[1] / "docs" / "format.md"
REGENERATE = "archbuilder schema --markdown -o docs/format.md"
_REF = "#/$defs/"

#: What each marker means (the keys and their modifiers come from archbuilder.search.markers).
MARKER_MEANINGS = {
    "choice": "One of the options, each a plain value or a whole spec (a block, a layer, a list).",
    "int": "An integer in `[min, max]` (both included); `step` spaces the values; with `log: true` `step` is a factor.",
    "float": "A number in `[min, max]`, continuous unless `step` is given; `log: true` samples on a log scale.",
    "bool": "`true` or `false`: write `{bool: {}}`.",
    "expr": 'A value computed from named values, e.g. `{expr: "round(32 * gamma)"}` (not searched itself).',
    "list": "A list whose length is searched: `{list: TEMPLATE, length: {int: [2, 4]}}`; `list` is one template "
    "for every item or a list of per-item templates; `length` is an integer or an int/choice marker.",
}
MARKER_EXAMPLES = {
    "choice": "{choice: [16, 32, 64], default: 32}",
    "int": "{int: [1, 4], step: 1}",
    "float": "{float: [0.0001, 0.01], log: true}",
    "bool": "{bool: {}}",
    "expr": '{expr: "int(round(32 * gamma))"}',
    "list": "{list: {block: {type: residual, filters: 32}}, length: {int: [2, 4]}}",
}

__all__ = ["REFERENCE_FILE", "REGENERATE", "format_reference", "main"]


def format_reference() -> str:
    """The Markdown text of ``docs/format.md``."""
    writer = _Writer(Blueprint, LAYER_CLASSES, BLOCK_CLASSES, SearchSettings)
    return writer.text()


class _Writer:
    def __init__(
        self,
        root: type[BaseModel],
        layers: Sequence[type[BaseModel]],
        blocks: Sequence[type[BaseModel]],
        settings: type[BaseModel],
    ) -> None:
        self.root, self.layers, self.blocks, self.settings = root, tuple(layers), tuple(blocks), settings
        self.schema = root.model_json_schema()
        self.defs: dict[str, Any] = dict(self.schema.get("$defs", {}))
        settings_schema = settings.model_json_schema()
        self.defs.update(settings_schema.get("$defs", {}))
        self.classes: dict[str, type[BaseModel]] = {}
        for model in (root, settings, *self.layers, *self.blocks):
            self._collect(model)
        self.kind_names = {cls.__name__ for cls in (*self.layers, *self.blocks)}
        self.kind_tags = {tag for cls in (*self.layers, *self.blocks) for tag in _tags(cls)}
        self.anchors: dict[str, str] = {}

    # -- the models ----------------------------------------------------------------------------------
    def _collect(self, model: type[BaseModel]) -> None:
        """Every model class reachable from ``model``'s fields, by name."""
        if model.__name__ in self.classes:
            return
        self.classes[model.__name__] = model
        for field in model.model_fields.values():
            for inner in _models_in(field.annotation):
                self._collect(inner)

    def _order(self, start: type[BaseModel], skip: set[str]) -> list[str]:
        """Model names reached from ``start`` breadth-first, in field order (``skip`` left out)."""
        order: list[str] = []
        queue = [start.__name__]
        while queue:
            name = queue.pop(0)
            if name in order or name in skip or name not in self.classes:
                continue
            order.append(name)
            queue.extend(_refs(self._model_schema(name)))
        return order

    def _model_schema(self, name: str) -> dict[str, Any]:
        if name == self.root.__name__:
            return self.schema
        if name == self.settings.__name__:
            return self.settings.model_json_schema()
        if name in self.defs:
            return self.defs[name]
        return self.classes[name].model_json_schema() if name in self.classes else {}

    # -- the text ------------------------------------------------------------------------------------
    def text(self) -> str:
        kinds = self.kind_names
        main = self._order(self.root, kinds)
        kind_refs: list[str] = []
        for cls in (*self.layers, *self.blocks):
            kind_refs.extend(ref for ref in _refs(self._model_schema(cls.__name__)) if ref not in kinds)
        others: list[str] = []
        for name in dict.fromkeys(kind_refs):
            if name in self.classes:
                others.extend(self._order(self.classes[name], kinds | set(main)))
        others = list(dict.fromkeys(others))
        search = self._order(self.settings, set())
        self.anchors = {name: _slug(name) for name in (*main, *others, *search)}
        for cls in (*self.layers, *self.blocks):
            self.anchors[cls.__name__] = _slug(self._kind_heading(cls))

        lines = [
            "# Blueprint format reference",
            "",
            f"<!-- Generated from the pydantic models by `{REGENERATE}`; do not edit by hand. -->",
            "",
            "Every field of a blueprint, a search space and a training recipe: its type, its default and what it "
            "does. A field without a default is required. Unknown keys are errors. A value is reached by its "
            "path, the way error messages write it (`head.classes`, `stages[1].repeat`, "
            "`training.optimizer.learning_rate`), and that path is what `--set PATH=VALUE` takes.",
            "",
            "- **`extends: BASE`** starts a blueprint from another: `BASE` is a path relative to the file (`.yaml` "
            "is added when it has no suffix) or a zoo name (`extends: resnet50`). A file at that path wins over "
            "the zoo entry of the same name. Mappings merge key by key (the extending file's values win); lists "
            "and other values replace the base's.",
            "- **`--set PATH=VALUE`** (on `validate`, `summary`, `build`, `train` and `search`; "
            "`load_blueprint(name, overrides={PATH: VALUE})` in Python) sets a value after `extends` is merged "
            "and before validation. The value is YAML and replaces what is there; the path may name a new key of "
            "an existing mapping. A problem at an overridden value names the override "
            "(`--set head.classes=-1: head.classes: ...`).",
            "- Editors: `archbuilder schema` (blueprints) and `archbuilder schema --space` (search spaces) print "
            "JSON Schemas; the zoo's files name `../archbuilder-blueprint.schema.json`.",
            "",
            "## Contents",
            "",
            f"- [Blueprint](#{self.anchors[self.root.__name__]}): " + ", ".join(self._link(name) for name in main[1:]),
            "- [Kinds](#kinds): [layers](#layer-kinds), [blocks](#block-kinds)"
            + (": " + ", ".join(self._link(name) for name in others) if others else ""),
            "- [Search spaces](#search-spaces): [markers](#markers), " + ", ".join(self._link(name) for name in search),
            "",
        ]
        for name in main:
            lines += self._section(name, "##" if name == self.root.__name__ else "###")
            if name == self.root.__name__:
                lines += ["## Sections", ""]
        lines += [
            "## Kinds",
            "",
            "A layer or block is a mapping with a `type` tag; the tag picks the kind. Every kind takes `id` (a name "
            "for its output) and `inputs` (the ids it reads; default: the previous output).",
            "",
            "| tag | kind | |",
            "|---|---|---|",
        ]
        for cls in (*self.layers, *self.blocks):
            summary = _first_sentence(cls.__doc__ or "")
            group = "layer" if cls in self.layers else "block"
            lines.append(
                f"| {', '.join(f'`{tag}`' for tag in _tags(cls))} | [{cls.__name__}](#{self.anchors[cls.__name__]}) "
                f"({group}) | {_cell(summary)} |"
            )
        lines += ["", "### Layer kinds", ""]
        for cls in self.layers:
            lines += self._kind_section(cls)
        lines += [
            "### Block kinds",
            "",
            "Blocks expand into several layers; the names of the Keras layers come from the block's path "
            "(`stages[1].blocks[0].conv1` -> `stages_1_blocks_0_conv1`).",
            "",
        ]
        for cls in self.blocks:
            lines += self._kind_section(cls)
        if others:
            lines += ["### Other specs used by kinds", ""]
            for name in others:
                lines += self._section(name, "####")
        lines += self._search_part(search)
        return "\n".join(lines).rstrip() + "\n"

    def _kind_heading(self, cls: type[BaseModel]) -> str:
        tags = _tags(cls)
        return f"{cls.__name__}: {', '.join(tags)}"

    def _kind_section(self, cls: type[BaseModel]) -> list[str]:
        return self._section(cls.__name__, "####", heading=self._kind_heading(cls))

    def _section(self, name: str, level: str, heading: str | None = None) -> list[str]:
        cls = self.classes[name]
        schema = self._model_schema(name)
        doc = " ".join((cls.__doc__ or "").split()) if cls.__doc__ and cls.__doc__ is not BaseModel.__doc__ else ""
        lines = [f"{level} {heading or name}", ""]
        if doc:
            lines += [doc, ""]
        rows = self._rows(cls, schema)
        if rows:
            lines += ["| field | type | default | description |", "|---|---|---|---|", *rows, ""]
        else:
            lines += ["No fields besides its tag.", ""]
        return lines

    def _rows(self, cls: type[BaseModel], schema: dict[str, Any]) -> list[str]:
        properties = schema.get("properties", {})
        rows = []
        for field_name, field in cls.model_fields.items():
            prop = properties.get(field_name, {})
            if (
                field_name == "type"
                and "const" in prop
                or (field_name == "type" and "enum" in prop and cls.__name__ in self.kind_names)
            ):
                kind_tags = ", ".join(f"`{tag}`" for tag in _tags(cls))
                rows.append(f"| `type` | {kind_tags} | | The kind's tag. |")
                continue
            required = field.is_required()
            default = "*required*" if required else _cell(f"`{_default_text(field)}`")
            description = field.description or prop.get("description") or ""
            rows.append(f"| `{field_name}` | {_cell(self._type(prop))} | {default} | {_cell(description)} |")
        return rows

    # -- types ---------------------------------------------------------------------------------------
    def _type(self, schema: Any) -> str:
        if not isinstance(schema, dict) or not schema:
            return "any"
        if "$ref" in schema:
            return self._link(schema["$ref"][len(_REF) :])
        if "discriminator" in schema and ("oneOf" in schema or "anyOf" in schema):
            members = schema.get("oneOf") or schema.get("anyOf") or []
            names = [member["$ref"][len(_REF) :] for member in members if "$ref" in member]
            if names and set(names) >= self.kind_names and len(self.kind_names) > 4:
                return "a [kind](#kinds) (layer or block)"
            return " or ".join(self._link(name) for name in dict.fromkeys(names))
        for union in ("anyOf", "oneOf"):
            if union in schema:
                parts = [self._type(member) for member in schema[union]]
                return " or ".join(dict.fromkeys(parts))
        if "const" in schema:
            return f"`{_flow(schema['const'])}`"
        if "enum" in schema:
            return "one of " + ", ".join(f"`{_flow(value)}`" for value in schema["enum"])
        kind = schema.get("type")
        if kind == "array":
            if "prefixItems" in schema:
                return "[" + ", ".join(self._type(item) for item in schema["prefixItems"]) + "]"
            items = self._type(schema.get("items", {}))
            low, high = schema.get("minItems"), schema.get("maxItems")
            if low is not None and low == high:
                return f"{low} x {items}"
            bounds = ([f"at least {low}"] if low else []) + ([f"at most {high:,}"] if high is not None else [])
            return f"list of {items}" + (f" ({', '.join(bounds)})" if bounds else "")
        if kind == "object":
            values = schema.get("additionalProperties")
            return f"mapping of name to {self._type(values)}" if isinstance(values, dict) else "mapping"
        if kind in ("integer", "number"):
            return ("integer" if kind == "integer" else "number") + _bounds(schema)
        if kind == "string":
            text = "string"
            if schema.get("pattern") == r"^[A-Za-z_][A-Za-z0-9_]*$":
                text = "name (letters, digits, _)"
            if "maxLength" in schema:
                text += f" (at most {schema['maxLength']:,} characters)"
            return text
        if kind == "boolean":
            return "true or false"
        if kind == "null":
            return "null"
        return json.dumps(schema)

    def _link(self, name: str) -> str:
        anchor = self.anchors.get(name)
        return f"[{name}](#{anchor})" if anchor else name

    # -- search spaces -------------------------------------------------------------------------------
    def _search_part(self, search: list[str]) -> list[str]:
        lines = [
            "## Search spaces",
            "",
            "A search space is a blueprint in which any value may be a **marker** (a mapping with one marker "
            "key), plus a `search:` section. `archbuilder search SPACE --check` and `archbuilder validate SPACE` "
            "check one without training; `archbuilder schema --space` prints its JSON Schema.",
            "",
            "### Markers",
            "",
            "| marker | also takes | example | meaning |",
            "|---|---|---|---|",
        ]
        for key in MARKER_KEYS:
            modifiers = ", ".join(f"`{name}`" for name in MODIFIERS.get(key, ())) or "-"
            example = MARKER_EXAMPLES.get(key, "")
            lines.append(
                f"| `{key}` | {modifiers} | {_cell(f'`{example}`') if example else ''} | "
                f"{_cell(MARKER_MEANINGS.get(key, ''))} |"
            )
        lines += [
            "",
            "`name: x` on a choice, int, float or bool marker makes its value usable in `expr` values and "
            "`search.constraints`; `default` is the value used when the space is checked.",
            "",
        ]
        for name in search:
            lines += self._section(
                name, "###", heading=("`search:` " + name) if name == self.settings.__name__ else None
            )
        return lines


# -- helpers ---------------------------------------------------------------------------------------


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The model classes inside a type annotation (unions, lists, Annotated, dicts...)."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in typing.get_args(annotation):
        found.extend(_models_in(argument))
    return found


def _refs(schema: Any) -> list[str]:
    """Names of the definitions ``schema`` refers to, in order of appearance."""
    found: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
                found.append(value[len(_REF) :])
            elif key not in ("$defs", "discriminator"):
                found.extend(_refs(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_refs(value))
    return list(dict.fromkeys(found))


def _tags(cls: type[BaseModel]) -> tuple[str, ...]:
    import typing

    field = cls.model_fields.get("type")
    return tuple(typing.get_args(field.annotation)) if field is not None else ()


def _default_text(field: Any) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:  # pragma: no cover - a factory that takes the validated data
            return "(computed)"
    else:
        value = field.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_defaults=True)
    return _flow(value)


def _flow(value: Any) -> str:
    """A value as YAML's flow style writes it: ``{type: max_pool, pool_size: 2}``, ``[1, 2]``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        plain = (
            re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*", value) is not None
            and re.fullmatch(r"[-+.0-9eE_]+", value) is None
            and value.lower() not in ("true", "false", "null", "yes", "no", "on", "off", "y", "n")
        )
        return value if plain else json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    return str(value)


def _bounds(schema: dict[str, Any]) -> str:
    parts = []
    for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in schema:
            number = schema[key]
            parts.append(
                f"{sign} {number:,}" if isinstance(number, int) and abs(number) >= 10_000 else f"{sign} {number:g}"
            )
    return f" ({', '.join(parts)})" if parts else ""


def _cell(text: str) -> str:
    """Text for one Markdown table cell: on one line, with its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.match(r"(.+?\.)(?=\s+[A-Z(`]|$)", text)
    return match.group(1) if match else text


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m archbuilder.reference [-o FILE] [--check]``."""
    parser = argparse.ArgumentParser(prog="python -m archbuilder.reference", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", metavar="FILE", help=f"write to FILE (e.g. {REFERENCE_FILE.name})")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/format.md is not current")
    args = parser.parse_args(argv)
    text = format_reference()
    if args.check:
        current = REFERENCE_FILE.read_text(encoding="utf-8") if REFERENCE_FILE.is_file() else ""
        if current != text:
            print(f"{REFERENCE_FILE} is out of date; regenerate it: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_text_atomic(args.output, text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
