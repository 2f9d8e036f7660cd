"""Helper of test_distribution: training and test evaluation under a distribution on 2 devices, with splits that
do not divide by 2 and a test set smaller than the global batch. Argument 3 names the distribution: ``mirrored``
(KERAS_BACKEND=tensorflow, 2 logical CPUs) or ``data_parallel`` (KERAS_BACKEND=jax with
XLA_FLAGS=--xla_force_host_platform_device_count=2). Prints one JSON line."""

# ruff: noqa  (a script: the logical devices must be configured before the imports below)
import dataclasses, json, os, sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
repo, folder, name = sys.argv[1:4]
if os.environ.get("KERAS_BACKEND") == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
import archbuilder
from archbuilder.training import distribution
from archbuilder.training.data import load_dataset
from archbuilder.training.errors import RunError
from archbuilder.training.evaluation import evaluate as evaluate_saved  # what `archbuilder evaluate` runs

sys.path.insert(0, repo)
from tests.training.conftest import DIGITS_CNN, with_training

blueprint = with_training(
    DIGITS_CNN, "{optimizer: {type: sgd, learning_rate: 0.5}, batch_size: 64, validation_split: 0.1}"
)
full = load_dataset("digits")
# 330 images: 33 for validation and 297 for training (both odd), and 9 test images (odd, fewer than the batch).
data = dataclasses.replace(full, train=full.train.take(np.arange(330)), test=full.test.take(np.arange(9)))
run = archbuilder.train(
    blueprint, data=data, epochs=2, output=os.path.join(folder, "run"), verbose=0, distribution=name
)

# The reference: the trained weights on one device (a plain clone, outside any distribution), scored in NumPy.
single = keras.models.clone_model(run.model)
single.set_weights(run.model.get_weights())


def reference(count):
    p = keras.ops.convert_to_numpy(single(full.test.x[:count], training=False)).astype("float64")
    y = full.test.y[:count]
    return {
        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
        "loss": float(np.mean(-np.log(np.clip(p[np.arange(count), y], 1e-7, 1.0)))),
    }


# Keras's TF trainer runs on the strategy the model was built under; a JAX distribution is a global setting.
used = (
    run.model.distribute_strategy if keras.backend.backend() == "tensorflow" else distribution.create_distribution(name)
)
evaluations = {}
for count in (10, 9, 1, 130):  # even, capped to the data; odd; fewer than the replicas; 2 full batches + 2
    result = distribution.evaluate(
        run.model, full.test.x[:count], full.test.y[:count], batch_size=64, distribution=used
    )
    evaluations[count] = {
        "result": result,
        "reference": reference(count),
        "batch": distribution.evaluation_batch_size(count, 64, distribution.replicas(used)),
    }
try:
    archbuilder.train(
        blueprint, data=data, epochs=1, batch_size=63, output=os.path.join(folder, "odd"), verbose=0, distribution=name
    )
    odd_batch = None
except RunError as error:
    odd_batch = str(error)
print(
    json.dumps(
        {
            "replicas": distribution.replicas(used),
            "test": run.test,
            "data": run.metrics["data"],
            "test_reference": reference(9),
            "history": run.history,
            "evaluations": evaluations,
            "odd_batch": odd_batch,
            "archbuilder_evaluate": evaluate_saved(run.output_dir / "best.keras"),
            "archbuilder_evaluate_reference": reference(len(full.test)),
        }
    )
)
