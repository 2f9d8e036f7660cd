"""``archbuilder search show DIR``: a finished or running search, read from its files (no Keras).

A running search rewrites ``trials.csv`` and ``summary.json`` after each trial, so this works
while it runs; KerasTuner's ``results_summary()`` is the model, with the Pareto front added.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from archbuilder.analysis.report import human
from archbuilder.search.errors import SearchError
from archbuilder.search.folder import recorded_elapsed
from archbuilder.search.outputs import read_trials_csv
from archbuilder.search.results import COST_COLUMNS, SearchResult, TrialRecord
from archbuilder.search.settings import SearchSettings, format_duration, settings_from_record
from archbuilder.training.run_folder import read_json_file
from archbuilder.wording import counted

#: trials.csv columns that are neither hyperparameters nor metrics.
BOOKKEEPING = ("trial", "status", "epochs", "seconds", "batch_size", "message", *COST_COLUMNS)


def load_search(folder: str | Path) -> tuple[SearchResult, dict[str, Any], dict[str, Any]]:
    """The search in ``folder`` as a :class:`SearchResult` (no blueprints), with ``search.json`` and ``summary.json``.

    Raises:
        SearchError: the folder holds no search, or its files are damaged.
    """
    folder = Path(folder)
    advice = "Is it the output folder of `archbuilder search` (its -o)?"
    state = read_json_file(folder / "search.json", SearchError, advice)
    if not isinstance(state, dict) or not isinstance(state.get("settings"), dict):
        raise SearchError(f"{folder}: no search here (no readable search.json). {advice}")
    summary = read_json_file(folder / "summary.json", SearchError, "It is rewritten after the next trial.") or {}
    try:
        settings = SearchSettings.model_validate(settings_from_record(state["settings"]))
    except ValueError:
        raise SearchError(f"{folder / 'search.json'}: damaged (its settings are not valid search settings).") from None
    rows = read_trials_csv(folder / "trials.csv") if (folder / "trials.csv").exists() else []
    parameters = [p for p in state.get("parameters", []) if isinstance(p, str)] or (
        [c for c in rows[0] if c not in BOOKKEEPING and not _is_number(rows[0][c])] if rows else []
    )
    records = [_record(row, parameters) for row in rows]
    result = SearchResult(
        str(state.get("space", folder.name)),
        settings,
        records,
        dict(summary.get("rejected", {})),
        dict(summary.get("rejection_examples", {})),
        int(summary.get("duplicates", 0)),
        parameters,
        folder,
    )
    test = summary.get("test")
    if isinstance(test, dict) and (folder / str(test.get("model", "best.keras"))).exists():
        result.model = folder / str(test.get("model", "best.keras"))
        result.test, result.test_images = test.get("metrics"), test.get("images")
    final = summary.get("final")
    if isinstance(final, list) and final:
        result.final = final
        chosen = (summary.get("best") or {}).get("trial")
        if any(record.trial_id == chosen for record in records):
            result.chosen = chosen
    return result, state, summary


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _record(row: dict[str, str], parameters: list[str]) -> TrialRecord:
    values = {name: _value(row[name]) for name in parameters if row.get(name, "") != ""}
    metrics = {
        name: float(text)
        for name, text in row.items()
        if name not in BOOKKEEPING and name not in parameters and text not in ("", None) and _is_number(text)
    }
    costs = {name: int(float(row[name])) for name in COST_COLUMNS if row.get(name)}
    return TrialRecord(
        row.get("trial", ""),
        row.get("status", ""),
        values,
        metrics,
        costs,
        float(row["seconds"]) if row.get("seconds") else None,
        int(row["batch_size"]) if row.get("batch_size") else None,
        row.get("message", ""),
        None,
        int(row["epochs"]) if row.get("epochs") else None,
    )


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def show(folder: str | Path) -> str:
    """The report ``archbuilder search show`` prints: state, trials table, best network, Pareto front."""
    result, state, summary = load_search(folder)
    settings = result.settings
    done = sum(1 for t in result.trials if t.status != "running")
    status = "finished" if state.get("finished") else "running or interrupted (--resume continues it)"
    if state.get("finished") and summary.get("stopped") == "max_time" and settings.max_time is not None:
        status = f"stopped by max_time {format_duration(settings.max_time)} (--resume with a larger --max-time)"
    elapsed = recorded_elapsed(state)
    lines = [
        f"search '{result.space_name}' in {folder}: {status}; {done} of {counted(settings.max_trials, 'trial')}"
        + (f" in {format_duration(elapsed)}" if elapsed else "")
        + f", {settings.tuner.type} tuner, {counted(settings.epochs, 'epoch')} per trial, "
        f"objective {result.objective} ({result.direction})",
        "",
    ]
    lines += trials_table(result)
    best = result.best
    if best is not None:
        lines += [
            "",
            f"best: trial {best.trial_id}, {result.objective} {best.metric(result.objective):.4f}, "
            f"{best.costs.get('params', 0):,} params, {human(best.costs.get('macs', 0))} MACs, "
            + (counted(best.epochs, "epoch") if best.epochs else "? epochs"),
        ]
        lines.append("  values: " + (", ".join(f"{k}={v}" for k, v in best.values.items()) or "(none)"))
        if result.model is not None:
            lines.append("  " + result.test_line())
        if (Path(folder) / "best.yaml").exists():
            lines.append(f"  blueprint: {Path(folder) / 'best.yaml'}")
    for entry in result.final:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in entry.get("metrics", {}).items() if k.startswith("val_"))
        lines.append(
            f"  final training of trial {entry.get('trial')} ({entry.get('epochs')} epochs): "
            f"{shown or entry.get('message', '')}"
        )
    front = result.pareto
    if front:
        metric, cost = settings.objective_spec.metric, settings.pareto
        lines += [
            "",
            f"Pareto front ({metric} vs {cost}): "
            + ", ".join(f"trial {t.trial_id} ({t.metric(metric):.4f}, {human(t.costs[cost])})" for t in front),
        ]
    rejected = sum(result.rejected.values())
    if rejected or result.duplicates:
        lines.append(f"{rejected} candidates rejected before building, {result.duplicates} duplicates skipped")
    return "\n".join(lines)


def trials_table(result: SearchResult) -> list[str]:
    """One row per trial, the best marked with ``*``: status, objective, costs, epochs, time, values."""
    if not result.trials:
        return ["no trial yet"]
    metric = result.objective
    best = result.best
    header = ["", "trial", "status", metric, "params", "MACs", "epochs", "seconds", "values"]
    rows = []
    for trial in result.trials:
        score = trial.metric(metric)
        rows.append(
            [
                "*" if best is not None and trial.trial_id == best.trial_id else "",
                trial.trial_id,
                trial.status,
                "" if score is None or not math.isfinite(score) else f"{score:.4f}",
                f"{trial.costs['params']:,}" if "params" in trial.costs else "",
                human(trial.costs["macs"]) if "macs" in trial.costs else "",
                "" if trial.epochs is None else str(trial.epochs),
                "" if trial.seconds is None else f"{trial.seconds:.1f}",
                " ".join(f"{k}={v}" for k, v in trial.values.items()) if trial.completed else trial.message,
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths)) + "  " + row[-1]
        for row in [header, *rows]
    ]


__all__ = ["load_search", "show", "trials_table"]
