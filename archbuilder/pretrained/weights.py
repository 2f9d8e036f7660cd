"""Where pretrained weights come from: keras.applications' own ImageNet download (and its cache), or a
weights file (``.h5``, ``.weights.h5``) or ``.keras`` model, read into a source network that the
weights are then copied from (:mod:`archbuilder.pretrained.transfer`).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import keras

from archbuilder.blueprint.applications import PRETRAINED
from archbuilder.compile.builders import BuildError

#: The file suffixes a weights path may have.
WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".keras")


def _check_weights_argument(weights: Any) -> None:
    if not isinstance(weights, (str, os.PathLike)) or not str(weights):
        raise BuildError(
            f"weights must be 'imagenet' or the path of a keras.applications weights file (.h5, "
            f".weights.h5) or .keras model. Received: {weights!r}"
        )


def _imagenet(application: str, shape: tuple[int, ...], *, include_top: bool) -> keras.Model:
    constructor = getattr(keras.applications, application)
    try:
        return constructor(include_top=include_top, weights=PRETRAINED, input_shape=shape)
    except Exception as error:  # noqa: BLE001 (Keras raises plain Exception for a failed download)
        text = " ".join(str(error).split())
        fetch = re.search(r"URL fetch failure on (\S+): (.*)", text)
        if fetch is None:
            raise BuildError(
                f"weights imagenet: keras.applications.{application}(include_top={include_top}, "
                f"weights='imagenet') failed: {type(error).__name__}: {text[:300]}"
            ) from None
        url, why = fetch.groups()
        why = re.sub(r"^None -- ", "", why)
        file_name = url.rsplit("/", 1)[-1]
        raise BuildError(
            f"weights imagenet: cannot download the ImageNet weights of {application} ({why[:200]}). Is this machine "
            f"offline? Fetch {url} where there is internet access and put it at {_keras_cache() / file_name} "
            "(Keras looks there first), or pass the file with --weights PATH (weights=PATH in Python)"
        ) from None


def _keras_cache() -> Path:
    """Where keras.utils.get_file keeps keras.applications' weights (its own choice of folder)."""
    from keras.src.backend.config import keras_home

    base = os.path.expanduser(keras_home())
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return Path(base) / "models"


def _from_file(application: str, path: Path, shape: tuple[int, ...]) -> tuple[keras.Model, bool, str | None]:
    """The source model holding the file's weights, whether they are Keras's ImageNet weights, and
    why its top was not loaded when the file has one that does not fit."""
    if not path.is_file():
        raise BuildError(
            f"weights: {path} is not a file. Pass 'imagenet', or the path of a keras.applications "
            f"weights file (.h5, .weights.h5) or a .keras model of {application}"
        )
    if path.suffix not in WEIGHTS_SUFFIXES:
        raise BuildError(
            f"weights: {path} must be a keras.applications weights file (.h5, .weights.h5) or a .keras "
            f"model of {application}. Received a '{path.suffix}' file"
        )
    if path.suffix == ".keras":
        from archbuilder.compile.model import load_model_file

        return load_model_file(path, BuildError, prefix="weights: "), False, None
    constructor = getattr(keras.applications, application)
    problems: list[str] = []
    # With its top first: Keras loads a file with a top into the network without one, silently
    # leaving the top out, and refuses a file without a top for the network with one.
    for include_top in (True, False):
        source = constructor(include_top=include_top, weights=None, input_shape=shape)
        try:
            source.load_weights(str(path))
        except Exception as error:  # noqa: BLE001 (Keras raises ValueError, KeyError, OSError ...)
            problems.append(" ".join(str(error).split())[:200])
            del source
            continue
        unfit = None
        if not include_top and _tensor_count(path) > len(source.weights):
            unfit = f"the weights' top does not fit this model ({problems[0]})"
        return source, _is_imagenet_file(application, path, include_top), unfit
    raise BuildError(
        f"weights: {path} does not hold the weights of keras.applications.{application} (with or "
        f"without its top): {problems[-1]}. Save them with keras.applications.{application}(weights=...)"
        ".save_weights('NAME.weights.h5'), or pass 'imagenet'"
    )


def _tensor_count(path: Path) -> int:
    """How many arrays an HDF5 weights file holds (0 when it cannot be read)."""
    try:
        import h5py

        found: list[str] = []
        with h5py.File(path, "r") as file:
            file.visititems(lambda name, item: found.append(name) if isinstance(item, h5py.Dataset) else None)
        return len(found)
    except Exception:  # noqa: BLE001
        return 0


def _is_imagenet_file(application: str, path: Path, include_top: bool) -> bool:
    """Whether ``path`` is Keras's own ImageNet file of an EfficientNet (by the hash Keras checks)."""
    if not application.startswith("EfficientNet"):
        return False
    try:
        from keras.src.applications.efficientnet import WEIGHTS_HASHES
    except ImportError:
        return False
    expected = WEIGHTS_HASHES.get(application[-2:].lower(), ("", ""))[0 if include_top else 1]
    if not expected:
        return False
    digest = hashlib.sha256() if len(expected) == 64 else hashlib.md5()  # noqa: S324 (Keras's own md5)
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == expected


__all__ = ["WEIGHTS_SUFFIXES"]
