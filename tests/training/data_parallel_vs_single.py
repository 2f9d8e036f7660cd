"""Helper of test_distribution: data_parallel (JAX, 2 host devices) vs single device on digits, full-batch SGD
(same updates up to float rounding). Run with KERAS_BACKEND=jax and XLA_FLAGS=--xla_force_host_platform_device_count=2."""

# ruff: noqa  (a script: the backend and the devices must be configured before the imports below)
import dataclasses, json, os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
assert os.environ.get("KERAS_BACKEND") == "jax", "run with KERAS_BACKEND=jax"
import jax
import numpy as np
import archbuilder
from archbuilder.training.data import load_dataset

sys.path.insert(0, sys.argv[1])
from tests.training.conftest import DIGITS_CNN, with_training

blueprint = with_training(
    DIGITS_CNN, "{optimizer: {type: sgd, learning_rate: 0.5}, batch_size: 2048, validation_split: 0}"
)
data = load_dataset("digits")
data = dataclasses.replace(data, test=None)
results = {}
for name in (None, "data_parallel"):
    r = archbuilder.train(
        blueprint,
        data=data,
        epochs=int(sys.argv[3]),
        output=os.path.join(sys.argv[2], str(name)),
        verbose=0,
        distribution=name,
    )
    # The devices holding the first kernel: both for data_parallel (replicated), one without a distribution.
    devices = len(r.model.trainable_weights[0].value.sharding.device_set)
    results[str(name)] = (r.history["loss"], r.model.get_weights(), devices)
(loss_a, wa, devices_a), (loss_b, wb, devices_b) = results["None"], results["data_parallel"]
print(
    json.dumps(
        {
            "max_weight_diff": max(float(np.abs(x - y).max()) for x, y in zip(wa, wb)),
            "max_weight": max(float(np.abs(x).max()) for x in wa),
            "loss_single": loss_a,
            "loss_data_parallel": loss_b,
            "devices": jax.device_count(),
            "weight_devices_single": devices_a,
            "weight_devices_data_parallel": devices_b,
        }
    )
)
