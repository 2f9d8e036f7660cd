"""``npz:FILE``: arrays ``x`` and ``y`` (or ``x_train`` and ``y_train``), optionally test and validation.

The archive is opened with ``allow_pickle=False`` (unpickling a data file can run code), and every
array is checked: images real numbers without NaN or infinity, labels class indices (or one-hot rows),
one per image, every split of one image size; unknown arrays are an error with a did-you-mean.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from archbuilder.blueprint.errors import did_you_mean
from archbuilder.training.data.dataset import Dataset, LoadOptions, Split, error_reason, shape_text
from archbuilder.training.errors import DataError

NPZ_SAVE = "np.savez(FILE, x=images, y=labels)"
NPZ_SPLITS = {"train": ("x", "y"), "test": ("x_test", "y_test"), "validation": ("x_val", "y_val")}
NPZ_TRAIN_ALIAS = ("x_train", "y_train")
NPZ_KEYS = (*NPZ_SPLITS["train"], *NPZ_TRAIN_ALIAS, *NPZ_SPLITS["test"], *NPZ_SPLITS["validation"])
NPY_MAGIC = b"\x93NUMPY"
#: Labels are class indices; one above this is surely not one (and would make a huge list of class names).
MAX_CLASSES = 1_000_000


def load_npz(argument: str | None, options: LoadOptions) -> Dataset:
    """``npz:FILE``; the class names are the label numbers ``'0'`` .. the highest label."""
    path = Path(argument or "")
    where = f"npz:{path}"
    arrays = _read_npz(path, where)
    keys = _npz_keys(arrays, where)
    splits = {split: _npz_split(arrays, x_key, y_key, where) for split, (x_key, y_key) in keys.items()}
    x_train = keys["train"][0]
    for split, (x_key, _) in keys.items():
        if splits[split].x.shape[1:] != splits["train"].x.shape[1:]:
            raise DataError(
                f"{where}: '{x_key}' holds {shape_text(splits[split].x.shape[1:])} images and '{x_train}' "
                f"{shape_text(splits['train'].x.shape[1:])}; every split must have the same image size. "
                "Resize them to one size before saving."
            )
    top = max(int(split.y.max()) for split in splits.values())
    return Dataset(
        where, splits["train"], splits.get("test"), tuple(str(i) for i in range(top + 1)), splits.get("validation")
    )


def _read_npz(path: Path, where: str) -> dict[str, np.ndarray]:
    """Every array of the archive, read without pickle; anything else is a DataError."""
    if not os.path.isfile(path):
        if os.path.isdir(path):
            raise DataError(
                f"{where}: is a folder, not a file. Pass an .npz archive ({NPZ_SAVE}), or use "
                f"--data images:{path} for a folder per class."
            )
        raise DataError(f"{where}: no such file. Expected a NumPy .npz archive with arrays x and y ({NPZ_SAVE}).")
    try:
        handle = path.open("rb")
    except OSError as error:
        raise DataError(
            f"{where}: cannot open it ({error_reason(error)}). Make the file readable (chmod u+r), or copy "
            "it somewhere readable."
        ) from None
    with handle:
        try:
            magic = handle.read(len(NPY_MAGIC))
            handle.seek(0)
        except OSError as error:
            raise DataError(f"{where}: cannot read it ({error_reason(error)}).") from None
        if not magic.startswith(b"PK"):
            raise DataError(
                f"{where}: {_not_npz(magic)}. Expected a NumPy .npz archive: save the data with {NPZ_SAVE}."
            )
        try:
            archive = np.load(handle, allow_pickle=False)
        except Exception as error:  # zipfile, zlib and numpy raise many kinds for a damaged archive
            raise DataError(
                f"{where}: not a valid .npz archive ({error_reason(error)}); it may be truncated or damaged. "
                f"Write it again with {NPZ_SAVE}."
            ) from None
        with archive:
            return {key: _npz_member(archive, key, where) for key in archive.files}


def _not_npz(magic: bytes) -> str:
    if not magic:
        return "the file is empty (0 bytes)"
    if magic.startswith(NPY_MAGIC):
        return "a single NumPy array (.npy), not an .npz archive of arrays x and y"
    if magic.startswith(b"\x80"):
        return (
            "a Python pickle, not an .npz archive; archbuilder never unpickles data files "
            "(np.load with allow_pickle=False: unpickling can run code)"
        )
    return "not a NumPy .npz archive (it does not start like a zip file)"


def _npz_member(archive: Any, key: str, where: str) -> np.ndarray:
    try:
        value = archive[key]
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise DataError(
                f"{where}: cannot read array '{key}' ({error_reason(error)}); the file may be truncated or "
                f"damaged. Write it again with {NPZ_SAVE}."
            ) from None
        raise DataError(
            f"{where}: array '{key}' holds Python objects (dtype=object); archbuilder loads .npz files "
            "with allow_pickle=False because unpickling can run code. Save numeric arrays instead, e.g. "
            f"np.stack(images).astype('uint8') and np.asarray(labels, dtype='int64')."
        ) from None
    except Exception as error:  # a damaged member: bad CRC, truncated deflate stream, short read
        raise DataError(
            f"{where}: cannot read array '{key}' ({error_reason(error)}); the file may be truncated or damaged. "
            f"Write it again with {NPZ_SAVE}."
        ) from None
    if not isinstance(value, np.ndarray):  # a zip member that is not an .npy file comes back as bytes
        raise DataError(
            f"{where}: member '{key}' is not a NumPy array (.npy). Expected an archive written by {NPZ_SAVE}."
        )
    return value


def _npz_keys(arrays: dict[str, np.ndarray], where: str) -> dict[str, tuple[str, str]]:
    """The (images, labels) keys of each split in the archive; x_train, y_train may stand for x, y."""
    names = set(arrays)
    keys = dict(NPZ_SPLITS)
    if names & set(NPZ_TRAIN_ALIAS):
        both = sorted(names & {"x", "y", *NPZ_TRAIN_ALIAS})
        if names & set(NPZ_SPLITS["train"]):
            raise DataError(f"{where}: holds both {', '.join(both)}. Keep x and y, or x_train and y_train, not both.")
        keys["train"] = NPZ_TRAIN_ALIAS
    if not names & set(keys["train"]):
        raise DataError(
            f"{where}: expected arrays 'x' (images) and 'y' (labels), optionally x_test, y_test, x_val, "
            f"y_val. Received: {', '.join(sorted(names)) or 'no arrays'}. Save them with {NPZ_SAVE}."
        )
    unknown = sorted(names - set(NPZ_KEYS))
    if unknown:
        listed = ", ".join(f"'{name}'" for name in unknown)
        raise DataError(
            f"{where}: unknown array{'s' if len(unknown) > 1 else ''} {listed}.{did_you_mean(unknown[0], NPZ_KEYS)} "
            "Expected x and y (or x_train and y_train), optionally x_test, y_test, x_val, y_val; rename "
            f"or remove {'them' if len(unknown) > 1 else 'it'}."
        )
    present = {}
    for split, (x_key, y_key) in keys.items():
        if x_key in names and y_key in names:
            present[split] = (x_key, y_key)
        elif x_key in names or y_key in names:
            missing, other = (y_key, x_key) if x_key in names else (x_key, y_key)
            raise DataError(f"{where}: '{missing}' is missing (it goes with '{other}').")
    return present


def _npz_split(arrays: dict[str, np.ndarray], x_key: str, y_key: str, where: str) -> Split:
    x = arrays[x_key]
    name = f"{where}: '{x_key}'"
    if x.dtype.kind in "biufc" and x.ndim not in (3, 4):
        raise DataError(
            f"{name} must be images (N, height, width) or (N, height, width, channels). Received: shape {x.shape}"
        )
    images = to_pixels(x, name)
    if images.size == 0:
        empty = "holds no images" if len(x) == 0 else "has images of 0 pixels"
        raise DataError(f"{name} {empty} (shape {x.shape}). Expected at least one image of at least 1x1 pixel.")
    labels = _labels(arrays[y_key], len(x), f"{where}: '{y_key}'", x_key)
    return Split(images[..., None] if images.ndim == 3 else images, labels)


def to_pixels(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` as float32 pixels (uint8 divided by 255), refusing complex, non-numeric and non-finite values.

    ``name`` starts the messages (``"npz:data.npz: 'x'"``); the first axis indexes images.
    """
    kind = array.dtype.kind
    if kind == "c":
        raise DataError(
            f"{name} is complex ({array.dtype}); images must be real numbers. Save the real part "
            "(x.real) or the magnitude (np.abs(x))."
        )
    if kind not in "biuf":
        raise DataError(
            f"{name} holds {array.dtype} values, not numbers. Images must be uint8 (0..255) or floats (0..1)."
        )
    if array.dtype == np.uint8:
        return array.astype("float32") / np.float32(255.0)
    with np.errstate(over="ignore", invalid="ignore"):
        pixels = array.astype("float32")
    if kind == "f":
        bad = ~np.isfinite(pixels)
        count = int(np.count_nonzero(bad))
        if count:
            first = int(np.unravel_index(int(np.argmax(bad)), bad.shape)[0]) if bad.ndim else 0
            plural = "s" if count != 1 else ""
            what = (
                f"NaN or infinite value{plural}"
                if count == np.count_nonzero(~np.isfinite(array))
                else f"value{plural} that {'are' if plural else 'is'} NaN, infinite or too large for float32"
            )
            raise DataError(
                f"{name} has {count:,} {what} (the first in image {first}). Replace them "
                "(np.nan_to_num) or drop those images."
            )
    return pixels


def _labels(y: np.ndarray, count: int, name: str, x_key: str) -> np.ndarray:
    """Integer labels (int64, one per image) from integer, whole float or one-hot ``y``."""
    expected = "Labels are class indices 0 .. classes-1"
    if y.dtype.kind not in "biuf":
        raise DataError(
            f"{name} must hold integer class labels. Received: dtype {y.dtype}. {expected}: convert "
            "them, e.g. with np.unique(labels, return_inverse=True)[1]."
        )
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot
        hot = y == 1
        rows = (hot | (y == 0)).all(axis=1) & (hot.sum(axis=1) == 1)
        if not rows.all():
            row = int(np.argmin(rows))
            shown = ", ".join(_show(v) for v in y[row][:6]) + (", ..." if y.shape[1] > 6 else "")
            raise DataError(
                f"{name} has shape {y.shape}, read as one-hot labels, but row {row} is not one-hot (one 1, "
                f"the rest 0): [{shown}]. Save integer labels of shape (N,), e.g. np.argmax(y, axis=1)."
            )
        labels = hot.argmax(axis=1)
    elif y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        labels = y.reshape(-1)
    else:
        raise DataError(f"{name} must be labels of shape (N,), or (N, classes) one-hot. Received: shape {y.shape}")
    if len(labels) != count:
        raise DataError(
            f"{name} holds {len(labels)} labels (shape {y.shape}) for the {count} images of '{x_key}'. "
            "Expected one label per image."
        )
    if labels.dtype.kind == "f":
        finite = np.isfinite(labels)
        if not finite.all():
            index, count = int(np.argmin(finite)), int(np.count_nonzero(~finite))
            raise DataError(
                f"{name} has {count:,} NaN or infinite label{'s' if count != 1 else ''} (the first at index "
                f"{index}). {expected}."
            )
        fractional = labels != np.floor(labels)
        if fractional.any():
            index = int(np.argmax(fractional))
            raise DataError(
                f"{name} must hold whole-number labels; label {_show(labels[index])} at index {index} is "
                f"not. {expected}."
            )
    if labels.dtype.kind != "b" and len(labels):
        if labels.min() < 0:
            index = int(np.argmin(labels))
            raise DataError(
                f"{name} has a negative label ({_show(labels[index])} at index {index}). {expected}: "
                "renumber them, e.g. with np.unique(y, return_inverse=True)[1]."
            )
        if labels.max() >= MAX_CLASSES:
            index = int(np.argmax(labels))
            raise DataError(
                f"{name} has label {_show(labels[index])} at index {index}: more than {MAX_CLASSES:,} "
                f"classes. {expected}: renumber them, e.g. with np.unique(y, return_inverse=True)[1]."
            )
    return labels.astype("int64")


def _show(value: Any) -> str:
    """A number as a user wrote it: 3 rather than 3.0."""
    number = value.item() if hasattr(value, "item") else value
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)
