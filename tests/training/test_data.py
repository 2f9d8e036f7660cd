"""Every dataset loader (keras.datasets through fakes, and their offline error), the checks against
the blueprint, resizing on request, validation splits and pixel scaling."""

from __future__ import annotations

import socket
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from archbuilder.training.data import (
    Dataset,
    Split,
    fit_to_input,
    load_dataset,
    scale_pixels,
    split_validation,
)
from archbuilder.training.errors import DataError
from archbuilder.training.shapes import SHAPE_NAMES, generate_shapes


def test_digits_is_embedded_with_a_fixed_test_split() -> None:
    digits = load_dataset("digits")
    assert digits.image_shape == (8, 8, 1) and digits.classes == 10
    assert (len(digits.train), len(digits.test)) == (1438, 359)
    assert digits.train.x.dtype == np.float32 and digits.train.x.min() == 0.0 and digits.train.x.max() == 1.0
    assert sorted(set(digits.test.y.tolist())) == list(range(10))
    again = load_dataset("digits", seed=5)  # the test split does not move with the training seed
    np.testing.assert_array_equal(again.test.y, digits.test.y)


@pytest.mark.parametrize("shape", [(32, 32, 3), (40, 24, 1), (64, 64, 5)])
def test_shapes_any_size_and_channels_deterministic_per_seed(shape) -> None:
    x, y = generate_shapes(50, *shape, seed=1)
    assert x.shape == (50, *shape) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert np.bincount(y).tolist() == [5] * 10
    x_again, y_again = generate_shapes(50, *shape, seed=1)
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(generate_shapes(50, *shape, seed=2)[0], x)


def test_shapes_dataset_follows_the_blueprint() -> None:
    dataset = load_dataset("shapes:80", input_shape=(24, 24, 2), classes=4, seed=3)
    assert dataset.name == "shapes:80" and dataset.image_shape == (24, 24, 2)
    assert (len(dataset.train), len(dataset.test)) == (80, 20)
    assert dataset.class_names == SHAPE_NAMES[:4] == ("circle", "square", "triangle", "plus")
    assert set(dataset.train.y.tolist()) == {0, 1, 2, 3}
    assert load_dataset("shapes", input_shape=(8, 8, 1)).image_shape == (8, 8, 1)
    assert len(load_dataset("shapes", input_shape=(8, 8, 1), classes=1000).class_names) == 10


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            "digit",
            "unknown data 'digit'. Did you mean 'digits'? Known: digits, shapes, mnist, fashion_mnist, cifar10, "
            "cifar100, images:DIR, npz:FILE.",
        ),
        (
            "imagenet",
            "unknown data 'imagenet'. Did you mean 'images'? Known: digits, shapes, mnist, fashion_mnist, cifar10, "
            "cifar100, images:DIR, npz:FILE.",
        ),
        ("shapes:many", "data 'shapes:N' needs a positive number of images. Received: 'shapes:many'"),
        ("npz", "data 'npz' needs an argument: --data npz:FILE"),
        ("images", "data 'images' needs an argument: --data images:DIR"),
        ("digits:all", "data 'digits' takes no argument. Received: --data digits:all"),
    ],
)
def test_bad_specifications(spec, message) -> None:
    with pytest.raises(DataError) as error:
        load_dataset(spec)
    assert str(error.value) == message


# -- keras.datasets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, train_shape, label_shape, expected_shape, class_names",
    [
        ("mnist", (6, 28, 28), (6,), (28, 28, 1), ("0", "1", "2")),
        ("fashion_mnist", (6, 28, 28), (6,), (28, 28, 1), ("t-shirt", "trouser", "pullover")),
        ("cifar10", (6, 32, 32, 3), (6, 1), (32, 32, 3), ("airplane", "automobile", "bird")),
        ("cifar100", (6, 32, 32, 3), (6, 1), (32, 32, 3), ("0", "1", "2")),
    ],
)
def test_keras_datasets(monkeypatch, name, train_shape, label_shape, expected_shape, class_names) -> None:
    import keras

    calls = []

    def fake_load_data(**options: object):
        calls.append(options)
        x = np.full(train_shape, 255, dtype="uint8")
        y = (np.arange(6) % 3).reshape(label_shape).astype("uint8")
        return (x, y), (x[:2], y[:2])

    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", fake_load_data)
    dataset = load_dataset(name)
    assert dataset.image_shape == expected_shape and dataset.train.x.max() == 1.0
    assert dataset.train.y.tolist() == [0, 1, 2, 0, 1, 2] and dataset.test.y.shape == (2,)
    assert dataset.class_names[:3] == class_names
    assert calls == ([{"label_mode": "fine"}] if name == "cifar100" else [{}])


def test_offline_download_is_a_clear_error(monkeypatch, tmp_path) -> None:
    """The real keras.datasets path with an empty cache and no network (name resolution fails): the
    downloader is patched, so nothing touches the network."""
    import keras.src.backend.config as keras_config
    import keras.src.utils.file_utils as file_utils

    def no_network(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    monkeypatch.setattr(file_utils, "urlretrieve", no_network)
    with pytest.raises(DataError) as error:
        load_dataset("mnist")
    assert str(error.value) == (
        "could not download the 'mnist' dataset: this machine looks offline (URL fetch failure on "
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz: None -- [Errno -3] Temporary failure "
        f"in name resolution). keras.datasets downloads it on first use and caches it in {tmp_path / 'datasets'}: "
        "connect to the internet and run again (once is enough), copy a cached download into that folder from "
        "another machine, or supply the data yourself with --data npz:FILE (arrays x, y and optionally x_test, "
        "y_test). Offline datasets: --data digits, --data shapes."
    )


# -- images:DIR --------------------------------------------------------------------------------------


def write_images(folder: Path, classes: dict[str, int], size: tuple[int, int] = (12, 10), mode: str = "L") -> None:
    for index, (name, count) in enumerate(classes.items()):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for number in range(count):
            color = 40 * index + number if mode == "L" else (40 * index, number, 200)
            Image.new(mode, size, color).save(folder / name / f"{number}.png")


def test_images_folder_per_class(tmp_path) -> None:
    write_images(tmp_path, {"dog": 2, "cat": 3})
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    dataset = load_dataset(f"images:{tmp_path}")
    assert dataset.class_names == ("cat", "dog") and dataset.test is None
    assert dataset.image_shape == (10, 12, 1)
    assert dataset.train.y.tolist() == [0, 0, 0, 1, 1]
    assert dataset.train.x[:, 0, 0, 0].tolist() == pytest.approx([40 / 255, 41 / 255, 42 / 255, 0.0, 1 / 255])


def test_images_with_train_test_and_val_folders_in_color(tmp_path) -> None:
    for split, count in (("train", 3), ("test", 2), ("val", 1)):
        write_images(tmp_path / split, {"a": count, "b": count}, size=(6, 6), mode="RGB")
    dataset = load_dataset(f"images:{tmp_path}")
    assert dataset.image_shape == (6, 6, 3)
    assert (len(dataset.train), len(dataset.test), len(dataset.validation)) == (6, 4, 2)
    assert dataset.train.x[0, 0, 0].tolist() == pytest.approx([0.0, 0.0, 200 / 255])


def test_images_of_mixed_sizes_need_resize(tmp_path) -> None:
    write_images(tmp_path, {"a": 1}, size=(8, 8))
    write_images(tmp_path, {"b": 1}, size=(16, 12))
    with pytest.raises(DataError) as error:
        load_dataset(f"images:{tmp_path}", input_shape=(8, 8, 1))
    assert str(error.value) == (
        f"images:{tmp_path}: the images have different sizes (8x8, 12x16). Pass --resize to "
        "resize them all to the blueprint's input size, or make them one size."
    )
    resized = load_dataset(f"images:{tmp_path}", input_shape=(8, 8, 1), resize=True)
    assert resized.image_shape == (8, 8, 1)


@pytest.mark.parametrize(
    "layout, message",
    [
        (
            "missing",
            "images:{root}/missing: no such folder. Expected a folder per class (DIR/cat/*.png, DIR/dog/*.png).",
        ),
        (
            "empty",
            "images:{root}/empty: the folder is empty. Expected a folder per class (DIR/cat/*.png, DIR/dog/*.png).",
        ),
        ("no_images", "images:{root}/no_images: no images (.png, .jpg, .jpeg, .bmp, .gif) in its class folders."),
        (
            "extra_class",
            "images:{root}/extra_class/test: class folders zebra are not in the training set's classes (a).",
        ),
    ],
)
def test_images_errors(tmp_path, layout, message) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "no_images" / "a").mkdir(parents=True)
    write_images(tmp_path / "extra_class" / "train", {"a": 1})
    write_images(tmp_path / "extra_class" / "test", {"zebra": 1})
    with pytest.raises(DataError) as error:
        load_dataset(f"images:{tmp_path / layout}")
    assert str(error.value) == message.format(root=tmp_path)


# -- npz:FILE ----------------------------------------------------------------------------------------


def test_npz_with_test_and_validation_arrays(tmp_path) -> None:
    path = tmp_path / "data.npz"
    x = np.full((4, 5, 5), 255, dtype="uint8")
    np.savez(
        path,
        x=x,
        y=np.array([0, 1, 2, 1]),
        x_test=x[:2],
        y_test=np.eye(3)[[2, 0]],
        x_val=np.zeros((1, 5, 5, 1), dtype="float32"),
        y_val=np.array([1.0]),
    )
    dataset = load_dataset(f"npz:{path}")
    assert dataset.image_shape == (5, 5, 1) and dataset.train.x.max() == 1.0 and dataset.classes == 3
    assert dataset.test.y.tolist() == [2, 0] and dataset.validation.y.tolist() == [1]


@pytest.mark.parametrize(
    "arrays, message",
    [
        (
            {"images": np.zeros((2, 4, 4))},
            "npz:{path}: expected arrays 'x' (images) and 'y' (labels), optionally x_test, "
            "y_test, x_val, y_val. Received: images. Save them with np.savez(FILE, "
            "x=images, y=labels).",
        ),
        (
            {"x": np.zeros((2, 4)), "y": np.zeros(2)},
            "npz:{path}: 'x' must be images (N, height, width) or (N, height, width, channels). Received: shape (2, 4)",
        ),
        (
            {"x": np.zeros((2, 4, 4)), "y": np.zeros(3)},
            "npz:{path}: 'y' holds 3 labels (shape (3,)) for the 2 images of 'x'. Expected one label per image.",
        ),
        (
            {"x": np.zeros((2, 4, 4)), "y": np.zeros(2), "x_test": np.zeros((1, 4, 4))},
            "npz:{path}: 'y_test' is missing (it goes with 'x_test').",
        ),
    ],
)
def test_npz_errors(tmp_path, arrays, message) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as error:
        load_dataset(f"npz:{path}")
    assert str(error.value) == message.format(path=path)


def test_npz_unreadable(tmp_path) -> None:
    path = tmp_path / "broken.npz"
    path.write_text("not a zip")
    with pytest.raises(DataError) as error:
        load_dataset(f"npz:{path}")
    assert str(error.value) == (
        f"npz:{path}: not a NumPy .npz archive (it does not start like a zip file). Expected a "
        "NumPy .npz archive: save the data with np.savez(FILE, x=images, y=labels)."
    )


# -- fitting the data to the blueprint --------------------------------------------------------------


def tiny_dataset(shape: tuple[int, int, int], labels: list[int] | None = None) -> Dataset:
    y = np.array(labels or [0, 1, 2])
    x = np.random.default_rng(0).uniform(0, 1, (len(y), *shape)).astype("float32")
    return Dataset("tiny", Split(x, y), Split(x[:1], y[:1]), ("a", "b", "c"))


@pytest.mark.parametrize(
    "have, want, message",
    [
        (
            (8, 8, 1),
            (32, 32, 1),
            "data 'tiny' has 8x8x1 images but blueprint 'lenet5' expects 32x32x1. Pass --resize "
            "(resize=True in Python) to resize them to 32x32, or train a blueprint whose input is [8, 8, 1].",
        ),
        (
            (32, 32, 1),
            (32, 32, 3),
            "data 'tiny' has 32x32x1 images but blueprint 'lenet5' expects 32x32x3. Pass --resize "
            "(resize=True in Python) to repeat their channel, or train a blueprint whose input is "
            "[32, 32, 1].",
        ),
        (
            (28, 28, 3),
            (32, 32, 1),
            "data 'tiny' has 28x28x3 images but blueprint 'lenet5' expects 32x32x1. Pass --resize "
            "(resize=True in Python) to resize them to 32x32 and convert their 3 channels to 1, or "
            "train a blueprint whose input is [28, 28, 3].",
        ),
    ],
)
def test_mismatch_says_how_to_fix_it(have, want, message) -> None:
    with pytest.raises(DataError) as error:
        fit_to_input(tiny_dataset(have), want, 3, blueprint_name="blueprint 'lenet5'")
    assert str(error.value) == message


def test_resize_and_channel_conversion_on_request() -> None:
    grown = fit_to_input(tiny_dataset((8, 8, 1)), (32, 32, 3), 3, resize=True)
    assert grown.image_shape == (32, 32, 3) and grown.test.x.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(grown.train.x[..., 0], grown.train.x[..., 2])
    gray = fit_to_input(tiny_dataset((8, 8, 3)), (8, 8, 1), 3, resize=True)
    assert gray.image_shape == (8, 8, 1)
    with pytest.raises(DataError) as error:
        fit_to_input(tiny_dataset((8, 8, 4)), (8, 8, 3), 3, resize=True, blueprint_name="blueprint 'x'")
    assert str(error.value) == (
        "data 'tiny' has 4 channels and blueprint 'x' expects 3: --resize converts 1 channel "
        "to any count and 3 (RGB) to 1 only."
    )


def test_labels_must_fit_the_head() -> None:
    with pytest.raises(DataError) as error:
        fit_to_input(tiny_dataset((8, 8, 1), [0, 1, 11]), (8, 8, 1), 10, blueprint_name="blueprint 'lenet5'")
    assert str(error.value) == (
        "data 'tiny' has 12 classes (labels 0..11) but blueprint 'lenet5' has 10 outputs. "
        "Set head.classes: 12 in the blueprint."
    )


def test_validation_split_and_pixel_range() -> None:
    digits = load_dataset("digits")
    split = split_validation(digits, 0.1, seed=0)
    assert (len(split.train), len(split.validation)) == (1294, 144)
    assert split_validation(digits, 0.1, seed=0).validation.y.tolist() == split.validation.y.tolist()
    assert split_validation(digits, 0.1, seed=1).validation.y.tolist() != split.validation.y.tolist()
    assert split_validation(digits, 0.0, seed=0).validation is None
    assert split_validation(split, 0.5, seed=0) is split  # a given validation set is kept
    with pytest.raises(DataError) as error:
        split_validation(tiny_dataset((2, 2, 1)), 0.1, seed=0)
    assert str(error.value) == (
        "validation_split=0.1 of 3 training images leaves 0 for validation; use a split that "
        "keeps images on both sides, or 0 for none."
    )
    scaled = scale_pixels(digits, (0.0, 255.0))
    assert scaled.train.x.max() == 255.0 and scaled.test.x.max() == 255.0
    assert scale_pixels(digits, (0.0, 1.0)) is digits
