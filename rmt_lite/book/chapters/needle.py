"""Chapter 9 (the needle): the table of claim 10 (the needle trained on 2, 4 or 6 segments, tested up
to twice as long), accuracy by where the fact sits, and where the memory loses it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...repro.claims.rule import mean_sd  # how chapter 10 shows a spread over seeds

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
