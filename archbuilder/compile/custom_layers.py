"""Layers Keras lacks. Each is registered so a saved ``.keras`` file loads with plain
``keras.saving.load_model`` and no ``custom_objects``."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="archbuilder")
class LocalResponseNormalization(keras.layers.Layer):
    """Across-channel local response normalization (Krizhevsky et al., 2012).

    ``b_c = a_c / (bias + alpha * sum_{c' in window(c)} a_c'^2) ** beta`` with a window of
    ``size`` channels centred on ``c`` (the paper's n=5, k=2, alpha=1e-4, beta=0.75).
    """

    def __init__(
        self, size: int = 5, bias: float = 2.0, alpha: float = 1e-4, beta: float = 0.75, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"size must be a positive odd number. Received: size={size}")
        self.size = size
        self.bias = bias
        self.alpha = alpha
        self.beta = beta

    def call(self, inputs: Any) -> Any:
        radius = self.size // 2
        channels = inputs.shape[-1]
        squared = ops.square(inputs)
        padded = ops.pad(squared, [[0, 0]] * (len(inputs.shape) - 1) + [[radius, radius]])
        window_sum = padded[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + padded[..., offset : offset + channels]
        return inputs / ops.power(self.bias + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "bias": self.bias, "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="archbuilder")
class Normalization(keras.layers.Normalization):
    """Keras's ``Normalization`` whose mean and variance are read from its weights at every call.

    Keras's layer caches them when it is built or loaded, so ``model.set_weights(...)`` (transfer
    learning, copying weights between models) would leave it normalizing with the old values.
    """

    def call(self, inputs: Any) -> Any:
        if self.input_mean is not None:
            return super().call(inputs)
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        mean = ops.cast(ops.reshape(self.adapt_mean, self._broadcast_shape), self.compute_dtype)
        variance = ops.cast(ops.reshape(self.adapt_variance, self._broadcast_shape), self.compute_dtype)
        return ops.divide(ops.subtract(inputs, mean), ops.maximum(ops.sqrt(variance), keras.backend.epsilon()))


@keras.saving.register_keras_serializable(package="archbuilder")
class ImagenetPreprocessing(keras.layers.Layer):
    """``keras.applications.imagenet_utils.preprocess_input`` as a layer (channels-last RGB in [0, 255]).

    ``caffe``: RGB to BGR, then minus the ImageNet mean (VGG, ResNet); ``tf``: to [-1, 1]
    (ResNetV2, MobileNet); ``torch``: to [0, 1], minus the mean, over the std (DenseNet).
    """

    CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
    TORCH_MEAN = (0.485, 0.456, 0.406)
    TORCH_STD = (0.229, 0.224, 0.225)

    def __init__(self, mode: str = "caffe", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("caffe", "tf", "torch"):
            raise ValueError(f"mode must be 'caffe', 'tf' or 'torch'. Received: mode={mode!r}")
        self.mode = mode

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(self.TORCH_MEAN, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(self.TORCH_STD, dtype=self.compute_dtype)
            return (x / 255.0 - mean) / std
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(self.CAFFE_MEAN_BGR, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}
