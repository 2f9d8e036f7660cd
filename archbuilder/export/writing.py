"""Exporting a ``.keras`` file or a model (:func:`export_file`, :func:`export_model`): the output checked
against its format, the model converted, the artifact written atomically (a folder for a SavedModel)
and, when asked, checked in its runtime."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archbuilder.artifacts import PARTIAL_MARKER, ArtifactError, describe_os_error, fsync_folder, write_atomic
from archbuilder.export.check import check_export
from archbuilder.export.converters import _convert, float32_model
from archbuilder.export.formats import (
    FORMATS,
    ExportError,
    ExportFormat,
    ExportResult,
    _format,
    check_supported,
    default_output,
)


def export_file(
    model_path: str | os.PathLike[str],
    format: str,
    output: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    check: bool = False,
) -> ExportResult:
    """Export a saved ``.keras`` model to ``format`` (``saved_model``, ``litert`` or ``onnx``).

    Args:
        model_path: The ``.keras`` file (e.g. ``runs/lenet5/best.keras``).
        format: A key of :data:`FORMATS`.
        output: Where to write (default: :func:`default_output`).
        overwrite: Replace an existing artifact at ``output``.
        check: Run the artifact in its own runtime on random images and compare it with Keras
            (``ExportResult.max_abs_difference``).

    Returns:
        What was written: the artifact's path and format, the model's output names in the artifact's
        order, whether mixed-precision layers were exported in float32, and (with ``check``) the largest
        difference to Keras.

    Raises:
        ExportError: an unknown format, a backend that cannot export it, a missing converter, an
            unreadable model file, an output of the wrong kind (a wrong suffix, a file where a folder
            goes or the reverse, a folder that holds no SavedModel), an existing output (without
            ``overwrite``), a converter that rejects the model, or (with ``check``) an artifact whose
            outputs do not have the model's shapes or whose runtime is not installed.
        ArtifactError: the artifact cannot be written (full disk, no permission).
    """
    spec = _format(format)
    check_supported(spec.name)
    target = Path(output) if output is not None else default_output(model_path, spec.name)
    _check_output(target, spec, overwrite)
    from archbuilder.compile.model import load_model_file

    model = load_model_file(model_path, ExportError)
    exported = float32_model(model)
    path = _export(exported, target, spec, source=str(model_path))
    difference = check_export(exported, path, spec.name) if check else None
    return ExportResult(path, spec, tuple(_output_names(model)), exported is not model, difference)


def export_model(model: Any, output: str | os.PathLike[str], format: str, *, overwrite: bool = False) -> Path:
    """Export a ``keras.Model`` to ``format`` at ``output`` (atomically; see :func:`export_file`).

    A model with mixed-precision layers is exported in float32 (see :func:`float32_model`).

    Args:
        model: The ``keras.Model``; messages name it by its ``name``.
        output: Where to write: a file with the format's suffix, or a folder for ``saved_model``.
        format: A key of :data:`FORMATS`.
        overwrite: Replace an existing artifact at ``output``.

    Returns:
        ``output`` as a :class:`~pathlib.Path`.

    Raises:
        ExportError: an unknown format, a backend that cannot export it, a missing converter, an
            output of the wrong kind (a wrong suffix, a file where a folder goes or the reverse, a folder
            that holds no SavedModel), an existing output (without ``overwrite``), a converter that
            rejects the model.
        ArtifactError: the artifact cannot be written (full disk, no permission).
    """
    spec = _format(format)
    check_supported(spec.name)
    target = Path(output)
    _check_output(target, spec, overwrite)
    return _export(float32_model(model), target, spec, source=model.name)


def _export(model: Any, target: Path, spec: ExportFormat, *, source: str) -> Path:
    def write(temporary: Path) -> None:
        _convert(model, temporary, spec, source)

    if spec.folder:
        return _write_folder_atomic(target, write)
    return write_atomic(target, write)


def _write_folder_atomic(target: Path, write: Callable[[Path], None]) -> Path:
    """``write`` a folder into a hidden sibling, then rename it over ``target`` (an old folder is
    moved aside first and deleted last; on failure it is put back)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL_MARKER}")
    aside = target.with_name(f".{target.name}.{os.getpid()}.old")
    moved = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(temporary, ignore_errors=True)
        write(temporary)
        _fsync_tree(temporary)
        if target.exists():
            os.replace(target, aside)
            moved = True
        os.replace(temporary, target)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if moved and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(aside, target)
        if isinstance(error, OSError) and not isinstance(error, ArtifactError):
            raise ArtifactError(describe_os_error(error, target)) from error
        raise
    if moved:
        shutil.rmtree(aside, ignore_errors=True)
    fsync_folder(target.parent)
    return target


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb+") as handle:
                os.fsync(handle.fileno())
        fsync_folder(Path(root))


def _check_output(target: Path, spec: ExportFormat, overwrite: bool) -> None:
    if not spec.folder and target.suffix != spec.suffix:
        raise ExportError(f"{target}: {spec.title} files end with {spec.suffix}; give -o NAME{spec.suffix}")
    file_suffixes = {".keras", ".h5"} | {f.suffix for f in FORMATS.values() if not f.folder}
    if spec.folder and target.suffix in file_suffixes:
        raise ExportError(
            f"{target}: a {spec.title} is a folder; give a folder name without {target.suffix}, "
            f"e.g. {target.with_suffix('').name}{spec.suffix}"
        )
    if not (target.exists() or target.is_symlink()):
        return
    if spec.folder:
        if not target.is_dir():
            raise ExportError(f"{target}: exists and is not a folder; remove it or give another -o")
        if not (target / str(spec.marker)).is_file() and any(target.iterdir()):
            raise ExportError(
                f"{target}: exists and is not a {spec.title} folder (no {spec.marker}); archbuilder "
                f"replaces only a {spec.title}. Give another -o"
            )
    elif target.is_dir():
        raise ExportError(f"{target}: is a folder; give a file name ending with {spec.suffix}")
    if not overwrite:
        raise ExportError(f"{target}: already exists. Pass --overwrite to replace it, or -o to write elsewhere.")


def _output_names(model: Any) -> Sequence[str]:
    return list(getattr(model, "output_names", None) or [f"output_{i}" for i in range(len(model.outputs))])
