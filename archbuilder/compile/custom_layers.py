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

    Args:
        size: channels in the window (the paper's ``n``), a positive odd number; the window is
            zero-padded at the first and last channels.
        bias: the additive constant (the paper's ``k``).
        alpha: the scale of the sum of squares.
        beta: the exponent.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: ``size`` is not a positive odd number.
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
        """Divides each channel by the windowed sum of squares (channels last)."""
        radius = self.size // 2
        channels = inputs.shape[-1]
        squared = ops.square(inputs)
        padded = ops.pad(squared, [[0, 0]] * (len(inputs.shape) - 1) + [[radius, radius]])
        window_sum = padded[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + padded[..., offset : offset + channels]
        return inputs / ops.power(self.bias + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape: normalization keeps it."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The base config plus ``size``, ``bias``, ``alpha`` and ``beta``."""
        return {**super().get_config(), "size": self.size, "bias": self.bias, "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="archbuilder")
class Normalization(keras.layers.Normalization):
    """Keras's ``Normalization`` whose mean and variance are read from its weights at every call.

    Keras's layer caches them when it is built or loaded, so ``model.set_weights(...)`` (transfer
    learning, copying weights between models) would leave it normalizing with the old values.
    """

    def call(self, inputs: Any) -> Any:
        """Normalizes with the current ``adapt_mean`` and ``adapt_variance`` weights; a layer given
        ``mean`` and ``variance`` arguments behaves as Keras's."""
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

    Args:
        mode: ``"caffe"``, ``"tf"`` or ``"torch"`` (see above), as in Keras's ``preprocess_input``.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: ``mode`` is none of the three.
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
        """Applies the ``mode``'s preprocessing to pixels cast to the compute dtype."""
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(self.TORCH_MEAN, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(self.TORCH_STD, dtype=self.compute_dtype)
            return (x / 255.0 - mean) / std
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(self.CAFFE_MEAN_BGR, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape: preprocessing keeps it."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The base config plus ``mode``."""
        return {**super().get_config(), "mode": self.mode}
