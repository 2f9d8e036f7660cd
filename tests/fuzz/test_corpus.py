"""Regression corpus: every input that once crashed archbuilder (or was wrongly accepted) stays fixed.

Each ``corpus/*.yaml`` is a complete blueprint, valid but for the one thing it tests, whose first line
says the exit code ``archbuilder validate`` must give (``# expect: 1``, or ``# expect: 0`` for a valid
input next to a crashing one) and whose second line says what it tests. Both ``validate`` and
``summary`` must give that code with one-line problems naming the file and no traceback.
Hypothesis' minimized failures go here too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .fuzzlib import CORPUS_DIR, check_cli_contract, run_cli

CORPUS = sorted(CORPUS_DIR.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: ([01])\s*$")
#: Seconds for one command on a corpus file: a hang guard, not a speed test (each answers in well under one
#: second, and a loaded 2-core machine must never fail a correct run).
CORPUS_TIME_LIMIT = 60.0


def expected_code(path: Path) -> int:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    match = EXPECT.match(first)
    assert match, f"{path.name}: the first line must be '# expect: 0' or '# expect: 1'. Received: {first!r}"
    return int(match.group(1))


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 15
    for path in CORPUS:
        expected_code(path)
        assert path.read_text(encoding="utf-8").splitlines()[1].startswith("# tests: "), path.name


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_input_validates_with_its_expected_code(path: Path) -> None:
    expected = expected_code(path)
    validate = run_cli(["validate", str(path)], seconds=CORPUS_TIME_LIMIT)
    check_cli_contract(validate, str(path))
    assert validate.code == expected, f"expected exit {expected}\n{validate.describe()}"
    verdict = "ok (" if expected == 0 else "invalid ("
    assert validate.stdout.splitlines()[-1].startswith(f"{path}: {verdict}"), validate.describe()
    if expected == 1:
        assert len(validate.stdout.splitlines()) >= 2, f"no problem line before the verdict\n{validate.describe()}"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_input_summarizes_with_its_expected_code(path: Path) -> None:
    expected = expected_code(path)
    summary = run_cli(["summary", str(path)], seconds=CORPUS_TIME_LIMIT)
    check_cli_contract(summary, str(path))
    assert summary.code == expected, f"expected exit {expected}\n{summary.describe()}"
