"""Hostile input to the data loaders (``npz:FILE``, ``images:DIR``, keras.datasets, ``predict``'s
images): every case found by fuzzing is one line of :class:`DataError`, never a traceback.

All data is generated in ``tmp_path``; the network is never touched (the downloader is patched).
"""

from __future__ import annotations

import io
import pathlib
import pickle
import urllib.error
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import archbuilder.training.data.builtin as builtin_data  # owns _physical_memory, which shapes:N consults
from archbuilder.errors import ArchbuilderError
from archbuilder.training.data import Dataset, DataWarning, Split, fit_to_input, load_dataset, split_validation
from archbuilder.training.errors import DataError
from archbuilder.training.shapes import generate_shapes

SAVE = "np.savez(FILE, x=images, y=labels)"
EXPECTED_NPZ = f"Expected a NumPy .npz archive: save the data with {SAVE}."
LABELS = "Labels are class indices 0 .. classes-1"
RENUMBER = f"{LABELS}: renumber them, e.g. with np.unique(y, return_inverse=True)[1]."
FIX_PIXELS = "Replace them (np.nan_to_num) or drop those images."
LAYOUT = "Expected a folder per class (DIR/cat/*.png, DIR/dog/*.png)"
SUFFIXES = ".png, .jpg, .jpeg, .bmp, .gif"
NPY_SAVE = "np.save(FILE, images) with images of shape (N, H, W, C), (H, W, C) or (H, W)"


def message_of(call, *args, **kwargs) -> str:
    """The DataError ``call`` raises: a user error, one line."""
    with pytest.raises(DataError) as error:
        call(*args, **kwargs)
    assert isinstance(error.value, ArchbuilderError)
    message = str(error.value)
    assert "\n" not in message
    return message


X = np.zeros((2, 4, 4), dtype="uint8")


def nan_images() -> np.ndarray:
    x = np.zeros((3, 4, 4), dtype="float32")
    x[1, 2, 2] = np.nan
    x[2, 0, :2] = np.inf
    return x


# -- npz:FILE: the arrays ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arrays, message",
    [
        # 1. no images, missing and unknown keys, lengths, shapes, labels
        (
            {"x": np.zeros((0, 4, 4)), "y": np.zeros(0, dtype="int64")},
            "'x' holds no images (shape (0, 4, 4)). Expected at least one image of at least 1x1 pixel.",
        ),
        (
            {"x": np.zeros((2, 4, 0)), "y": [0, 1]},
            "'x' has images of 0 pixels (shape (2, 4, 0)). Expected at least one image of at least 1x1 pixel.",
        ),
        (
            {"x": X, "y": [0, 1], "x_test": np.zeros((0, 4, 4)), "y_test": np.zeros(0, dtype="int64")},
            "'x_test' holds no images (shape (0, 4, 4)). Expected at least one image of at least 1x1 pixel.",
        ),
        (
            {},
            "expected arrays 'x' (images) and 'y' (labels), optionally x_test, y_test, x_val, y_val. Received: no "
            f"arrays. Save them with {SAVE}.",
        ),
        ({"x": X}, "'y' is missing (it goes with 'x')."),
        (
            {"x": X, "y": [0, 1], "x_valid": X, "y_valid": [0, 1]},
            "unknown arrays 'x_valid', 'y_valid'. Did you mean 'x_val'? Expected x and y (or x_train and y_train), "
            "optionally x_test, y_test, x_val, y_val; rename or remove them.",
        ),
        (
            {"x": X, "y": [0, 1], "labels": [0, 1]},
            "unknown array 'labels'. Expected x and y (or x_train and y_train), optionally x_test, y_test, x_val, "
            "y_val; rename or remove it.",
        ),
        (
            {"x": X, "y": [0, 1], "x_train": X, "y_train": [0, 1]},
            "holds both x, x_train, y, y_train. Keep x and y, or x_train and y_train, not both.",
        ),
        (
            {"x_train": X, "y_train": [0, 1, 1]},
            "'y_train' holds 3 labels (shape (3,)) for the 2 images of 'x_train'. Expected one label per image.",
        ),
        (
            {"x": np.zeros((2, 4, 4, 1, 1)), "y": [0, 1]},
            "'x' must be images (N, height, width) or (N, height, width, channels). Received: shape (2, 4, 4, 1, 1)",
        ),
        (
            {"x": X, "y": np.zeros((2, 2, 2))},
            "'y' must be labels of shape (N,), or (N, classes) one-hot. Received: shape (2, 2, 2)",
        ),
        (
            {"x": X, "y": np.array(["cat", "dog"])},
            f"'y' must hold integer class labels. Received: dtype <U3. {LABELS}: convert them, e.g. with "
            "np.unique(labels, return_inverse=True)[1].",
        ),
        (
            {"x": X, "y": np.array([0.5, 1.0])},
            f"'y' must hold whole-number labels; label 0.5 at index 0 is not. {LABELS}.",
        ),
        ({"x": X, "y": np.array([0.0, np.nan])}, f"'y' has 1 NaN or infinite label (the first at index 1). {LABELS}."),
        (
            {"x": X, "y": np.array([[1.0, 0.0], [0.2, 0.8]])},
            "'y' has shape (2, 2), read as one-hot labels, but row 1 is not one-hot (one 1, the rest 0): [0.2, 0.8]. "
            "Save integer labels of shape (N,), e.g. np.argmax(y, axis=1).",
        ),
        (
            {"x": X, "y": np.array([[1, 1], [0, 1]])},
            "'y' has shape (2, 2), read as one-hot labels, but row 0 is not one-hot (one 1, the rest 0): [1, 1]. Save "
            "integer labels of shape (N,), e.g. np.argmax(y, axis=1).",
        ),
        ({"x": X, "y": [0, -1]}, f"'y' has a negative label (-1 at index 1). {RENUMBER}"),
        ({"x": X, "y": [0.0, -2.0]}, f"'y' has a negative label (-2 at index 1). {RENUMBER}"),
        ({"x": X, "y": [0, 10**7]}, f"'y' has label 10000000 at index 1: more than 1,000,000 classes. {RENUMBER}"),
        (
            {"x": X, "y": np.array([0, 2**63 + 5], dtype="uint64")},
            f"'y' has label 9223372036854775813 at index 1: more than 1,000,000 classes. {RENUMBER}",
        ),
        # 3. non-finite, complex and non-numeric images
        ({"x": nan_images(), "y": [0, 1, 2]}, f"'x' has 3 NaN or infinite values (the first in image 1). {FIX_PIXELS}"),
        (
            {"x": X, "y": [0, 1], "x_test": nan_images(), "y_test": [0, 0, 0]},
            f"'x_test' has 3 NaN or infinite values (the first in image 1). {FIX_PIXELS}",
        ),
        (
            {"x": np.full((2, 4, 4), 1e300), "y": [0, 1]},
            f"'x' has 32 values that are NaN, infinite or too large for float32 (the first in image 0). {FIX_PIXELS}",
        ),
        (
            {"x": np.zeros((2, 4, 4), dtype="complex128"), "y": [0, 1]},
            "'x' is complex (complex128); images must be real numbers. Save the real part (x.real) or the magnitude "
            "(np.abs(x)).",
        ),
        (
            {"x": np.full((2, 4, 4), "a"), "y": [0, 1]},
            "'x' holds <U1 values, not numbers. Images must be uint8 (0..255) or floats (0..1).",
        ),
        # every split has the same image size
        (
            {"x": X, "y": [0, 1], "x_test": np.zeros((1, 5, 5)), "y_test": [0]},
            "'x_test' holds 5x5x1 images and 'x' 4x4x1; every split must have the same image size. Resize them to "
            "one size before saving.",
        ),
        (
            {"x": X, "y": [0, 1], "x_val": np.zeros((1, 4, 4, 3)), "y_val": [0]},
            "'x_val' holds 4x4x3 images and 'x' 4x4x1; every split must have the same image size. Resize them to one "
            "size before saving.",
        ),
    ],
    ids=lambda value: None if isinstance(value, dict) else value[:40],
)
def test_npz_arrays(tmp_path, arrays, message) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    assert message_of(load_dataset, f"npz:{path}") == f"npz:{path}: {message}"


def test_npz_accepts_keras_style_names_one_hot_and_bool_labels(tmp_path) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, x_train=X, y_train=np.array([[0, 1], [1, 0]]), x_test=X[:1], y_test=np.array([True]))
    dataset = load_dataset(f"npz:{path}")
    assert dataset.train.y.tolist() == [1, 0] and dataset.test.y.tolist() == [1] and dataset.class_names == ("0", "1")


# -- npz:FILE: the file --------------------------------------------------------------------------------


def npz_bytes(save=np.savez, **arrays: object) -> bytes:
    buffer = io.BytesIO()
    save(buffer, **arrays)
    return buffer.getvalue()


def bad_crc() -> bytes:
    content = bytearray(npz_bytes(x=np.arange(64, dtype="uint8").reshape(1, 8, 8), y=[0]))
    content[content.find(bytes(range(10, 20)))] ^= 0xFF  # a pixel of the stored (uncompressed) x.npy
    return bytes(content)


def zip_of_text() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", b"hello")
    return buffer.getvalue()


def single_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


COMPRESSED = npz_bytes(np.savez_compressed, x=np.zeros((20, 8, 8)), y=np.arange(20))
DAMAGED = f"it may be truncated or damaged. Write it again with {SAVE}."


@pytest.mark.parametrize(
    "content, message",
    [
        # 2. not a zip, truncated, damaged, pickled, empty, the wrong kind of NumPy file
        (b"PK\x03\x04" + bytes(range(60)), f"not a valid .npz archive (File is not a zip file); {DAMAGED}"),
        (COMPRESSED[: len(COMPRESSED) // 2], f"not a valid .npz archive (File is not a zip file); {DAMAGED}"),
        (
            bad_crc(),
            f"cannot read array 'x' (Bad CRC-32 for file 'x.npy'); the file may be truncated or damaged. Write it "
            f"again with {SAVE}.",
        ),
        (
            npz_bytes(x=np.array([{}, 1], dtype=object), y=[0, 1]),
            "array 'x' holds Python objects (dtype=object); archbuilder loads .npz files with allow_pickle=False "
            "because unpickling can run code. Save numeric arrays instead, e.g. np.stack(images).astype('uint8') and "
            "np.asarray(labels, dtype='int64').",
        ),
        (
            pickle.dumps({"x": [1, 2]}),
            "a Python pickle, not an .npz archive; archbuilder never unpickles data files (np.load "
            f"with allow_pickle=False: unpickling can run code). {EXPECTED_NPZ}",
        ),
        (b"", f"the file is empty (0 bytes). {EXPECTED_NPZ}"),
        (single_npy(), f"a single NumPy array (.npy), not an .npz archive of arrays x and y. {EXPECTED_NPZ}"),
        (b"x,y\n1,2\n", f"not a NumPy .npz archive (it does not start like a zip file). {EXPECTED_NPZ}"),
        (zip_of_text(), f"member 'notes.txt' is not a NumPy array (.npy). Expected an archive written by {SAVE}."),
    ],
    ids=["zip-magic-then-junk", "truncated", "bad-crc", "object-array", "pickle", "empty", "npy", "csv", "zip-of-text"],
)
def test_npz_files(tmp_path, content, message) -> None:
    path = tmp_path / "data.npz"
    path.write_bytes(content)
    assert message_of(load_dataset, f"npz:{path}") == f"npz:{path}: {message}"


def test_npz_folder_missing_and_unreadable(tmp_path, monkeypatch) -> None:
    assert message_of(load_dataset, f"npz:{tmp_path}") == (
        f"npz:{tmp_path}: is a folder, not a file. Pass an .npz archive ({SAVE}), or use --data images:{tmp_path} for "
        "a folder per class."
    )
    missing = tmp_path / "missing.npz"
    assert message_of(load_dataset, f"npz:{missing}") == (
        f"npz:{missing}: no such file. Expected a NumPy .npz archive with arrays x and y ({SAVE})."
    )
    locked = tmp_path / "locked.npz"
    locked.write_bytes(COMPRESSED)
    locked.chmod(0)
    opener = pathlib.Path.open

    def refuse(self: Path, *args: object, **kwargs: object):  # chmod 0 does not stop root: refuse like the OS would
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return opener(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)
    assert message_of(load_dataset, f"npz:{locked}") == (
        f"npz:{locked}: cannot open it (Permission denied). Make the file readable (chmod u+r), or copy it somewhere "
        "readable."
    )


# -- images:DIR ------------------------------------------------------------------------------------------


def write_images(folder: Path, classes: dict[str, int], size: tuple[int, int] = (6, 6), mode: str = "L") -> None:
    for index, (name, count) in enumerate(classes.items()):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for number in range(count):
            Image.new(mode, size, 40 * index + number if mode == "L" else (40 * index, number, 9)).save(
                folder / name / f"{number}.png"
            )


def encoded(size: tuple[int, int], format: str) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype="uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=format)
    return buffer.getvalue()


def test_images_folder_problems(tmp_path) -> None:
    # 5. a DIR that is a file, an empty folder, no class folders
    (tmp_path / "data.npz").write_bytes(b"")
    assert message_of(load_dataset, f"images:{tmp_path / 'data.npz'}") == (
        f"images:{tmp_path / 'data.npz'}: is a file, not a folder. {LAYOUT}. For an .npz archive use --data "
        f"npz:{tmp_path / 'data.npz'}."
    )
    (tmp_path / "notes.txt").write_text("x")
    assert message_of(load_dataset, f"images:{tmp_path / 'notes.txt'}") == (
        f"images:{tmp_path / 'notes.txt'}: is a file, not a folder. {LAYOUT}."
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"hidden files do not count")
    assert message_of(load_dataset, f"images:{empty}") == f"images:{empty}: the folder is empty. {LAYOUT}."
    loose = tmp_path / "loose"
    write_images(loose, {"cat": 3})
    for path in (loose / "cat").iterdir():
        path.rename(loose / path.name)
    (loose / "cat").rmdir()
    assert message_of(load_dataset, f"images:{loose}") == (
        f"images:{loose}: 3 images but no class folders. {LAYOUT}: move the images into a folder named after their "
        "class, even for a single class."
    )
    files = tmp_path / "files"
    files.mkdir()
    (files / "readme.md").write_text("x")
    assert message_of(load_dataset, f"images:{files}") == (
        f"images:{files}: no class folders (it holds 1 file and no folders). {LAYOUT}."
    )


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("bad.png", b"\x89PNG\r\n\x1a\nthis is not a png", "not an image file Pillow can read"),
        ("empty.png", b"", "not an image file Pillow can read"),
        ("cut.jpg", encoded((6, 6), "JPEG")[:300], "Truncated File Read"),
        ("cut.png", encoded((6, 6), "PNG")[:80], "image file is truncated"),
    ],
)
def test_images_corrupt_file(tmp_path, name, content, reason) -> None:
    write_images(tmp_path, {"a": 2, "b": 1})
    (tmp_path / "b" / name).write_bytes(content)
    assert message_of(load_dataset, f"images:{tmp_path}") == (
        f"{tmp_path / 'b' / name}: cannot read this image ({reason}). Replace or delete it: every {SUFFIXES} file in a "
        "class folder is read as an image."
    )


def test_images_unlistable_folder(tmp_path, monkeypatch) -> None:
    write_images(tmp_path, {"a": 1, "b": 1})
    lister = pathlib.Path.iterdir

    def refuse(self: Path):  # chmod does not stop root: refuse like the OS would
        if self.name == "b":
            raise PermissionError(13, "Permission denied", str(self))
        return lister(self)

    monkeypatch.setattr(pathlib.Path, "iterdir", refuse)
    assert message_of(load_dataset, f"images:{tmp_path}") == (
        f"images:{tmp_path / 'b'}: cannot list this folder (Permission denied). Make it readable (chmod -R u+rX), or "
        "copy the images somewhere readable."
    )


def test_images_skip_hidden_entries(tmp_path) -> None:
    write_images(tmp_path, {"a": 2, "b": 1})
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / "a" / "._0.png").write_bytes(b"macOS resource fork")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"finder")
    (tmp_path / "a" / "folder.png").mkdir()
    dataset = load_dataset(f"images:{tmp_path}")
    assert dataset.class_names == ("a", "b") and dataset.train.y.tolist() == [0, 0, 1]


def test_images_splits_share_one_size_and_color_mode(tmp_path) -> None:
    write_images(tmp_path / "train", {"a": 1, "b": 1})
    write_images(tmp_path / "test", {"a": 1}, size=(8, 8), mode="RGB")
    assert message_of(load_dataset, f"images:{tmp_path}") == (
        f"images:{tmp_path}: the images have different sizes (6x6, 8x8). Pass --resize to resize them all to the "
        "blueprint's input size, or make them one size."
    )
    assert message_of(load_dataset, f"images:{tmp_path}", resize=True) == (
        f"images:{tmp_path}: the images have different sizes (6x6, 8x8). Pass input_shape=(height, width, channels) "
        "with resize=True, or make them one size."
    )
    dataset = load_dataset(f"images:{tmp_path}", input_shape=(6, 6, 1), resize=True)
    assert dataset.train.x.shape == (2, 6, 6, 3) and dataset.test.x.shape == (1, 6, 6, 3)


# -- 4. class counts against the head ---------------------------------------------------------------------


def test_fewer_classes_than_the_head_is_a_warning(tmp_path) -> None:
    write_images(tmp_path, {"cat": 3})
    one_class = load_dataset(f"images:{tmp_path}")
    with pytest.warns(DataWarning) as record:
        fitted = fit_to_input(one_class, (6, 6, 1), 10, blueprint_name="blueprint 'tiny'")
    assert fitted is one_class and len(record) == 1 and record[0].filename == __file__
    assert str(record[0].message) == (
        f"data 'images:{tmp_path}' has 1 class (cat) but blueprint 'tiny' has 10 outputs: with one class the model can "
        "only learn to predict 'cat'. Add the other classes to the data (a folder per class for images:DIR), or ignore "
        "this if it is intended."
    )
    digits = load_dataset("digits")
    with pytest.warns(DataWarning) as record:
        fit_to_input(digits, (8, 8, 1), 1000, blueprint_name="blueprint 'big'")
    assert str(record[0].message) == (
        "data 'digits' has 10 classes (0, 1, 2, 3, 4, ...) but blueprint 'big' has 1000 outputs: outputs 10..999 get "
        "no training images. Set head.classes: 10 in the blueprint, or ignore this if the head is meant to be larger "
        "than the data."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_to_input(digits, (8, 8, 1), 10)


def test_more_classes_than_the_head_is_an_error(tmp_path) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, x=X, y=[0, 4])
    assert message_of(fit_to_input, load_dataset(f"npz:{path}"), (4, 4, 1), 3, blueprint_name="blueprint 'x'") == (
        f"data 'npz:{path}' has 5 classes (labels 0..4) but blueprint 'x' has 3 outputs. Set head.classes: 5 in the "
        "blueprint."
    )


@pytest.mark.parametrize(
    "dataset, message",
    [
        (
            Dataset("mine", Split(np.zeros((0, 4, 4, 1)), np.zeros(0, dtype="int64")), None, ("a",)),
            "data 'mine': the train split holds no images. Expected at least one.",
        ),
        (
            Dataset(
                "mine",
                Split(np.zeros((2, 4, 4, 1)), np.zeros(2, dtype="int64")),
                Split(np.zeros((1, 5, 5, 1)), np.zeros(1, dtype="int64")),
                ("a",),
            ),
            "data 'mine': the test split holds 5x5x1 images and the train split 4x4x1; every split must have the "
            "same image size.",
        ),
        (
            Dataset("mine", Split(np.zeros((2, 4, 4)), np.zeros(2, dtype="int64")), None, ("a",)),
            "data 'mine': the train split must hold images as a real-number array (N, height, width, channels). "
            "Received: shape (2, 4, 4), dtype float64",
        ),
        (
            Dataset("mine", Split(np.zeros((2, 4, 4, 1)), np.zeros(3, dtype="int64")), None, ("a",)),
            "data 'mine': the train split must hold one integer label per image: 2 images. Received: labels of shape "
            "(3,), dtype int64",
        ),
    ],
    ids=["empty", "sizes", "ndim", "labels"],
)
def test_datasets_built_in_python_are_checked(dataset, message) -> None:
    assert message_of(fit_to_input, dataset, (4, 4, 1), 1) == message


# -- keras.datasets, offline -------------------------------------------------------------------------------


@pytest.fixture
def keras_cache(monkeypatch, tmp_path) -> Path:
    import keras.src.backend.config as keras_config

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    return tmp_path / "datasets"


OTHER_WAYS = (
    "supply the data yourself with --data npz:FILE (arrays x, y and optionally x_test, y_test). Offline "
    "datasets: --data digits, --data shapes."
)


def test_refused_connection_reads_as_offline(monkeypatch, keras_cache) -> None:
    import keras.src.utils.file_utils as file_utils

    def refused(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(file_utils, "urlretrieve", refused)
    assert message_of(load_dataset, "cifar10") == (
        "could not download the 'cifar10' dataset: this machine looks offline (Connection refused). keras.datasets "
        f"downloads it on first use and caches it in {keras_cache}: connect to the internet and run again (once is "
        f"enough), copy a cached download into that folder from another machine, or {OTHER_WAYS}"
    )


def test_damaged_download_is_not_called_offline(monkeypatch, keras_cache) -> None:
    import keras.src.utils.file_utils as file_utils

    def junk(url: str, target: str, *args: object) -> None:
        Path(target).write_bytes(b"an error page, not mnist.npz")

    monkeypatch.setattr(file_utils, "urlretrieve", junk)
    assert message_of(load_dataset, "mnist") == (
        f"could not load the 'mnist' dataset: keras.datasets downloads it on first use and caches it in {keras_cache}, "
        "and that failed (Incomplete or corrupted file detected. The auto file hash does not match the provided value "
        "of 731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1.). Check that the folder is writable, "
        f"delete a damaged download there to fetch it again, or {OTHER_WAYS}"
    )


def test_http_error_is_not_called_offline(monkeypatch, keras_cache) -> None:
    import keras.src.utils.file_utils as file_utils

    def not_found(url: str, *args: object) -> None:
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)  # type: ignore[arg-type]

    monkeypatch.setattr(file_utils, "urlretrieve", not_found)
    assert message_of(load_dataset, "fashion_mnist").startswith("could not load the 'fashion_mnist' dataset: ")


# -- shapes, specifications, splits -------------------------------------------------------------------------


def test_other_user_input(monkeypatch) -> None:
    assert (
        message_of(load_dataset, "shapes:²")
        == "data 'shapes:N' needs a positive number of images. Received: 'shapes:²'"
    )
    assert message_of(load_dataset, Path("data.npz")) == (
        "data must be a name such as 'digits', 'npz:FILE' or 'images:DIR' (or a Dataset where the Python API accepts "
        f"one). Received: {Path('data.npz')!r}"
    )
    monkeypatch.setattr(builtin_data, "_physical_memory", lambda: 2**30)
    assert message_of(load_dataset, "shapes:100000000", input_shape=(32, 32, 3)) == (
        "data 'shapes:100000000': 125,000,000 images of 32x32x3 need 1,430.5 GiB of memory and this machine has 1.0 "
        "GiB. Ask for fewer images (shapes:N)."
    )
    assert message_of(generate_shapes, 4, 8, 8, 1, classes=0) == (
        "shapes has 10 classes (circle, square, triangle, plus, cross, ring, diamond, frame, horizontal_bar, "
        "vertical_bar). Received: classes=0"
    )
    assert message_of(generate_shapes, -1, 8, 0, 1) == (
        "shapes needs a count of 0 or more and a height, width and channel count of 1 or more. Received: count=-1, "
        "height=8, width=0, channels=1"
    )
    digits = load_dataset("digits")
    assert message_of(split_validation, digits, float("nan"), 0) == (
        "validation_split must be at least 0 and below 1. Received: nan"
    )


# -- predict: images and .npy arrays ---------------------------------------------------------------------


def saved_npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def nan_npy() -> bytes:
    array = np.zeros((2, 4, 4, 1))
    array[1, 0, 0, 0] = array[1, 1, 1, 0] = np.nan
    return saved_npy(array)


PASS_IMAGES = "Pass png/jpg images or an .npy array."


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "bad.png",
            b"\x89PNG\r\n\x1a\nthis is not a png",
            f"cannot read this image (not an image file Pillow can read). {PASS_IMAGES}",
        ),
        ("cut.png", encoded((6, 6), "PNG")[:80], f"cannot read this image (image file is truncated). {PASS_IMAGES}"),
        ("cut.jpg", encoded((6, 6), "JPEG")[:300], f"cannot read this image (Truncated File Read). {PASS_IMAGES}"),
        (
            "line.npy",
            saved_npy(np.zeros(5)),
            "expected an image (H, W), (H, W, C) or images (N, H, W, C). Received: shape (5,)",
        ),
        (
            "none.npy",
            saved_npy(np.zeros((0, 4, 4, 1))),
            "holds no pixels (shape (0, 4, 4, 1)). Pass at least one image of at least 1x1 pixel.",
        ),
        (
            "complex.npy",
            saved_npy(np.zeros((4, 4), dtype="complex64")),
            "is complex (complex64); images must be real numbers. Save the real part (x.real) or the magnitude "
            "(np.abs(x)).",
        ),
        (
            "text.npy",
            saved_npy(np.full((4, 4), "a")),
            "holds <U1 values, not numbers. Images must be uint8 (0..255) or floats (0..1).",
        ),
        ("nan.npy", nan_npy(), f"has 2 NaN or infinite values (the first in image 1). {FIX_PIXELS}"),
        (
            "object.npy",
            saved_npy(np.array([{}, 1], dtype=object), allow_pickle=True),
            "holds Python objects (dtype=object); archbuilder loads .npy files with allow_pickle=False because "
            f"unpickling can run code. Save a numeric array: {NPY_SAVE}, e.g. images.astype('uint8').",
        ),
        ("archive.npy", COMPRESSED, f"is an .npz archive, not an .npy array. Pass one array saved with {NPY_SAVE}."),
        ("junk.npy", b"hello", f"is not a NumPy .npy array (no .npy header). Pass one array saved with {NPY_SAVE}."),
        ("empty.npy", b"", f"is empty (0 bytes). Pass one array saved with {NPY_SAVE}."),
        (
            "cut.npy",
            saved_npy(np.zeros((10, 8, 8)))[:300],
            "cannot read it as a NumPy .npy array (Failed to read all data for array. Expected (10, 8, 8) = 640 "
            "elements, could only read 21 elements. (file seems not fully written?)); it may be truncated or "
            f"damaged. Write it again with {NPY_SAVE}.",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None,
)
def test_predict_reads_hostile_files(tmp_path, name, content, message) -> None:
    from archbuilder.training.prediction import read_images

    path = tmp_path / name
    path.write_bytes(content)
    assert message_of(read_images, str(path), channels=1) == f"{path}: {message}"


def test_predict_folder_and_good_files(tmp_path) -> None:
    from archbuilder.training.prediction import read_images

    assert message_of(read_images, str(tmp_path), channels=1) == (
        f"{tmp_path}: is a folder. Pass png/jpg images or an .npy array (e.g. {tmp_path}/*.png)."
    )
    (tmp_path / "ok.npy").write_bytes(saved_npy(np.full((3, 5), 255, dtype="uint8")))
    assert read_images(str(tmp_path / "ok.npy"), channels=1).tolist() == np.ones((1, 3, 5, 1)).tolist()
