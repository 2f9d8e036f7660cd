"""``images:DIR``: a folder per class, or ``train``/``test``/``val`` folders each holding one per class.

Hidden entries (``.DS_Store``, ``._cat.png``, ``.ipynb_checkpoints``) are skipped, every other image
file of the class folders is read (with Pillow, imported when reading), and one that cannot be decoded
is a :class:`DataError` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from archbuilder.training.data.dataset import Dataset, LoadOptions, Split, error_reason
from archbuilder.training.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
FOLDER_LAYOUT = "Expected a folder per class (DIR/cat/*.png, DIR/dog/*.png)"
GRAY_MODES = ("L", "1", "I", "I;16")


def load_images(argument: str | None, options: LoadOptions) -> Dataset:
    """``images:DIR``; images of different sizes are an error unless ``options`` asks to resize them."""
    root = Path(argument or "")
    where = f"images:{root}"
    if not os.path.isdir(root):
        if os.path.exists(root):
            hint = f" For an .npz archive use --data npz:{root}." if root.suffix.lower() == ".npz" else ""
            raise DataError(f"{where}: is a file, not a folder. {FOLDER_LAYOUT}.{hint}")
        raise DataError(f"{where}: no such folder. {FOLDER_LAYOUT}.")
    named = _subfolders(root)
    folders = (
        {"train": named["train"], "test": named.get("test"), "val": named.get("val") or named.get("validation")}
        if "train" in named
        else {"train": root}
    )
    class_names = _class_folders(named.get("train", root))
    files = {key: _image_files(folder, class_names) for key, folder in folders.items() if folder is not None}
    headers = {path: _image_header(path) for listed in files.values() for path, _ in listed}
    mode = "L" if all(image_mode in GRAY_MODES for image_mode, _ in headers.values()) else "RGB"
    sizes = sorted({size for _, size in headers.values()})
    target = None
    if len(sizes) > 1:
        if not (options.resize and options.input_shape):
            shown = ", ".join(f"{h}x{w}" for w, h in sizes[:5]) + (", ..." if len(sizes) > 5 else "")
            fix = (
                "Pass input_shape=(height, width, channels) with resize=True"
                if options.resize
                else "Pass --resize to resize them all to the blueprint's input size"
            )
            raise DataError(f"{where}: the images have different sizes ({shown}). {fix}, or make them one size.")
        target = (options.input_shape[1], options.input_shape[0])
    splits = {key: _read_split(listed, mode, target) for key, listed in files.items()}
    return Dataset(where, splits["train"], splits.get("test"), class_names, splits.get("val"))


def _listing(folder: Path) -> list[Path]:
    """The visible entries of ``folder``.

    Names starting with '.' are skipped: .DS_Store, ._cat.png, .ipynb_checkpoints.
    """
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as error:
        raise DataError(
            f"images:{folder}: cannot list this folder ({error_reason(error)}). Make it readable "
            "(chmod -R u+rX), or copy the images somewhere readable."
        ) from None


def _subfolders(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in _listing(folder) if os.path.isdir(p)}


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and os.path.isfile(path)


def _class_folders(folder: Path) -> tuple[str, ...]:
    names = tuple(sorted(_subfolders(folder)))
    if names:
        return names
    entries = _listing(folder)
    if not entries:
        raise DataError(f"images:{folder}: the folder is empty. {FOLDER_LAYOUT}.")
    loose = sum(1 for path in entries if _is_image(path))
    if loose:
        raise DataError(
            f"images:{folder}: {loose} image{'s' if loose != 1 else ''} but no class folders. "
            f"{FOLDER_LAYOUT}: move the images into a folder named after their class, even for a single class."
        )
    raise DataError(
        f"images:{folder}: no class folders (it holds {len(entries)} file{'s' if len(entries) != 1 else ''} "
        f"and no folders). {FOLDER_LAYOUT}."
    )


def _image_files(folder: Path, class_names: tuple[str, ...]) -> list[tuple[Path, int]]:
    present = _subfolders(folder)
    unknown = sorted(set(present) - set(class_names))
    if unknown:
        raise DataError(
            f"images:{folder}: class folders {', '.join(unknown)} are not in the training set's classes "
            f"({', '.join(class_names)})."
        )
    files = [
        (path, label)
        for label, name in enumerate(class_names)
        if name in present
        for path in _listing(present[name])
        if _is_image(path)
    ]
    if not files:
        raise DataError(f"images:{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in its class folders.")
    return files


def image_problem(error: BaseException) -> str:
    """Why Pillow could not read an image, in a few words."""
    from PIL import UnidentifiedImageError

    return "not an image file Pillow can read" if isinstance(error, UnidentifiedImageError) else error_reason(error)


def _unreadable_image(path: Path, error: BaseException) -> DataError:
    return DataError(
        f"{path}: cannot read this image ({image_problem(error)}). Replace or delete it: every "
        f"{', '.join(IMAGE_SUFFIXES)} file in a class folder is read as an image."
    )


def _image_header(path: Path) -> tuple[str, tuple[int, int]]:
    from PIL import Image

    try:
        with Image.open(path) as image:  # reads the header only
            return image.mode, image.size
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, ... for a damaged file
        raise _unreadable_image(path, error) from None


def _read_split(files: list[tuple[Path, int]], mode: str, target: tuple[int, int] | None) -> Split:
    arrays = np.stack([_read_image(path, mode, target) for path, _ in files])
    return Split(
        arrays[..., None] if arrays.ndim == 3 else arrays, np.array([label for _, label in files], dtype="int64")
    )


def _read_image(path: Path, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            converted = image.convert(mode)  # decodes the whole file: a truncated one fails here
            if size is not None and converted.size != size:
                converted = converted.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(converted, dtype="float32") / 255.0
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, ... for a damaged file
        raise _unreadable_image(path, error) from None
