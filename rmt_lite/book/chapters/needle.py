"""Chapter 9's table of claim 10: the needle trained on 2, 4 or 6 segments, tested up to twice as long."""

from __future__ import annotations

import pandas as pd

from ..claims.rule import mean_sd  # how chapter 10 shows a spread over seeds

EXPERIMENT = "needle_lengths"


def lengths_table(gen: pd.DataFrame) -> pd.DataFrame:
    """From ``rmt_lite.generalisation.load``: one row per number of training segments, the numbers
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
    """From ``rmt_lite.memory_norm.load``: one row per seed, the share answered at the longest
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
