"""What every loader returns and every check takes: :class:`Split`, :class:`Dataset`, :class:`LoadOptions`.

Also the :class:`DataWarning` category and the helpers the loaders and the checks share. This module
imports NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np


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
        """The images and labels at ``indices`` (an index array or a boolean mask)."""
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
        """``(height, width, channels)`` of the images (every split has the same)."""
        height, width, channels = (int(d) for d in self.train.x.shape[1:])  # NHWC
        return height, width, channels

    @property
    def classes(self) -> int:
        """The number of class names."""
        return len(self.class_names)

    def splits(self) -> dict[str, Split]:
        """The splits present, by name: ``train``, then ``validation`` and ``test`` where they exist."""
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


#: A loader takes the specification's argument (``'500'`` in ``shapes:500``, or None) and the options.
Loader = Callable[[str | None, LoadOptions], Dataset]


def error_reason(error: BaseException) -> str:
    """An exception's message on one line (an OSError's strerror without the repeated path)."""
    text = getattr(error, "strerror", None) if isinstance(error, OSError) else None
    text = " ".join(str(text or error).split())
    return text or type(error).__name__


def shape_text(shape: tuple[int, ...]) -> str:
    """An image shape as messages write it: ``(32, 32, 3)`` -> ``'32x32x3'``."""
    return "x".join(str(d) for d in shape)
