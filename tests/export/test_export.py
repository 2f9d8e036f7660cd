"""`archbuilder export`: zoo networks as SavedModel, LiteRT and ONNX artifacts that compute what Keras
computes (checked in each format's own runtime), atomic writes, one-line errors, the command line.

The zoo networks are built at their own input size (224x224 for ResNet-18, GoogLeNet and
MobileNetV2) with logits heads (``activation: linear``, aux heads too), so the comparison sees
unsquashed scores rather than softmax probabilities of about 1/1000 each, and with calibrated batch
norms (see :func:`calibrate`), so the scores are of order 1 and the exporters' batch-norm folding
is exercised.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import yaml

from archbuilder.artifacts import ArtifactError
from archbuilder.compile import build_model
from archbuilder.export import (
    INSTALL,
    ExportError,
    check_export,
    default_output,
    export_file,
    export_model,
    float32_model,
    run_exported,
)
from archbuilder.zoo import blueprint_path
from tests.commands import archbuilder

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4
FORMATS = ("saved_model", "litert", "onnx")
NETWORKS = ("lenet5", "resnet18", "googlenet", "mobilenet_v2")
#: TensorFlow's C++ start-up logging (absl), printed before TF_CPP_MIN_LOG_LEVEL is read; not archbuilder's.
TF_LOG = re.compile(
    r"^(WARNING: All log messages before absl|[IWEF]\d{4} \d\d:\d\d:\d\d|INFO: Created TensorFlow Lite)"
)


def logits_blueprint(name: str) -> dict[str, Any]:
    blueprint = yaml.safe_load(blueprint_path(name).read_text(encoding="utf-8"))
    blueprint["head"] = {**blueprint["head"], "activation": "linear"}
    blueprint["aux_heads"] = [{**aux, "activation": "linear"} for aux in blueprint.get("aux_heads", [])]
    if not blueprint["aux_heads"]:
        del blueprint["aux_heads"]
    return blueprint


def calibrate(model: keras.Model, seed: int = 2) -> keras.Model:
    """Give every batch norm random scales and shifts, and moving statistics measured on random images.

    Freshly built, a batch norm's moving statistics are (0, 1) and its scale and shift (1, 0): at
    inference it is almost the identity, the exporters' folding of it into the convolution goes
    untested, and in MobileNetV2 the signal fades to ~1e-11 by the head. One training-mode pass with
    momentum 0 sets each moving statistic to what its layer really receives (as after training).
    """
    rng = np.random.default_rng(seed)
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.gamma.assign(rng.uniform(0.5, 1.5, norm.gamma.shape).astype("float32"))
        norm.beta.assign(rng.uniform(-0.2, 0.2, norm.beta.shape).astype("float32"))
        norm.momentum = 0.0
    model(rng.random((8, *model.input_shape[1:]), dtype="float32"), training=True)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    return model


@pytest.fixture(scope="module")
def zoo_models(tmp_path_factory) -> dict[str, tuple[keras.Model, Path]]:
    """The networks built in NETWORKS order up to the one asked for (batch norms calibrated), each once, and
    saved as a .keras file: one seed for them all, so each has the weights the README's table was made with."""
    folder = tmp_path_factory.mktemp("zoo")

    class Built(dict):
        def __missing__(self, name: str) -> tuple[keras.Model, Path]:
            if not self:
                keras.utils.set_random_seed(0)  # the same weights every run (the README quotes the differences)
            for next_name in NETWORKS[len(self) : NETWORKS.index(name) + 1]:
                model = calibrate(build_model(logits_blueprint(next_name)))
                path = folder / f"{next_name}.keras"
                model.save(path)
                self[next_name] = (model, path)
            return self[name]

    return Built()


@pytest.fixture(scope="module")
def lenet5_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lenet5") / "lenet5.keras"
    build_model("lenet5").save(path)
    return path


def outputs_of(model: keras.Model, images: np.ndarray) -> list[np.ndarray]:
    result = model(images, training=False)
    return [keras.ops.convert_to_numpy(r) for r in (result if isinstance(result, (list, tuple)) else [result])]


#: (network, format) pairs of the quick lane: every format once; the larger networks (residual, inception
#: with auxiliary heads, depthwise) in every format run in the slow lane (make test-all).
QUICK_EXPORTS = {("lenet5", format) for format in FORMATS}


@pytest.mark.parametrize(
    ("name", "format"),
    [
        (name, format) if (name, format) in QUICK_EXPORTS else pytest.param(name, format, marks=pytest.mark.slow)
        for name in NETWORKS
        for format in FORMATS
    ],
)
def test_zoo_networks_compute_what_keras_computes(zoo_models, name, format, tmp_path) -> None:
    model, source = zoo_models[name]
    output = tmp_path / default_output(source, format).name
    result = export_file(source, format, output)
    assert result.path == output and output.exists() and not result.float32
    assert result.output_names == tuple(model.output_names)
    images = np.random.default_rng(1).random((3, *model.input_shape[1:]), dtype="float32")
    expected = outputs_of(model, images)
    actual = run_exported(output, format, images)
    assert [a.shape for a in actual] == [e.shape for e in expected]  # the head, then the aux heads, in order
    differences = [float(np.max(np.abs(a - e))) for a, e in zip(actual, expected)]
    scale = max(float(np.max(np.abs(e))) for e in expected)
    print(f"\n{name} {format}: max abs difference {max(differences):.2e} (outputs up to {scale:.3f})")
    assert max(differences) <= TOLERANCE * min(1.0, scale), differences  # relative when the outputs are small
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name]  # no temporary left


def test_default_outputs_sit_beside_the_model() -> None:
    assert default_output("runs/a/best.keras", "saved_model") == Path("runs/a/best_saved_model")
    assert default_output("runs/a/best.keras", "litert") == Path("runs/a/best.tflite")
    assert default_output("best.keras", "onnx") == Path("best.onnx")


def test_check_reports_the_difference_and_lists_the_outputs(lenet5_file, tmp_path) -> None:
    result = export_file(lenet5_file, "litert", tmp_path / "m.tflite", check=True)
    assert result.max_abs_difference is not None and result.max_abs_difference <= TOLERANCE
    line = result.describe()
    assert line.startswith(f"wrote {tmp_path / 'm.tflite'} (LiteRT; outputs output_0=predictions); checked with ")


def test_a_mixed_precision_model_is_exported_in_float32(tmp_path) -> None:
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        build_model("lenet5").save(tmp_path / "mixed.keras")
    finally:
        keras.config.set_dtype_policy(previous)
    result = export_file(tmp_path / "mixed.keras", "onnx", check=True)
    assert result.float32 and result.path == tmp_path / "mixed.onnx"
    assert "mixed-precision layers exported in float32" in result.describe()
    mixed = keras.saving.load_model(tmp_path / "mixed.keras", compile=False)
    plain = float32_model(mixed)
    assert plain is not mixed and {layer.dtype_policy.name for layer in plain.layers} == {"float32"}
    images = np.random.default_rng(0).random((2, 32, 32, 1), dtype="float32")
    [actual] = run_exported(result.path, "onnx", images)
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, outputs_of(plain, images)[0], atol=TOLERANCE)
    np.testing.assert_allclose(actual, outputs_of(mixed, images)[0], atol=1e-2)  # float16 rounding only


@pytest.mark.parametrize("format", FORMATS)
def test_an_existing_output_is_replaced_only_when_asked(lenet5_file, tmp_path, format) -> None:
    target = tmp_path / default_output(lenet5_file, format).name
    export_file(lenet5_file, format, target)
    with pytest.raises(
        ExportError, match=r"already exists\. Pass --overwrite to replace it, or -o to write elsewhere\."
    ):
        export_file(lenet5_file, format, target)
    other = build_model("lenet5")  # other random weights
    export_model(other, target, format, overwrite=True)
    images = np.random.default_rng(0).random((2, 32, 32, 1), dtype="float32")
    np.testing.assert_allclose(run_exported(target, format, images)[0], outputs_of(other, images)[0], atol=TOLERANCE)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary or old copy left


def test_a_folder_that_is_not_a_saved_model_is_never_replaced(lenet5_file, tmp_path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"...")
    with pytest.raises(ExportError, match="is not a SavedModel folder"):
        export_file(lenet5_file, "saved_model", tmp_path / "photos", overwrite=True)
    assert (tmp_path / "photos" / "cat.jpg").exists()


@pytest.mark.parametrize(
    ("format", "output", "message"),
    [
        ("litert", "m.tf", "m.tf: LiteRT files end with .tflite; give -o NAME.tflite"),
        ("onnx", "m.keras", "m.keras: ONNX files end with .onnx; give -o NAME.onnx"),
        ("saved_model", "m.onnx", "a SavedModel is a folder; give a folder name without .onnx"),
        ("pmml", "m.pmml", "unknown export format 'pmml'. Known formats: saved_model, litert, onnx"),
    ],
)
def test_bad_outputs_and_formats(lenet5_file, tmp_path, format, output, message) -> None:
    with pytest.raises(ExportError) as error:
        export_file(lenet5_file, format, tmp_path / output)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_converter_names_the_extra(lenet5_file, tmp_path, monkeypatch) -> None:
    import archbuilder.export.formats as formats

    monkeypatch.setattr(formats, "_importable", lambda module: module != "tf2onnx")
    with pytest.raises(ExportError) as error:
        export_file(lenet5_file, "onnx", tmp_path / "m.onnx")
    assert str(error.value) == (
        f"ONNX export needs the 'tf2onnx' package, which is not installed. Install the converters with: {INSTALL}"
    )
    assert INSTALL == "pip install 'archbuilder[export]'"
    assert not (tmp_path / "m.onnx").exists()


def test_a_converter_failure_is_one_line_and_leaves_nothing(lenet5_file, tmp_path, monkeypatch) -> None:
    def reject(self, filepath, format, **kwargs):
        Path(filepath).write_bytes(b"half an artifact")
        raise RuntimeError("'tfl.custom_op' op is neither a custom op nor a flex op\nsee the log above")

    monkeypatch.setattr(keras.Model, "export", reject)
    with pytest.raises(ExportError) as error:
        export_file(lenet5_file, "litert", tmp_path / "m.tflite")
    assert str(error.value) == (
        f"{lenet5_file}: the LiteRT converter rejected this model (RuntimeError: "
        "'tfl.custom_op' op is neither a custom op nor a flex op). Try another format "
        "(saved_model, onnx)."
    )
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_an_artifact_error_and_keeps_the_old_folder(lenet5_file, tmp_path, monkeypatch) -> None:
    target = tmp_path / "m_saved_model"
    export_file(lenet5_file, "saved_model", target)
    before = sorted(p.name for p in target.rglob("*"))

    def full(self, filepath, format, **kwargs):
        Path(filepath).mkdir()
        (Path(filepath) / "saved_model.pb").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "export", full)
    with pytest.raises(ArtifactError, match="m_saved_model: cannot write: No space left on device"):
        export_file(lenet5_file, "saved_model", target, overwrite=True)
    assert sorted(p.name for p in target.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["m_saved_model"]


@pytest.mark.parametrize("format", FORMATS)
def test_an_open_input_size_exports_and_runs_on_any_size(lenet5_file, tmp_path, format) -> None:
    from archbuilder.convert import convert_file

    convert_file(lenet5_file, tmp_path / "fc.keras")  # FC -> CONV: input (None, None, None, 1)
    result = export_file(tmp_path / "fc.keras", format, check=True)  # checked on 224x224 images
    assert result.max_abs_difference is not None and result.max_abs_difference <= TOLERANCE
    model = keras.saving.load_model(tmp_path / "fc.keras", compile=False)
    images = np.random.default_rng(0).random((2, 40, 48, 1), dtype="float32")
    [actual] = run_exported(result.path, format, images)
    assert actual.shape == (2, 3, 5, 10)
    np.testing.assert_allclose(actual, outputs_of(model, images)[0], atol=TOLERANCE)


GROUPED = {
    "name": "grouped",
    "input": {"shape": [16, 16, 8]},
    "stem": [{"type": "conv", "filters": 16, "kernel_size": 3, "groups": 4, "padding": "same"}],
    "head": {"classes": 5, "activation": "linear"},
}


def test_grouped_convolutions_are_refused_for_onnx_under_tensorflow(tmp_path) -> None:
    model = build_model(GROUPED)
    model.save(tmp_path / "grouped.keras")
    with pytest.raises(ExportError) as error:
        export_file(tmp_path / "grouped.keras", "onnx")
    assert str(error.value) == (
        f"{tmp_path / 'grouped.keras'}: ONNX under the TensorFlow backend cannot express the grouped convolution "
        "'stem_0' (groups=4): Keras runs grouped convolutions as an XLA-compiled function, which tf2onnx leaves "
        "unconverted. Export ONNX with KERAS_BACKEND=torch (torch.onnx converts them), or export saved_model or "
        "litert."
    )
    for format in ("saved_model", "litert"):  # the other formats take them
        assert export_file(tmp_path / "grouped.keras", format, check=True).max_abs_difference <= TOLERANCE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grouped.keras", "grouped.tflite", "grouped_saved_model"]


def test_an_onnx_graph_with_unconverted_ops_is_refused(tmp_path, monkeypatch) -> None:
    """tf2onnx writes the ops it cannot convert as they are; ONNX's checker catches them."""
    from dataclasses import replace

    from archbuilder.export import FORMATS

    monkeypatch.setitem(FORMATS, "onnx", replace(FORMATS["onnx"], refuse=None))
    with pytest.raises(ExportError) as error:
        export_model(build_model(GROUPED), tmp_path / "m.onnx", "onnx")
    assert str(error.value).startswith(
        "grouped: the ONNX converter rejected this model (ValueError: the written "
        "graph is not valid ONNX: No Op registered for StatefulPartitionedCall"
    )
    assert str(error.value).endswith(". Try another format (saved_model, litert).")
    assert "\n" not in str(error.value) and list(tmp_path.iterdir()) == []


def test_check_export_matches_run_exported(zoo_models, tmp_path) -> None:
    model, _ = zoo_models["lenet5"]
    path = export_model(model, tmp_path / "m.onnx", "onnx")
    assert check_export(model, path, "onnx") <= TOLERANCE


def test_a_registered_format_is_written_checked_and_offered_by_the_command(zoo_models, tmp_path, capsys) -> None:
    """Adding a format is its registry entry: the writer, the check and ``archbuilder export`` read it."""
    from archbuilder.cli import main
    from archbuilder.export.formats import FORMATS as REGISTRY
    from archbuilder.export.formats import ExportFormat, register_format

    def run(path: str, images: Any) -> list[Any]:
        import tensorflow as tf

        loaded = tf.saved_model.load(path)  # alive while its function runs
        return [np.asarray(loaded.serve(images))]

    spec = ExportFormat(
        "graph",
        "TensorFlow graph",
        "tf_saved_model",
        "_graph",
        True,
        "tf.saved_model.load",
        backends={"tensorflow": ()},
        refused={},
        run=run,
        marker="saved_model.pb",
    )
    register_format(spec)
    try:
        model, _ = zoo_models["lenet5"]
        model.save(tmp_path / "m.keras")
        result = export_file(tmp_path / "m.keras", "graph", check=True)
        assert result.path == tmp_path / "m_graph" and result.max_abs_difference <= TOLERANCE
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "notes.txt").write_text("mine")
        with pytest.raises(ExportError, match="not a TensorFlow graph folder \\(no saved_model.pb\\)"):
            export_file(tmp_path / "m.keras", "graph", tmp_path / "other", overwrite=True)
        assert main(["export", str(tmp_path / "m.keras"), "--format", "graph", "--overwrite"]) == 0
        assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'm_graph'} (TensorFlow graph; outputs")
        with pytest.raises(ValueError, match="registered already"):
            register_format(spec)
    finally:
        REGISTRY.pop("graph")


# -- other backends (a subprocess each) -----------------------------------------------------------

UNDER_BACKEND = textwrap.dedent(
    """
    import json, sys
    import keras
    import archbuilder
    from archbuilder.export import ExportError, export_file

    folder = sys.argv[1]
    archbuilder.build_model("lenet5").save(f"{folder}/m.keras")
    archbuilder.build_model(json.loads(sys.argv[2])).save(f"{folder}/grouped.keras")
    report = {"backend": keras.backend.backend()}
    for name, format in [("m", "saved_model"), ("m", "litert"), ("m", "onnx"), ("grouped", "onnx")]:
        try:
            report[f"{name} {format}"] = export_file(f"{folder}/{name}.keras", format, check=True).max_abs_difference
        except ExportError as error:
            report[f"{name} {format}"] = str(error)
    print(json.dumps(report))
    """
)


@pytest.mark.backends
@pytest.mark.parametrize(
    ("backend", "works", "refused"),
    [
        pytest.param(  # a fresh process per backend: the slow lane; the quick lane exports under TensorFlow
            "jax",
            "saved_model",
            {
                "litert": "Keras exports LiteRT only with the TensorFlow or PyTorch backend",
                "onnx": "needs the jax2onnx package, which archbuilder does not support",
            },
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "torch",
            "onnx",
            {
                "saved_model": "goes through torch_xla, which archbuilder does not support",
                "litert": "needs the litert-torch package, which archbuilder does not support",
            },
            marks=pytest.mark.slow,
        ),
    ],
)
def test_other_backends_export_what_they_can_and_say_what_works(backend, works, refused, tmp_path) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (make test installs it)")
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "CUDA_VISIBLE_DEVICES": "",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        [sys.executable, "-c", UNDER_BACKEND, str(tmp_path), json.dumps(GROUPED)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert isinstance(report[f"m {works}"], float) and report[f"m {works}"] <= TOLERANCE, report
    for format, reason in refused.items():
        assert reason in report[f"m {format}"] and "KERAS_BACKEND=tensorflow" in report[f"m {format}"], report
        assert f"under {backend} archbuilder exports {works}." in report[f"m {format}"], report
    if backend == "torch":  # torch.onnx converts the grouped convolutions that tf2onnx cannot
        assert isinstance(report["grouped onnx"], float) and report["grouped onnx"] <= TOLERANCE, report


# -- the command line, as a user types it ------------------------------------------------------


def run_cli(*arguments: str, cwd: Path) -> tuple[int, str, list[str]]:
    """(exit code, stdout, archbuilder's stderr lines without TensorFlow's C++ start-up logging)."""
    result = archbuilder(*arguments, cwd=cwd)
    errors = [line for line in result.stderr.strip().splitlines() if line.strip() and not TF_LOG.match(line)]
    return result.returncode, result.stdout, errors


def test_cli_exports_then_refuses_to_replace_without_overwrite(lenet5_file, tmp_path) -> None:
    model = tmp_path / "lenet5.keras"
    model.write_bytes(lenet5_file.read_bytes())
    code, out, errors = run_cli("export", "lenet5.keras", "--format", "onnx", "--check", cwd=tmp_path)
    assert code == 0, errors
    assert out.startswith(
        "wrote lenet5.onnx (ONNX; outputs output_0=predictions); checked with onnxruntime: max abs difference to Keras "
    ), out
    assert errors == [] and (tmp_path / "lenet5.onnx").is_file()

    code, out, errors = run_cli("export", "lenet5.keras", "--format", "onnx", cwd=tmp_path)
    assert (code, out, errors) == (
        1,
        "",
        ["lenet5.onnx: already exists. Pass --overwrite to replace it, or -o to write elsewhere."],
    )


def test_cli_damaged_model_is_one_line_exit_1(lenet5_file, tmp_path) -> None:
    (tmp_path / "m.keras").write_bytes(lenet5_file.read_bytes()[:5000])  # truncated
    code, out, errors = run_cli("export", "m.keras", "--format", "litert", cwd=tmp_path)
    assert code == 1 and out == ""
    assert len(errors) == 1 and errors[0].startswith("m.keras: cannot load it as a Keras model ("), errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_cli_unknown_format_is_a_usage_error(tmp_path) -> None:
    code, out, errors = run_cli("export", "m.keras", "--format", "tflite", cwd=tmp_path)
    assert code == 2
    assert "argument --format: invalid choice: 'tflite' (choose from" in errors[-1]
    assert "saved_model" in errors[-1] and "litert" in errors[-1] and "onnx" in errors[-1]
