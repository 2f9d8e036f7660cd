"""The ``archbuilder`` command, run in-process through ``main([...])`` (plus one real subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archbuilder import zoo
from archbuilder.analysis import analyze
from archbuilder.blueprint import ALL_KINDS, catalog
from archbuilder.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from tests.commands import archbuilder_process

TINY = """\
name: tiny
input: {shape: [8, 8, 3]}
stem:
  - {type: conv, filters: 4, kernel_size: 3, padding: same, batch_norm: true}
  - {type: max_pool, pool_size: 2}
head: {classes: 10}
"""

UNKNOWN_KEY_AND_KIND = """\
name: tiny
input: {shape: [8, 8, 3]}
stem:
  - {type: conv, filters: 8, kernel_siz: 3}
  - {type: convv, filters: 8}
head: {classes: 10}
"""

TOO_SMALL = """\
name: tiny
input: {shape: [8, 8, 3]}
stem:
  - {type: conv, filters: 8, kernel_size: 3, strides: 2}
  - {type: conv, filters: 8, kernel_size: 3, strides: 2}
  - {type: conv, filters: 8, kernel_size: 3, strides: 2}
head: {classes: 10}
"""

# The error is found in the resolved stages[1].blocks[0] and reported where the user wrote it.
PATTERN_TOO_SMALL = """\
name: pat
input: {shape: [4, 4, 3]}
pattern:
  conv: {kernel_size: 3, padding: valid}
  stages:
    - {filters: 8, convs: 1}
    - {filters: 8, convs: 2}
  pool: {type: max_pool, pool_size: 2, strides: 2}
head: {classes: 10}
"""

INEXACT_FIT = """\
name: fit
input: {shape: [8, 8, 3]}
stem:
  - {type: conv, filters: 4, kernel_size: 3, strides: 2}
head: {classes: 10}
"""


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in ``tmp_path`` so file names in messages are short and exact."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- validate -------------------------------------------------------------------------------------

VALIDATE_CASES = [
    ("good", TINY, EXIT_OK, ["tiny.yaml: ok (6 layers, 178 params)"]),
    (
        "unknown key and kind",
        UNKNOWN_KEY_AND_KIND,
        EXIT_INVALID,
        [
            "tiny.yaml:4:30: stem[0].kernel_siz: unknown key 'kernel_siz'. Did you mean 'kernel_size'?",
            "tiny.yaml:5:12: stem[1].type: unknown type 'convv'. Did you mean 'conv'?",
            "tiny.yaml: invalid (2 errors)",
        ],
    ),
    (
        "output size 0",
        TOO_SMALL,
        EXIT_INVALID,
        [
            "tiny.yaml:6:5: stem[2]: output size would be 0x0 (input 1x1, kernel_size=3, strides=2, padding='valid').",
            "tiny.yaml: invalid (1 error)",
        ],
    ),
    (
        "output size 0 in a pattern",
        PATTERN_TOO_SMALL,
        EXIT_INVALID,
        [
            "tiny.yaml:7:7: stages[1].blocks[0]: output size would be 0x0 (input 1x1, kernel_size=3, strides=1,",
        ],
    ),
    (
        "inexact fit is a warning",
        INEXACT_FIT,
        EXIT_OK,
        [
            "tiny.yaml:4:5: warning: stem[0]: inexact fit: (input 8x8, kernel_size=3, strides=2, padding='valid')",
            "tiny.yaml: ok (3 layers, 162 params, 1 warning)",
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "expected"), [case[1:] for case in VALIDATE_CASES], ids=[case[0] for case in VALIDATE_CASES]
)
def test_validate(in_tmp: Path, capsys: pytest.CaptureFixture[str], text: str, code: int, expected: list[str]) -> None:
    write(in_tmp, "tiny.yaml", text)
    assert main(["validate", "tiny.yaml"]) == code
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len([line for line in lines if line.startswith("tiny.yaml")])
    for line in expected:
        assert any(printed.startswith(line) for printed in lines), f"{line!r} not in {lines}"


def test_validate_reports_every_file_and_fails_if_any_fails(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(in_tmp, "good.yaml", TINY)
    write(in_tmp, "bad.yaml", TOO_SMALL)
    assert main(["validate", "bad.yaml", "good.yaml", "vgg16"]) == EXIT_INVALID
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3:] == [
        "bad.yaml: invalid (1 error)",
        "good.yaml: ok (6 layers, 178 params)",
        "vgg16: ok (24 layers, 138,357,544 params)",
    ]


def test_validate_missing_file_is_invalid_input(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(in_tmp, "here.yaml", TINY)
    assert main(["validate", "missing.yaml", "folder/missing.yaml"]) == EXIT_INVALID
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("missing.yaml: ")
    assert lines[0].endswith(
        "no such file, and no zoo blueprint 'missing.yaml'. See `archbuilder zoo list` for the "
        f"{len(zoo.list_blueprints())} available."
    )
    assert lines[2].startswith("folder/missing.yaml: ")
    assert lines[2].endswith("file not found")
    assert lines[1::2] == ["missing.yaml: invalid (1 error)", "folder/missing.yaml: invalid (1 error)"]
    assert "Traceback" not in out


# -- usage errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        ([], EXIT_USAGE),
        (["bogus"], EXIT_USAGE),
        (["validate"], EXIT_USAGE),
        (["summary"], EXIT_USAGE),
        (["summary", "vgg16", "--dtype", "float8"], EXIT_USAGE),
        (["summary", "vgg16", "--batch-size", "0"], EXIT_USAGE),
        (["summary", "vgg16", "--optimizer", "lion"], EXIT_USAGE),
        (["zoo"], EXIT_USAGE),
        (["zoo", "show"], EXIT_USAGE),
        (["--help"], EXIT_OK),
        (["--version"], EXIT_OK),
    ],
)
def test_usage(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> None:
    assert main(argv) == code
    captured = capsys.readouterr()
    if code == EXIT_USAGE:
        assert "usage: archbuilder" in captured.err


def test_bad_batch_size_message(capsys: pytest.CaptureFixture[str]) -> None:
    main(["summary", "vgg16", "--batch-size", "0"])
    assert "argument --batch-size: expected a positive integer. Received: 0" in capsys.readouterr().err


# -- summary --------------------------------------------------------------------------------------


def test_summary_table(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(in_tmp, "tiny.yaml", TINY)
    assert main(["summary", "tiny.yaml", "--batch-size", "8", "--dtype", "float16", "--optimizer", "sgd"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "tiny: input [8x8x3] -> output [10], 6 layers"
    assert lines[2].split() == ["layer", "path", "output", "memory", "params", "MACs", "receptive", "field"]
    rows = [line.split() for line in lines[3:10]]
    assert rows == [
        ["INPUT", "input", "[8x8x3]", "192", "0", "0", "1x1", "/1"],
        ["CONV3-4", "stem[0]", "[8x8x4]", "256", "112", "6.9K", "3x3", "/1"],
        ["BN", "stem[0].bn", "[8x8x4]", "256", "16", "0", "3x3", "/1"],
        ["RELU", "stem[0].relu", "[8x8x4]", "256", "0", "0", "3x3", "/1"],
        ["POOL2", "stem[1]", "[4x4x4]", "64", "0", "0", "4x4", "/2"],
        ["GAP", "head.pool", "[4]", "4", "0", "0", "global"],
        ["FC-10", "head.classifier", "[10]", "10", "50", "40", "global"],
    ]
    assert lines[11:] == [
        "params: 178 (trainable 170, non-trainable 8)",
        "MACs: 6,952 (7K) per example; FLOPs = 2 x MACs = 13,904 (13.9K)",
        "forward activations: 1,038 elements = 2 KiB per example (float16, 2 bytes each)",
        "training memory estimate (batch 8, sgd): 17.6 KiB = activations 16.2 KiB + weights 712 B + "
        "gradients 680 B + optimizer slots 0 B",
    ]


def test_summary_of_a_zoo_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "resnet50"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("resnet50: input [224x224x3] -> output [1000], 176 layers\n")
    assert "params: 25,636,712 (trainable 25,583,592, non-trainable 53,120)" in out
    assert "warning" not in out  # the stem's zero padding drops no input pixel


def test_summary_lists_warnings_with_positions(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(in_tmp, "fit.yaml", INEXACT_FIT)
    assert main(["summary", "fit.yaml"]) == EXIT_OK
    assert re.search(r"fit\.yaml:4:5: warning: stem\[0\]: inexact fit", capsys.readouterr().out)


def test_summary_json_matches_analyze(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(in_tmp, "fit.yaml", INEXACT_FIT)
    assert main(["summary", "fit.yaml", "--json", "--batch-size", "4", "--dtype", "bfloat16"]) == EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    expected = analyze("fit.yaml").to_dict(batch_size=4, dtype="bfloat16", optimizer="adam")
    for key in (
        "params",
        "trainable_params",
        "non_trainable_params",
        "macs",
        "flops",
        "output_shape",
        "layers",
        "activation_bytes",
        "training_memory",
    ):
        assert printed[key] == expected[key], key
    assert printed["training_memory"]["batch_size"] == 4
    for layer in printed["layers"]:
        assert {"path", "type", "output_shape", "params", "macs", "receptive_field"} <= set(layer)
    # From a file, warnings carry their file position.
    assert printed["warnings"] == expected["warnings"]
    assert printed["warnings"][0].startswith("fit.yaml:4:5: warning: stem[0]: inexact fit")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "resnt50"], "no such file, and no zoo blueprint 'resnt50'. Did you mean 'resnet50'?"),
        (["summary", "vgg_16.yaml"], "Did you mean 'vgg16'?"),
        (["summary", "tiny.yaml"], "tiny.yaml:6:5: stem[2]: output size would be 0x0"),
        (["zoo", "show", "resnt50"], "unknown zoo blueprint 'resnt50'. Did you mean 'resnet50'?"),
    ],
)
def test_user_errors_go_to_stderr_without_traceback(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    write(in_tmp, "tiny.yaml", TOO_SMALL)
    assert main(argv) == EXIT_INVALID
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert "Traceback" not in captured.err


# -- schema ---------------------------------------------------------------------------------------


def test_schema_is_json_with_metadata_and_every_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == EXIT_OK
    text = capsys.readouterr().out
    schema = json.loads(text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "archbuilder blueprint"
    assert schema["$id"].startswith("urn:archbuilder:blueprint:")
    assert {"name", "input", "stem", "stages", "head"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    missing = sorted(tag for tag in ALL_KINDS if f'"{tag}"' not in text)
    assert missing == []

    output = tmp_path / "blueprint.schema.json"
    assert main(["schema", "-o", str(output)]) == EXIT_OK
    assert json.loads(output.read_text(encoding="utf-8")) == schema
    assert capsys.readouterr().out == f"wrote {output}\n"


# -- zoo ------------------------------------------------------------------------------------------


@pytest.fixture
def small_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "zoo"
    folder.mkdir()
    write(folder, "tiny.yaml", TINY)
    write(folder, "broken.yaml", TOO_SMALL)
    write(folder, "fit.yaml", INEXACT_FIT)
    monkeypatch.setattr(catalog, "zoo_dir", lambda: folder)  # where the zoo's names are looked up
    return folder


def test_zoo_list_shows_broken_entries_in_their_row(small_zoo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo", "list"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "input", "output", "params", "MACs", "problems"]
    assert lines[1].split()[:6] == ["broken", "?", "?", "?", "?", "error:"]
    assert "broken.yaml:6:5: stem[2]: output size would be 0x0" in lines[1]
    assert lines[2].split() == ["fit", "[8x8x3]", "[10]", "162", "1K", "1", "warning(s)"]
    assert lines[3].split() == ["tiny", "[8x8x3]", "[10]", "178", "7K"]
    assert lines[4] == "3 blueprints"


def test_zoo_list_pattern(small_zoo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo", "list", "t*"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines[1:-1]] == [["tiny", "[8x8x3]", "[10]", "178", "7K"]]
    assert lines[-1] == "1 blueprint matching 't*'"
    assert main(["zoo", "list", "nothing*"]) == EXIT_OK
    assert capsys.readouterr().out == "0 blueprints matching 'nothing*'\n"


def test_zoo_list_real_zoo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo", "list", "vgg16"]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[1].split() == ["vgg16", "[224x224x3]", "[1000]", "138,357,544", "15.5G"]


@pytest.mark.parametrize("name", ["vgg16", "vgg16.yaml"])
def test_zoo_show_prints_the_file(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["zoo", "show", name]) == EXIT_OK
    assert capsys.readouterr().out == zoo.blueprint_path("vgg16").read_text(encoding="utf-8")


# -- the installed command ------------------------------------------------------------------------


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "archbuilder"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "archbuilder"]
    bad = write(tmp_path, "bad.yaml", TOO_SMALL)
    result = subprocess.run([*command, "validate", bad, "vgg16"], capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_INVALID
    assert f"{bad}:6:5: stem[2]: output size would be 0x0" in result.stdout
    assert "vgg16: ok (24 layers, 138,357,544 params)" in result.stdout
    assert result.stderr == ""

    result = archbuilder_process("summary", bad)  # python -m archbuilder
    assert result.returncode == EXIT_INVALID
    assert result.stderr.startswith(f"{bad}:6:5: stem[2]: output size would be 0x0")
    assert "Traceback" not in result.stderr


def test_keras_commands_print_no_native_start_up_lines(tmp_path: Path) -> None:
    """On a CPU-only machine, without TF_CPP_MIN_LOG_LEVEL: no absl, CUDA or CPU-feature line from TensorFlow
    (every Keras command imports its backend through runtime.environment.load_backend)."""
    unset = ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES", "COLUMNS")
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    command = [sys.executable, "-m", "archbuilder"]
    built = subprocess.run(
        [*command, "build", "lenet5", "-o", "m.keras"], cwd=tmp_path, env=environment, capture_output=True, text=True
    )
    assert (built.returncode, built.stderr) == (EXIT_OK, ""), built.stderr  # TensorFlow started its devices too
    assert built.stdout.endswith("wrote m.keras (61,706 params) and m.blueprint.yaml\n")
    # Piped, Keras's table is whole (rich would cut it at 80 columns): the Param # column and its numbers.
    assert "Param #" in built.stdout and "48,120" in built.stdout  # head_fc_0: 400 x 120 + 120


def test_search_show_is_a_subcommand_with_its_own_help(tmp_path, capsys) -> None:
    assert main(["search", "show", "--help"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("usage: archbuilder search show [-h] [DIR]")
    assert main(["search", "show"]) == EXIT_USAGE
    assert "archbuilder search show: which search?" in capsys.readouterr().err
    assert main(["search", "show", str(tmp_path)]) == EXIT_INVALID
    assert f"{tmp_path}: no search here (no readable search.json)" in capsys.readouterr().err
    assert main(["search", "--help"]) == EXIT_OK
    assert "`archbuilder search show DIR` prints a search" in " ".join(capsys.readouterr().out.split())
