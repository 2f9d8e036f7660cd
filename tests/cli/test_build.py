"""`archbuilder build` and `plot`: the model file, the resolved blueprint beside it, the round trip."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from archbuilder.compile import build_model

SMALL = """\
name: small
input: {shape: [16, 16, 3]}
defaults: {batch_norm: true}
stem:
  - {type: conv, filters: 8, kernel_size: 3, padding: same}
  - {type: lrn}
stages:
  - {block: {type: residual, filters: 8}, repeat: 2}
  - {block: {type: bottleneck, filters: 4, se_ratio: 0.25}, strides: 2}
head: {classes: 4}
"""


def test_build_writes_model_and_resolved_blueprint_and_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "small.yaml"
    source.write_text(SMALL)
    output = tmp_path / "out" / "small.keras"
    assert main(["build", str(source), "-o", str(output)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "stages_1_blocks_0_se_scale" in printed and f"wrote {output}" in printed
    beside = tmp_path / "out" / "small.blueprint.yaml"
    assert output.is_file() and beside.is_file()
    # The resolved blueprint alone rebuilds the same network.
    assert archbuilder.load_blueprint(beside) == archbuilder.resolve(archbuilder.load_blueprint(source))
    loaded = keras.saving.load_model(output)  # no custom_objects: LRN is registered
    rebuilt = build_model(beside)
    rebuilt.set_weights(loaded.get_weights())
    x = np.random.default_rng(1).normal(size=(3, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)
    assert loaded.count_params() == archbuilder.analyze(source).params


def test_build_needs_a_keras_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "lenet5", "-o", str(tmp_path / "model.h5")]) == EXIT_USAGE
    assert "-o must name a .keras file. Received:" in capsys.readouterr().err


def test_build_reports_blueprint_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text("name: bad\ninput: {shape: [4, 4, 3]}\nstem:\n  - {type: conv, filters: 4, kernel_size: 7}\n")
    assert main(["build", str(source), "-o", str(tmp_path / "bad.keras")]) == EXIT_INVALID
    error = capsys.readouterr().err
    assert error.startswith(f"{source}:4:5: stem[0]: output size would be 0x0")
    assert "Traceback" not in error


@pytest.mark.skipif(
    importlib.util.find_spec("pydot") is not None and shutil.which("dot") is not None,
    reason="pydot and Graphviz are installed: the missing-dependency message cannot show",
)
def test_plot_says_exactly_what_to_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", "lenet5", "-o", str(tmp_path / "lenet5.png"), "--engine", "keras"]) == EXIT_INVALID
    error = capsys.readouterr().err
    assert "`pip install pydot`" in error and "apt install graphviz" in error and "Missing:" in error


def test_build_replaces_a_model_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "small.yaml"
    source.write_text(SMALL)
    output = tmp_path / "small.keras"
    output.write_bytes(b"a trained model the user keeps")
    assert main(["build", str(source), "-o", str(output)]) == EXIT_INVALID
    assert capsys.readouterr().err.strip() == (
        f"{output}: already exists. Pass --overwrite to replace it, or -o to write elsewhere."
    )
    assert output.read_bytes() == b"a trained model the user keeps"
    assert main(["build", str(source), "-o", str(output), "--overwrite"]) == EXIT_OK
    assert keras.saving.load_model(output).count_params() == archbuilder.analyze(source).params


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dev/null", "/dev/null: not a regular file (a device, a pipe or a socket); archbuilder replaces only "),
        ("/", "/: is a folder; give a file name"),
        (".", ".: is a folder; give a file name"),
    ],
)
def test_writes_replace_only_regular_files(target: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    import stat

    before = Path(target).stat()
    assert main(["schema", "-o", target]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.startswith(expected) and len(err.strip().splitlines()) == 1
    after = Path(target).stat()
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)  # still a device, still a folder
