"""Kernel initializers: a Keras name (``he_normal``) or a configured one (``{type: variance_scaling, ...}``).

The configured kinds are Keras's own classes and arguments: ``variance_scaling`` (EfficientNet's
``scale: 2.0, mode: fan_out``), ``random_normal`` / ``truncated_normal`` (AlexNet's zero-mean
Gaussian with std 0.01), ``random_uniform``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from archbuilder.blueprint.fields import Spec

InitializerName = Literal[
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "zeros",
    "ones",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
]


class VarianceScaling(Spec):
    """``keras.initializers.VarianceScaling``: std = sqrt(scale / n), n from ``mode``."""

    type: Literal["variance_scaling"] = "variance_scaling"
    scale: float = Field(1.0, gt=0.0, description="Scaling factor.")
    mode: Literal["fan_in", "fan_out", "fan_avg"] = Field("fan_in", description="Which fan n counts.")
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform"] = Field(
        "truncated_normal", description="The distribution drawn from."
    )


class Normal(Spec):
    """``keras.initializers.RandomNormal`` / ``TruncatedNormal`` (within two standard deviations)."""

    type: Literal["random_normal", "truncated_normal"]
    mean: float = Field(0.0, description="Mean.")
    stddev: float = Field(0.05, gt=0.0, description="Standard deviation.")


class Uniform(Spec):
    """``keras.initializers.RandomUniform`` on [minval, maxval)."""

    type: Literal["random_uniform"] = "random_uniform"
    minval: float = Field(-0.05, description="Lower bound.")
    maxval: float = Field(0.05, description="Upper bound.")

    @model_validator(mode="after")
    def _check_bounds(self) -> Uniform:
        if not self.minval < self.maxval:
            raise ValueError(f"minval must be below maxval. Received: minval={self.minval}, maxval={self.maxval}")
        return self


ConfiguredInitializer = Annotated[Union[VarianceScaling, Normal, Uniform], Field(discriminator="type")]
#: What a ``kernel_initializer`` field takes.
Initializer = Union[InitializerName, ConfiguredInitializer]

__all__ = ["ConfiguredInitializer", "Initializer", "InitializerName", "Normal", "Uniform", "VarianceScaling"]
