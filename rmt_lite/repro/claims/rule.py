"""The seed rule and how numbers are shown: the parts every claim shares (see the package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

MIN_SEEDS = 3
CHANCE_MARGIN = 0.05  # "at chance" = within 5 points of 1/num_symbols
MATCH_MARGIN = 0.01  # "matches" = at most 1 point below
AHEAD = 0.01  # "ahead", "above", "beats" (an accuracy) = more than 1 point above: a tie at the ceiling is not a win
NEAR_ONE = 0.95  # retrieval "near 1.0"
SETTLED_FROM = 0.75  # language modelling: the order must not change from 3/4 of training on
CLOSE = 0.05  # quadratic "close to the whole-sample transformer" = at most 5 points below

HOLDS, FAILS, INCONCLUSIVE, PARTLY = "holds", "does not hold", "inconclusive", "partly"
NOT_RUN = "not run yet"
RMT, BASELINES = "RMT", "baselines"
CAPACITY = "capacity (not a claim of the paper)"


@dataclass(frozen=True)
class Verdict:
    paper: str
    ours: str
    runs: str
    verdict: str
    paper_short: str = ""  # the deciding comparison at a glance (chapter 10's first table)
    ours_short: str = ""
    differs: str = ""  # how our setting differs from the paper's where that may decide the verdict


def edited(records: pd.DataFrame) -> pd.Series:
    """Per record: trained from a tree with local edits (a ``git_sha`` ending in ``+dirty`` names
    code that no commit holds)."""
    return records["git_sha"].fillna("").astype(str).str.endswith("+dirty")


def clean(records: pd.DataFrame) -> pd.DataFrame:
    """The records a claim may read: those trained from a commit without local edits."""
    if records.empty or "git_sha" not in records:
        return records
    return records[~edited(records)]


# -- the seed rule --------------------------------------------------------------------------------
def every(ok: pd.Series) -> str:
    """One statement checked per seed (or per run): holds in all, in none, or the seeds disagree."""
    ok = ok.astype(bool)
    if len(ok) == 0:
        return NOT_RUN
    return HOLDS if ok.all() else FAILS if not ok.any() else INCONCLUSIVE


def combine(parts: list[str]) -> str:
    """The verdict of a claim made of several parts (each from :func:`every`)."""
    parts = [p for p in parts if p != NOT_RUN]
    if not parts:
        return NOT_RUN
    if all(p == HOLDS for p in parts):
        return HOLDS
    if FAILS in parts:
        return PARTLY if HOLDS in parts else FAILS
    return INCONCLUSIVE


def _tentative(text: str, seeds: int) -> str:
    if text == NOT_RUN or seeds >= MIN_SEEDS:
        return text
    return f"{text} (tentative: {seeds} seed{'s' if seeds != 1 else ''})"


def _decide(parts: list[str], seeds: int) -> str:
    return _tentative(combine(parts), seeds)


def _paired(df: pd.DataFrame, keys: list[str], value: str = "test_acc", column: str = "model") -> pd.DataFrame:
    """One row per (keys, seed), one column per ``column`` value; rows missing a model dropped."""
    return df.pivot_table(index=[*keys, "seed"], columns=column, values=value, aggfunc="mean").dropna()


# -- how numbers are shown ------------------------------------------------------------------------
def _spread(values: pd.Series, digits: int = 2) -> str:
    """Ours: mean ± standard deviation [value of each seed, in seed order]."""
    values = values.dropna()
    if len(values) < 2:
        return mean_sd(values, digits)
    each = ", ".join(f"{v:.{digits}f}" for v in values)
    return f"{mean_sd(values, digits)} [{each}]"


def mean_sd(values: pd.Series, digits: int = 2) -> str:
    """Ours at a glance: mean ± standard deviation over seeds (the value alone for one seed)."""
    values = values.dropna()
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _paper_mean(values: pd.Series, digits: int = 2) -> str:
    values = values.dropna()
    return f"{values.mean():.{digits}f}" if len(values) else "-"


def _by_seed(df: pd.DataFrame, value: str = "test_acc") -> pd.Series:
    return df.groupby("seed")[value].mean().sort_index()


def _paper_spread(values: pd.Series, digits: int = 2) -> str:
    """The paper's: mean (number of runs, min-max)."""
    values = values.dropna()
    if len(values) == 0:
        return "-"
    runs = f"{len(values)} run{'s' if len(values) != 1 else ''}"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f} ({runs})"
    return f"{values.mean():.{digits}f} ({runs}, {values.min():.{digits}f}-{values.max():.{digits}f})"


def _runs(df: pd.DataFrame) -> str:
    """How many runs a verdict rests on, their profile and seeds, and what they cost."""
    if df.empty:
        return "-"
    profiles = ",".join(sorted(df["profile"].unique()))
    seeds = ",".join(str(s) for s in sorted(df["seed"].unique()))
    text = f"{len(df)} runs, profile {profiles}, seeds {seeds}"
    if "wall_time_s" in df and df["wall_time_s"].notna().any():  # every cpu run trains on one thread
        text += f", {df['wall_time_s'].sum() / 60:.0f} min of training"
    return text


def budget(ours: pd.DataFrame, experiment: str, unit: str = "samples") -> dict[str, float]:
    """Our training budget beside the ``paper`` profile's, as numbers: ``steps`` and ``per_step``
    (samples, or tokens with ``unit="tokens"``: samples x segment length) of the longest of our
    runs in ``ours``, the paper profile's ``paper_steps`` and ``paper_per_step``, and ``times``,
    how many times as much the paper's budget holds. Empty when ``ours`` lacks the columns."""
    from ...run_config import resolve

    if unit not in ("samples", "tokens"):
        raise ValueError(f"unit={unit!r} is not allowed: 'samples' or 'tokens'")
    if not len(ours) or not {"steps", "batch_size", "segment_len"} <= set(ours):
        return {}
    ref = resolve(experiment, "rmt", "paper")
    steps, per_step, ref_per_step = int(ours["steps"].max()), int(ours["batch_size"].max()), ref.batch_size
    if unit == "tokens":
        per_step, ref_per_step = per_step * int(ours["segment_len"].max()), ref_per_step * ref.segment_len
    return dict(
        steps=steps,
        per_step=per_step,
        paper_steps=ref.steps,
        paper_per_step=ref_per_step,
        times=ref.steps * ref_per_step / (steps * per_step),
    )


def _min_seeds(df: pd.DataFrame, keys: list[str]) -> int:
    return int(df.groupby(keys)["seed"].nunique().min()) if len(df) else 0


def _task_runs(records: pd.DataFrame, experiments: tuple[str, ...]) -> pd.DataFrame:
    if records.empty:
        return records
    return records[records["experiment"].isin(experiments)].dropna(subset=["test_acc"])
