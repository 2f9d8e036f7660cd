"""The end of a training run: the model it keeps (best.keras's weights), that model's test metrics,
the content of ``metrics.json``, and the summary line.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras

from archbuilder.compile.model import load_model_file
from archbuilder.runtime import accelerator
from archbuilder.training.callbacks import EpochTimer, RunCheckpoint
from archbuilder.training.distribution import distribution_scope, evaluate, evaluation_batch_size, replicas
from archbuilder.training.errors import RunError
from archbuilder.training.pipeline import TrainingInputs, make_targets
from archbuilder.training.planning import Run
from archbuilder.training.recipe import head_outputs, label_encoding
from archbuilder.training.run_folder import BEST_MODEL, LAST_MODEL


def keep_best(model: keras.Model, plan: Run, state: dict[str, Any]) -> dict[str, Any]:
    """Give ``model`` the weights of the model the run keeps, best.keras (last.keras when no epoch had a
    finite monitored value), so that the test metrics are that file's; returns its name and epoch."""
    best: dict[str, Any] = state.get("best") or {}
    name = BEST_MODEL if best and (plan.folder / BEST_MODEL).is_file() else LAST_MODEL
    kept = load_model_file(plan.folder / name, RunError)
    with distribution_scope(plan.distribution):
        model.set_weights(kept.get_weights())
    del kept
    if name == BEST_MODEL:
        return {"file": name, "epoch": int(best["epoch"]), "chosen_by": f"lowest {best['monitor']}"}
    return {"file": name, "epoch": int(state.get("completed_epochs", 0)), "chosen_by": "last epoch"}


def evaluate_test(model: keras.Model, plan: Run) -> dict[str, float] | None:
    """The test set, evaluated once, at the end, over every image (across the replicas when it splits evenly)."""
    test = plan.dataset.test
    if test is None:
        return None
    outputs = head_outputs(plan.blueprint)
    count, batch_size = replicas(plan.distribution), plan.settings.batch_size
    if plan.distribution is not None and evaluation_batch_size(len(test), batch_size, count) is None:
        print(
            f"distribution {plan.recipe.distribution}: the {len(test)} test images do not split evenly across the "
            f"{count} replicas; evaluating them on one device"
        )
    return evaluate(
        model,
        test.x,
        make_targets(test.y, outputs, label_encoding(plan.recipe, outputs)),
        batch_size=batch_size,
        distribution=plan.distribution,
    )


def report(
    plan: Run,
    model: keras.Model,
    inputs: TrainingInputs,
    timing: tuple[EpochTimer, RunCheckpoint],
    test: dict[str, float] | None,
    kept: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    """What ``metrics.json`` holds: the test metrics and the model they are of (``kept``), the best epoch,
    what the initial weights loaded, the epochs, the data, the settings and the timing."""
    timer, checkpoint = timing
    dataset, state = plan.dataset, checkpoint.state
    steady = timer.steady_seconds()
    count = replicas(plan.distribution)
    trained = len(dataset.train) - len(dataset.train) % count  # phases._even_splits' trimming
    used = (
        {}
        if count == 1
        else {
            "used_under_distribution": {
                split: len(values) - len(values) % count
                for split, values in dataset.splits().items()
                if split != "test"
            }
        }
    )
    return {
        "blueprint": plan.blueprint.name,
        "test": test,
        "test_model": kept,  # the file and epoch the test metrics are of
        "best": state.get("best"),
        **({"transfer": plan.transfer} if plan.transfer else {}),
        "epochs": {
            "completed": state.get("completed_epochs"),
            "planned": plan.recipe.epochs,
            "stopped_early": bool(state.get("completed_epochs", 0) < plan.recipe.epochs),
        },
        "data": {
            "name": dataset.name,
            "image_shape": list(dataset.image_shape),
            "classes": dataset.classes,
            **{split: len(values) for split, values in dataset.splits().items()},
            **used,
        },
        "settings": {
            **asdict(plan.settings),
            "jit_compile_used": bool(model.jit_compile),
            "backend": keras.backend.backend(),
            "device": accelerator.describe_device(),
            "input_pipeline": inputs.kind,
            "recipe": plan.recipe.model_dump(mode="json"),
        },
        "timing": {
            "total_seconds": round(seconds, 3),
            "epoch_seconds": [round(t, 4) for t in timer.epoch_seconds],
            "checkpoint_seconds": [round(t, 4) for t in checkpoint.seconds],
            "train_images_per_second": round(trained / steady, 1) if steady else None,
        },
    }


def print_summary(metrics: dict[str, Any], folder: Path) -> None:
    """Print the run's last line: the kept model's test metrics (or why there are none), the time, the folder."""
    test, kept = metrics["test"], metrics.get("test_model") or {}
    if test is None:
        result = "no test set (the data has no test split)"
    else:
        result = "test " + ", ".join(f"{name} {value:.4f}" for name, value in test.items())
        result += (
            f" ({metrics['data']['test']} images; {kept.get('file')}, epoch {kept.get('epoch')} of "
            f"{metrics['epochs']['completed']})"
        )
    print(f"{result}; {metrics['timing']['total_seconds']:.1f} s; wrote {folder}")


__all__ = ["evaluate_test", "keep_best", "print_summary", "report"]
