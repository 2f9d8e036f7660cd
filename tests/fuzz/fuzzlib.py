"""Shared pieces of the property-based tests: hostile values, blueprint mutations, the CLI contract.

Everything here uses only what a user of archbuilder has (``archbuilder.cli.main``, the public
blueprint and analysis API, PyYAML); nothing is imported from other test modules.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import re
import signal
import threading
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from archbuilder.blueprint import ALL_KINDS, KIND_BY_TAG, Blueprint

ROOT = Path(__file__).resolve().parents[2]
ZOO_DIR = ROOT / "blueprints"
ZOO_FILES = sorted(ZOO_DIR.glob("*.yaml"))
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

#: Exit codes of the command line (archbuilder/errors.py): 0 ok, 1 invalid input; 3 is a bug.
ALLOWED_EXIT_CODES = (0, 1)

#: Seeded, time-bounded hypothesis settings shared by the folder (max_examples set per test).
FUZZ_SETTINGS = dict(
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)


#: Hypothesis profiles, picked by ``HYPOTHESIS_PROFILE``: ``quick`` (the default, ``make test``) runs a
#: fifth of each test's examples (at least 5); ``full`` (``make test-all``) runs every example written.
QUICK_SHARE = 5
settings.register_profile("quick", **FUZZ_SETTINGS)
settings.register_profile("full", **FUZZ_SETTINGS)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")
if PROFILE not in ("quick", "full"):
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: expected 'quick' (the default) or 'full' (make test-all)")


def fuzz_settings(max_examples: int) -> settings:
    """``max_examples`` under the ``full`` profile, a fifth of them (at least 5) under ``quick``."""
    count = max_examples if PROFILE == "full" else max(5, max_examples // QUICK_SHARE)
    return settings(settings.get_profile(PROFILE), max_examples=count)


class HexInt(int):
    """An integer written in hexadecimal in the YAML: Python reads hex literals of any length, but cannot
    print an integer of more than 4,300 decimal digits (``sys.get_int_max_str_digits``)."""

    def __repr__(self) -> str:
        return f"HexInt(0x{self:x})" if self.bit_length() < 64 else f"HexInt(<{self.bit_length()}-bit hex literal>)"

    __str__ = __repr__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis' reports: no 3,600-digit dumps
        printer.text(repr(self))


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(HexInt, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:int", f"0x{value:x}"))

#: About 10^4334: more decimal digits than Python will convert to text.
HUGE_HEX = HexInt(16**3600 - 1)


# -- hostile values ------------------------------------------------------------------------------

UNKNOWN_TAGS = ["bottlenek", "Conv", "conv2d", "", "type", "resnet50", "dense_blok", "mlp conv"]
KNOWN_TAGS = sorted(ALL_KINDS)

#: Values a careless (or malicious) user could write anywhere in a blueprint.
SPECIAL_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    3,
    7,
    -3,
    10**6,
    10**6 + 1,
    2**31,
    2**63,
    10**30,
    -(10**30),
    10**300,
    HUGE_HEX,
    0.0,
    -0.0,
    0.5,
    0.999,
    1.0,
    1.5,
    2.0,
    -0.5,
    1e-300,
    5e-324,
    1e300,
    -1e300,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "x" * 300,
    "a\0b",
    "\0",
    "line one\nline two",
    "tab\there",
    "é✓漢字",
    "\u202e",
    "\ufeff",
    "same",
    "valid",
    "auto",
    "relu",
    "softmax",
    "conv",
    "flatten",
    "global_avg",
    "none",
    "first",
    "1x1",
    "1e5",
    "0x10",
    ".nan",
    "true",
    "null",
    "~",
    "${HOME}",
    ".",
    "..",
    "/",
    "/dev/zero",
    "/dev/null",
    "../../../etc/passwd",
    "mutant.yaml",
    "missing.yaml",
    "lenet5",
    "lenet5.yaml",
    "x" * 300 + ".yaml",
    [],
    {},
    [1],
    [0],
    [-1],
    [0, 0],
    [1, 2],
    [1, 2, 3],
    [[1, 2], [3, 4]],
    [[0, 1], [2]],
    [None],
    [math.nan, 1],
    [10**30, 10**30, 10**30],
    ["a", "b"],
    [[]],
    [{}],
    {"type": "conv", "filters": 4},
    {"type": "bottleneck", "filters": 4},
    {"type": None},
    {"type": []},
    {"a": {"b": [1, {"c": None}]}},
    {"block": {"type": "relu"}},
    {"": 1},
]

#: Keys to add where they do not belong (typos, keys of other kinds, structural keys).
EXTRA_KEYS = [
    "filterz",
    "unknown",
    "type",
    "id",
    "inputs",
    "extends",
    "strides",
    "repeat",
    "block",
    "blocks",
    "pattern",
    "stem",
    "stages",
    "head",
    "defaults",
    "scaling",
    "padding",
    "kernel_size",
    "filters",
    "classes",
    "se_ratio",
    "groups",
    "training",
    "<<",
    "x" * 200,
    "\0",
    "",
    "Type",
]


def special_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(SPECIAL_VALUES),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.recursive(
            st.none() | st.integers(-5, 40) | st.text(max_size=4),
            lambda children: (
                st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(EXTRA_KEYS[:10]), children, max_size=3)
            ),
            max_leaves=6,
        ),
    )


# -- the format's own field names, so that added keys are often valid ones -----------------------


def _models_in(annotation: Any) -> Iterator[type]:
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _fields_by_key() -> dict[str, set[str]]:
    """Key of a mapping in a blueprint -> the field names of the class(es) it holds (``head`` -> Head's)."""
    found: dict[str, set[str]] = {}
    seen: set[type] = set()

    def visit(cls: type) -> None:
        for name, field in cls.model_fields.items():
            for model in _models_in(field.annotation):
                if "type" in model.model_fields:
                    continue
                found.setdefault(name, set()).update(model.model_fields)
                if model not in seen:
                    seen.add(model)
                    visit(model)

    visit(Blueprint)
    return found


FIELDS_BY_KEY = _fields_by_key()


def known_fields(path: tuple[Any, ...], node: dict[str, Any]) -> list[str]:
    """Field names the format knows for the mapping ``node`` at ``path`` (empty when unknown)."""
    tag = node.get("type")
    if isinstance(tag, str) and tag in KIND_BY_TAG:
        return sorted(KIND_BY_TAG[tag].model_fields)
    if not path:
        return sorted(Blueprint.model_fields)
    key = path[-1] if isinstance(path[-1], str) else (path[-2] if len(path) > 1 else None)
    return sorted(FIELDS_BY_KEY.get(key, ()))


#: Values that pass a plain ``float`` or ``int`` field but are absurd.
EXTREME_NUMBERS: list[Any] = [
    0,
    -1,
    1,
    10**6,
    10**30,
    HUGE_HEX,
    0.01,
    1e-300,
    1e300,
    -1e300,
    math.nan,
    math.inf,
    -math.inf,
]


#: Values for the required fields of each kind, so that an inserted layer is valid but for one field.
REQUIRED_VALUES: dict[str, Any] = {
    "filters": 4,
    "units": 4,
    "filters_1x1": 4,
    "filters_3x3": 4,
    "filters_5x5": 4,
    "reduce_3x3": 2,
    "reduce_5x5": 2,
    "pool_proj": 2,
    "num_layers": 2,
    "squeeze": 2,
    "expand_1x1": 4,
    "expand_3x3": 4,
    "scale": 0.5,
    "mean": 0.0,
    "variance": 1.0,
    "rate": 0.1,
    "mode": "tf",
    "type": None,
}
#: Kinds inserted into layer lists (no merges, which need ids; no keras_application, which is big).
INSERTABLE = sorted(tag for tag in ALL_KINDS if tag not in ("add", "concatenate", "multiply", "keras_application"))


def minimal_layer(tag: str) -> dict[str, Any]:
    """The smallest valid mapping of kind ``tag``."""
    cls = KIND_BY_TAG[tag]
    layer: dict[str, Any] = {"type": tag}
    for name, field in cls.model_fields.items():
        if field.is_required() and name != "type":
            layer[name] = [4] if (tag == "mlpconv" and name == "filters") else REQUIRED_VALUES.get(name, 1)
    return layer


@st.composite
def extreme_layer(draw: st.DrawFn) -> dict[str, Any]:
    """A valid layer or block but for one field set to an extreme (often still type-correct) value."""
    tag = draw(st.sampled_from(INSERTABLE))
    layer = minimal_layer(tag)
    fields = sorted(set(KIND_BY_TAG[tag].model_fields) - {"type", "id", "inputs"})
    if fields and draw(st.integers(0, 4)):
        name = draw(st.sampled_from(fields))
        if name == "kernel_regularizer":
            layer[name] = {draw(st.sampled_from(["l1", "l2"])): draw(st.sampled_from(EXTREME_NUMBERS))}
        else:
            layer[name] = copy.deepcopy(draw(st.sampled_from(EXTREME_NUMBERS) | special_values()))
    return layer


# -- mutations of parsed YAML --------------------------------------------------------------------

Path_ = tuple[Any, ...]


def walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) below ``node``, parents before children; ``()`` is the root."""
    yield path, node
    if isinstance(node, dict):
        for key, value in list(node.items()):
            yield from walk(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, path + (index,))


def get(node: Any, path: Path_) -> Any:
    for part in path:
        node = node[part]
    return node


def _parent(doc: Any, path: Path_) -> tuple[Any, Any]:
    return get(doc, path[:-1]), path[-1]


def _set(doc: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    parent, key = _parent(doc, path)
    parent[key] = value
    return doc


@st.composite
def mutate_once(draw: st.DrawFn, doc: Any) -> tuple[Any, str]:
    """Apply one random mutation at a random path of ``doc`` (in place where possible)."""
    nodes = list(walk(doc))
    inner = [(p, v) for p, v in nodes if p]
    dicts = [(p, v) for p, v in nodes if isinstance(v, dict)]
    lists = [(p, v) for p, v in nodes if isinstance(v, list) and v]
    tagged = [(p, v) for p, v in dicts if "type" in v]
    numbers = [(p, v) for p, v in inner if isinstance(v, (int, float)) and not isinstance(v, bool)]
    choices = ["replace"] * 4 + ["delete", "add_key"] * 2 + ["duplicate", "drop_item"] * bool(lists)
    choices += ["retag"] * 3 * bool(tagged) + ["number"] * 3 * bool(numbers) + ["add_field"] * 4
    layer_lists = [(p, v) for p, v in nodes if isinstance(v, list) and p and p[-1] in ("stem", "blocks", "layers")]
    choices += ["insert_layer"] * 4 * bool(layer_lists)
    operation = draw(st.sampled_from(choices)) if inner else "replace"
    if operation == "replace":
        path, _ = draw(st.sampled_from(inner or nodes))
        value = draw(special_values())
        return _set(doc, path, copy.deepcopy(value)), f"replace {path} with {value!r}"
    if operation == "number":
        path, old = draw(st.sampled_from(numbers))
        if isinstance(old, HexInt):
            old = 7
        value = draw(
            st.sampled_from(
                [-old, old * 1000, old + 1, old - 1, float(old) + 0.5, old * 10**6, old / 1000, *EXTREME_NUMBERS]
            )
        )
        return _set(doc, path, value), f"number {path}: {old!r} -> {value!r}"
    if operation == "delete":
        path, _ = draw(st.sampled_from([(p, v) for p, v in inner if isinstance(get(doc, p[:-1]), dict)] or inner))
        parent, key = _parent(doc, path)
        del parent[key]
        return doc, f"delete {path}"
    if operation == "add_key":
        path, target = draw(st.sampled_from(dicts))
        key = draw(st.sampled_from(EXTRA_KEYS))
        value = draw(special_values())
        target[key] = copy.deepcopy(value)
        return doc, f"add {path + (key,)} = {value!r}"
    if operation == "add_field":  # a field the format knows here, with an extreme value
        path, target = draw(st.sampled_from(dicts))
        fields = known_fields(path, target)
        if not fields:
            return doc, f"add_field {path}: no known fields"
        key = draw(st.sampled_from(fields))
        value = draw(st.sampled_from(EXTREME_NUMBERS) | special_values())
        target[key] = copy.deepcopy(value)
        return doc, f"set {path + (key,)} = {value!r}"
    if operation == "insert_layer":
        path, target = draw(st.sampled_from(layer_lists))
        index = draw(st.integers(0, len(target)))
        layer = draw(extreme_layer())
        target.insert(index, layer)
        return doc, f"insert {path + (index,)} = {layer!r}"
    if operation == "duplicate":
        path, target = draw(st.sampled_from(lists))
        index = draw(st.integers(0, len(target) - 1))
        target.insert(index, copy.deepcopy(target[index]))
        return doc, f"duplicate {path + (index,)}"
    if operation == "drop_item":
        path, target = draw(st.sampled_from(lists))
        index = draw(st.integers(0, len(target) - 1))
        del target[index]
        return doc, f"drop {path + (index,)}"
    path, target = draw(st.sampled_from(tagged))
    tag = draw(st.sampled_from(KNOWN_TAGS + UNKNOWN_TAGS))
    target["type"] = tag
    return doc, f"retag {path}: {tag!r}"


@st.composite
def mutated(draw: st.DrawFn, doc: Any, max_mutations: int = 3) -> tuple[Any, list[str]]:
    """``doc`` (deep-copied) after 1..max_mutations random mutations, and what was done."""
    doc = copy.deepcopy(doc)
    steps = []
    for _ in range(draw(st.integers(1, max_mutations))):
        doc, step = draw(mutate_once(doc))
        steps.append(step)
    return doc, steps


def dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def load_zoo(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# -- running the command line in-process ---------------------------------------------------------


@dataclass
class Run:
    argv: list[str]
    code: Any
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"archbuilder {' '.join(self.argv)} -> {self.code!r}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


class Hang(BaseException):
    """Raised in the test when a call runs past its time limit (a BaseException, so that the command
    line's ``except Exception`` does not turn it into exit 3)."""


#: Seconds one validate/summary/analyze may take: a hang guard, not a speed test (a blueprint answers in well
#: under a second; a loaded 2-core machine must never fail a correct run).
TIME_LIMIT = 60.0


@contextlib.contextmanager
def time_limit(seconds: float = TIME_LIMIT, what: str = "the call") -> Iterator[None]:
    """Raise :class:`Hang` if the block runs longer than ``seconds`` (main thread on Unix; else no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"{what} did not finish within {seconds:g} s (a hang, or unbounded work)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def hang_shows(text: str) -> Iterator[None]:
    """Append the input to a :class:`Hang`: hypothesis does not shrink or print a BaseException's example."""
    try:
        yield
    except Hang as hang:
        raise Hang(f"{hang}. The input:\n{text}") from None


def run_cli(argv: list[str], seconds: float = TIME_LIMIT) -> Run:
    """``archbuilder.cli.main(argv)`` with its output captured; an escaping exception propagates."""
    from archbuilder.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        time_limit(seconds, f"archbuilder {' '.join(argv)}"),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(argv)
    return Run(argv, code, out.getvalue(), err.getvalue())


_COUNT_LINE = re.compile(r"^\d+ problems:$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lines(text: str) -> list[str]:
    """Lines as a terminal, ``grep`` or a text-mode file shows them (\\n, \\r\\n or a lone \\r)."""
    return [line for line in _LINE_BREAK.split(text) if line]


def check_cli_contract(run: Run, prefix: str) -> None:
    """The error contract: exit 0 or 1, no traceback, every problem on one line naming its file.

    ``prefix`` is the folder (or file) every problem line must start with: a line that does not is
    the continuation of a multi-line message (or a problem that lost its file).
    """
    assert run.code in ALLOWED_EXIT_CODES, f"exit code {run.code!r} (3 = a bug in archbuilder)\n{run.describe()}"
    text = run.stdout + run.stderr
    assert "Traceback" not in text, run.describe()
    assert "internal error" not in text, run.describe()
    problem_lines = lines(run.stderr)
    if run.argv[0] == "validate":
        problem_lines += lines(run.stdout)
    for line in problem_lines:
        if not line.strip() or _COUNT_LINE.match(line):
            continue
        assert line.removeprefix("  ").startswith(prefix), (
            f"not a one-line problem naming its file: {line!r}\n{run.describe()}"
        )
