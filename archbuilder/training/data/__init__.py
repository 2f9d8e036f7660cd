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
``resize=True`` (``--resize``) asks for it. This package imports Keras only to download the
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

The modules, one concern each (everything below is re-exported here):

===============  ================================================================================
``dataset``      :class:`Split`, :class:`Dataset`, :class:`LoadOptions`, :class:`DataWarning`
``loading``      :func:`load_dataset`, :func:`parse_spec` and the table of loaders (``DATASETS``)
``builtin``      ``digits``, ``shapes`` and the keras.datasets (download errors, cache folder)
``folders``      ``images:DIR``
``npz``          ``npz:FILE``
``fitting``      :func:`fit_to_input`, :func:`split_validation`, :func:`scale_pixels`, resizing
===============  ================================================================================

``digits.csv.gz`` (see ``README.md`` next to it) is package data of this package.
"""

from archbuilder.training.data.builtin import KERAS_DATASETS, keras_cache_dir
from archbuilder.training.data.dataset import Dataset, DataWarning, LoadOptions, Split, error_reason
from archbuilder.training.data.fitting import (
    convert_channels,
    fit_to_input,
    resize_images,
    scale_pixels,
    split_validation,
)
from archbuilder.training.data.folders import IMAGE_SUFFIXES, image_problem
from archbuilder.training.data.loading import DATASETS, load_dataset, parse_spec
from archbuilder.training.data.npz import MAX_CLASSES, NPY_MAGIC, to_pixels
from archbuilder.training.errors import DataError

__all__ = [
    "DATASETS",
    "IMAGE_SUFFIXES",
    "KERAS_DATASETS",
    "MAX_CLASSES",
    "NPY_MAGIC",
    "DataError",
    "DataWarning",
    "Dataset",
    "LoadOptions",
    "Split",
    "convert_channels",
    "error_reason",
    "fit_to_input",
    "image_problem",
    "keras_cache_dir",
    "load_dataset",
    "parse_spec",
    "resize_images",
    "scale_pixels",
    "split_validation",
    "to_pixels",
]
