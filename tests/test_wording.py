"""Counts in messages read as English: "1 epoch", "2 epochs", "1 trial" (issue 22's "1 epochs")."""

from __future__ import annotations

from archbuilder.wording import counted


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert [counted(n, "epoch") for n in (0, 1, 2)] == ["0 epochs", "1 epoch", "2 epochs"]
    assert counted(1200, "trial") == "1,200 trials"
    assert counted(2, "child", "children") == "2 children" and counted(1, "child", "children") == "1 child"
