"""The provenance line that names the runs behind a figure or table, and the table of some records."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ...records import RunRecord


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
    commits: the stamp under a figure. ``records`` needs the columns profile, seed and git_sha. A run
    trained from a tree with local edits (a sha ending in ``+dirty``) names no commit: it is counted,
    not listed."""
    if records is None or len(records) == 0:
        return f"{where}: no runs"
    profiles = ",".join(sorted(set(records["profile"].astype(str))))
    shas = records["git_sha"].astype(str)
    edited = int(shas.str.endswith("+dirty").sum())
    commits = sorted(set(shas[~shas.str.endswith("+dirty")]))
    shown = ",".join(commits[:3]) + (f" +{len(commits) - 3} more" if len(commits) > 3 else "")
    n, seeds = len(records), format_seeds(records["seed"])
    plural = "s" if records["seed"].nunique() > 1 else ""
    line = f"{where}: {n} run{'s' if n != 1 else ''}, profile={profiles}, seed{plural} {seeds}"
    if commits:
        line += f", commit{'s' if len(commits) > 1 else ''} {shown}"
    if edited:
        line += f", {edited} from uncommitted code" if commits else ", all from uncommitted code"
    return line
