"""What every chapter shares: the one policy for training or reusing a run, and the provenance
line that names the runs behind a figure or table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ..experiments import resolve
from ..records import CHECKPOINT, CONFIG, RECORD, WEIGHTS, RunRecord, repo_root
from ..trainer import default_run_id, same_config, train_experiment


def _reusable(folder: Path, config: dict) -> bool:
    """A finished run of this very config (its saved config.json equal) with its trained model."""
    if not (folder / RECORD).exists() or not any((folder / f).exists() for f in (CHECKPOINT, WEIGHTS)):
        return False
    return (folder / CONFIG).exists() and same_config(json.loads((folder / CONFIG).read_text()), config)


def train_or_reuse(
    experiment: str,
    model: str = "rmt",
    profile: str = "smoke",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    *,
    results_dir: str | Path | None = None,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> tuple[RunRecord, Path]:
    """The finished run of one configuration and its folder, trained here only when it cannot be
    reused. Returns ``(record, run_dir)``; ``rmt_lite.load_model(run_dir)`` gives its model.

    The one policy of every chapter:

    * a ``smoke`` run is trained again each time, under ``runs/smoke/`` (it takes seconds, and it
      always shows the code of the checkout);
    * a run of another profile is reused when its folder holds the record, the same config and
      the trained model (its checkpoint, or the half-precision weights shipped with the committed
      results), looked for first in ``results_dir`` (the committed results), then in
      ``runs/<profile>/``;
    * otherwise it is trained, or resumed from its checkpoint, under ``runs/<profile>/`` of the
      checkout. A chapter never writes into the committed results: records there come from
      ``make reproduce`` on a clean checkout, so that they name clean code.
    """
    cfg = resolve(experiment, model, profile, seed, overrides)  # refuses bad input before anything is written
    rid = default_run_id(cfg)
    local = (repo_root() or Path.cwd()) / "runs" / profile
    if profile != "smoke":
        for root in ([Path(results_dir)] if results_dir is not None else []) + [local]:
            if _reusable(root / experiment / rid, cfg.to_dict()):
                record = RunRecord.load(root / experiment / rid / RECORD)
                (log or print)(f"{experiment}/{rid}: reused the finished run in {root}")
                return record, root / experiment / rid
    record = train_experiment(
        experiment,
        model,
        profile,
        seed,
        overrides,
        out_dir=local,
        device=device,
        progress=False,
        rerun=profile == "smoke" or (local / experiment / rid / RECORD).exists(),
        log=log,
    )
    return record, local / experiment / rid


def records_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """The :func:`rmt_lite.load_records` table (one flat row per run) of some run records."""
    return pd.DataFrame([r.flat() for r in records])


def format_seeds(seeds: Iterable) -> str:
    """``0-2`` for a run of three or more consecutive seeds, else ``0,2``."""
    s = sorted({int(x) for x in seeds})
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return ",".join(map(str, s))


def records_provenance(records: pd.DataFrame, where: str) -> str:
    """One line naming where a table of runs comes from, its profile(s), seeds, number of runs and
    commits: the stamp under a figure. ``records`` needs the columns profile, seed and git_sha."""
    if records is None or len(records) == 0:
        return f"{where}: no runs"
    profiles = ",".join(sorted(set(records["profile"].astype(str))))
    commits = sorted(set(records["git_sha"].astype(str)))
    shown = ",".join(commits[:3]) + (f" +{len(commits) - 3} more" if len(commits) > 3 else "")
    n, seeds = len(records), format_seeds(records["seed"])
    return (
        f"{where}: {n} run{'s' if n != 1 else ''}, profile={profiles}, "
        f"seed{'s' if records['seed'].nunique() > 1 else ''} {seeds}, commit{'s' if len(commits) > 1 else ''} {shown}"
    )
