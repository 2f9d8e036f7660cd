"""The table of loaders and :func:`load_dataset`, which reads a data specification (``digits``, ``npz:FILE``...)."""

from __future__ import annotations

from archbuilder.blueprint.errors import did_you_mean
from archbuilder.training.data.builtin import KERAS_DATASETS, keras_dataset_loader, load_digits, load_shapes
from archbuilder.training.data.dataset import Dataset, Loader, LoadOptions
from archbuilder.training.data.folders import load_images
from archbuilder.training.data.npz import load_npz
from archbuilder.training.errors import DataError

#: Each name's loader, and whether it takes an argument after the colon: "none", "optional" or "required".
DATASETS: dict[str, tuple[Loader, str]] = {
    "digits": (load_digits, "none"),
    "shapes": (load_shapes, "optional"),
    **{name: (keras_dataset_loader(name), "none") for name in KERAS_DATASETS},
    "images": (load_images, "required"),
    "npz": (load_npz, "required"),
}


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
        spec: a name, optionally with an argument after a colon (``digits``, ``shapes[:N]``,
            ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``images:DIR``, ``npz:FILE``);
            see :mod:`archbuilder.training.data` for what each reads.
        input_shape: the blueprint's input; ``shapes`` is drawn at this size, ``images:DIR`` with
            images of mixed sizes is resized to it when ``resize`` is true.
        classes: the blueprint's number of classes; ``shapes`` draws min(classes, 10) shapes.
        resize: allow ``images:DIR`` to hold images of different sizes.
        seed: ``shapes`` draws from this seed.

    Returns:
        The :class:`Dataset`: float32 images in [0, 1] (NHWC) and int64 labels, with a test and a
        validation split where the source has them. Nothing is checked against the blueprint yet
        (see :func:`~archbuilder.training.data.fitting.fit_to_input`).

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
