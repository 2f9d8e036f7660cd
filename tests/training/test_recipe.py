"""The recipe is wired, not just accepted: optimizer class and arguments, learning rate at given
steps, callbacks and their arguments, losses, metrics and augmentation layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from archbuilder.blueprint import BlueprintError, load_blueprint
from archbuilder.blueprint.training import Augmentation, TrainingRecipe
from archbuilder.training.callbacks import current_learning_rate
from archbuilder.training.data import Split
from archbuilder.training.errors import RunError
from archbuilder.training.pipeline import create_inputs, tf_dataset
from archbuilder.training.recipe import (
    HeadOutput,
    compile_model,
    create_augmentation,
    create_learning_rate,
    create_loss,
    create_metrics,
    create_optimizer,
    create_recipe_callbacks,
    effective_recipe,
    head_outputs,
    label_encoding,
    metric_key,
)
from tests.training.conftest import TINY

HEAD = [HeadOutput("predictions", "softmax", 10, 1.0)]
WITH_AUX = HEAD + [HeadOutput("aux1", "softmax", 10, 0.3)]


def recipe(**fields: object) -> TrainingRecipe:
    return TrainingRecipe.model_validate(fields)


def rate_at(learning_rate: object, step: int) -> float:
    if isinstance(learning_rate, float):
        return learning_rate
    return float(keras.ops.convert_to_numpy(learning_rate(step)))  # type: ignore[operator]


@pytest.mark.parametrize(
    "spec, optimizer_class, expected",
    [
        (
            {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
            keras.optimizers.SGD,
            {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
        ),
        (
            {"type": "sgd", "learning_rate": 0.01},
            keras.optimizers.SGD,
            {"momentum": 0.0, "nesterov": False, "weight_decay": None},
        ),
        (
            {"type": "adam", "learning_rate": 3e-4, "epsilon": 1e-8, "clipnorm": 1.0},
            keras.optimizers.Adam,
            {"learning_rate": 3e-4, "epsilon": 1e-8, "clipnorm": 1.0},
        ),
        (
            {"type": "adamw", "learning_rate": 1e-3, "weight_decay": 0.05},
            keras.optimizers.AdamW,
            {"weight_decay": 0.05},
        ),
        ({"type": "adamw"}, keras.optimizers.AdamW, {"weight_decay": 0.004}),  # Keras's default
        (
            {"type": "rmsprop", "learning_rate": 0.256, "rho": 0.9, "momentum": 0.9, "epsilon": 0.001},
            keras.optimizers.RMSprop,
            {"learning_rate": 0.256, "rho": 0.9, "momentum": 0.9, "epsilon": 0.001},
        ),
    ],
    ids=["sgd-nesterov", "sgd-plain", "adam", "adamw", "adamw-default-decay", "rmsprop"],
)
def test_optimizer_class_and_arguments(spec, optimizer_class, expected) -> None:
    optimizer = create_optimizer(recipe(optimizer=spec), steps_per_epoch=10)
    assert type(optimizer) is optimizer_class
    config = optimizer.get_config()
    for key, value in expected.items():
        assert config[key] == (pytest.approx(value) if isinstance(value, float) else value), key


STEPS = 10  # steps per epoch in the schedule tables


@pytest.mark.parametrize(
    "schedule, epochs, expected",
    [
        ({"type": "constant"}, 5, {0: 0.1, 49: 0.1}),
        # x0.1 every 2 epochs: epochs 0-1 (steps 0-19) at 0.1, epochs 2-3 at 0.01, epoch 4 at 0.001.
        ({"type": "step", "step_epochs": 2}, 5, {0: 0.1, 19: 0.1, 20: 0.01, 39: 0.01, 40: 0.001}),
        ({"type": "step", "step_epochs": 2.5, "factor": 0.5}, 6, {24: 0.1, 25: 0.05, 50: 0.025}),
        ({"type": "step", "milestones": [3, 5]}, 6, {0: 0.1, 29: 0.1, 30: 0.01, 49: 0.01, 50: 0.001, 59: 0.001}),
        # 1 warmup epoch from 0 to 0.1, then a cosine over the 4 remaining epochs (40 steps) to 0.
        ({"type": "cosine", "warmup_epochs": 1}, 5, {0: 0.0, 5: 0.05, 10: 0.1, 30: 0.05, 50: 0.0}),
        ({"type": "cosine", "min_learning_rate": 0.01}, 4, {0: 0.1, 20: 0.055, 40: 0.01}),
        ({"type": "plateau"}, 5, {0: 0.1, 49: 0.1}),
    ],
    ids=["constant", "step-every-2", "step-fractional", "step-milestones", "cosine-warmup", "cosine-min", "plateau"],
)
def test_learning_rate_at_steps(schedule, epochs, expected) -> None:
    learning_rate = create_learning_rate(
        recipe(optimizer={"learning_rate": 0.1}, schedule=schedule, epochs=epochs), STEPS
    )
    for step, value in expected.items():
        assert rate_at(learning_rate, step) == pytest.approx(value, abs=1e-7), f"step {step}"


def test_the_optimizer_uses_the_schedule_at_its_own_step() -> None:
    optimizer = create_optimizer(
        recipe(
            optimizer={"type": "sgd", "learning_rate": 0.1, "momentum": 0.9},
            schedule={"type": "step", "step_epochs": 1},
            epochs=3,
        ),
        STEPS,
    )
    variable = keras.Variable(np.ones(3, dtype="float32"))
    optimizer.build([variable])
    for _ in range(STEPS):
        optimizer.apply_gradients([(keras.ops.ones(3), variable)])
    assert int(optimizer.iterations) == STEPS
    assert current_learning_rate(optimizer) == pytest.approx(0.01)


def test_plateau_schedule_adds_reduce_lr_on_plateau() -> None:
    callbacks = create_recipe_callbacks(
        recipe(schedule={"type": "plateau", "factor": 0.1, "patience": 3, "min_learning_rate": 1e-5}),
        HEAD,
        has_validation=True,
    )
    [plateau] = callbacks
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.monitor, plateau.factor, plateau.patience, plateau.min_lr) == ("val_loss", 0.1, 3, 1e-5)


def test_early_stopping_and_monitor_names_with_aux_heads() -> None:
    callbacks = create_recipe_callbacks(
        recipe(
            schedule={"type": "plateau", "monitor": "val_accuracy"},
            early_stopping={"monitor": "val_accuracy", "patience": 4, "restore_best_weights": False},
        ),
        WITH_AUX,
        has_validation=True,
    )
    plateau, stopping = callbacks
    assert plateau.monitor == "val_predictions_accuracy"
    assert isinstance(stopping, keras.callbacks.EarlyStopping)
    assert (stopping.monitor, stopping.patience, stopping.restore_best_weights) == (
        "val_predictions_accuracy",
        4,
        False,
    )
    assert metric_key("val_loss", WITH_AUX) == "val_loss"
    assert metric_key("top5", WITH_AUX) == "predictions_top5"
    assert metric_key("val_accuracy", HEAD) == "val_accuracy"


def test_validation_monitor_without_validation_data_is_an_error() -> None:
    with pytest.raises(RunError) as error:
        create_recipe_callbacks(recipe(early_stopping={}), HEAD, has_validation=False)
    assert str(error.value) == (
        "training.early_stopping.monitor is 'val_loss' but there is no validation data (validation_split is 0 and "
        "the data has no validation split). Set training.validation_split above 0, or monitor 'loss'."
    )


@pytest.mark.parametrize(
    "fields, activation, loss_class, config",
    [
        ({}, "softmax", keras.losses.SparseCategoricalCrossentropy, {"from_logits": False}),
        ({}, "linear", keras.losses.SparseCategoricalCrossentropy, {"from_logits": True}),
        (
            {"label_smoothing": 0.1},
            "softmax",
            keras.losses.CategoricalCrossentropy,
            {"label_smoothing": 0.1, "from_logits": False},
        ),
        ({}, "sigmoid", keras.losses.BinaryCrossentropy, {"label_smoothing": 0.0}),
    ],
    ids=["sparse", "logits", "label-smoothing", "sigmoid"],
)
def test_loss_follows_the_head_and_label_smoothing(fields, activation, loss_class, config) -> None:
    the_recipe = recipe(**fields)
    outputs = [HeadOutput("predictions", activation, 10, 1.0)]
    loss = create_loss(outputs[0], the_recipe, label_encoding(the_recipe, outputs))
    assert type(loss) is loss_class
    for key, value in config.items():
        assert loss.get_config()[key] == pytest.approx(value)


@pytest.mark.parametrize(
    "fields, classes",
    [
        (
            {"metrics": ["accuracy", "top5"]},
            [keras.metrics.SparseCategoricalAccuracy, keras.metrics.SparseTopKCategoricalAccuracy],
        ),
        (
            {"metrics": ["accuracy", "top5"], "label_smoothing": 0.1},
            [keras.metrics.CategoricalAccuracy, keras.metrics.TopKCategoricalAccuracy],
        ),
    ],
)
def test_metrics(fields, classes) -> None:
    the_recipe = recipe(**fields)
    metrics = create_metrics(the_recipe, label_encoding(the_recipe, HEAD))
    assert [type(m) for m in metrics] == classes
    assert [m.name for m in metrics] == ["accuracy", "top5"]
    assert metrics[1].get_config()["k"] == 5


def test_compile_weights_the_aux_heads_and_puts_metrics_on_the_head() -> None:
    from archbuilder.compile import build_model

    blueprint = load_blueprint(
        TINY.replace(
            "head: {pool: global_avg, classes: 10}",
            (
                "stages: [{block: {type: conv, filters: 4, kernel_size: 3}, id: mid}]\n"
                "head: {pool: global_avg, classes: 10}\n"
                "aux_heads: [{name: aux1, at: mid, pool: global_avg, classes: 10, loss_weight: 0.3}]"
            ),
        )
    )
    outputs = head_outputs(blueprint)
    assert outputs == WITH_AUX
    model = build_model(blueprint)
    compile_model(model, recipe(), outputs, steps_per_epoch=5)
    config = model.get_compile_config()
    assert config["loss_weights"] == {"predictions": 1.0, "aux1": 0.3}
    assert set(config["loss"]) == {"predictions", "aux1"}
    assert list(config["metrics"]) == ["predictions"]


def test_augmentation_layers_and_their_factors() -> None:
    augmentation = create_augmentation(
        Augmentation(flip="horizontal", translation=0.1, rotation=0.05, zoom=0.2, contrast=0.3, crop_padding=4),
        (16, 16, 3),
        pixel_range=(0.0, 255.0),
        seed=7,
    )
    assert [type(layer).__name__ for layer in augmentation.layers] == [
        "ZeroPadding2D",
        "RandomCrop",
        "RandomFlip",
        "RandomTranslation",
        "RandomRotation",
        "RandomZoom",
        "RandomContrast",
    ]
    pad, crop, flip, translation, rotation, zoom, contrast = augmentation.layers
    assert pad.padding == ((4, 4), (4, 4)) and (crop.height, crop.width) == (16, 16)
    assert flip.mode == "horizontal"
    assert (translation.height_factor, translation.width_factor) == (0.1, 0.1)
    assert rotation.get_config()["factor"] == (-0.05, 0.05)
    assert zoom.height_factor == 0.2
    assert contrast.get_config()["value_range"] == (0.0, 255.0)
    assert create_augmentation(None, (16, 16, 3)) is None
    assert create_augmentation(Augmentation(), (16, 16, 3)) is None


def test_augmentation_runs_in_the_training_pipeline_only() -> None:
    augmentation = create_augmentation(Augmentation(flip="horizontal_and_vertical", translation=0.2), (8, 8, 1))
    images = np.random.default_rng(0).uniform(0, 1, (64, 8, 8, 1)).astype("float32")
    labels = np.arange(64) % 10
    inputs = create_inputs(
        Split(images, labels),
        Split(images[:16], labels[:16]),
        batch_size=16,
        outputs=HEAD,
        encoding="sparse",
        augmentation=augmentation,
    )
    assert inputs.kind == "tf.data" and inputs.augmentation is augmentation and inputs.steps_per_epoch == 4
    batch_images, batch_labels = next(iter(inputs.fit_arguments["x"]))
    batch_images = np.asarray(batch_images)
    assert batch_images.shape == (16, 8, 8, 1) and np.asarray(batch_labels).shape == (16,)
    originals = images[[int(np.flatnonzero(labels == label)[0]) for label in batch_labels]]  # noqa: F841
    assert not any(np.allclose(batch_images[i], images[j]) for i in range(16) for j in range(64))
    validation_images, _ = next(iter(inputs.fit_arguments["validation_data"]))
    np.testing.assert_array_equal(np.asarray(validation_images), images[:16])


def test_each_epoch_gets_a_new_order_and_the_same_seed_the_same_orders() -> None:
    images = np.arange(10, dtype="float32").reshape(10, 1, 1, 1)
    labels = np.arange(10)

    def epochs(seed: int) -> list[list[int]]:
        dataset = tf_dataset(images, labels, 4, shuffle=True, seed=seed)  # the augmenting pipeline
        return [np.concatenate([np.asarray(y) for _, y in dataset]).tolist() for _ in range(3)]

    first = epochs(3)
    assert all(sorted(order) == list(range(10)) for order in first)
    assert first[0] != first[1] != first[2]
    assert epochs(3) == first and epochs(4) != first


def test_overrides_are_validated_with_their_path() -> None:
    base = recipe(optimizer={"type": "sgd", "learning_rate": 0.1, "momentum": 0.9}, epochs=90)
    effective = effective_recipe(base, epochs=2, batch_size=8, learning_rate=0.05, seed=3, data="digits")
    assert (effective.epochs, effective.batch_size, effective.seed, effective.data) == (2, 8, 3, "digits")
    assert effective.optimizer == base.optimizer.model_copy(update={"learning_rate": 0.05})
    with pytest.raises(BlueprintError) as error:
        effective_recipe(base, learning_rate=-1.0)
    assert str(error.value) == "training.optimizer.learning_rate: must be > 0. Received: -1.0"
