"""``shapes``: a procedural image-classification dataset (NumPy only, deterministic per seed).

Each image holds one geometric shape (circle, square, triangle, plus, ...) of random position,
size, small rotation and color on a noisy background of random level, at any size and channel
count. It stands in for real data in tests and benchmarks: learnable, offline, any resolution.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from archbuilder.training.errors import DataError

Mask = Callable[[np.ndarray, np.ndarray], np.ndarray]

# (u, v) are pixel coordinates in the shape's frame: centered, rotated, divided by its radius.
SHAPES: dict[str, Mask] = {
    "circle": lambda u, v: u * u + v * v <= 1.0,
    "square": lambda u, v: np.maximum(abs(u), abs(v)) <= 0.8,
    "triangle": lambda u, v: (v <= 0.7) & (abs(u) <= 0.55 * (v + 1.0)),
    "plus": lambda u, v: ((abs(u) <= 0.25) & (abs(v) <= 0.95)) | ((abs(v) <= 0.25) & (abs(u) <= 0.95)),
    "cross": lambda u, v: SHAPES["plus"]((u + v) * 0.7071, (u - v) * 0.7071),
    "ring": lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.36),
    "diamond": lambda u, v: abs(u) + abs(v) <= 1.0,
    "frame": lambda u, v: (np.maximum(abs(u), abs(v)) <= 0.85) & (np.maximum(abs(u), abs(v)) >= 0.5),
    "horizontal_bar": lambda u, v: (abs(u) <= 0.95) & (abs(v) <= 0.3),
    "vertical_bar": lambda u, v: (abs(v) <= 0.95) & (abs(u) <= 0.3),
}
SHAPE_NAMES: tuple[str, ...] = tuple(SHAPES)
CHUNK = 256  # images drawn at once: bounds the temporaries at large sizes


def generate_shapes(
    count: int, height: int, width: int, channels: int, *, classes: int = len(SHAPES), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (float32 in [0, 1], NHWC) and their labels (int64, balanced over ``classes``).

    The same arguments always give the same arrays.

    Raises:
        DataError (a ValueError): ``classes`` is not between 1 and the number of shapes (10), ``count``
            is negative, or a size or the channel count is below 1.
    """
    if not 1 <= classes <= len(SHAPES):
        raise DataError(f"shapes has {len(SHAPES)} classes ({', '.join(SHAPE_NAMES)}). Received: classes={classes}")
    if count < 0 or min(height, width, channels) < 1:
        raise DataError(
            f"shapes needs a count of 0 or more and a height, width and channel count of 1 or more. "
            f"Received: count={count}, height={height}, width={width}, channels={channels}"
        )
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % classes).astype("int64")
    images = np.empty((count, height, width, channels), dtype="float32")
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        images[start:stop] = _draw(labels[start:stop], height, width, channels, rng)
    return images, labels


def _draw(labels: np.ndarray, height: int, width: int, channels: int, rng: np.random.Generator) -> np.ndarray:
    count = len(labels)
    side = min(height, width)
    radius = rng.uniform(0.22, 0.42, count) * side
    center_y = rng.uniform(0.5, 1.0, count) * radius + rng.uniform(0, 1, count) * (height - 2 * radius)
    center_x = rng.uniform(0.5, 1.0, count) * radius + rng.uniform(0, 1, count) * (width - 2 * radius)
    angle = rng.uniform(-np.pi / 12, np.pi / 12, count)
    rows = np.arange(height, dtype="float32")[None, :, None] + 0.5
    cols = np.arange(width, dtype="float32")[None, None, :] + 0.5
    dy = (rows - center_y[:, None, None]) / radius[:, None, None]
    dx = (cols - center_x[:, None, None]) / radius[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u, v = cos * dx + sin * dy, cos * dy - sin * dx
    masks = np.zeros((count, height, width), dtype=bool)
    for index, name in enumerate(SHAPE_NAMES):
        chosen = labels == index
        if chosen.any():
            masks[chosen] = SHAPES[name](u[chosen], v[chosen])
    background = rng.uniform(0.0, 0.5, (count, 1, 1, channels))
    # The shape is brighter than the background by 0.35 to 0.5 in its brightest channel: always visible.
    tint = rng.uniform(0.3, 1.0, (count, 1, 1, channels))
    tint /= tint.max(axis=-1, keepdims=True)
    foreground = background + rng.uniform(0.35, 0.5, (count, 1, 1, 1)) * tint
    noise = rng.normal(0.0, 0.06, (count, height, width, channels))
    images = np.where(masks[..., None], foreground, background) + noise
    return np.clip(images, 0.0, 1.0).astype("float32")
