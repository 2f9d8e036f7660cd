"""Zoo entries with pretrained weights: ``create_model("mobilenet", weights="imagenet", classes=10)``.

The 17 zoo entries listed in :data:`archbuilder.blueprint.applications.APPLICATIONS` are twins of
``keras.applications`` networks: the same layers with weights, in the same order, with the same
shapes (tests/zoo/test_keras_applications.py loads Keras's weights in order and checks the
predictions agree). This module reuses that verified transfer instead of inventing another one:

- the weights come from ``keras.applications.<Name>`` itself: ``weights="imagenet"`` goes through
  its own download and cache (``~/.keras/models``), a file through its own ``load_weights``
  (``.h5`` as keras.applications downloads them, ``.weights.h5`` as ``save_weights`` writes
  them), or a ``.keras`` model of the same application (archbuilder's or Keras's);
- they are copied in order, layer with weights by layer with weights, as the zoo test does, but one
  layer at a time, so that the body (what ``include_top=False`` keeps, whose convolutional weights
  fit any input size) is told apart from the top (the classifier, and VGG's FC layers) and the
  report says what was loaded and what was not, like ``--init-weights``
  (:class:`archbuilder.training.transfer.TransferReport`) does for weights matched by name;
- the blueprint is the zoo's, resolved, with a new ``classes`` (the top then keeps its fresh
  initialization), a new input size (allowed from keras.applications' smallest side up, with 3
  channels; VGG's FC layers after the Flatten depend on it, so its top is then replaced too) and,
  for training, the application's ``preprocess_input`` as the model's first layer (the
  ``imagenet_preprocessing`` layer a ``backbone:`` blueprint uses).

One difference is Keras's own: with ``weights="imagenet"`` only, keras.applications' EfficientNets
add a per-channel ``Rescaling`` after their ``Normalization`` (a blueprint cannot express it, and
it holds no weights). Loading ImageNet weights folds it into the ``Normalization``'s variance, so
the model predicts as ``keras.applications.EfficientNetB0(weights="imagenet")`` does; a weights file
passed by path is recognized as the ImageNet file by its hash and treated the same way.

Errors are :class:`archbuilder.compile.builders.BuildError` (an ``ArchbuilderError``: one line).

The package, a module per concern: :mod:`~archbuilder.pretrained.twins` (the twins' names and
blueprints), :mod:`~archbuilder.pretrained.weights` (where the weights come from: the ImageNet
download or a file) and :mod:`~archbuilder.pretrained.transfer` (copying them into the model,
``create_model``, the report).
"""

from __future__ import annotations

from archbuilder.pretrained.transfer import PretrainedReport, create_model, load_pretrained, pretrained_model
from archbuilder.pretrained.twins import TWINS, application_of, pretrained_blueprint, training_blueprint

__all__ = [
    "TWINS",
    "PretrainedReport",
    "application_of",
    "create_model",
    "load_pretrained",
    "pretrained_blueprint",
    "pretrained_model",
    "training_blueprint",
]
