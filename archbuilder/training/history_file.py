"""A run's ``history.csv``: its rows read back (torn, malformed and duplicate rows left out), cut back
to the committed epochs when a run resumes, and read as columns.

Epochs are counted from 1, as everywhere in a run (see :mod:`archbuilder.training.run_folder`); a
file counted from 0 (an older version's, or Keras's CSVLogger's) is renumbered from 1. The rows are
written by :class:`~archbuilder.training.callbacks.HistoryLog`. Nothing here imports Keras.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

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


__all__ = ["read_history", "read_history_rows", "truncate_history"]
