"""Helper of test_distribution: one process of a 2-process `multi_worker` run under JAX on localhost (the
KERAS_DISTRIBUTION_* variables set by the test), or the single-device reference (without them); full-batch
SGD on digits, so both make the same updates up to float rounding. Prints one JSON line."""

# ruff: noqa  (a script)
import dataclasses, json, os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
repo, out, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, repo)
import numpy as np
import archbuilder
from archbuilder.training.data import load_dataset
from tests.training.conftest import DIGITS_CNN, with_training

blueprint = with_training(
    DIGITS_CNN, "{optimizer: {type: sgd, learning_rate: 0.5}, batch_size: 2048, validation_split: 0}"
)
data = load_dataset("digits")
several = "KERAS_DISTRIBUTION_PROCESS_ID" in os.environ
run = archbuilder.train(
    blueprint,
    data=data,
    epochs=epochs,
    output=os.path.join(out, "run"),
    verbose=0,
    distribution="multi_worker" if several else None,
)
weights = run.model.get_weights()
import jax

print(
    json.dumps(
        {
            "loss": run.history["loss"],
            "test": run.test,
            "processes": jax.process_count(),
            "devices": jax.device_count(),
            "weights": [w.ravel()[:50].tolist() for w in weights],
            "max_weight": max(float(np.abs(w).max()) for w in weights),
        }
    )
)
