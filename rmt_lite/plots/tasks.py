"""Tables and figures of the algorithmic-task chapters (paper section 4.1, Fig. 4 and 5):
02 copy and reverse, 03 associative retrieval, 04 longer sequences.

Everything here reads what the package already produces: run records (:func:`rmt_lite.load_records`,
:func:`rmt_lite.load_history`, ``records.read_records``), the paper's own numbers
(:func:`rmt_lite.paper.synthetic`) and trained models (:func:`rmt_lite.load_model` +
:func:`rmt_lite.evaluate_task`). The chapters only call these functions and show the results.

Names used throughout:

- ``label``: the model as the book names it; a ``transformer`` that reads the whole sample in one
  segment is ``"transformer (whole)"`` (the full-attention upper bound), as in the paper's CSVs;
- a *summary* is one row per setting (task, label, memory size, number of segments) with the
  mean, minimum and maximum over seeds of the per-token accuracy (``acc``: greedy, the paper's
  metric) and of the whole-answer exact match (``exact``), and the seeds and commits behind it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from ..config import display_name
from ..generalisation import generalisation_lengths, length_generalisation  # noqa: F401 (chapter 4)
from . import stamp

MODEL_ORDER = ("transformer (whole)", "transformer", "mt", "xl", "rmt", "rmt_xl")
_PALETTE = sns.color_palette("colorblind", 10)
MODEL_COLORS = {
    "transformer (whole)": _PALETTE[7],
    "transformer": _PALETTE[0],
    "mt": _PALETTE[4],
    "xl": _PALETTE[2],
    "rmt": _PALETTE[3],
    "rmt_xl": _PALETTE[1],
}
SUMMARY_COLUMNS = [
    "source",
    "task",
    "label",
    "mem_size",
    "mem_sizes",
    "num_segments",
    "segment_len",
    "seq_len",
    "acc_mean",
    "acc_min",
    "acc_max",
    "exact_mean",
    "exact_min",
    "exact_max",
    "n_runs",
    "seeds",
    "commits",
    "wall_time_s",
]
# per-token chance of a model that guesses uniformly among the answer's possible symbols
RETRIEVAL_VALUES = 10


# ------------------------------------------------------------------------------------------------
# naming
model_label = display_name  # the book's name of a run (rmt_lite.config.display_name)


def _order(labels: Iterable[str]) -> list[str]:
    labels = list(dict.fromkeys(labels))
    return [m for m in MODEL_ORDER if m in labels] + sorted(m for m in labels if m not in MODEL_ORDER)


def _color(label: str):
    return MODEL_COLORS.get(label, "0.3")


def chance_level(task: str, num_symbols: int | None = None) -> float:
    """Per-token accuracy of uniform guessing: ``1 / num_symbols`` for copy and reverse (each answer
    token is one of ``num_symbols`` symbols), ``1 / 10`` for associative retrieval (the answer is
    one of the 10 values). ``task`` may carry the paper's length suffix (``copy120``) or be a
    long experiment's name (``copy_long``)."""
    base = task.split("_")[0].rstrip("0123456789")
    if base == "retrieval":
        return 1.0 / RETRIEVAL_VALUES
    if base in ("copy", "reverse"):
        if not num_symbols or num_symbols < 1:
            raise ValueError(f"num_symbols={num_symbols!r} is not allowed for task {task!r}: a positive integer")
        return 1.0 / num_symbols
    raise ValueError(f"task={task!r} is not allowed: copy, reverse or retrieval (optionally with a suffix)")


# ------------------------------------------------------------------------------------------------
# our records
def _task_columns(experiment: str) -> list[str]:
    from ..experiments import EXPERIMENTS

    return list(EXPERIMENTS[experiment].profiles["smoke"].get("task", {}))


def _seq_len(experiment: str, row: pd.Series) -> int:
    import data_gen

    from ..experiments import EXPERIMENTS

    spec = EXPERIMENTS[experiment]
    params = {k: int(row[k]) for k in _task_columns(experiment) if k in row and not pd.isna(row[k])}
    return int(data_gen.make_task(spec.task_name, **params).seq_len)


def format_seeds(seeds: Iterable) -> str:
    s = sorted({int(x) for x in seeds})
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return ",".join(map(str, s))


def summarise_records(
    records: pd.DataFrame, *, split: str = "test", mem_size: int | dict | None = None, source: str = "ours"
) -> pd.DataFrame:
    """One row per (experiment, label, mem_size, num_segments) of a :func:`rmt_lite.load_records`
    table: mean / min / max over seeds of ``<split>_acc`` and ``<split>_exact_match``, the seeds,
    the commits and the summed training time.

    ``mem_size``: keep only memory models (``mt``, ``xl``, ``rmt``, ``rmt_xl``) of that memory
    size (the equal-memory comparison), or of ``mem_size[experiment]`` for a dict; the
    ``transformer`` rows have no memory and are kept.
    Returns an empty frame with :data:`SUMMARY_COLUMNS` when there is nothing to summarise.
    """
    if records is None or len(records) == 0:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    df = records.copy()
    for col in (f"{split}_acc", f"{split}_exact_match"):
        if col not in df:
            raise ValueError(f"split={split!r} is not allowed for these records: they have no column {col!r}")
    df["label"] = [model_label(m, n) for m, n in zip(df["model"], df["num_segments"])]
    df["mem_size"] = np.where(df["model"] == "transformer", 0, df["mem_size"]).astype(int)
    if mem_size is not None:
        want = df["experiment"].map(mem_size) if isinstance(mem_size, dict) else mem_size
        df = df[(df["mem_size"] == want) | (df["model"] == "transformer")]
    df["seq_len"] = [_seq_len(e, r) for e, (_, r) in zip(df["experiment"], df.iterrows())]
    rows = []
    keys = ["experiment", "label", "mem_size", "num_segments", "segment_len", "seq_len"]
    for key, g in df.groupby(keys, sort=False):
        acc, ex = g[f"{split}_acc"].astype(float), g[f"{split}_exact_match"].astype(float)
        rows.append(
            dict(
                zip(keys, key),
                source=source,
                mem_sizes=str(int(key[2])),
                acc_mean=acc.mean(),
                acc_min=acc.min(),
                acc_max=acc.max(),
                exact_mean=ex.mean(),
                exact_min=ex.min(),
                exact_max=ex.max(),
                n_runs=len(g),
                seeds=format_seeds(g["seed"]),
                commits=",".join(sorted(set(g["git_sha"].astype(str)))),
                wall_time_s=float(g["wall_time_s"].sum()),
            )
        )
    out = pd.DataFrame(rows).rename(columns={"experiment": "task"})
    out["num_segments"] = out["num_segments"].astype(int)
    return _sort(out[SUMMARY_COLUMNS])


def _sort(df: pd.DataFrame) -> pd.DataFrame:
    rank = {m: i for i, m in enumerate(MODEL_ORDER)}
    return (
        df.assign(_r=df["label"].map(lambda m: rank.get(m, len(rank))))
        .sort_values(["task", "_r", "mem_size", "num_segments"])
        .drop(columns="_r")
        .reset_index(drop=True)
    )


def records_provenance(records: pd.DataFrame, where: str = "results/") -> str:
    """One line naming the profile(s), seeds, commits and number of runs behind a table of
    records (for figure stamps and captions)."""
    if records is None or len(records) == 0:
        return f"{where}: no records"
    profiles = ",".join(sorted(set(records["profile"].astype(str))))
    commits = sorted(set(records["git_sha"].astype(str)))
    shown = ",".join(commits[:3]) + (f" +{len(commits) - 3} more" if len(commits) > 3 else "")
    return (
        f"{where}: profile={profiles}, seeds {format_seeds(records['seed'])}, "
        f"{len(records)} run{'s' if len(records) != 1 else ''}, "
        f"commit{'s' if len(commits) > 1 else ''} {shown}"
    )


def load_task_records(results_dir: str | Path, experiments: Sequence[str], profile: str) -> pd.DataFrame:
    """:func:`rmt_lite.load_records` of several experiments at one profile, in one table (empty,
    without columns, when none has a record)."""
    from ..records import load_records

    frames = [load_records(results_dir, e, profile=profile) for e in experiments]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def chance_levels(tasks: Sequence[str], records: pd.DataFrame | None = None, profile: str = "cpu") -> dict[str, float]:
    """:func:`chance_level` of each experiment in ``tasks``, for the number of symbols of its
    runs in ``records`` (when they hold it) or else of ``profile``."""
    from ..experiments import resolve

    out = {}
    for t in tasks:
        n = None
        if records is not None and len(records) and "num_symbols" in records:
            vals = records.loc[records["experiment"] == t, "num_symbols"].dropna().unique()
            if len(vals) > 1:
                raise ValueError(f"records of {t!r} mix num_symbols {sorted(vals)}; allowed: one value per task")
            n = int(vals[0]) if len(vals) else None
        if n is None:
            n = resolve(t, "rmt", profile).task.get("num_symbols")
        out[t] = chance_level(t, n)
    return out


def find_checkpoint(results_dir: str | Path, experiment: str, model: str, profile: str) -> Path | None:
    """The folder of a finished run (``record.json``) of ``experiment``/``model``/``profile`` under
    ``results_dir`` that holds its ``checkpoint.pt`` (not committed: only where the run was
    trained) or its shipped ``weights.pt``, lowest seed first; None when there is none."""
    from ..records import read_records

    found = []
    for r in read_records(results_dir, experiment):
        folder = Path(results_dir) / experiment / r.run_id
        weights = any((folder / f).exists() for f in ("checkpoint.pt", "weights.pt"))
        if r.model == model and r.profile == profile and weights:
            found.append((r.seed, r.run_id, folder))
    return sorted(found)[0][2] if found else None


@dataclass
class Shown:
    """Which runs a chapter's figures show: the committed records when there are any, else the
    notebook's own fresh runs (see :func:`choose_records`)."""

    records: pd.DataFrame  # load_records-style table
    name: str  # legend name of our runs: "ours (cpu)" or "this smoke run"
    provenance: str  # the stamp line of the figures
    status: str  # one plain sentence for the reader
    committed: bool
    profile: str  # the profile the records come from

    @property
    def title_suffix(self) -> str:
        """Nothing for committed runs; `` (smoke run, not a result)`` for the fresh ones."""
        return "" if self.committed else f" ({self.profile} run, not a result)"


def choose_records(
    committed: pd.DataFrame,
    fresh: pd.DataFrame,
    *,
    committed_profile: str,
    profile: str,
    results_dir: str | Path,
    fresh_provenance: str,
) -> Shown:
    """The committed records (``committed``, profile ``committed_profile``, read from
    ``results_dir``) when there are any; otherwise the notebook's own ``fresh`` runs at
    ``profile``, with a status sentence that says so plainly (a smoke run says nothing about
    the paper)."""
    if len(committed):
        return Shown(
            committed,
            f"ours ({committed_profile})",
            records_provenance(committed, str(results_dir)),
            f"The figures show the committed {committed_profile} runs: {len(committed)} "
            f"record{'s' if len(committed) != 1 else ''} in "
            f"{results_dir}, seeds {format_seeds(committed['seed'])}.",
            True,
            committed_profile,
        )
    smoke = profile == "smoke"
    return Shown(
        fresh,
        f"this {profile} run",
        fresh_provenance + (": a smoke run, says nothing about the paper" if smoke else ""),
        f"No committed {committed_profile} results exist yet in {results_dir}. The figures show this "
        f"notebook's own {profile} runs instead" + (", which say nothing about the paper." if smoke else "."),
        False,
        profile,
    )


def size_note(tasks: Sequence[str], profile: str) -> str:
    """A sentence comparing the sample lengths of ``tasks`` at ``profile`` with the paper's
    (read from its CSVs): the same, or shorter with the same numbers of segments."""
    from ..experiments import resolve, sample_len

    ours = {t: sample_len(resolve(t, "rmt", profile)) for t in tasks}
    theirs = {t: int(paper_summary(t)["seq_len"].iloc[0]) for t in tasks}
    if ours == theirs:
        return f"These are the paper's sample lengths ({', '.join(f'{t} {n} tokens' for t, n in ours.items())})."
    return (
        "The paper's samples are longer: "
        + ", ".join(f"{t} {theirs[t]} tokens" for t in tasks)
        + f". The {profile} profile uses "
        + ", ".join(f"{ours[t]}" for t in tasks)
        + " tokens so that a run fits in about ten minutes on a 2-core CPU. It keeps the paper's numbers of "
        "segments, which are shorter instead."
    )


def titles_with_lengths(ours: pd.DataFrame, paper: pd.DataFrame, tasks: Sequence[str]) -> list[str]:
    """Panel titles naming our sample length(s) and the paper's for each task."""
    out = []
    for t in tasks:
        mine = ", ".join(map(str, sorted(set(ours.loc[ours["task"] == t, "seq_len"])))) or "-"
        theirs = ", ".join(map(str, sorted(set(paper.loc[paper["task"] == t, "seq_len"])))) or "-"
        out.append(f"{t.capitalize()}: ours {mine} tokens, paper {theirs}")
    return out


def train_labels(
    experiment: str,
    labels: Sequence[str],
    profile: str,
    seed: int,
    *,
    num_segments: int | None = None,
    overrides: dict | None = None,
    out_dir: str | Path,
    device: str = "auto",
    rerun: bool = True,
    log=None,
) -> list:
    """Train one run per book label with :func:`rmt_lite.train_experiment` and return the
    :class:`rmt_lite.RunRecord` objects. ``"transformer (whole)"`` is a ``transformer`` on one
    segment (``num_segments=1``); the others use ``num_segments`` (None: the profile's)."""
    from ..trainer import train_experiment

    records = []
    for label in labels:
        model = "transformer" if label == "transformer (whole)" else label
        ov = dict(overrides or {})
        if label == "transformer (whole)":
            ov["num_segments"] = 1
        elif num_segments is not None:
            ov["num_segments"] = num_segments
        records.append(
            train_experiment(
                experiment,
                model,
                profile,
                seed,
                ov or None,
                out_dir=out_dir,
                device=device,
                progress=False,
                rerun=rerun,
                log=log,
            )
        )
    return records


def records_frame(records: Iterable) -> pd.DataFrame:
    """The :func:`rmt_lite.load_records` table of some :class:`rmt_lite.RunRecord` objects."""
    return pd.DataFrame([r.flat() for r in records])


def runs_table(records: pd.DataFrame) -> pd.DataFrame:
    """A short table of runs for the reader: model, seed, segments, segment length, memory, steps,
    why training stopped (``steps`` or ``target``), time, and the test accuracy (per token, the
    paper's metric) and exact match."""
    if len(records) == 0:
        return pd.DataFrame()
    df = records.assign(label=[model_label(m, n) for m, n in zip(records["model"], records["num_segments"])])
    out = pd.DataFrame(
        {
            "experiment": df["experiment"],
            "model": df["label"],
            "seed": df["seed"],
            "segments": df["num_segments"].astype(int),
            "seg. len": df["segment_len"],
            "memory": np.where(df["model"] == "transformer", 0, df["mem_size"]),
            "steps": df["steps_done"],
            "stop": df["stop_reason"].str.split(":").str[0],
            "time s": df["wall_time_s"].round(0).astype(int),
            "accuracy": df["test_acc"].round(3),
            "exact": df["test_exact_match"].round(3),
        }
    )
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# the paper's numbers
def paper_summary(
    datasets: str | Sequence[str],
    *,
    memory: str = "segment_len",
    query: str | None = None,
    task: str | None = None,
    synthetic: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The paper's runs of ``datasets`` (the CSVs' names: ``copy``, ``reverse``, ``retrieval``,
    ``copy120``, ...) summarised like :func:`summarise_records` (``exact_*`` are NaN: the paper
    reports per-token accuracy only).

    ``memory="segment_len"`` keeps the memory models' runs whose memory size equals the nominal
    segment length (the CSVs' ``tgt_len``; the setting behind the headline numbers, e.g. copy in 9
    segments: xl 0.28, rmt 1.0) and pools them by the number of segments the reference really
    made (``mem_sizes`` lists the sizes pooled); ``"all"`` keeps every memory size apart.
    ``segment_len`` is the real segment length, ``ceil(seq_len / num_segments)``. ``query`` is an extra
    :meth:`pandas.DataFrame.query` filter on the columns of :func:`rmt_lite.paper.synthetic`.
    ``task`` renames the rows' task (e.g. to put the paper beside our experiment ``copy_long``).
    """
    from .. import paper

    if memory not in ("segment_len", "all"):
        raise ValueError(f"memory={memory!r} is not allowed: 'segment_len' or 'all'")
    df = synthetic if synthetic is not None else paper.synthetic()
    names = [datasets] if isinstance(datasets, str) else list(datasets)
    unknown = sorted(set(names) - set(df["task"]))
    if unknown:
        raise ValueError(f"datasets={unknown} are not allowed: the paper's CSVs hold {sorted(set(df['task']))}")
    df = df[df["task"].isin(names)]
    if memory == "segment_len":
        df = df[df["model"].str.startswith("transformer") | (df["mem_size"] == df["segment_len"])]
    if query:
        df = df.query(query)
    if len(df) == 0:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = []
    # the reference split with torch.chunk, so two nominal segment lengths can give the same
    # number of segments (rmt_lite.paper.chunked_segments): group by the real number
    keys = ["task", "model", "n_segments", "seq_len"] + (["mem_size"] if memory == "all" else [])
    for key, g in df.groupby(keys, sort=False):
        d = dict(zip(keys, key))
        acc = g["accuracy"].astype(float)
        mems = sorted({int(m) for m in g["mem_size"]})
        rows.append(
            dict(
                source="paper",
                task=task or d["task"],
                label=d["model"],
                mem_size=mems[-1],
                mem_sizes=",".join(map(str, mems)),
                num_segments=int(d["n_segments"]),
                segment_len=-(-int(d["seq_len"]) // int(d["n_segments"])),
                seq_len=int(d["seq_len"]),
                acc_mean=acc.mean(),
                acc_min=acc.min(),
                acc_max=acc.max(),
                exact_mean=np.nan,
                exact_min=np.nan,
                exact_max=np.nan,
                n_runs=len(g),
                seeds=format_seeds(g["seed"]),
                commits="paper",
                wall_time_s=np.nan,
            )
        )
    return _sort(pd.DataFrame(rows)[SUMMARY_COLUMNS])


# ------------------------------------------------------------------------------------------------
# figures
def _errorbar(ax, x, g: pd.DataFrame, stat: str, color, *, paper: bool, label: str | None):
    y = g[f"{stat}_mean"].to_numpy(float)
    lo = y - g[f"{stat}_min"].to_numpy(float)
    hi = g[f"{stat}_max"].to_numpy(float) - y
    ax.errorbar(
        x,
        y,
        yerr=[lo, hi],
        color=color,
        ls="--" if paper else "-",
        lw=1.2 if paper else 1.8,
        marker="s" if paper else "o",
        ms=6,
        mfc="white" if paper else color,
        mec=color,
        capsize=3,
        elinewidth=1,
        label=label,
        zorder=2 if paper else 3,
    )


def _top_legend(fig: plt.Figure, handles: list, title: str) -> None:
    """The legend in rows above the axes and the title above it (the provenance stamp goes below)."""
    fig.tight_layout()
    top = max(ax.get_position().y1 for ax in fig.axes)
    ncol = min(len(handles), 5 if fig.get_figwidth() >= 8 else 4)
    pad = 0.35 / fig.get_figheight()  # 0.35 inch above the axes titles
    leg = fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, top + pad),
        ncol=ncol,
        frameon=False,
        fontsize=9,
        columnspacing=1.2,
        handlelength=2.2,
    )
    if title:
        fig.canvas.draw()
        box = leg.get_window_extent().transformed(fig.transFigure.inverted())
        fig.suptitle(title, y=box.y1 + 0.08 / fig.get_figheight(), va="bottom")


def plot_accuracy_by_segments(
    ours: pd.DataFrame,
    paper: pd.DataFrame | None,
    *,
    tasks: Sequence[str],
    titles: Sequence[str] | None = None,
    chance: dict[str, float] | None = None,
    provenance: str,
    title: str = "",
    exact: bool = True,
    ours_name: str = "ours",
) -> plt.Figure:
    """Per-token accuracy against the number of segments, one column per task: our runs (solid,
    filled circles; bars = min..max over seeds) beside the paper's (dashed, open squares, shifted a
    little to the right so that both stay visible), chance as a grey dotted line. With ``exact``,
    a second row shows our whole-answer exact match (the paper does not report it).

    ``ours`` and ``paper``: summaries (:func:`summarise_records`, :func:`paper_summary`) whose
    ``task`` column holds the names in ``tasks``.
    """
    paper = paper if paper is not None else pd.DataFrame(columns=SUMMARY_COLUMNS)
    nrows = 2 if exact else 1
    fig, axes = plt.subplots(
        nrows, len(tasks), figsize=(max(4.3 * len(tasks), 6.4), 3.0 * nrows + 0.6), squeeze=False, sharex="col"
    )
    labels = _order(list(ours["label"]) + list(paper["label"]))
    multi_mem = (
        ours[ours["mem_size"] > 0].groupby(["task", "label"])["mem_size"].nunique().max() > 1 if len(ours) else False
    )
    for j, task in enumerate(tasks):
        o, p = ours[ours["task"] == task], paper[paper["task"] == task]
        xs = sorted(set(o["num_segments"]) | set(p["num_segments"]))
        gap = min(np.diff(xs)) if len(xs) > 1 else 1.0
        for row, stat in enumerate(["acc", "exact"][:nrows]):
            ax = axes[row, j]
            for k, lab in enumerate(labels):
                # models side by side (dx apart) so that equal values stay visible; the paper's
                # points right of ours
                shift = (k - (len(labels) - 1) / 2) * 0.05 * gap
                for _src, d, is_paper in ((ours_name, o, False), ("paper", p, True)):
                    if is_paper and stat == "exact":
                        continue
                    g = d[d["label"] == lab]
                    for mem, gm in g.groupby("mem_size") if multi_mem and not is_paper else [(None, g)]:
                        gm = gm.sort_values("num_segments")
                        if len(gm) == 0:
                            continue
                        x = gm["num_segments"].to_numpy(float) + shift + (0.25 * gap if is_paper else 0.0)
                        _errorbar(ax, x, gm, stat, _color(lab), paper=is_paper, label=None)
                        if mem is not None and mem > 0:
                            ax.annotate(
                                f"m{mem}",
                                (x[-1], gm[f"{stat}_mean"].iloc[-1]),
                                fontsize=7,
                                color=_color(lab),
                                xytext=(4, 0),
                                textcoords="offset points",
                            )
            if chance and task in chance and stat == "acc":
                ax.axhline(chance[task], color="0.45", ls=":", lw=1.2, zorder=1)
                ax.annotate(
                    f"chance {chance[task]:.2f}",
                    (0, chance[task]),
                    xycoords=("axes fraction", "data"),
                    xytext=(3, -2),
                    textcoords="offset points",
                    fontsize=7,
                    color="0.35",
                    va="top",
                )
            ax.set_ylim(-0.03, 1.05)
            if xs:
                ax.set_xticks(xs)
                ax.set_xlim(min(xs) - 0.45 * gap, max(xs) + 0.55 * gap)
            if row == nrows - 1:
                ax.set_xlabel("number of segments")
            if j == 0:
                ax.set_ylabel("per-token accuracy (greedy)" if stat == "acc" else "exact match (whole answer)")
            if row == 0:
                ax.set_title(titles[j] if titles else task)
            if len(o) == 0 and (row == 0 or stat == "exact"):
                ax.text(
                    0.5,
                    0.55 if stat == "acc" else 0.5,
                    f"no {ours_name} runs",
                    transform=ax.transAxes,
                    ha="center",
                    color="0.4",
                    fontsize=9,
                )
    handles = [Line2D([], [], color=_color(m), marker="o", lw=2, label=m) for m in labels]
    handles.append(Line2D([], [], color="0.3", marker="o", lw=1.8, label=ours_name))
    if len(paper):
        handles.append(Line2D([], [], color="0.3", marker="s", mfc="white", ls="--", lw=1.2, label="paper"))
    handles.append(Line2D([], [], color="0.45", ls=":", lw=1.2, label="chance"))
    _top_legend(fig, handles, title)
    return stamp(fig, provenance)


def plot_accuracy_by_length(
    ours: pd.DataFrame,
    paper: pd.DataFrame | None,
    *,
    tasks: Sequence[str],
    paper_tasks: Sequence[str],
    titles: Sequence[str],
    chance: dict[str, float],
    provenance: str,
    title: str = "",
) -> plt.Figure:
    """Longer sequences: per-token accuracy against the number of segments, ours (left column of
    each pair) and the paper's (right), one row per task; each point is annotated with the
    sample's length in tokens (the paper's samples are 5x longer than ours, so they get their own
    axes). Bars: min..max over seeds."""
    paper = paper if paper is not None else pd.DataFrame(columns=SUMMARY_COLUMNS)
    fig, axes = plt.subplots(len(tasks), 2, figsize=(8.8, 3.0 * len(tasks) + 0.3), squeeze=False)
    labels = _order(list(ours["label"]) + list(paper["label"]))
    for i, (task, ptask) in enumerate(zip(tasks, paper_tasks)):
        for j, (d, is_paper, name) in enumerate(
            ((ours[ours["task"] == task], False, "ours"), (paper[paper["task"] == ptask], True, "paper"))
        ):
            ax = axes[i, j]
            xs = sorted(set(d["num_segments"]))
            gap = min(np.diff(xs)) if len(xs) > 1 else 1.0
            for k, lab in enumerate(labels):
                g = d[d["label"] == lab]
                shift = (k - (len(labels) - 1) / 2) * 0.05 * gap
                for _mem, gm in g.groupby("mem_size"):
                    gm = gm.sort_values("num_segments")
                    x = gm["num_segments"].to_numpy(float) + shift
                    _errorbar(ax, x, gm, "acc", _color(lab), paper=is_paper, label=None)
                    for xx, yy, n in zip(x, gm["acc_mean"], gm["seq_len"]):
                        ax.annotate(
                            f"{int(n)}",
                            (xx, yy),
                            fontsize=7,
                            color=_color(lab),
                            xytext=(4, 3),
                            textcoords="offset points",
                        )
            c = chance.get(task if not is_paper else ptask)
            if c is not None:
                ax.axhline(c, color="0.45", ls=":", lw=1.2, zorder=1)
            if xs:
                ax.set_xticks(xs)
                ax.set_xlim(min(xs) - 0.4 * gap, max(xs) + 0.5 * gap)
            else:
                ax.text(0.5, 0.5, f"no {name} runs", transform=ax.transAxes, ha="center", color="0.4")
            ax.set_ylim(-0.03, 1.08)
            ax.set_title(f"{titles[i]}: {name}")
            ax.set_xlabel("number of segments")
            if j == 0:
                ax.set_ylabel("per-token accuracy (greedy)")
    handles = [Line2D([], [], color=_color(m), marker="o", lw=2, label=m) for m in labels]
    handles += [
        Line2D([], [], color="0.45", ls=":", lw=1.2, label="chance"),
        Line2D([], [], ls="", label="numbers: sample length in tokens"),
    ]
    _top_legend(fig, handles, title)
    return stamp(fig, provenance)


def plot_memory_size(
    ours: pd.DataFrame, *, chance: float | None, provenance: str, title: str, task: str | None = None
) -> plt.Figure:
    """Per-token accuracy against the memory size (number of memory tokens; the XL cache length),
    one line per (model, sample length). Bars: min..max over seeds."""
    d = ours if task is None else ours[ours["task"] == task]
    d = d[d["mem_size"] > 0]
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    lengths = sorted(set(d["seq_len"]))
    markers = ["o", "^", "D", "v", "P", "X"]
    handles = []
    for lab in _order(d["label"]):
        for k, n in enumerate(lengths):
            g = d[(d["label"] == lab) & (d["seq_len"] == n)].sort_values("mem_size")
            if len(g) == 0:
                continue
            y = g["acc_mean"].to_numpy(float)
            ax.errorbar(
                g["mem_size"],
                y,
                yerr=[y - g["acc_min"], g["acc_max"] - y],
                color=_color(lab),
                marker=markers[k % len(markers)],
                lw=1.6,
                alpha=0.55 + 0.45 * (k + 1) / len(lengths),
                capsize=3,
            )
            segs = int(g["num_segments"].iloc[0])
            handles.append(
                Line2D(
                    [],
                    [],
                    color=_color(lab),
                    marker=markers[k % len(markers)],
                    label=f"{lab}, {n} tokens ({segs} segments)",
                )
            )
    if chance is not None:
        ax.axhline(chance, color="0.45", ls=":", lw=1.2)
        handles.append(Line2D([], [], color="0.45", ls=":", label="chance"))
    ax.set_xscale("log", base=2)
    mems = sorted(set(d["mem_size"]))
    if mems:
        ax.set_xticks(mems, [str(m) for m in mems])
    else:
        ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", color="0.4")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("memory size (memory tokens / cache length)")
    ax.set_ylabel("per-token accuracy (greedy)")
    ax.set_title(title)
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return stamp(fig, provenance)


# ------------------------------------------------------------------------------------------------
# training curves and the curriculum
def history_with_config(
    results_dir: str | Path, experiment: str, *, profile: str | None = None, records: Iterable | None = None
) -> pd.DataFrame:
    """:func:`rmt_lite.load_history` plus, for every row, the run's ``mem_size``, ``curriculum``
    (as text, ``"-"`` for none), task ``length`` and ``label`` (read from the records themselves).
    ``records``: :class:`rmt_lite.RunRecord` objects to use instead of reading ``results_dir``."""
    from ..records import read_records

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
            label=model_label(r.model, (r.metrics or {}).get("segments")),
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
    from ..experiments import resolve

    if len(frame) == 0:
        return frame
    cfg = resolve(experiment, "rmt", profile)
    want = {"mem_size": cfg.mem_size, **cfg.task}
    mask = frame["experiment"] == experiment
    for k in keys:
        if k in frame and k in want:
            mask &= (frame[k] == want[k]) | ((k == "mem_size") & (frame.get("model") == "transformer"))
    return frame[mask].reset_index(drop=True)


def stage_starts(history: pd.DataFrame) -> pd.DataFrame:
    """For every run of a :func:`history_with_config` table: the first evaluation of each
    curriculum stage (columns run_id, stage, segments, seq_len, step). A stage is evaluated from
    its first evaluation on; the switch happened during the ``eval_interval`` steps before."""
    if len(history) == 0:
        return pd.DataFrame(columns=["run_id", "stage", "segments", "seq_len", "step"])
    h = history.sort_values(["run_id", "step"])
    first = h.groupby(["run_id", "stage"], as_index=False).first()
    return first[["run_id", "stage", "segments", "seq_len", "step"]].reset_index(drop=True)


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


def plot_curriculum(
    history: pd.DataFrame,
    *,
    metric: str = "acc",
    provenance: str,
    title: str,
    chance: float | None = None,
    by: str = "label",
) -> plt.Figure:
    """Validation ``metric`` against the training step, one line per run (colour: ``by``), the
    marker telling the curriculum stage (how many segments the sample had at that evaluation);
    each stage's first evaluation is labelled with its number of segments."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    if len(history) == 0:
        ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", color="0.4")
        ax.set_title(title)
        return stamp(fig, provenance)
    segs = sorted(set(history["segments"].astype(int)))
    markers = dict(zip(segs, ["o", "^", "s", "D", "v", "P", "X", "*"] * 3))
    groups = _order(history[by]) if by == "label" else sorted(set(history[by]))
    pal = dict(zip(groups, sns.color_palette("colorblind", max(len(groups), 1)))) if by != "label" else None
    labelled = set()
    for _, g in history.groupby("run_id", sort=False):
        g = g.sort_values("step")
        key = g[by].iloc[0]
        color = _color(key) if by == "label" else pal[key]
        ax.plot(g["step"], g[metric], color=color, lw=1.4, alpha=0.85, zorder=2)
        for n, gs in g.groupby("segments"):
            ax.scatter(gs["step"], gs[metric], color=color, marker=markers[int(n)], s=26, zorder=3)
        if (key, "annot") not in labelled:
            labelled.add((key, "annot"))
            for _, st in stage_starts(g).iterrows():
                if st["stage"] == 0:
                    continue
                y = float(g.loc[g["step"] == st["step"], metric].iloc[0])
                ax.annotate(
                    f"{int(st['segments'])} seg",
                    (st["step"], y),
                    xytext=(0, 8),
                    textcoords="offset points",
                    fontsize=7,
                    color=color,
                    ha="center",
                )
    if chance is not None:
        ax.axhline(chance, color="0.45", ls=":", lw=1.2)
    handles = [Line2D([], [], color=_color(k) if by == "label" else pal[k], lw=2, label=str(k)) for k in groups]
    handles += [
        Line2D([], [], color="0.3", marker=markers[n], ls="", label=f"{n} segment{'s' if n > 1 else ''}") for n in segs
    ]
    if chance is not None:
        handles.append(Line2D([], [], color="0.45", ls=":", label="chance"))
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title(title)
    fig.tight_layout()
    return stamp(fig, provenance)


# ------------------------------------------------------------------------------------------------
# length generalisation
def generalisation_runs(
    results_dir: str | Path,
    experiment: str,
    models: Sequence[str],
    *,
    committed_profile: str,
    fresh: Iterable,
    profile: str,
    factors: Sequence[float],
    n_samples: int = 200,
    device: str = "cpu",
) -> pd.DataFrame:
    """:func:`length_generalisation` of each model of ``models``: the committed
    ``committed_profile`` run when its checkpoint is still in ``results_dir``
    (:func:`find_checkpoint`), otherwise the fresh run (a :class:`rmt_lite.RunRecord` of
    ``fresh``) of ``experiment`` at ``profile``'s memory size. Test lengths: ``factors`` times the
    trained length. Columns of :func:`length_generalisation` plus model, profile, seed and
    ``source`` (which run was tested)."""
    from ..experiments import resolve
    from ..trainer import load_model

    fresh = list(fresh)
    rows = []
    for m in models:
        run_dir = find_checkpoint(results_dir, experiment, m, committed_profile)
        source = f"committed {committed_profile} run {run_dir.name}" if run_dir is not None else ""
        if run_dir is None:
            want = resolve(experiment, m, profile).mem_size
            runs = [r for r in fresh if r.experiment == experiment and r.model == m and r.config["mem_size"] == want]
            if not runs:
                raise ValueError(
                    f"models contains {m!r}, which has neither a committed {committed_profile} checkpoint "
                    f"in {results_dir} nor a fresh {profile} run of {experiment}; allowed: models "
                    "trained in the notebook"
                )
            run_dir, source = runs[0].run_dir, f"this notebook's {profile} run"
        model, cfg = load_model(run_dir, device=device)
        df = length_generalisation(model, cfg, generalisation_lengths(cfg, factors), n_samples=n_samples)
        rows.append(
            df.assign(
                model=m, profile=cfg.profile, seed=cfg.seed, source=f"{source} (profile={cfg.profile}, seed={cfg.seed})"
            )
        )
    return pd.concat(rows, ignore_index=True)


def plot_length_generalisation(
    df: pd.DataFrame, *, provenance: str, title: str, chance: float | None = None, hue: str | None = None
) -> plt.Figure:
    """Per-token accuracy (greedy) and exact match against the number of segments of the test
    sample; the shaded area holds the lengths the model never saw in training."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    groups = [(None, df)] if hue is None else list(df.groupby(hue, sort=False))
    for k, (name, g) in enumerate(groups):
        g = g.sort_values("segments")
        color = _color(name) if name in MODEL_COLORS else sns.color_palette("colorblind")[k]
        suffix = f" ({name})" if name is not None else ""
        ax.plot(g["segments"], g["acc"], marker="o", color=color, lw=1.8, label="per-token accuracy" + suffix)
        ax.plot(
            g["segments"],
            g["exact_match"],
            marker="s",
            mfc="white",
            ls="--",
            color=color,
            lw=1.2,
            label="exact match" + suffix,
        )
    longest = df.loc[df["trained"], "segments"].max() if df["trained"].any() else None
    if longest is not None and not pd.isna(longest):
        ax.axvspan(longest + 0.5, df["segments"].max() + 0.5, color="0.9", zorder=0)
        ax.text(longest + 0.6, 1.02, "longer than in training", fontsize=8, color="0.35", va="bottom")
    if chance is not None:
        ax.axhline(chance, color="0.45", ls=":", lw=1.2, label="chance (per token)")
    ax.set_xticks(sorted(set(df["segments"])))
    ax.set_ylim(-0.03, 1.1)
    ax.set_xlabel("segments in the test sample")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return stamp(fig, provenance)


# ------------------------------------------------------------------------------------------------
# decoded samples
def decode_example(task, tokens, targets, loss_mask, segment_len: int, prediction=None) -> str:
    """One sample as aligned text lines: the segment of every position, the prompt (what the
    model reads before it has to answer), the answer, and with ``prediction`` (aligned with
    ``targets``, e.g. from :func:`predict`) the model's answer with a ``^`` under every wrong
    token. Tokens are shown as the task's ``decode`` shows them, one character each (copy,
    reverse, retrieval)."""
    import torch

    tokens, targets, loss_mask = (torch.as_tensor(t).flatten() for t in (tokens, targets, loss_mask))
    text = task.decode(tokens)
    if len(text) != len(tokens):
        raise ValueError(
            f"task {task.name!r} does not decode one character per token; allowed: copy, reverse, "
            "retrieval with at most 26 symbols"
        )
    scored = loss_mask.nonzero().flatten()
    if len(scored) == 0:
        raise ValueError("loss_mask marks no position: there is no answer to show")
    a = int(scored[0])  # the answer's first token is predicted at position a, written at a + 1
    S = len(tokens)
    seg_row = "".join(str(min(i, S - 1) // segment_len % 10) for i in range(S + 1))
    pad = " " * (a + 1)
    answer = task.decode(targets[loss_mask])
    lines = [f"segment : {seg_row}", f"prompt  : {text[: a + 1]}", f"answer  : {pad}{answer}"]
    if prediction is not None:
        pred = torch.as_tensor(prediction).flatten()
        got, want = pred[loss_mask].tolist(), targets[loss_mask].tolist()
        marks = "".join("^" if p != t else " " for p, t in zip(got, want))
        n_ok = marks.count(" ")
        lines += [
            f"model   : {pad}{task.decode(pred[loss_mask])}",
            f"errors  : {pad}{marks}".rstrip() if "^" in marks else f"errors  : {pad}(none)",
            f"          {n_ok}/{len(marks)} answer tokens right",
        ]
    return "\n".join(lines)


def predict(model, batch, segment_len: int):
    """Greedy predictions of a task model on a ``TaskBatch`` (aligned with ``batch.targets``), as
    the paper's metric computes them: the model continues from its own tokens across segments."""
    import torch

    from ..evaluate import greedy_predictions

    with torch.no_grad():
        model.eval()
        return greedy_predictions(model, batch.tokens, batch.loss_mask, segment_len).cpu()


# ------------------------------------------------------------------------------------------------
# numbers for the prose
def lookup(summary: pd.DataFrame, task: str, label: str, num_segments: int, stat: str = "acc_mean") -> float:
    """One number of a summary (NaN when that setting was not run)."""
    g = summary[(summary["task"] == task) & (summary["label"] == label) & (summary["num_segments"] == num_segments)]
    return float(g[stat].iloc[0]) if len(g) == 1 else (float(g[stat].mean()) if len(g) else math.nan)


def at_chance(summary: pd.DataFrame, task: str, label: str, chance: float, margin: float = 0.05) -> str:
    """``"at chance"`` / ``"above chance"`` / ``"not run"``: every setting of ``label`` on ``task``
    with more than one segment, the mean accuracy compared with ``chance + margin``."""
    g = summary[(summary["task"] == task) & (summary["label"] == label) & (summary["num_segments"] > 1)]
    if len(g) == 0:
        return "not run"
    return "at chance" if (g["acc_mean"] <= chance + margin).all() else "above chance"


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


def sweep_summary(sweeps: pd.DataFrame, whose: str = "the", high: float = 0.99, tol: float = 0.02) -> str:
    """One sentence on a :func:`memory_sweeps` table: per model, in how many settings the
    accuracy at the largest memory size beats the smallest by more than ``tol``, and in how many
    every memory size reaches ``high``."""
    if len(sweeps) == 0:
        return f"None of {whose} settings was run at more than one memory size."
    parts = []
    for model in _order(sweeps["model"]):
        rows = sweeps[sweeps["model"] == model].filter(like="memory ")
        vals = [r.dropna() for _, r in rows.iterrows()]
        grows = sum(v.iloc[-1] > v.iloc[0] + tol for v in vals)
        high_all = sum((v >= high).all() for v in vals)
        parts.append(
            f"{model}: {len(vals)} setting{'s' if len(vals) > 1 else ''}, higher with the largest memory "
            f"than with the smallest in {grows}, at {high:.2f} or above with every memory size in {high_all}"
        )
    return f"In {whose} runs at several memory sizes, " + "; ".join(parts) + "."


def comparison_table(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Ours beside the paper's, one row per (task, model, segments): our mean accuracy and exact
    match with the seeds behind them, the paper's mean accuracy and number of runs, and each
    side's memory size (memory tokens or cache length; 0 for the transformer)."""
    cols = ["task", "label", "num_segments"]
    o = ours[cols + ["mem_sizes", "acc_mean", "exact_mean", "seeds"]].rename(
        columns={"acc_mean": "acc ours", "exact_mean": "exact ours", "seeds": "seeds ours", "mem_sizes": "mem ours"}
    )
    p = paper[cols + ["mem_sizes", "acc_mean", "n_runs"]].rename(
        columns={"acc_mean": "acc paper", "n_runs": "runs paper", "mem_sizes": "mem paper"}
    )
    out = o.merge(p, on=cols, how="outer").rename(columns={"label": "model", "num_segments": "segs"})
    out["runs paper"] = out["runs paper"].astype("Int64")
    out = out.assign(model=pd.Categorical(out["model"], _order(out["model"]), ordered=True))
    return out.sort_values(["task", "model", "segs"]).reset_index(drop=True)
