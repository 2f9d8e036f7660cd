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
``npz:FILE``       arrays ``x`` and ``y``; optionally ``x_test``/``y_test`` and ``x_val``/``y_val``
=================  ===========================================================================

Loaders return float32 images in [0, 1] (NHWC) and int64 labels. Nothing is resized or converted
silently: :func:`fit_to_input` raises a :class:`DataError` saying how to fix a mismatch, unless
``resize=True`` (``--resize``) asks for it. This module imports Keras only to download the
keras.datasets and to resize.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from archbuilder.blueprint.errors import did_you_mean
from archbuilder.train.errors import DataError
from archbuilder.train.shapes import SHAPE_NAMES, generate_shapes

DIGITS_FILE = "digits.csv.gz"
DIGITS_TEST_FRACTION = 0.2
SHAPES_DEFAULT_COUNT = 2000
SHAPES_DEFAULT_SHAPE = (32, 32, 3)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLIT_SEED = 1998  # the digits test split does not move with the training seed


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
        return tuple(int(d) for d in self.train.x.shape[1:])  # type: ignore[return-value]

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def splits(self) -> dict[str, Split]:
        named = {"train": self.train, "validation": self.validation, "test": self.test}
        return {name: split for name, split in named.items() if split is not None}

    def map_images(self, function: Callable[[np.ndarray], np.ndarray]) -> Dataset:
        """The same dataset with ``function`` applied to the images of every split."""
        def apply(split: Split | None) -> Split | None:
            return None if split is None else Split(function(split.x), split.y)

        return replace(self, train=apply(self.train), test=apply(self.test), validation=apply(self.validation))


@dataclass(frozen=True)
class LoadOptions:
    """What a loader may need to know about the blueprint it feeds."""

    input_shape: tuple[int, int, int] | None = None
    classes: int | None = None
    resize: bool = False
    seed: int = 0


Loader = Callable[[str | None, LoadOptions], Dataset]


# -- the registry --------------------------------------------------------------------------------

def load_dataset(spec: str, *, input_shape: tuple[int, int, int] | None = None, classes: int | None = None,
                 resize: bool = False, seed: int = 0) -> Dataset:
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
    name, argument = parse_spec(spec)
    loader, takes = DATASETS[name]
    if takes == "required" and not argument:
        raise DataError(f"data '{name}' needs an argument: --data {name}:{'DIR' if name == 'images' else 'FILE'}")
    if takes == "none" and argument:
        raise DataError(f"data '{name}' takes no argument. Received: --data {spec}")
    options = LoadOptions(tuple(input_shape) if input_shape else None, classes, resize, seed)  # type: ignore[arg-type]
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
    with resources.files(__package__).joinpath("data").joinpath(DIGITS_FILE).open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype="float32")
    x = (table[:, :64] / 16.0).reshape(-1, 8, 8, 1)
    y = table[:, 64].astype("int64")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    cut = int(round(len(y) * (1 - DIGITS_TEST_FRACTION)))
    everything = Split(x, y)
    return Dataset("digits", everything.take(order[:cut]), everything.take(order[cut:]), tuple(str(d) for d in range(10)))


def _shapes(argument: str | None, options: LoadOptions) -> Dataset:
    count = _positive_count(argument, "shapes") if argument else SHAPES_DEFAULT_COUNT
    height, width, channels = options.input_shape or SHAPES_DEFAULT_SHAPE
    classes = min(options.classes or len(SHAPE_NAMES), len(SHAPE_NAMES))
    train = Split(*generate_shapes(count, height, width, channels, classes=classes, seed=options.seed))
    test = Split(*generate_shapes(max(count // 4, 1), height, width, channels, classes=classes, seed=options.seed + 1_000_003))
    return Dataset(f"shapes:{count}", train, test, SHAPE_NAMES[:classes])


def _positive_count(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < 1:
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
            raise DataError(
                f"could not load the '{name}' dataset: keras.datasets downloads it on first use and caches it in "
                f"{keras_cache_dir()}, and the download failed ({error}). Connect to the internet and run again (once "
                f"is enough), or copy a cached download into that folder from another machine, or convert the data "
                f"to --data npz:FILE (arrays x, y). Offline datasets: --data digits, --data shapes."
            ) from None
        return Dataset(name, _split_uint8(x, y), _split_uint8(x_test, y_test), KERAS_DATASETS[name])

    return load


def _split_uint8(x: np.ndarray, y: np.ndarray) -> Split:
    images = np.asarray(x, dtype="float32") / 255.0
    return Split(images[..., None] if images.ndim == 3 else images, np.asarray(y, dtype="int64").reshape(-1))


# -- images:DIR and npz:FILE ---------------------------------------------------------------------

def _images(argument: str | None, options: LoadOptions) -> Dataset:
    root = Path(argument or "")
    if not root.is_dir():
        raise DataError(f"images:{root}: no such folder. Expected a folder per class (DIR/cat/*.png, DIR/dog/*.png).")
    named = {p.name: p for p in root.iterdir() if p.is_dir()}
    if "train" in named:
        class_names = _class_folders(named["train"])
        validation = named.get("val") or named.get("validation")
        splits = {key: _read_folder(folder, class_names, options) if folder else None
                  for key, folder in (("train", named["train"]), ("test", named.get("test")), ("val", validation))}
        return Dataset(f"images:{root}", splits["train"], splits["test"], class_names, splits["val"])  # type: ignore[arg-type]
    class_names = _class_folders(root)
    return Dataset(f"images:{root}", _read_folder(root, class_names, options), None, class_names)


def _class_folders(folder: Path) -> tuple[str, ...]:
    names = tuple(sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if not names:
        raise DataError(f"images:{folder}: no class folders. Expected a folder per class (DIR/cat/*.png, DIR/dog/*.png).")
    return names


def _read_folder(folder: Path, class_names: tuple[str, ...], options: LoadOptions) -> Split:
    try:
        import PIL  # noqa: F401
    except ImportError:  # pragma: no cover - Pillow comes with the TensorFlow/Keras stack
        raise DataError("images:DIR needs Pillow to read images: pip install pillow") from None
    files = [(path, label) for label, name in enumerate(class_names) if (folder / name).is_dir()
             for path in sorted((folder / name).iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]
    unknown = sorted({p.name for p in folder.iterdir() if p.is_dir()} - set(class_names))
    if unknown:
        raise DataError(f"images:{folder}: class folders {', '.join(unknown)} are not in the training set's classes "
                        f"({', '.join(class_names)}).")
    if not files:
        raise DataError(f"images:{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in its class folders.")
    headers = [_image_header(path) for path, _ in files]
    mode = "L" if all(image_mode in ("L", "1", "I", "I;16") for image_mode, _ in headers) else "RGB"
    sizes = sorted({size for _, size in headers})
    target = None
    if len(sizes) > 1:
        if not (options.resize and options.input_shape):
            shown = ", ".join(f"{h}x{w}" for w, h in sizes[:5]) + (", ..." if len(sizes) > 5 else "")
            raise DataError(f"images:{folder}: the images have different sizes ({shown}). Pass --resize to resize them "
                            "all to the blueprint's input size, or make them one size.")
        target = (options.input_shape[1], options.input_shape[0])
    arrays = np.stack([_read_image(path, mode, target) for path, _ in files])
    return Split(arrays[..., None] if arrays.ndim == 3 else arrays, np.array([label for _, label in files], dtype="int64"))


def _image_header(path: Path) -> tuple[str, tuple[int, int]]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the header only
            return image.mode, image.size
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"{path}: cannot read this image ({error}).") from None


def _read_image(path: Path, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        converted = image.convert(mode)
        if size is not None and converted.size != size:
            converted = converted.resize(size, Image.Resampling.BILINEAR)
        return np.asarray(converted, dtype="float32") / 255.0


def _npz(argument: str | None, options: LoadOptions) -> Dataset:
    path = Path(argument or "")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:
        raise DataError(f"npz:{path}: cannot read it as a NumPy .npz archive ({error}).") from None
    if "x" not in arrays or "y" not in arrays:
        raise DataError(f"npz:{path}: expected arrays 'x' (images) and 'y' (labels), optionally x_test, y_test, x_val, "
                        f"y_val. Received: {', '.join(sorted(arrays)) or 'no arrays'}.")
    splits = {prefix: _npz_split(arrays, prefix, path) for prefix in ("", "_test", "_val")}
    labels = np.concatenate([split.y for split in splits.values() if split is not None])
    classes = int(labels.max()) + 1 if len(labels) else 0
    return Dataset(f"npz:{path}", splits[""], splits["_test"], tuple(str(i) for i in range(classes)), splits["_val"])  # type: ignore[arg-type]


def _npz_split(arrays: dict[str, np.ndarray], suffix: str, path: Path) -> Split | None:
    x, y = arrays.get("x" + suffix), arrays.get("y" + suffix)
    if x is None and y is None:
        return None
    if x is None or y is None:
        raise DataError(f"npz:{path}: '{'x' if x is None else 'y'}{suffix}' is missing (it goes with "
                        f"'{'y' if x is None else 'x'}{suffix}').")
    if x.ndim not in (3, 4):
        raise DataError(f"npz:{path}: 'x{suffix}' must be images (N, height, width) or (N, height, width, channels). "
                        f"Received: shape {x.shape}")
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    whole = np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))
    if len(y) != len(x) or not whole:
        raise DataError(f"npz:{path}: 'y{suffix}' must hold one integer label per image. Received: shape {y.shape}, "
                        f"dtype {y.dtype}, for {len(x)} images")
    images = x.astype("float32") / 255.0 if x.dtype == np.uint8 else x.astype("float32")
    return Split(images[..., None] if images.ndim == 3 else images, y.astype("int64"))


DATASETS: dict[str, tuple[Loader, str]] = {
    "digits": (_digits, "none"),
    "shapes": (_shapes, "optional"),
    **{name: (_keras_dataset(name), "none") for name in KERAS_DATASETS},
    "images": (_images, "required"),
    "npz": (_npz, "required"),
}


# -- fitting the data to the blueprint -----------------------------------------------------------

def fit_to_input(dataset: Dataset, input_shape: tuple[int, int, int], classes: int, *, resize: bool = False,
                 blueprint_name: str = "the blueprint") -> Dataset:
    """Check the images and labels against the blueprint's input and head; resize only when asked.

    With ``resize``, images are resized (bilinear) to the input's height and width, 1 channel is
    repeated to 3 (or any count), and 3 become 1 (luminance).

    Raises:
        DataError: the sizes or channels differ (and ``resize`` is false), the channels cannot be
            converted, or a label is not below ``classes``.
    """
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
        raise DataError(f"data '{dataset.name}' has {have[2]} channels and {blueprint_name} expects {channels}: "
                        "--resize converts 1 channel to any count and 3 (RGB) to 1 only.")
    if have[:2] != (height, width):
        dataset = dataset.map_images(lambda x: resize_images(x, height, width))
    if have[2] != channels:
        dataset = dataset.map_images(lambda x: convert_channels(x, channels))
    return dataset


def _check_labels(dataset: Dataset, classes: int, blueprint_name: str) -> None:
    top = max(int(split.y.max()) for split in dataset.splits().values() if len(split))
    smallest = min(int(split.y.min()) for split in dataset.splits().values() if len(split))
    if smallest < 0:
        raise DataError(f"data '{dataset.name}' has a negative label ({smallest}); labels are 0 .. classes-1.")
    if top >= classes:
        raise DataError(f"data '{dataset.name}' has {top + 1} classes (labels 0..{top}) but {blueprint_name} has "
                        f"{classes} outputs. Set head.classes: {top + 1} in the blueprint.")


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

    parts = [ops.convert_to_numpy(ops.image.resize(x[start:start + chunk], (height, width), interpolation="bilinear",
                                                  antialias=True))
             for start in range(0, len(x), chunk)]
    return np.clip(np.concatenate(parts).astype("float32"), 0.0, 1.0) if parts else x


def convert_channels(x: np.ndarray, channels: int) -> np.ndarray:
    if x.shape[-1] == 1:
        return np.repeat(x, channels, axis=-1)
    luminance = np.asarray([0.299, 0.587, 0.114], dtype="float32")
    return (x @ luminance)[..., None].astype("float32")


def split_validation(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """Hold out ``fraction`` of the training split (a seeded shuffle) unless the data brings its own."""
    if dataset.validation is not None or fraction <= 0:
        return dataset
    count = int(round(len(dataset.train) * fraction))
    if count < 1 or count >= len(dataset.train):
        raise DataError(f"validation_split={fraction} of {len(dataset.train)} training images leaves "
                        f"{count} for validation; use a split that keeps images on both sides, or 0 for none.")
    order = np.random.default_rng(seed).permutation(len(dataset.train))
    return replace(dataset, train=dataset.train.take(np.sort(order[count:])), validation=dataset.train.take(np.sort(order[:count])))


def scale_pixels(dataset: Dataset, pixel_range: tuple[float, float]) -> Dataset:
    """Map [0, 1] images to ``pixel_range`` (the recipe's; [0, 255] for blueprints with a Rescaling stem)."""
    low, high = pixel_range
    if (low, high) == (0.0, 1.0):
        return dataset
    return dataset.map_images(lambda x: (x * np.float32(high - low) + np.float32(low)).astype("float32"))


__all__ = ["DATASETS", "DataError", "Dataset", "Split", "fit_to_input", "load_dataset", "parse_spec",
           "scale_pixels", "split_validation"]
