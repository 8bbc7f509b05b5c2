"""Chapter 9 (the needle): the table of claim 10 (the needle trained on 2, 4 or 6 segments, tested up
to twice as long), accuracy by where the fact sits, and where the memory loses it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...repro.claims.rule import mean_sd  # how chapter 10 shows a spread over seeds
from ..plots import tokens_label
from .provenance import format_seeds

EXPERIMENT = "needle_lengths"


def lengths_table(gen: pd.DataFrame) -> pd.DataFrame:
    """From ``rmt_lite.repro.generalisation.load``: one row per number of training segments, the numbers
    of segments tested, the seeds evaluated and, per test length (``x1.5``: 1.5 times the trained
    one), the accuracy as mean ± standard deviation over seeds. Empty without ``needle_lengths``
    records."""
    if gen.empty:
        return pd.DataFrame()
    g = gen[gen["experiment"] == EXPERIMENT]
    if g.empty:
        return pd.DataFrame()
    g = g.assign(trained=g.groupby("run_id")["segments"].transform("min"))
    rows = []
    for n, by in g.groupby("trained"):
        tested = ", ".join(str(int(k)) for k in sorted(by["segments"].unique()))
        row = {"trained on": int(n), "tested on": tested, "seeds": ", ".join(map(str, sorted(by["seed"].unique())))}
        for f, at in by.groupby("factor"):
            row[f"x{f:g}"] = mean_sd(at["acc"])
        rows.append(row)
    return pd.DataFrame(rows)


def norm_table(norms: pd.DataFrame, at: tuple[int, ...] = (1, 8, 32, 128)) -> pd.DataFrame:
    """From ``rmt_lite.repro.memory_norm.load``: one row per seed, the share answered at the longest
    length, a memory slot's mean norm after each of the segments ``at`` and the largest change of
    the norm from its value after the first segment, in % of that value."""
    rows = []
    for seed, g in norms.groupby("seed"):
        by = g.set_index("segment")["norm"]
        row = {"seed": int(seed), "answered": round(float(g["answered"].iloc[0]), 2)}
        row |= {f"after {n}": round(float(by[n]), 2) for n in at if n in by}
        row["largest change (%)"] = round(float(100 * (by.drop(0) - by[1]).abs().max() / by[1]), 1)
        rows.append(row)
    return pd.DataFrame(rows)


def _check_bins(bins) -> None:
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise ValueError(f"bins={bins!r} is not allowed; bins must be a positive integer")


def depth_accuracy(samples: pd.DataFrame, bins: int = 5, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Accuracy by where the answering fact sits (the needle; rows of
    :func:`rmt_lite.repro.generalisation.load_samples`): ``depth`` cut into ``bins`` equal shares of the
    sample (0 = its first token), pooled over seeds unless ``by`` holds ``"seed"``. Columns ``by``,
    segments, depth (the bin, as ``"0-20%"``), acc, n (samples) and seeds."""
    _check_bins(bins)
    edges = np.linspace(0, 100, bins + 1).round().astype(int)
    labels = [f"{a}-{b}%" for a, b in zip(edges[:-1], edges[1:])]
    at = np.minimum((samples["depth"].to_numpy(float) * bins).astype(int), bins - 1)
    df = samples.assign(depth=pd.Categorical([labels[i] for i in at], categories=labels, ordered=True))
    out = df.groupby([*by, "segments", "depth"], observed=True).agg(
        acc=("correct", "mean"), n=("correct", "size"), seeds=("seed", "nunique")
    )
    return out.reset_index()


def needle_memory_table(samples: pd.DataFrame, bins: int = 4) -> pd.DataFrame:
    """Rows of :func:`rmt_lite.repro.needle_analysis.load_needle_memory` per seed and part of the sample
    the fact sits in (``bins`` equal runs of segments, as ``"segments 1-8"``): the shares of
    samples whose fact a probe reads right after it was written (``written``), before the question
    (``kept``), and that the model answers (``answered``), with n (samples)."""
    _check_bins(bins)
    n = int(samples["segments"].max())
    width = -(-n // bins)
    part = samples["fact_segment"] // width
    labels = {p: f"segments {p * width + 1}-{min((p + 1) * width, n)}" for p in sorted(set(part))}
    out = (
        samples.assign(part=part, where=part.map(labels))
        .groupby(["seed", "part", "where"])
        .agg(written=("written", "mean"), kept=("kept", "mean"), answered=("answered", "mean"), n=("answered", "size"))
        .reset_index()
    )
    return out.drop(columns="part")


def setting_of(record: pd.Series) -> str:
    """How an rmt needle run was trained, in words: its curriculum's last number of segments,
    whether it trained towards a target or a fixed number of steps, the distractor facts beside
    the needle, if any, and whether each stage waited until it passed (``curriculum_waits``)."""
    trained = int(str(record["curriculum"]).split(",")[-1])
    if _fixed_steps(record):
        name = f"{trained} segments, {int(record['steps']):,} steps"
    else:
        name = f"{trained} segments, stopped at the target" if trained == 4 else f"curriculum to {trained} segments"
    distractors = _distractors(record)
    name = f"{name}, {distractors} distractors" if distractors else name
    return f"{name}, each stage until it passes" if waits(record) else name


def _fixed_steps(record: pd.Series) -> bool:
    """Trained a fixed number of steps: no target to stop at (None, or NaN in a table). A run with a
    target that it never reached also ran all its steps, but is named as the runs that reached it."""
    target = record.get("target")
    return record["stop_reason"] == "steps" and (target is None or target != target)


def _distractors(record: pd.Series) -> int:
    value = record.get("num_distractors", 0)
    return 0 if value != value else int(value)  # NaN: a record from before the task had distractors


def waits(record: pd.Series) -> bool:
    """Whether a run's curriculum stages lasted until they passed (``curriculum_waits``)."""
    value = record.get("curriculum_waits", False)
    return bool(value) and value == value  # NaN or missing: the stages had deadlines


def settings_curves(records: pd.DataFrame, gen: pd.DataFrame) -> pd.DataFrame:
    """The accuracy of every rmt run of ``records`` (the needle experiments, ``rmt_lite.load_records``)
    at each number of segments ``gen`` (``rmt_lite.repro.generalisation.load``) tested it on, with how
    it was trained (:func:`setting_of`), its steps and an ``order`` that puts the profile's way of
    training first, the needle among distractors after the plain one (stages that wait after
    those with deadlines) and fixed numbers of steps last; ``waits`` marks the runs whose stages
    lasted until they passed."""
    if records.empty or gen.empty:
        return pd.DataFrame()
    frames = []
    for _, r in records[records["model"] == "rmt"].iterrows():
        g = gen[(gen["experiment"] == r["experiment"]) & (gen["run_id"] == r["run_id"])]
        if len(g):
            trained = int(g.loc[g["factor"] == 1, "segments"].iloc[0])
            # fixed numbers of steps after the rest, a task with distractors after the plain needle
            order = 1000 * int(_fixed_steps(r)) + 100 * _distractors(r) + 50 * waits(r) + trained
            info = dict(trained=setting_of(r), order=order, seed=int(r["seed"]), steps=int(r["steps_done"]))
            info["waits"] = waits(r)
            frames.append(g[["segments", "factor", "acc"]].assign(**info, trained_segments=trained))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(["order", "seed", "segments"], ignore_index=True)


def settings_table(curves: pd.DataFrame, far: Sequence[int] = (32, 128)) -> pd.DataFrame:
    """One row per run of :func:`settings_curves`: how it was trained, its seed and steps, its
    accuracy at the trained length and at each number of segments in ``far``."""
    if curves.empty:
        return pd.DataFrame()
    rows = []
    for (_, seed, trained), g in curves.groupby(["order", "seed", "trained"], sort=True):
        at = dict(zip(g["segments"], g["acc"]))
        row = {"trained": trained, "seed": seed, "steps": int(g["steps"].iloc[0])}
        row["at the trained length"] = at[int(g["trained_segments"].iloc[0])]
        rows.append(row | {f"at {n} segments": at.get(n, np.nan) for n in far})
    return pd.DataFrame(rows)


def settings_summary(curves: pd.DataFrame, segments: int = 128, bar: float = 0.95) -> pd.DataFrame:
    """Per way of training in :func:`settings_curves`: the seeds tested at ``segments`` segments,
    the lowest and highest accuracy there, and how many seeds reach ``bar``."""
    if curves.empty:
        return pd.DataFrame()
    far = curves[curves["segments"] == segments]
    rows = []
    for (_, trained), g in far.groupby(["order", "trained"], sort=True):
        rows.append(
            {
                "trained": trained,
                "seeds": format_seeds(g["seed"]),
                f"lowest at {segments}": g["acc"].min(),
                f"highest at {segments}": g["acc"].max(),
                f"seeds at {bar:.2f} or more": f"{int((g['acc'] >= bar).sum())} of {g['seed'].nunique()}",
            }
        )
    return pd.DataFrame(rows)


def million_table(million: pd.DataFrame) -> pd.DataFrame:
    """From ``rmt_lite.repro.needle_million.load``: one row per length read (tokens, segments),
    each seed's accuracy over every depth, and the lowest accuracy of any one depth in any seed."""
    if million.empty:
        return pd.DataFrame()
    rows = []
    for length, g in million.groupby("length"):
        row = {"tokens": tokens_label(int(length)), "segments": int(g["segments"].iloc[0])}
        for seed, s in g.groupby("seed"):
            row[f"seed {seed}"] = s["correct"].sum() / s["n"].sum()
        rows.append(row | {"worst depth, any seed": g["acc"].min()})
    return pd.DataFrame(rows)


def learned_on_one(history: pd.DataFrame, records: pd.DataFrame, bar: float) -> pd.DataFrame:
    """Per run of ``records`` (``rmt_lite.load_records``) with a training curve in ``history``
    (``rmt_lite.load_history``): its experiment, seed and the first step at which its validation
    accuracy on one segment reached ``bar`` (NaN: never), the number of samples seen by then, and
    the highest accuracy on one segment before that step (the plateau it climbed from; NaN where
    the first evaluation already passed)."""
    rows = []
    for r in records.itertuples():
        h = history[(history["experiment"] == r.experiment) & (history["run_id"] == r.run_id)]
        one = h[h["segments"] == 1].sort_values("step")
        if one.empty:
            continue
        passed = one[one["acc"] >= bar]
        step = float(passed["step"].iloc[0]) if len(passed) else float("nan")
        before = one.loc[one["step"] < step, "acc"] if len(passed) else one["acc"]
        rows.append(
            dict(
                experiment=r.experiment,
                seed=int(r.seed),
                step=step,
                samples=step * r.batch_size,
                plateau=float(before.max()) if len(before) else float("nan"),
            )
        )
    return pd.DataFrame(rows, columns=["experiment", "seed", "step", "samples", "plateau"])
