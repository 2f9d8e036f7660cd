"""The named datasets: ``digits`` (embedded), ``shapes[:N]`` (procedural) and the keras.datasets.

``mnist``, ``fashion_mnist``, ``cifar10`` and ``cifar100`` import Keras when they load (keras.datasets
downloads them on first use); a failed download is a :class:`DataError` saying whether the machine
looks offline and how to supply the data another way.
"""

from __future__ import annotations

import gzip
import os
import socket
import urllib.error
from importlib import resources

import numpy as np

from archbuilder.training.data.dataset import Dataset, Loader, LoadOptions, Split, error_reason
from archbuilder.training.errors import DataError
from archbuilder.training.shapes import SHAPE_NAMES, generate_shapes

DIGITS_FILE = "digits.csv.gz"
DIGITS_TEST_FRACTION = 0.2
SHAPES_DEFAULT_COUNT = 2000
SHAPES_DEFAULT_SHAPE = (32, 32, 3)
SPLIT_SEED = 1998  # the digits test split does not move with the training seed


def load_digits(argument: str | None, options: LoadOptions) -> Dataset:
    """``digits``: the embedded 8x8x1 handwritten digits, 20% held out as test (the same split for every seed)."""
    with (
        resources.files(__package__).joinpath(DIGITS_FILE).open("rb") as raw,
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


def load_shapes(argument: str | None, options: LoadOptions) -> Dataset:
    """``shapes[:N]``: N procedural training images (and N/4 test) at the blueprint's input size, per seed."""
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


def keras_dataset_loader(name: str) -> Loader:
    """The loader of the keras.datasets ``name`` (one of :data:`KERAS_DATASETS`); it imports Keras when called."""

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
