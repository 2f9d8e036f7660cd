"""Shared blueprints and helpers for the training tests: tiny networks, small data, few epochs."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# A LeNet-style network at the digits' own 8x8x1: ~97% test accuracy after 10 epochs, in seconds.
DIGITS_CNN = """\
name: digits_cnn
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: 32, kernel_size: 3, padding: same}
  - {type: conv, filters: 32, kernel_size: 3, padding: same}
  - {type: max_pool, pool_size: 2}
  - {type: conv, filters: 64, kernel_size: 3, padding: same}
head: {pool: flatten, fc: [64], classes: 10}
training:
  optimizer: {type: adam, learning_rate: 0.002}
  epochs: 10
  batch_size: 32
"""

# The smallest useful network for wiring tests: shapes at 16x16x3.
TINY = """\
name: tiny
input: {shape: [16, 16, 3]}
stem:
  - {type: conv, filters: 4, kernel_size: 3, strides: 2, padding: same}
head: {pool: global_avg, classes: 10}
"""


@pytest.fixture
def digits_cnn_file(tmp_path):
    path = tmp_path / "digits_cnn.yaml"
    path.write_text(DIGITS_CNN, encoding="utf-8")
    return path


def with_training(blueprint: str, training: str) -> str:
    """``blueprint`` with its ``training:`` section replaced by ``training`` (YAML flow mapping)."""
    lines = blueprint.split("training:")[0].rstrip("\n")
    return f"{lines}\ntraining: {training}\n"
