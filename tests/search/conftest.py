"""Shared pieces of the search tests: tiny spaces on the embedded 8x8 digits."""

from __future__ import annotations

TINY = """\
name: tiny
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: {choice: [4, 8, 12, 16]}, kernel_size: {choice: [3, 11]}, padding: valid}
head: {classes: 10}
training: {batch_size: 32, optimizer: {type: adam, learning_rate: 0.01}}
search: {max_trials: 4, epochs: 1, data: digits, seed: 1}
"""
