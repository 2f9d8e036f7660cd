"""The keras.applications networks a blueprint can use as its body (``backbone:``), written once.

Each one is a network the zoo reproduces exactly (same layers, same weight order, same parameter
counts as ``keras.applications.<Name>``; tests/zoo/test_keras_applications.py checks it), so the
analyzer can account for a backbone (shapes, parameters, MACs, receptive field) from the zoo
twin without importing Keras. ``preprocessing`` is the mode of the application's own
``preprocess_input`` (``keras.applications.imagenet_utils``): ``caffe`` (RGB to BGR, minus the
ImageNet mean), ``tf`` (to [-1, 1]), ``torch`` (to [0, 1], minus mean, over std), or ``None`` when
the network rescales its input itself (EfficientNet). Every one expects RGB pixels in [0, 255].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias, get_args

from pydantic import Field

PreprocessingMode = Literal["caffe", "tf", "torch"]
PREPROCESSING_MODES: tuple[str, ...] = get_args(PreprocessingMode)


@dataclass(frozen=True)
class Application:
    """A ``keras.applications`` network a blueprint can use (``backbone:``, a ``keras_application`` layer).

    Attributes:
        zoo_twin: The zoo blueprint with the same layers; the backbone is its body (no classifier).
        preprocessing: The mode of its ``preprocess_input`` (None: the network rescales its input itself).
        min_size: The smallest input side ``keras.applications`` accepts with ``include_top=False``.
    """

    zoo_twin: str  # the zoo blueprint with the same layers; the backbone is its body (no classifier)
    preprocessing: PreprocessingMode | None
    min_size: int = 32  # keras.applications' smallest accepted input side (include_top=False)


APPLICATIONS: dict[str, Application] = {
    "VGG16": Application("vgg16", "caffe"),
    "VGG19": Application("vgg19", "caffe"),
    "ResNet50": Application("resnet50", "caffe"),
    "ResNet101": Application("resnet101", "caffe"),
    "ResNet152": Application("resnet152", "caffe"),
    "ResNet50V2": Application("resnet50v2", "tf"),
    "MobileNet": Application("mobilenet", "tf"),
    "MobileNetV2": Application("mobilenet_v2", "tf"),
    "DenseNet121": Application("densenet121", "torch"),
    **{f"EfficientNetB{i}": Application(f"efficientnet_b{i}", None) for i in range(8)},
}

#: The names in APPLICATIONS, as the type of the ``keras_application`` fields (an enum in the schema).
if TYPE_CHECKING:
    # A Literal built at run time is no static type; a checker sees a string (a key of APPLICATIONS).
    ApplicationName: TypeAlias = str
else:
    ApplicationName = Literal[tuple(APPLICATIONS)]

#: ``weights`` values that are not files.
PRETRAINED = "imagenet"
NO_WEIGHTS = "none"

#: The ``weights`` and ``trainable`` fields, shared by ``backbone:`` and the ``keras_application`` layer.
WEIGHTS_FIELD = Field(
    PRETRAINED,
    min_length=1,
    max_length=4096,
    description=(
        "'imagenet' (downloaded once into ~/.keras/models), 'none' (random initialization), or the path of a "
        ".weights.h5 file saved from the same application with include_top=False."
    ),
)
TRAINABLE_FIELD = Field(
    None,
    description="Train its weights (default: false with pretrained weights, true with "
    "weights: none). Pretrained, its BatchNormalization layers stay frozen (inference mode).",
)
