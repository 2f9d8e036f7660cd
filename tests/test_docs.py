"""Every code block of the README and docs/ is executed or checked, as a user would use it.

* ``python`` blocks run alone in a fresh interpreter (the README's are in test_readme.py);
* ``yaml`` blocks parse, and a blueprint or a search space validates (a ``training:`` fragment
  validates inside a minimal blueprint);
* transcripts (blocks whose first line starts with ``$ ``) run command after command, in a fresh
  process each, in one temporary folder that holds the files the page defines (a block right after
  ``<!-- file: NAME -->``, or a yaml block whose first line is ``# NAME.yaml``); the exit status
  must match (1 when the transcript shows ``invalid (``), and for the commands whose output does
  not depend on training (validate, summary, schema, zoo), every shown line must be printed
  (``...`` stands for lines left out, and a line ending in ``...`` for the rest of it);
* ``sh``/``bash`` blocks run with bash in such a folder;
* a block that cannot run here says why right before it: ``<!-- not run: REASON -->`` (e.g. it
  downloads CIFAR-10, or needs two hosts); the test lists them, so none is skipped silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.commands import archbuilder

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!--\s*(file|not run):\s*(.*?)\s*-->\n)?```(\w*)\n(.*?)```", re.S)
DETERMINISTIC = ("validate", "summary", "schema", "zoo")
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


@dataclass
class Block:
    page: Path
    line: int
    language: str
    text: str
    file: str | None = None
    not_run: str | None = None

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"

    @property
    def transcript(self) -> bool:
        return self.text.startswith("$ ")


def page_blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        kind, value, language, body = match.groups()
        line = text.count("\n", 0, match.start(3)) + 1
        found.append(
            Block(page, line, language, body, value if kind == "file" else None, value if kind == "not run" else None)
        )
    return found


BLOCKS = [block for page in PAGES for block in page_blocks(page)]


def files_of(page: Path) -> dict[str, str]:
    named = {}
    for block in page_blocks(page):
        first = block.text.splitlines()[0] if block.text else ""
        if block.file:
            named[block.file] = block.text
        elif block.language == "yaml" and re.fullmatch(r"#\s*[\w.-]+\.yaml\b.*", first):
            named[first.lstrip("# ").split()[0].rstrip(":")] = block.text
    return named


def test_blocks_are_found_and_every_skipped_one_says_why() -> None:
    assert len([b for b in BLOCKS if b.page.name == "README.md"]) > 15
    for block in BLOCKS:
        assert block.not_run is None or len(block.not_run) > 10, f"{block.id}: say why it cannot run here"


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.language == "yaml" and not b.not_run and not b.file], ids=lambda b: b.id
)
def test_yaml_blocks_validate(block: Block) -> None:
    """(A block marked as a file is checked by the transcript that uses it, which may show its errors.)"""
    import archbuilder
    from archbuilder.search import load_space

    data = yaml.safe_load(block.text)
    assert isinstance(data, dict), f"{block.id}: a YAML block is a mapping"
    if "search" in data or "{choice:" in block.text or "{int:" in block.text:
        load_space(block.text)
    elif "input" in data or "extends" in data:
        archbuilder.load_blueprint(block.text)
    else:  # a fragment: the sections it shows, inside a minimal blueprint
        assert set(data) <= {"training", "defaults", "head", "search", "name"}, f"{block.id}: an unknown fragment"
        minimal = {"name": "x", "input": {"shape": [8, 8, 1]}, "stem": [{"type": "flatten"}], "head": {"classes": 10}}
        archbuilder.load_blueprint({**minimal, **{k: v for k, v in data.items() if k != "name"}})


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.language == "python" and not b.not_run and b.page.name != "README.md"],
    ids=lambda b: b.id,
)
def test_python_blocks_of_the_docs_run(block: Block) -> None:
    result = subprocess.run(
        [sys.executable, "-c", block.text], cwd=ROOT, env=QUIET, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]


def commands(block: Block) -> list[tuple[str, list[str]]]:
    """(command, shown output lines) of a transcript."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:].split("  #")[0].strip(), []))
        elif steps:
            steps[-1][1].append(line)
    return steps


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.language in ("sh", "bash") and not b.not_run], ids=lambda b: b.id
)
def test_shell_blocks_run(block: Block, tmp_path: Path) -> None:
    for name, text in files_of(block.page).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    script = "set -e\n" + block.text.replace("archbuilder ", f"{sys.executable} -m archbuilder ")
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=QUIET, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{block.id}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.transcript and not b.not_run], ids=lambda b: b.id)
def test_transcripts_run_as_shown(block: Block, tmp_path: Path) -> None:
    for name, text in files_of(block.page).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for command, shown in commands(block):
        words = command.split()
        assert words[0] == "archbuilder", f"{block.id}: transcripts show archbuilder commands"
        result = archbuilder(*words[1:], cwd=tmp_path)
        expected = 1 if any("invalid (" in line for line in shown) else 0
        assert result.returncode == expected, f"{block.id}: {command}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        if words[1] in DETERMINISTIC:
            printed = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
            for line in shown:
                if line.strip() in ("", "..."):
                    continue
                start = line.split("...")[0].rstrip()
                assert any(actual.startswith(start) for actual in printed), (
                    f"{block.id}: `{command}` did not print\n  {line}\nit printed:\n" + "\n".join(printed)
                )
