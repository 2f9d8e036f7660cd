"""Datasets for ``archbuilder train``: loading, checking against the blueprint, splitting, scaling.

A data specification is a name, optionally with an argument after a colon:

=================  ===========================================================================
``digits``         embedded 8x8x1 handwritten digits (1,797 images, offline); 20% held out as test
``shapes[:N]``     procedural shapes drawn at the blueprint's input size (N training images,
                   default 2,000, plus N/4 test images), deterministic per seed
``mnist``          keras.datasets (downloaded once, cached in ``$KERAS_HOME/datasets``)
``fashion_mnist``  keras.datasets
``cifar10``        keras.datasets
``cifar100``       keras.datasets (fine labels)
``images:DIR``     a folder per class (``DIR/cat/*.png``), or ``DIR/train``, ``DIR/test`` and
                   ``DIR/val`` each holding a folder per class
``npz:FILE``       arrays ``x`` and ``y`` (or ``x_train`` and ``y_train``); optionally
                   ``x_test``/``y_test`` and ``x_val``/``y_val``
=================  ===========================================================================

Loaders return float32 images in [0, 1] (NHWC) and int64 labels. Nothing is resized or converted
silently: :func:`fit_to_input` raises a :class:`DataError` saying how to fix a mismatch, unless
``resize=True`` (``--resize``) asks for it. This module imports Keras only to download the
keras.datasets and to resize.

Everything a user hands in is checked where it is read, and every problem is a one-line
:class:`DataError` naming the file (or array) and saying what was expected and how to fix it:

- ``npz:FILE`` is opened with ``allow_pickle=False`` (unpickling a data file can run code): object
  arrays and pickles are refused. Images must be real numbers (uint8 0..255, or floats in 0..1)
  without NaN or infinity, of shape (N, H, W) or (N, H, W, C), N >= 1; labels integers (or whole
  floats, or one-hot rows) from 0, one per image; every split has the same image size; arrays
  other than the ones above are an error (with a did-you-mean), never silently ignored.
- ``images:DIR`` skips hidden entries (``.DS_Store``, ``._cat.png``, ``.ipynb_checkpoints``) and
  reads every other image file of the class folders; one it cannot decode is an error naming it.
- keras.datasets that cannot be downloaded say whether the machine looks offline and how to supply
  the data another way.

A dataset with fewer classes than the blueprint's head is accepted with a :class:`DataWarning`
(see :func:`fit_to_input`).
"""

from __future__ import annotations

import gzip
import os
import socket
import urllib.error
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from archbuilder.blueprint.errors import did_you_mean
from archbuilder.training.errors import DataError
from archbuilder.training.shapes import SHAPE_NAMES, generate_shapes

DIGITS_FILE = "digits.csv.gz"
DIGITS_TEST_FRACTION = 0.2
SHAPES_DEFAULT_COUNT = 2000
SHAPES_DEFAULT_SHAPE = (32, 32, 3)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLIT_SEED = 1998  # the digits test split does not move with the training seed


class DataWarning(UserWarning):
    """The data will train, but probably not as intended (e.g. fewer classes than the head has outputs)."""


@dataclass(frozen=True)
class Split:
    """Images (float32, NHWC) and their integer labels."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def take(self, indices: np.ndarray) -> Split:
        return Split(self.x[indices], self.y[indices])


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: a training split, and a test and a validation split where the source has them."""

    name: str
    train: Split
    test: Split | None
    class_names: tuple[str, ...]
    validation: Split | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        height, width, channels = (int(d) for d in self.train.x.shape[1:])  # NHWC
        return height, width, channels

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def splits(self) -> dict[str, Split]:
        named = {"train": self.train, "validation": self.validation, "test": self.test}
        return {name: split for name, split in named.items() if split is not None}

    def map_images(self, function: Callable[[np.ndarray], np.ndarray]) -> Dataset:
        """The same dataset with ``function`` applied to the images of every split."""

        def apply(split: Split) -> Split:
            return Split(function(split.x), split.y)

        return replace(
            self,
            train=apply(self.train),
            test=None if self.test is None else apply(self.test),
            validation=None if self.validation is None else apply(self.validation),
        )


@dataclass(frozen=True)
class LoadOptions:
    """What a loader may need to know about the blueprint it feeds."""

    input_shape: tuple[int, int, int] | None = None
    classes: int | None = None
    resize: bool = False
    seed: int = 0


Loader = Callable[[str | None, LoadOptions], Dataset]


# -- the registry --------------------------------------------------------------------------------


def load_dataset(
    spec: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    classes: int | None = None,
    resize: bool = False,
    seed: int = 0,
) -> Dataset:
    """Load the dataset a specification names (``digits``, ``shapes:500``, ``npz:data.npz``, ...).

    Args:
        spec: see the module docstring.
        input_shape: the blueprint's input; ``shapes`` is drawn at this size, ``images:DIR`` with
            images of mixed sizes is resized to it when ``resize`` is true.
        classes: the blueprint's number of classes; ``shapes`` draws min(classes, 10) shapes.
        resize: allow ``images:DIR`` to hold images of different sizes.
        seed: ``shapes`` draws from this seed.

    Raises:
        DataError: unknown name, missing argument, unreadable or malformed data, offline download.
    """
    if not isinstance(spec, str):
        raise DataError(
            f"data must be a name such as 'digits', 'npz:FILE' or 'images:DIR' (or a Dataset where the "
            f"Python API accepts one). Received: {spec!r}"
        )
    name, argument = parse_spec(spec)
    loader, takes = DATASETS[name]
    if takes == "required" and not argument:
        raise DataError(f"data '{name}' needs an argument: --data {name}:{'DIR' if name == 'images' else 'FILE'}")
    if takes == "none" and argument:
        raise DataError(f"data '{name}' takes no argument. Received: --data {spec}")
    shape = None
    if input_shape:
        height, width, channels = input_shape  # a list from Python callers is taken too
        shape = (height, width, channels)
    options = LoadOptions(shape, classes, resize, seed)
    return loader(argument, options)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``'npz:/data/x.npz'`` -> ``('npz', '/data/x.npz')``; unknown names get a did-you-mean."""
    name, _, argument = spec.partition(":")
    name = name.strip().lower().replace("-", "_")
    if name not in DATASETS:
        known = ", ".join(f"{n}:DIR" if n == "images" else f"{n}:FILE" if n == "npz" else n for n in DATASETS)
        raise DataError(f"unknown data '{spec}'.{did_you_mean(name, DATASETS)} Known: {known}.")
    return name, (argument or None)


def _digits(argument: str | None, options: LoadOptions) -> Dataset:
    with (
        resources.files(__package__).joinpath("data").joinpath(DIGITS_FILE).open("rb") as raw,
        gzip.open(raw, "rt") as text,
    ):
        table = np.loadtxt(text, delimiter=",", dtype="float32")
    x = (table[:, :64] / 16.0).reshape(-1, 8, 8, 1)
    y = table[:, 64].astype("int64")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    cut = int(round(len(y) * (1 - DIGITS_TEST_FRACTION)))
    everything = Split(x, y)
    return Dataset(
        "digits", everything.take(order[:cut]), everything.take(order[cut:]), tuple(str(d) for d in range(10))
    )


def _shapes(argument: str | None, options: LoadOptions) -> Dataset:
    count = _positive_count(argument, "shapes") if argument else SHAPES_DEFAULT_COUNT
    height, width, channels = options.input_shape or SHAPES_DEFAULT_SHAPE
    classes = max(1, min(options.classes or len(SHAPE_NAMES), len(SHAPE_NAMES)))
    test_count = max(count // 4, 1)
    needed = (count + test_count) * height * width * channels * 4
    available = _physical_memory()
    if available and needed > available:
        raise DataError(
            f"data 'shapes:{count}': {count + test_count:,} images of {height}x{width}x{channels} need "
            f"{needed / 2**30:,.1f} GiB of memory and this machine has {available / 2**30:,.1f} GiB. "
            "Ask for fewer images (shapes:N)."
        )
    try:
        train = Split(*generate_shapes(count, height, width, channels, classes=classes, seed=options.seed))
        test = Split(
            *generate_shapes(test_count, height, width, channels, classes=classes, seed=options.seed + 1_000_003)
        )
    except MemoryError:
        raise DataError(
            f"data 'shapes:{count}': not enough memory for {count + test_count:,} images of "
            f"{height}x{width}x{channels}. Ask for fewer images (shapes:N)."
        ) from None
    return Dataset(f"shapes:{count}", train, test, SHAPE_NAMES[:classes])


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not on every platform
        return None


def _positive_count(text: str, name: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:  # '²'.isdigit() is true, but int('²') fails
        raise DataError(f"data '{name}:N' needs a positive number of images. Received: '{name}:{text}'")
    return int(text)


# -- keras.datasets ------------------------------------------------------------------------------

FASHION_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot")
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
KERAS_DATASETS: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion_mnist": FASHION_NAMES,
    "cifar10": CIFAR10_NAMES,
    "cifar100": tuple(str(i) for i in range(100)),
}


def keras_cache_dir() -> str:
    """Where keras.datasets keeps its downloads."""
    return os.path.join(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"), "datasets")


def _keras_dataset(name: str) -> Loader:
    def load(argument: str | None, options: LoadOptions) -> Dataset:
        import keras

        module = getattr(keras.datasets, name)
        try:
            (x, y), (x_test, y_test) = module.load_data(label_mode="fine") if name == "cifar100" else module.load_data()
        except Exception as error:  # keras.utils.get_file raises a bare Exception on a failed download
            raise _download_error(name, error) from None
        return Dataset(name, _split_uint8(x, y), _split_uint8(x_test, y_test), KERAS_DATASETS[name])

    return load


def _download_error(name: str, error: Exception) -> DataError:
    other_ways = (
        "supply the data yourself with --data npz:FILE (arrays x, y and optionally x_test, y_test). "
        "Offline datasets: --data digits, --data shapes."
    )
    if _is_offline(error):
        return DataError(
            f"could not download the '{name}' dataset: this machine looks offline ({error_reason(error)}). "
            f"keras.datasets downloads it on first use and caches it in {keras_cache_dir()}: connect to the internet "
            "and run again (once is enough), copy a cached download into that folder from another machine, or "
            f"{other_ways}"
        )
    return DataError(
        f"could not load the '{name}' dataset: keras.datasets downloads it on first use and caches it in "
        f"{keras_cache_dir()}, and that failed ({error_reason(error)}). Check that the folder is writable, delete a "
        f"damaged download there to fetch it again, or {other_ways}"
    )


def _is_offline(error: BaseException | None) -> bool:
    """A failure to reach the server (no network, no name resolution, refused, timed out), not an HTTP answer."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, urllib.error.HTTPError):
            return False
        if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror)):
            return True
        error = error.__cause__ or error.__context__
    return False


def _split_uint8(x: np.ndarray, y: np.ndarray) -> Split:
    images = np.asarray(x, dtype="float32") / 255.0
    return Split(images[..., None] if images.ndim == 3 else images, np.asarray(y, dtype="int64").reshape(-1))


# -- images:DIR and npz:FILE ---------------------------------------------------------------------

FOLDER_LAYOUT = "Expected a folder per class (DIR/cat/*.png, DIR/dog/*.png)"
GRAY_MODES = ("L", "1", "I", "I;16")


def _images(argument: str | None, options: LoadOptions) -> Dataset:
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


NPZ_SAVE = "np.savez(FILE, x=images, y=labels)"
NPZ_SPLITS = {"train": ("x", "y"), "test": ("x_test", "y_test"), "validation": ("x_val", "y_val")}
NPZ_TRAIN_ALIAS = ("x_train", "y_train")
NPZ_KEYS = (*NPZ_SPLITS["train"], *NPZ_TRAIN_ALIAS, *NPZ_SPLITS["test"], *NPZ_SPLITS["validation"])
NPY_MAGIC = b"\x93NUMPY"
#: Labels are class indices; one above this is surely not one (and would make a huge list of class names).
MAX_CLASSES = 1_000_000


def _npz(argument: str | None, options: LoadOptions) -> Dataset:
    path = Path(argument or "")
    where = f"npz:{path}"
    arrays = _read_npz(path, where)
    keys = _npz_keys(arrays, where)
    splits = {split: _npz_split(arrays, x_key, y_key, where) for split, (x_key, y_key) in keys.items()}
    x_train = keys["train"][0]
    for split, (x_key, _) in keys.items():
        if splits[split].x.shape[1:] != splits["train"].x.shape[1:]:
            raise DataError(
                f"{where}: '{x_key}' holds {_shape_text(splits[split].x.shape[1:])} images and '{x_train}' "
                f"{_shape_text(splits['train'].x.shape[1:])}; every split must have the same image size. "
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


def error_reason(error: BaseException) -> str:
    """An exception's message on one line (an OSError's strerror without the repeated path)."""
    text = getattr(error, "strerror", None) if isinstance(error, OSError) else None
    text = " ".join(str(text or error).split())
    return text or type(error).__name__


DATASETS: dict[str, tuple[Loader, str]] = {
    "digits": (_digits, "none"),
    "shapes": (_shapes, "optional"),
    **{name: (_keras_dataset(name), "none") for name in KERAS_DATASETS},
    "images": (_images, "required"),
    "npz": (_npz, "required"),
}


# -- fitting the data to the blueprint -----------------------------------------------------------


def fit_to_input(
    dataset: Dataset,
    input_shape: tuple[int, int, int],
    classes: int,
    *,
    resize: bool = False,
    blueprint_name: str = "the blueprint",
) -> Dataset:
    """Check the images and labels against the blueprint's input and head; resize only when asked.

    With ``resize``, images are resized (bilinear) to the input's height and width, 1 channel is
    repeated to 3 (or any count), and 3 become 1 (luminance).

    Labels needing more classes than the head has outputs are an error. Data with *fewer* classes
    than the head (a one-class ``images:`` folder feeding a 10-class head, ``digits`` feeding a
    1000-class one) trains, with a :class:`DataWarning` saying so: the extra outputs are never a
    target, which is legitimate (a head sized for classes still to come, a subset of the classes
    for a quick run) and is what Keras does (``image_dataset_from_directory`` accepts a single
    class folder). Silence it with ``warnings.filterwarnings("ignore", category=DataWarning)``.

    Raises:
        DataError: the splits are not image arrays of one size with a label each, the sizes or
            channels differ (and ``resize`` is false), the channels cannot be converted, or a
            label is negative or not below ``classes``.

    Warns:
        DataWarning: the data has fewer classes than ``classes``.
    """
    _check_structure(dataset)
    _check_labels(dataset, classes, blueprint_name)
    height, width, channels = input_shape
    have = dataset.image_shape
    if have == tuple(input_shape):
        return dataset
    if not resize:
        raise DataError(
            f"data '{dataset.name}' has {_shape_text(have)} images but {blueprint_name} expects "
            f"{_shape_text(input_shape)}. Pass --resize (resize=True in Python) to {_conversion(have, input_shape)}, "
            f"or train a blueprint whose input is {list(have)}."
        )
    if have[2] != channels and have[2] != 1 and not (have[2] == 3 and channels == 1):
        raise DataError(
            f"data '{dataset.name}' has {have[2]} channels and {blueprint_name} expects {channels}: "
            "--resize converts 1 channel to any count and 3 (RGB) to 1 only."
        )
    if have[:2] != (height, width):
        dataset = dataset.map_images(lambda x: resize_images(x, height, width))
    if have[2] != channels:
        dataset = dataset.map_images(lambda x: convert_channels(x, channels))
    return dataset


def _check_structure(dataset: Dataset) -> None:
    """A :class:`Dataset` built in Python gets the shape checks the loaders make."""
    train_shape = None
    for split_name, split in dataset.splits().items():
        x, y = np.asarray(split.x), np.asarray(split.y)
        where = f"data '{dataset.name}': the {split_name} split"
        if x.ndim != 4 or x.dtype.kind not in "biuf":
            raise DataError(
                f"{where} must hold images as a real-number array (N, height, width, channels). "
                f"Received: shape {x.shape}, dtype {x.dtype}"
            )
        if y.ndim != 1 or len(y) != len(x) or (len(y) and y.dtype.kind not in "iu"):
            raise DataError(
                f"{where} must hold one integer label per image: {len(x)} images. Received: labels of "
                f"shape {y.shape}, dtype {y.dtype}"
            )
        if split_name == "train" and not len(x):
            raise DataError(f"{where} holds no images. Expected at least one.")
        train_shape = train_shape or x.shape[1:]
        if x.shape[1:] != train_shape:
            raise DataError(
                f"{where} holds {_shape_text(x.shape[1:])} images and the train split "
                f"{_shape_text(train_shape)}; every split must have the same image size."
            )


def _check_labels(dataset: Dataset, classes: int, blueprint_name: str) -> None:
    labelled = [split.y for split in dataset.splits().values() if len(split)]
    top = max(int(y.max()) for y in labelled)
    smallest = min(int(y.min()) for y in labelled)
    if smallest < 0:
        raise DataError(f"data '{dataset.name}' has a negative label ({smallest}); labels are 0 .. classes-1.")
    if top >= classes:
        raise DataError(
            f"data '{dataset.name}' has {top + 1} classes (labels 0..{top}) but {blueprint_name} has "
            f"{classes} outputs. Set head.classes: {top + 1} in the blueprint."
        )
    have = max(dataset.classes, top + 1)
    if have < classes:
        warnings.warn(_fewer_classes(dataset, have, classes, blueprint_name), DataWarning, stacklevel=3)


def _fewer_classes(dataset: Dataset, have: int, classes: int, blueprint_name: str) -> str:
    names = dataset.class_names[:have]
    shown = f" ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" if len(names) == have else ""
    start = (
        f"data '{dataset.name}' has {have} class{'es' if have != 1 else ''}{shown} but {blueprint_name} has "
        f"{classes} outputs"
    )
    if have == 1:
        return (
            f"{start}: with one class the model can only learn to predict '{names[0] if names else 0}'. Add the "
            "other classes to the data (a folder per class for images:DIR), or ignore this if it is intended."
        )
    return (
        f"{start}: outputs {have}..{classes - 1} get no training images. Set head.classes: {have} in the "
        "blueprint, or ignore this if the head is meant to be larger than the data."
    )


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def _conversion(have: tuple[int, int, int], want: tuple[int, int, int]) -> str:
    steps = []
    if have[:2] != tuple(want[:2]):
        steps.append(f"resize them to {want[0]}x{want[1]}")
    if have[2] != want[2]:
        steps.append("repeat their channel" if have[2] == 1 else f"convert their {have[2]} channels to {want[2]}")
    return " and ".join(steps)


def resize_images(x: np.ndarray, height: int, width: int, chunk: int = 1024) -> np.ndarray:
    """Bilinear resize (antialiased when shrinking) with ``keras.ops.image.resize``, in chunks."""
    from keras import ops

    parts = [
        ops.convert_to_numpy(
            ops.image.resize(x[start : start + chunk], (height, width), interpolation="bilinear", antialias=True)
        )
        for start in range(0, len(x), chunk)
    ]
    return np.clip(np.concatenate(parts).astype("float32"), 0.0, 1.0) if parts else x


def convert_channels(x: np.ndarray, channels: int) -> np.ndarray:
    if x.shape[-1] == 1:
        return np.repeat(x, channels, axis=-1)
    luminance = np.asarray([0.299, 0.587, 0.114], dtype="float32")
    return (x @ luminance)[..., None].astype("float32")


def split_validation(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """Hold out ``fraction`` of the training split (a seeded shuffle) unless the data brings its own."""
    if not 0 <= fraction < 1:  # NaN included
        raise DataError(f"validation_split must be at least 0 and below 1. Received: {fraction}")
    if dataset.validation is not None or fraction == 0:
        return dataset
    count = int(round(len(dataset.train) * fraction))
    if count < 1 or count >= len(dataset.train):
        raise DataError(
            f"validation_split={fraction} of {len(dataset.train)} training images leaves "
            f"{count} for validation; use a split that keeps images on both sides, or 0 for none."
        )
    order = np.random.default_rng(seed).permutation(len(dataset.train))
    return replace(
        dataset, train=dataset.train.take(np.sort(order[count:])), validation=dataset.train.take(np.sort(order[:count]))
    )


def scale_pixels(dataset: Dataset, pixel_range: tuple[float, float]) -> Dataset:
    """Map [0, 1] images to ``pixel_range`` (the recipe's; [0, 255] for blueprints with a Rescaling stem)."""
    low, high = pixel_range
    if (low, high) == (0.0, 1.0):
        return dataset
    return dataset.map_images(lambda x: (x * np.float32(high - low) + np.float32(low)).astype("float32"))


__all__ = [
    "DATASETS",
    "DataError",
    "DataWarning",
    "Dataset",
    "Split",
    "fit_to_input",
    "load_dataset",
    "parse_spec",
    "scale_pixels",
    "split_validation",
]
