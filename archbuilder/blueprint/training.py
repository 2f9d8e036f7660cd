"""The training recipe: the optional ``training:`` section of a blueprint (Keras's names throughout)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from archbuilder.blueprint.fields import PositiveInt, Rate, Spec

PositiveFloat = Annotated[float, Field(gt=0.0)]
#: Seeds go to NumPy (below 2**32, with offsets added per augmentation layer) and TensorFlow.
MAX_SEED = 2**31 - 1


class Optimizer(Spec):
    """The Keras optimizer and its arguments; options of one optimizer are errors with another."""

    type: Literal["sgd", "adam", "adamw", "rmsprop"] = Field("adam", description="Keras optimizer.")
    learning_rate: float = Field(1e-3, gt=0.0, description="Initial (peak, with warmup) learning rate.")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="sgd and rmsprop momentum.")
    nesterov: bool = Field(False, description="sgd: Nesterov momentum.")
    weight_decay: float | None = Field(None, ge=0.0, description="Decoupled weight decay (Keras optimizer argument).")
    clipnorm: float | None = Field(None, gt=0.0, description="Clip each gradient to this norm.")
    rho: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="rmsprop: discounting factor of the squared-gradient average (Keras default 0.9).",
    )
    epsilon: float | None = Field(
        None, gt=0.0, description="adam, adamw, rmsprop: the optimizer's epsilon (Keras default 1e-7)."
    )

    @model_validator(mode="after")
    def _check(self) -> Optimizer:
        if self.nesterov and self.type != "sgd":
            raise ValueError(f"nesterov applies to sgd only. Received: type={self.type!r}")
        if self.momentum and self.type not in ("sgd", "rmsprop"):
            raise ValueError(f"momentum applies to sgd and rmsprop. Received: type={self.type!r}")
        if self.rho is not None and self.type != "rmsprop":
            raise ValueError(f"rho applies to rmsprop only. Received: type={self.type!r}")
        if self.epsilon is not None and self.type == "sgd":
            raise ValueError("epsilon applies to adam, adamw and rmsprop. Received: type='sgd'")
        return self


class ConstantSchedule(Spec):
    """Keep the learning rate constant."""

    type: Literal["constant"] = "constant"


class StepSchedule(Spec):
    """Multiply the learning rate by ``factor`` every ``step_epochs`` epochs (or at ``milestones``)."""

    type: Literal["step"] = "step"
    step_epochs: PositiveInt | PositiveFloat | None = Field(
        None, description="Decay every this many epochs (may be fractional: EfficientNet's 2.4)."
    )
    milestones: list[PositiveInt] | None = Field(None, description="Decay at these epochs instead.")
    factor: float = Field(0.1, gt=0.0, lt=1.0, description="Multiplier at each step.")

    @model_validator(mode="after")
    def _one_rule(self) -> StepSchedule:
        if (self.step_epochs is None) == (self.milestones is None):
            raise ValueError("a step schedule needs exactly one of step_epochs or milestones")
        return self


class CosineSchedule(Spec):
    """Linear warmup, then cosine decay to ``min_learning_rate`` at the last epoch."""

    type: Literal["cosine"] = "cosine"
    warmup_epochs: float = Field(0.0, ge=0.0, description="Epochs of linear warmup from 0.")
    min_learning_rate: float = Field(0.0, ge=0.0, description="Learning rate at the end.")


class PlateauSchedule(Spec):
    """Divide the learning rate when the monitored metric stalls (the AlexNet/ResNet recipe)."""

    type: Literal["plateau"] = "plateau"
    monitor: str = Field("val_loss", description="Metric watched.")
    factor: float = Field(0.1, gt=0.0, lt=1.0, description="Multiplier when it stalls.")
    patience: PositiveInt = Field(5, description="Epochs without improvement before reducing.")
    min_learning_rate: float = Field(0.0, ge=0.0, description="Lower bound.")


Schedule = Annotated[
    Union[ConstantSchedule, StepSchedule, CosineSchedule, PlateauSchedule], Field(discriminator="type")
]


class Augmentation(Spec):
    """Keras preprocessing layers applied in training only."""

    flip: Literal["horizontal", "vertical", "horizontal_and_vertical"] | None = Field(
        None, description="RandomFlip mode."
    )
    translation: Rate | None = Field(None, description="RandomTranslation height and width factor.")
    rotation: Rate | None = Field(None, description="RandomRotation factor (fraction of 2*pi).")
    zoom: Rate | None = Field(None, description="RandomZoom height factor.")
    contrast: Rate | None = Field(None, description="RandomContrast factor.")
    crop_padding: int | None = Field(
        None, ge=1, le=64, description="Pad by this many pixels then RandomCrop back (CIFAR style)."
    )


class EarlyStopping(Spec):
    """Stop training when the monitored metric stops improving (Keras EarlyStopping)."""

    monitor: str = Field("val_loss", description="Metric watched.")
    patience: PositiveInt = Field(5, description="Epochs without improvement before stopping.")
    restore_best_weights: bool = Field(True, description="Keep the best epoch's weights.")


class Phase(Spec):
    """One phase of a phased run (transfer learning): its epochs, learning rate and frozen parts."""

    epochs: PositiveInt = Field(description="Epochs of this phase.")
    learning_rate: float | None = Field(
        None,
        gt=0.0,
        description="Learning rate of this phase (default: the optimizer's); the schedule restarts in each phase.",
    )
    freeze: list[str] | None = Field(
        None,
        description="Blueprint path patterns frozen in this phase (default: the "
        "recipe's freeze; [] trains everything).",
    )


Metric = Literal["accuracy", "top5"]


def _default_metrics() -> list[Metric]:
    return ["accuracy"]


class TrainingRecipe(Spec):
    """How to train the network; every field can be overridden on the command line."""

    data: str | None = Field(
        None, description="Default dataset (digits, shapes, mnist, cifar10, images:DIR, npz:FILE)."
    )
    optimizer: Optimizer = Field(default_factory=Optimizer, description="Optimizer and its settings.")
    schedule: Schedule = Field(default_factory=ConstantSchedule, description="Learning-rate schedule.")
    batch_size: PositiveInt = Field(32, description="Global batch size.")
    epochs: PositiveInt = Field(10, description="Number of epochs.")
    label_smoothing: Rate = Field(0.0, description="Label smoothing of the cross-entropy.")
    metrics: list[Metric] = Field(default_factory=_default_metrics, description="Metrics reported.")
    augmentation: Augmentation | None = Field(None, description="Training-time augmentation.")
    early_stopping: EarlyStopping | None = Field(None, description="Stop when the metric stalls.")
    validation_split: Rate = Field(0.1, description="Fraction of the training data held out for validation.")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed for data splits, shuffling and initialization.")
    pixel_range: tuple[float, float] = Field(
        (0.0, 1.0),
        description="Range the images' pixels are scaled to before the model: [0, 1], or [0, 255] for "
        "blueprints that rescale their input themselves (a Rescaling stem, as in EfficientNet).",
    )

    init_weights: str | None = Field(
        None,
        description="Start from the weights of this .keras model (or .weights.h5 file beside its "
        "blueprint.yaml), matched by layer name (= blueprint path); layers that are new or do not fit keep their "
        "fresh initialization.",
    )
    freeze: list[str] = Field(
        default_factory=list,
        description="Blueprint path patterns whose layers are not trained: 'stem', "
        "'stages[0:3]', 'stages[*].blocks[0]', 'head' (fnmatch wildcards, Python slices on indices). Frozen "
        "BatchNormalization layers run in inference mode.",
    )
    phases: list[Phase] | None = Field(
        None,
        description="Train in phases (e.g. the new head on frozen features, then fine-tune at a lower "
        "learning rate); the run's epochs are the phases' sum.",
    )
    distribution: Literal["mirrored", "multi_worker", "data_parallel"] | None = Field(
        None,
        description="Data-parallel training: mirrored (TensorFlow, the local devices), multi_worker "
        "(JAX processes joined by the KERAS_DISTRIBUTION_* variables; TensorFlow: one worker only), data_parallel "
        "(JAX, the local devices). batch_size stays the global batch.",
    )

    @model_validator(mode="before")
    @classmethod
    def _phase_epochs(cls, values: Any) -> Any:
        if not isinstance(values, dict) or not values.get("phases"):
            return values
        phases = values["phases"]
        try:
            total = sum(int(p["epochs"] if isinstance(p, dict) else p.epochs) for p in phases)
        except (KeyError, TypeError, ValueError, AttributeError):
            return values  # the field validation reports it
        if values.get("epochs") is not None and values["epochs"] != total:
            raise ValueError(
                f"epochs ({values['epochs']}) must equal the sum of the phases' epochs ({total}), or be left out"
            )
        return {**values, "epochs": total}

    @model_validator(mode="after")
    def _check_range(self) -> TrainingRecipe:
        low, high = self.pixel_range
        if not low < high:
            raise ValueError(f"pixel_range must be [low, high] with low < high. Received: {list(self.pixel_range)}")
        return self
