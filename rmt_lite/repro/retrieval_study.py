"""What slows rmt down on retrieval (chapter 3): the records of experiment ``retrieval_study``.

Every run there reads the 10-token retrieval sample in ONE segment, where no memory is needed:
the transformer is the baseline and each rmt run changes one setting of the profile: a memory
setting (5 memory tokens, distinct N(0, 1) slots, read block just before the text) or the
optimiser's (learning rate 1e-3, 50 warm-up steps). The task is learned
in a jump after a plateau at 0.25 (one of the four stored values), so a run is summarised by the
step at which its validation accuracy first passed ``LEARNED`` (chapter 3 reads its retrieval runs
by the same threshold).
"""

from __future__ import annotations

import math

import pandas as pd

from ..run_config import resolve

LEARNED = 0.5
# the settings a study run may change: the memory's (rmt only) and the optimiser's (any model)
MEMORY_SETTINGS = ("mem_size", "mem_init", "mem_init_std", "mem_pos_gap")
TRAINING_SETTINGS = ("lr", "warmup_steps")


def condition(row: pd.Series, profile: str = "cpu") -> str:
    """A short name for the setting of one record: ``transformer``, ``rmt``, ``rmt, mem_size 1``,
    ``rmt, lr 0.003``, ``transformer, lr 0.003``, ``peer rmt``, ... (the profile's values are not
    named)."""
    model = row["model"]
    peer = str(row.get("implementation", "rmt_lite")) != "rmt_lite"
    base = resolve("retrieval_study", model, profile)
    changed = []
    for key in (MEMORY_SETTINGS if model == "rmt" else ()) + TRAINING_SETTINGS:
        value, default = row.get(key), getattr(base, key)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == default:
            continue
        changed.append(f"{key} {value:g}" if isinstance(value, (int, float)) else f"{key} {value}")
    return ("peer rmt" if peer else model) + "".join(f", {c}" for c in changed)


def learning_steps(history: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """One row per record: ``condition``, ``seed``, ``learned_at`` (the first evaluated step whose
    validation accuracy passed ``LEARNED``; NaN: never within the budget), ``steps`` trained and
    ``test_acc``."""
    rows = []
    for run in records.itertuples(index=False):
        h = history[history["run_id"] == run.run_id].sort_values("step")
        passed = h.loc[h["acc"] > LEARNED, "step"]
        rows.append(
            dict(
                condition=condition(pd.Series(run._asdict())),
                seed=int(run.seed),
                learned_at=float(passed.iloc[0]) if len(passed) else math.nan,
                steps=int(run.steps_done),
                test_acc=float(run.test_acc),
            )
        )
    return pd.DataFrame(rows, columns=["condition", "seed", "learned_at", "steps", "test_acc"])


def summary(steps: pd.DataFrame, baseline: str = "transformer") -> pd.DataFrame:
    """One row per condition (the baseline, rmt, its variants, then the peer's): how many runs
    learned within the budget; the step each seed learned at (``-``: not within the budget); the
    median over seeds (a run that never learned counts as later than any that did); in how many
    seeds the setting learned later than ``baseline`` with the same seed (the same start for every
    shared weight and the same batches, so the pair differs only by the setting; the peer's runs
    share only the batches); and the test accuracy per seed."""
    when = steps.assign(at=steps["learned_at"].fillna(math.inf))
    base = when[when["condition"] == baseline].set_index("seed")["at"]
    rows = []
    order = sorted(when["condition"].unique(), key=lambda n: (n != baseline, n != "rmt", n.startswith("peer"), n))
    for name in order:
        g = when[when["condition"] == name].sort_values("seed")
        paired = g[g["seed"].isin(base.index)]
        later = int((paired["at"].to_numpy() > base.loc[paired["seed"]].to_numpy()).sum())
        rows.append(
            {
                "setting": name,
                "learned": f"{int(g['learned_at'].notna().sum())} of {len(g)}",
                "step learned, per seed": ", ".join("-" if math.isnan(s) else f"{s:.0f}" for s in g["learned_at"]),
                "median step": g["at"].median(),
                f"later than the {baseline}": "" if name == baseline else f"{later} of {len(paired)}",
                "test accuracy, per seed": ", ".join(f"{a:.2f}" for a in g["test_acc"]),
                "mean test accuracy": g["test_acc"].mean(),
            }
        )
    return pd.DataFrame(rows)


def finding(records: pd.DataFrame, history: pd.DataFrame, baseline: str = "transformer") -> dict | None:
    """The study's result in numbers, for claim 4's reason: per setting, the runs that learned and
    the seeds in which it learned later than ``baseline``; ``matches``: the settings that learned
    in as many seeds as the baseline and never later than it. None without study records."""
    study = records[records["experiment"] == "retrieval_study"] if len(records) else records
    if study.empty or history is None or not len(history):
        return None
    table = summary(learning_steps(history[history["experiment"] == "retrieval_study"], study), baseline)
    rows = table.set_index("setting")
    if baseline not in rows.index or "rmt" not in rows.index:
        return None
    later = f"later than the {baseline}"
    learned_base = rows.loc[baseline, "learned"]
    matches = [
        name
        for name, row in rows.iterrows()
        if name not in (baseline, "rmt") and row["learned"] == learned_base and row[later].startswith("0 of")
    ]
    return dict(
        baseline=learned_base,
        rmt=rows.loc["rmt", "learned"],
        rmt_later=rows.loc["rmt", later],
        settings=[n for n in rows.index if n not in (baseline, "rmt")],
        matches=matches,
    )
