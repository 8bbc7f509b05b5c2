"""Chapter 3 (associative retrieval): how each run learned, read off its training curve."""

from __future__ import annotations

import pandas as pd

from ...repro.retrieval_study import LEARNED


def how_runs_learned(history: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run of ``runs`` with a training curve: ``learned_at``, the first evaluation
    at which validation accuracy passed ``LEARNED`` (NaN: never) and ``learned_on``, the number of
    segments the run was training on then; ``gain``, validation accuracy's change over the
    last three evaluations (``span`` steps); ``at_layout``, the steps trained on the final number
    of segments (a curriculum spends the others on fewer); ``at_target``, stopped early because
    it reached its target accuracy."""
    rows = []
    for run in runs.itertuples():
        h = history[(history["experiment"] == run.experiment) & (history["run_id"] == run.run_id)].sort_values("step")
        if len(h) < 4:
            continue
        earlier, passed = h.loc[h["segments"] < run.num_segments, "step"], h.loc[h["acc"] > LEARNED, "step"]
        first = h.loc[passed.index[0]] if len(passed) else None
        rows.append(
            dict(
                model=run.model,
                seed=run.seed,
                learned_at=float("nan") if first is None else first["step"],
                learned_on=float("nan") if first is None else first["segments"],
                gain=h["acc"].iloc[-1] - h["acc"].iloc[-4],
                span=h["step"].iloc[-1] - h["step"].iloc[-4],
                at_layout=h["step"].iloc[-1] - (earlier.max() if len(earlier) else 0),
                at_target=str(getattr(run, "stop_reason", "")).startswith("target"),
            )
        )
    return pd.DataFrame(
        rows, columns=["model", "seed", "learned_at", "learned_on", "gain", "span", "at_layout", "at_target"]
    )


def longer_budget(runs: pd.DataFrame) -> dict[str, str]:
    """What the ``retrieval_long`` runs of ``runs`` scored, for the prose of chapters 3 and 10:
    for each model, number of segments and memory size, ``{model}_{segments}_m{memory}`` (mean
    test accuracy), ``..._seeds`` (each seed's, in seed order, "seed 0 0.891, ...") and
    ``..._steps`` (mean steps trained; a run stops early at its target). Settings without runs are
    "not run yet"."""
    if runs.empty:
        runs = pd.DataFrame(
            columns=["experiment", "model", "num_segments", "mem_size", "seed", "test_acc", "steps_done"]
        )
    longer = runs[runs["experiment"] == "retrieval_long"]
    out: dict[str, str] = {}
    for model in ("xl", "rmt"):
        for segments, memory in ((2, 5), (3, 5), (3, 3), (5, 2)):
            key = f"{model}_{segments}_m{memory}"
            g = longer[
                (longer["model"] == model) & (longer["num_segments"] == segments) & (longer["mem_size"] == memory)
            ]
            g = g.sort_values("seed")
            out[key] = f"{g['test_acc'].mean():.3f}" if len(g) else "not run yet"
            out[f"{key}_seeds"] = ", ".join(f"seed {s} {a:.3f}" for s, a in zip(g["seed"], g["test_acc"])) or "none"
            out[f"{key}_steps"] = f"{g['steps_done'].mean():,.0f}" if len(g) else "-"
    return out


SAME_START = 1e-5  # validation losses this close at the first evaluation: the same training up to rounding
MOVED = 0.05  # a test accuracy that changed more than this between the two trainings


def trained_twice(pairs: pd.DataFrame) -> dict[str, str]:
    """Numbers for chapter 3's prose on the runs trained twice (``pairs``:
    :func:`rmt_lite.repro.retrained.load`): ``runs``; ``same`` that start the same up to rounding
    (validation loss gap at the first evaluation at most ``SAME_START``), their largest such gap
    ``first_gap``, the steps at which they part (``parted``: "750", or "750 to 1,000") and how many
    never part (``never``); ``other`` that differ from the first evaluation on, with their largest
    gap ``other_gap``; ``moved``, runs whose test accuracy changed by more than ``MOVED``, and
    ``largest``, the largest change."""
    same = pairs[pairs["loss_gap_first"] <= SAME_START]
    other = pairs[pairs["loss_gap_first"] > SAME_START]
    parted = same["parted_at"].dropna()
    change = (pairs["test_after"] - pairs["test_before"]).abs()
    span = [f"{s:,.0f}" for s in dict.fromkeys((parted.min(), parted.max()))] if len(parted) else []
    return dict(
        runs=str(len(pairs)),
        same=str(len(same)),
        first_gap=f"{same['loss_gap_first'].max():.0e}" if len(same) else "-",
        parted=" to ".join(span) if len(parted) else "never",
        never=str(len(same) - len(parted)),
        other=str(len(other)),
        other_gap=f"{other['loss_gap_first'].max():.4f}" if len(other) else "-",
        moved=str(int((change > MOVED).sum())),
        largest=f"{change.max():.2f}" if len(change) else "-",
    )
