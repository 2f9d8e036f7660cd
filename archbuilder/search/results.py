"""The results of a search: one record per trial, the best, the top k, the Pareto front (the files
they are written to are :mod:`archbuilder.search.outputs`). Nothing here imports Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archbuilder.analysis.report import human
from archbuilder.blueprint.model import Blueprint
from archbuilder.search.settings import SearchSettings, format_duration
from archbuilder.wording import counted

#: A trial's status in trials.csv: trained, or why not.
STATUSES = ("completed", "nan", "oom", "error", "running")
COST_COLUMNS = ("params", "macs", "activation_memory")


@dataclass
class TrialRecord:
    """One trial: its active values, what happened, its metrics and costs."""

    trial_id: str
    status: str
    values: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    costs: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    batch_size: int | None = None
    message: str = ""
    blueprint: Blueprint | None = None
    epochs: int | None = None  # epochs the trial's model trained (a Hyperband promotion counts its parent's)

    @property
    def number(self) -> int:
        """The trial's number from 1 (KerasTuner's ids count from 0); 0 for an id that is not a number."""
        return int(self.trial_id) + 1 if self.trial_id.isdigit() else 0

    @property
    def completed(self) -> bool:
        """Whether the trial trained to the end (status ``completed``)."""
        return self.status == "completed"

    def metric(self, name: str) -> float | None:
        """The metric ``name``, or ``None`` when it was not recorded or is not finite."""
        value = self.metrics.get(name)
        return value if value is not None and math.isfinite(value) else None


@dataclass
class SearchResult:
    """What ``archbuilder.search.run`` returns; ``output_dir`` holds the same as files."""

    space_name: str
    settings: SearchSettings
    trials: list[TrialRecord]
    rejected: dict[str, int]
    rejection_examples: dict[str, str]
    duplicates: int
    parameters: list[str]
    output_dir: Path | None = None
    role: str = "single"  # "single", "chief" or "worker"
    #: The trained winner: ``best.keras`` and its test metrics (evaluated once), when the search kept it.
    model: Path | None = None
    test: dict[str, float] | None = None
    test_images: int | None = None
    #: ``--final-epochs``: the top trials retrained with the full recipe (trial, epochs, metrics), and the
    #: trial chosen among them, which then is :attr:`best`.
    final: list[dict[str, Any]] = field(default_factory=list)
    chosen: str | None = None
    #: Seconds the search has run (all its sessions), and ``"max_time"`` when its time budget stopped it.
    elapsed: float | None = None
    stopped: str | None = None

    @property
    def objective(self) -> str:
        """The name ranked by: the objective's metric, or ``score`` when a cost is penalized."""
        return self.settings.score_name

    @property
    def direction(self) -> str:
        """``"max"`` or ``"min"``: which way the objective improves."""
        return self.settings.objective_spec.direction

    def ranked(self) -> list[TrialRecord]:
        """Completed trials, best first (by the objective, or the score when a cost is penalized)."""
        scored = [t for t in self.trials if t.completed and t.metric(self.objective) is not None]
        return sorted(scored, key=lambda t: t.metric(self.objective) or 0.0, reverse=self.direction == "max")

    @property
    def best(self) -> TrialRecord | None:
        """The winner: the best-ranked trial, or the one a final retraining chose."""
        if self.chosen is not None:
            return next(t for t in self.trials if t.trial_id == self.chosen)
        ranked = self.ranked()
        return ranked[0] if ranked else None

    @property
    def top(self) -> list[TrialRecord]:
        """The ``top_k`` best-ranked completed trials (see :meth:`ranked`)."""
        return self.ranked()[: self.settings.top_k]

    @property
    def pareto(self) -> list[TrialRecord]:
        """The completed trials no other trial beats on both the objective's metric and the cost."""
        return pareto_front(self.trials, self.settings.objective_spec.metric, self.settings.pareto, self.direction)

    @property
    def counts(self) -> dict[str, int]:
        """How many trials have each status, in order of first appearance."""
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        return counts

    def summary(self) -> str:
        """The search in a few lines: trial counts, rejections, final trainings, the best and the Pareto front."""
        counts = ", ".join(f"{n} {status}" for status, n in self.counts.items())
        total_rejected = sum(self.rejected.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.rejected.items() if n)
        lines = [
            f"{counted(len(self.trials), 'trial')} ({counts or 'none'}); "
            f"{counted(total_rejected, 'candidate')} rejected before building"
            + (f" ({reasons})" if reasons else "")
            + f"; {counted(self.duplicates, 'duplicate')} skipped"
        ]
        for reason, example in self.rejection_examples.items():
            lines.append(f"  e.g. {reason}: {example}")
        if self.stopped == "max_time" and self.settings.max_time is not None:
            lines.append(
                f"stopped by max_time {format_duration(self.settings.max_time)} after {len(self.trials)} of "
                f"{self.settings.max_trials} trials; continue with --resume and a larger --max-time"
            )
        for entry in self.final:
            lines.append(
                f"final training of trial {entry['trial']} ({counted(entry['epochs'], 'epoch')}): "
                + ", ".join(f"{k} {v:.4f}" for k, v in entry["metrics"].items() if k.startswith("val_"))
            )
        best = self.best
        if best is not None:
            lines.append(
                f"best: trial {best.trial_id}, {self.objective} {best.metric(self.objective):.4f}, "
                f"{best.costs.get('params', 0):,} params, {human(best.costs.get('macs', 0))} MACs"
                + (f"; {self.test_line()}" if self.model is not None else "")
            )
        front = self.pareto
        if front:
            lines.append(
                f"Pareto front ({self.settings.objective_spec.metric} vs {self.settings.pareto}): "
                + ", ".join(f"trial {t.trial_id}" for t in front)
            )
        return "\n".join(lines)

    def test_line(self) -> str:
        """``test accuracy 0.9500, loss 0.17 (360 images): best.keras``, or why there is no test score."""
        where = self.model.name if self.model is not None else "no model"
        if self.test is None:
            return f"no test set (the data has no test split): {where}"
        scores = ", ".join(
            f"{name} {value:.4f}" for name, value in sorted(self.test.items(), key=lambda kv: kv[0] == "loss")
        )
        return f"test {scores} ({self.test_images} images): {where}"


class SearchWarning(UserWarning):
    """The search ran, but its result is probably not what was meant (every trial near chance)."""


def near_chance(result: SearchResult, classes: int) -> str | None:
    """A warning when every completed trial's accuracy is near chance, naming likely causes; else ``None``."""
    metric = result.settings.objective_spec.metric
    scores = [score for t in result.trials if t.completed and (score := t.metric(metric)) is not None]
    if "accuracy" not in metric or not scores or classes < 2:
        return None
    chance = 1.0 / classes
    if max(scores) > chance + 0.15 * (1.0 - chance):
        return None
    return (
        f"every trial of '{result.space_name}' is near chance: best {metric} {max(scores):.4f} "
        f"(chance {chance:.4f} for {classes} classes). Likely causes: too few epochs or steps per trial "
        f"(--epochs); BatchNorm moving statistics that short trials do not train (set batch_norm momentum to "
        f"0.9 or lower); a learning rate far off for the optimizer; data that does not match the input "
        f"(pixel range, --resize, labels)."
    )


def pareto_front(trials: list[TrialRecord], metric: str, cost: str, direction: str) -> list[TrialRecord]:
    """Non-dominated completed trials (higher metric when maximizing, lower cost), by increasing cost.

    A trial is dominated when another is at least as good on both and better on one; of trials
    with the same metric and cost, the first is kept.
    """
    sign = 1.0 if direction == "max" else -1.0
    points = [
        (t, sign * value, t.costs[cost])
        for t in trials
        if t.completed and (value := t.metric(metric)) is not None and cost in t.costs
    ]
    front: list[tuple[TrialRecord, float, int]] = []
    for trial, goodness, price in points:
        dominated = any((g >= goodness and p <= price) and (g > goodness or p < price) for _, g, p in points)
        duplicate = any(g == goodness and p == price for _, g, p in front)
        if not dominated and not duplicate:
            front.append((trial, goodness, price))
    return [trial for trial, goodness, price in sorted(front, key=lambda point: (point[2], -point[1]))]


__all__ = [
    "STATUSES",
    "SearchResult",
    "SearchWarning",
    "near_chance",
    "TrialRecord",
    "pareto_front",
]
