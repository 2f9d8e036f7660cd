"""The runtime: what training, search, export and the command line need from the machine they run on.

* :mod:`archbuilder.runtime.environment`: environment variables the backends read when they start
  (set before Keras is imported; no heavy imports);
* :mod:`archbuilder.runtime.accelerator`: the device, precision policy, XLA choice, seeding and
  out-of-memory recognition.

It sits beside ``compile`` in the layers (``tests/test_layers.py``): below ``training``, so that
search, export and the command line reach the machine without entering the training package.
Multi-device distribution stays in :mod:`archbuilder.training.distribution`, which splits the
training data across replicas.
"""
