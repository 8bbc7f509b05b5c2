"""Chapter 4 (longer sequences): the training curves with each run's settings, the stages of the
curriculum, and the sweeps over the memory size."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ...config import display_name, remembers
from ...records import read_records
from ...run_config import resolve


def history_with_config(
    results_dir: str | Path, experiment: str, *, profile: str | None = None, records: Iterable | None = None
) -> pd.DataFrame:
    """:func:`rmt_lite.load_history` plus, for every row, the run's ``mem_size``, ``curriculum``
    (as text, ``"-"`` for none), task ``length`` and ``label`` (read from the records themselves).
    ``records``: :class:`rmt_lite.RunRecord` objects to use instead of reading ``results_dir``."""
    recs = list(records) if records is not None else read_records(results_dir, experiment)
    rows = []
    for r in recs:
        if r.experiment != experiment or (profile is not None and r.profile != profile):
            continue
        cfg = r.config
        extra = dict(
            mem_size=cfg.get("mem_size"),
            curriculum=",".join(map(str, cfg.get("curriculum") or [])) or "-",
            length=cfg.get("task", {}).get("length"),
            label=display_name(r.model, (r.metrics or {}).get("segments")),
            git_sha=r.git_sha,
        )
        for h in r.history:
            rows.append(
                dict(
                    run_id=r.run_id,
                    experiment=r.experiment,
                    model=r.model,
                    profile=r.profile,
                    seed=r.seed,
                    **extra,
                    **h,
                )
            )
    return pd.DataFrame(rows)


def profile_settings(
    frame: pd.DataFrame, experiment: str, profile: str, keys: Sequence[str] = ("mem_size", "length")
) -> pd.DataFrame:
    """The rows of ``frame`` (records or histories of ``experiment``) whose ``keys`` have the
    values of the ``profile`` (e.g. leave out the runs of a memory-size sweep)."""
    if len(frame) == 0:
        return frame
    cfg = resolve(experiment, "rmt", profile)
    want = {"mem_size": cfg.mem_size, **cfg.task}
    mask = frame["experiment"] == experiment
    for k in keys:
        if k in frame and k in want:
            mask &= (frame[k] == want[k]) | ((k == "mem_size") & ~frame["model"].map(remembers))
    return frame[mask].reset_index(drop=True)


def curriculum_table(history: pd.DataFrame, metric: str = "acc") -> pd.DataFrame:
    """One row per run and curriculum stage of a :func:`history_with_config` table: the stage's
    number of segments and sample length, the steps trained in it (from the previous stage's last
    evaluation to its own last one), the number of evaluations and the last and best validation
    ``metric`` seen in it."""
    cols = [
        "run_id",
        "model",
        "seed",
        "stage",
        "segments",
        "seq_len",
        "steps",
        "evaluations",
        f"last {metric}",
        f"best {metric}",
    ]
    if len(history) == 0:
        return pd.DataFrame(columns=cols)
    rows = []
    for run_id, g in history.sort_values(["run_id", "step"]).groupby("run_id", sort=False):
        prev_end = 0
        for stage, gs in g.groupby("stage", sort=True):
            end = int(gs["step"].max())
            rows.append(
                dict(
                    run_id=run_id,
                    model=gs["label"].iloc[0],
                    seed=int(gs["seed"].iloc[0]),
                    stage=int(stage),
                    segments=int(gs["segments"].iloc[0]),
                    seq_len=int(gs["seq_len"].iloc[0]),
                    steps=end - prev_end,
                    evaluations=len(gs),
                    **{f"last {metric}": float(gs[metric].iloc[-1]), f"best {metric}": float(gs[metric].max())},
                )
            )
            prev_end = end
    return pd.DataFrame(rows)[cols]


def memory_sweeps(summary: pd.DataFrame) -> pd.DataFrame:
    """The settings (task, model, sample length, segments) run at two or more memory sizes, as a
    table: one row per setting, one column per memory size, holding the mean accuracy."""
    d = summary[summary["mem_size"] > 0]
    if len(d) == 0:
        return pd.DataFrame()
    keys = ["task", "label", "seq_len", "num_segments"]
    n = d.groupby(keys)["mem_size"].transform("nunique")
    d = d[n > 1]
    if len(d) == 0:
        return pd.DataFrame()
    out = d.pivot_table(index=keys, columns="mem_size", values="acc_mean", aggfunc="mean")
    out.columns = [f"memory {c}" for c in out.columns]
    return out.reset_index().rename(columns={"label": "model", "seq_len": "tokens", "num_segments": "segments"})


def format_sweeps(sweeps: pd.DataFrame) -> pd.DataFrame:
    """A :func:`memory_sweeps` table for reading: the accuracies of a setting in one column,
    ``memory size: accuracy`` from the smallest memory to the largest."""
    if len(sweeps) == 0:
        return sweeps
    mem_cols = [c for c in sweeps.columns if c.startswith("memory ")]
    text = [
        " | ".join(f"{c.split()[1]}: {v:.2f}" for c, v in r.items() if not pd.isna(v))
        for _, r in sweeps[mem_cols].iterrows()
    ]
    return sweeps.drop(columns=mem_cols).assign(**{"memory: accuracy": text})
