"""Blueprint -> Keras 3 model. Imports Keras; blueprint and analysis never do."""

from archbuilder.compile.builders import BUILDERS
from archbuilder.compile.custom_layers import LocalResponseNormalization
from archbuilder.compile.model import build_block, build_layer, build_model

__all__ = ["BUILDERS", "LocalResponseNormalization", "build_block", "build_layer", "build_model"]
