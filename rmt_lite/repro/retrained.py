"""Trained twice: a record from an edited tree beside its retrain from a clean commit.

A record whose commit ends in ``+dirty`` is trained again from a clean checkout with the same
experiment, model, seed and settings: the same run id, so the same batches and the same initial
weights. Between the two commits the code may compute the same training with other floating-point
rounding. This module pairs the two trainings of each run and says where they part: the test score
of each, the validation losses at the first evaluation and the first evaluation at which they differ
by more than ``tol``. A chapter reads the table to say how much a result rests on its exact
floating-point path.

``python -m rmt_lite.repro.retrained --experiment retrieval --before ../before/results`` compares the
records under ``../before/results`` (a checkout of a commit that still held the edited-tree records,
for example ``git worktree add ../before <commit>``) with the committed ones and writes
``results/retrained/<experiment>.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..records import atomic_write_text, load_history, load_records
from ..run_config import resolve
from .claims.rule import edited

FOLDER = "retrained"
TOL = 1e-3  # validation losses this far apart have parted (rounding alone moves them by far less at first)
COLUMNS = [
    "run_id",
    "model",
    "num_segments",
    "seed",
    "commit_before",
    "commit_after",
    "test_before",
    "test_after",
    "loss_gap_first",
    "parted_at",
    "steps_before",
    "steps_after",
]


def compare(
    before: pd.DataFrame,
    before_history: pd.DataFrame,
    after: pd.DataFrame,
    after_history: pd.DataFrame,
    metric: str,
    tol: float = TOL,
) -> pd.DataFrame:
    """One row per run whose record is from an edited tree in ``before`` and from a clean commit in
    ``after`` (records as :func:`rmt_lite.load_records`, histories as :func:`rmt_lite.load_history`):
    the test ``metric`` of each training, the gap between their validation losses at the first
    evaluation both made, and the first step at which that gap exceeds ``tol`` (NaN: never)."""
    pairs = before[edited(before)].merge(after[~edited(after)], on="run_id", suffixes=("_before", "_after"))
    rows = []
    for run in pairs.to_dict("records"):
        losses = [h[h["run_id"] == run["run_id"]].set_index("step")["loss"] for h in (before_history, after_history)]
        common = losses[0].index.intersection(losses[1].index).sort_values()
        gap = (losses[0][common] - losses[1][common]).abs()
        rows.append(
            dict(
                run_id=run["run_id"],
                model=run["model_before"],
                num_segments=run["num_segments_before"],
                seed=run["seed_before"],
                commit_before=run["git_sha_before"],
                commit_after=run["git_sha_after"],
                test_before=run[f"test_{metric}_before"],
                test_after=run[f"test_{metric}_after"],
                loss_gap_first=float(gap.iloc[0]) if len(gap) else float("nan"),
                parted_at=float(gap.index[gap > tol].min()) if (gap > tol).any() else float("nan"),
                steps_before=run["steps_done_before"],
                steps_after=run["steps_done_after"],
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["model", "num_segments", "seed"], ignore_index=True)


def load(results_dir: str | Path, experiment: str) -> pd.DataFrame:
    """The committed comparison of ``experiment`` (empty, with the columns, where none is)."""
    path = Path(results_dir) / FOLDER / f"{experiment}.csv"
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=COLUMNS)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmt_lite.repro.retrained", description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", required=True)
    p.add_argument("--before", required=True, help="a results folder that still holds the edited-tree records")
    p.add_argument("--results", default="results", help="the committed results (default: results/)")
    p.add_argument("--profile", default="cpu")
    args = p.parse_args(argv)
    if not Path(args.before).is_dir():
        p.error(f"--before {args.before!r} is not a folder: give a results folder of a commit that held the records")
    try:
        metric = resolve(args.experiment, "rmt", args.profile).spec.metric
    except ValueError as e:  # an unknown experiment or profile, named by resolve
        p.error(str(e))
    exp, profile = args.experiment, args.profile
    read = [
        (load_records(d, exp, profile=profile), load_history(d, exp, profile=profile))
        for d in (args.before, args.results)
    ]
    if read[0][0].empty or read[1][0].empty:
        p.error(f"no {profile} records of {exp!r} under --before {args.before!r} or --results {args.results!r}")
    table = compare(*read[0], *read[1], metric=metric)
    out = Path(args.results) / FOLDER / f"{args.experiment}.csv"
    atomic_write_text(out, table.to_csv(index=False))
    print(table.to_string(index=False))
    print(f"{len(table)} runs -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
