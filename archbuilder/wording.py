"""Counts in messages: ``counted(1, "epoch")`` is "1 epoch", ``counted(3, "epoch")`` "3 epochs"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, in the plural (``noun + "s"`` unless given) for any count but 1."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


__all__ = ["counted"]
