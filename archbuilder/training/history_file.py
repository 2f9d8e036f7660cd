"""A run's ``history.csv``: its rows written (:class:`HistoryLog`) and read back (torn, malformed and
duplicate rows left out), cut back to the committed epochs when a run resumes, and read as columns.

Epochs are counted from 1, as everywhere in a run (see :mod:`archbuilder.training.run_folder`); a
file counted from 0 (an older version's, or Keras's CSVLogger's) is renumbered from 1. The rows are
written by :class:`HistoryLog` (which the run's checkpoint callback fills). Nothing here imports Keras.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from archbuilder.artifacts import write_csv_atomic


def read_history_rows(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """The header and the well-formed rows of a ``history.csv`` (``None`` and ``[]`` without one).

    A row is left out when it is torn (the last line without its line end, which an older version's
    append-mode writer could leave), has the wrong number of cells, or does not start with an epoch
    number; of two rows for the same epoch the later is kept. Epochs are counted from 1; a file counted
    from 0 (an older version's, or Keras's CSVLogger's) is renumbered from 1.
    """
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None, []
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines.pop()  # torn: the writer stopped in the middle of the row
    parsed = list(csv.reader(io.StringIO("".join(lines))))
    if not parsed or not parsed[0] or parsed[0][0] != "epoch":
        return None, []
    header, by_epoch = parsed[0], {}
    for row in parsed[1:]:
        if len(row) == len(header) and row[0].isdigit():
            by_epoch[int(row[0])] = row
    shift = 1 if 0 in by_epoch else 0  # counted from 0: an older version's file
    return header, [[str(epoch + shift), *by_epoch[epoch][1:]] for epoch in sorted(by_epoch)]


def truncate_history(path: Path, completed: int) -> None:
    """Keep the rows of the ``completed`` epochs, 1 to ``completed`` (and drop torn ones): a kill before the
    commit leaves one extra."""
    header, rows = read_history_rows(path)
    if header is not None:  # (without a readable header the resumed run writes a new file)
        write_csv_atomic(path, [header, *(row for row in rows if int(row[0]) <= completed)])


def read_history(path: Path) -> dict[str, list[float]]:
    """``history.csv`` as columns: ``{'epoch': [1, 2, ...], 'loss': [...], ...}`` (epochs counted from 1)."""
    header, rows = read_history_rows(path)
    if header is None:
        return {}
    return {
        key: [float("nan") if row[index] in ("", "NA") else float(row[index]) for row in rows]
        for index, key in enumerate(header)
    }


class HistoryLog:
    """The rows of ``history.csv``, written whole (atomically) after every epoch.

    The columns are Keras's ``CSVLogger``'s: ``epoch``, then the first epoch's log keys sorted
    (with ``val_`` twins, ``NA`` when missing, when the first epoch has no validation). Unlike
    CSVLogger's, the epochs are counted from 1, as everywhere in a run (``add(1, ...)`` is the first).

    Args:
        header: the columns, ``epoch`` first; ``None`` takes them from the first epoch added.
        rows: the rows so far, as strings (a resumed run's, from :meth:`read`).
    """

    def __init__(self, header: list[str] | None = None, rows: list[list[str]] | None = None) -> None:
        self.header, self.rows = header, list(rows or [])

    @classmethod
    def read(cls, path: Path) -> HistoryLog:
        """The rows in ``path`` (a torn or malformed row is left out); empty when there is no file."""
        return cls(*read_history_rows(path))

    def add(self, epoch: int, logs: dict[str, Any]) -> None:
        """Adds (or replaces) the row of ``epoch`` (counted from 1) with the values of ``logs``."""
        if self.header is None:
            keys = sorted(logs)
            if keys and not any(key.startswith("val_") for key in keys):
                keys += [f"val_{key}" for key in keys]
            self.header = ["epoch", *keys]
        self.rows = [row for row in self.rows if row[0] != str(epoch)]
        self.rows.append([str(epoch)] + [_cell(logs.get(key, "NA")) for key in self.header[1:]])

    def write(self, path: Path) -> None:
        """Writes the header and every row to ``path``, atomically."""
        write_csv_atomic(path, [self.header or ["epoch"], *self.rows])


def _cell(value: Any) -> str:
    """A log value as Keras's CSVLogger writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable) and getattr(value, "ndim", None) != 0:
        return f'"[{", ".join(map(str, value))}]"'
    return str(value)


__all__ = ["HistoryLog", "read_history", "read_history_rows", "truncate_history"]
