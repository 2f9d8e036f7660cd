"""Helper of test_distribution: mirrored (2 logical CPUs) vs single device on digits, full-batch SGD (same updates up to float rounding)."""

# ruff: noqa  (a script: the logical devices must be configured before the imports below)
import dataclasses, json, os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
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
for name in (None, "mirrored"):
    r = archbuilder.train(
        blueprint,
        data=data,
        epochs=int(sys.argv[3]),
        output=os.path.join(sys.argv[2], str(name)),
        verbose=0,
        distribution=name,
    )
    results[str(name)] = (r.history["loss"], r.model.get_weights())
(loss_a, wa), (loss_b, wb) = results["None"], results["mirrored"]
print(
    json.dumps(
        {
            "max_weight_diff": max(float(np.abs(x - y).max()) for x, y in zip(wa, wb)),
            "max_weight": max(float(np.abs(x).max()) for x in wa),
            "loss_single": loss_a,
            "loss_mirrored": loss_b,
            "replicas": len(tf.config.list_logical_devices("CPU")),
        }
    )
)
