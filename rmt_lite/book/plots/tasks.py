"""Figures of the algorithmic-task chapters (paper section 4.1, Fig. 4 and 5): 02 copy and
reverse, 03 associative retrieval, 04 longer sequences. They draw the summaries and tables that
:mod:`rmt_lite.book.chapters.synthetic` prepares; every figure carries its provenance line.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from . import MODEL_COLORS, model_color, model_order, stamp


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
    paper = paper if paper is not None else ours.iloc[0:0]  # nothing of the paper's to draw
    nrows = 2 if exact else 1
    fig, axes = plt.subplots(
        nrows, len(tasks), figsize=(max(4.3 * len(tasks), 6.4), 3.0 * nrows + 0.6), squeeze=False, sharex="col"
    )
    labels = model_order(list(ours["label"]) + list(paper["label"]))
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
                        _errorbar(ax, x, gm, stat, model_color(lab), paper=is_paper, label=None)
                        if mem is not None and mem > 0:
                            ax.annotate(
                                f"m{mem}",
                                (x[-1], gm[f"{stat}_mean"].iloc[-1]),
                                fontsize=7,
                                color=model_color(lab),
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
    handles = [Line2D([], [], color=model_color(m), marker="o", lw=2, label=m) for m in labels]
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
    paper = paper if paper is not None else ours.iloc[0:0]  # nothing of the paper's to draw
    fig, axes = plt.subplots(len(tasks), 2, figsize=(8.8, 3.0 * len(tasks) + 0.3), squeeze=False)
    labels = model_order(list(ours["label"]) + list(paper["label"]))
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
                    _errorbar(ax, x, gm, "acc", model_color(lab), paper=is_paper, label=None)
                    for xx, yy, n in zip(x, gm["acc_mean"], gm["seq_len"]):
                        ax.annotate(
                            f"{int(n)}",
                            (xx, yy),
                            fontsize=7,
                            color=model_color(lab),
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
    handles = [Line2D([], [], color=model_color(m), marker="o", lw=2, label=m) for m in labels]
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
    for lab in model_order(d["label"]):
        for k, n in enumerate(lengths):
            g = d[(d["label"] == lab) & (d["seq_len"] == n)].sort_values("mem_size")
            if len(g) == 0:
                continue
            y = g["acc_mean"].to_numpy(float)
            ax.errorbar(
                g["mem_size"],
                y,
                yerr=[y - g["acc_min"], g["acc_max"] - y],
                color=model_color(lab),
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
                    color=model_color(lab),
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
def _stage_starts(history: pd.DataFrame) -> pd.DataFrame:
    """For every run of a :func:`history_with_config` table: the first evaluation of each
    curriculum stage (columns run_id, stage, segments, seq_len, step). A stage is evaluated from
    its first evaluation on; the switch happened during the ``eval_interval`` steps before."""
    if len(history) == 0:
        return pd.DataFrame(columns=["run_id", "stage", "segments", "seq_len", "step"])
    h = history.sort_values(["run_id", "step"])
    first = h.groupby(["run_id", "stage"], as_index=False).first()
    return first[["run_id", "stage", "segments", "seq_len", "step"]].reset_index(drop=True)


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
    groups = model_order(history[by]) if by == "label" else sorted(set(history[by]))
    pal = dict(zip(groups, sns.color_palette("colorblind", max(len(groups), 1)))) if by != "label" else None
    labelled = set()
    for _, g in history.groupby("run_id", sort=False):
        g = g.sort_values("step")
        key = g[by].iloc[0]
        color = model_color(key) if by == "label" else pal[key]
        ax.plot(g["step"], g[metric], color=color, lw=1.4, alpha=0.85, zorder=2)
        for n, gs in g.groupby("segments"):
            ax.scatter(gs["step"], gs[metric], color=color, marker=markers[int(n)], s=26, zorder=3)
        if (key, "annot") not in labelled:
            labelled.add((key, "annot"))
            for _, st in _stage_starts(g).iterrows():
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
    handles = [Line2D([], [], color=model_color(k) if by == "label" else pal[k], lw=2, label=str(k)) for k in groups]
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
def plot_length_generalisation(
    df: pd.DataFrame,
    *,
    provenance: str,
    title: str,
    chance: float | None = None,
    hue: str | None = None,
    exact: bool = True,
    log_x: bool = False,
) -> plt.Figure:
    """Per-token accuracy (greedy) and exact match against the number of segments of the test
    sample; the shaded area holds the lengths the model never saw in training. ``exact=False``
    leaves out exact match (the same number for a one-token answer); ``log_x`` spaces the lengths
    by their doublings."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    groups = [(None, df)] if hue is None else list(df.groupby(hue, sort=False))
    for k, (name, g) in enumerate(groups):
        g = g.sort_values("segments")
        color = model_color(name) if name in MODEL_COLORS else sns.color_palette("colorblind")[k]
        suffix = f" ({name})" if name is not None else ""
        ax.plot(g["segments"], g["acc"], marker="o", color=color, lw=1.8, label="per-token accuracy" + suffix)
        if not exact:
            continue
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
    if log_x:
        ax.set_xscale("log", base=2)
        ax.minorticks_off()
    ticks = sorted(set(df["segments"]))
    ax.set_xticks(ticks, [str(int(t)) for t in ticks])
    ax.set_ylim(-0.03, 1.1)
    ax.set_xlabel("segments in the test sample")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return stamp(fig, provenance, thin=[ax])  # lengths far apart on a linear axis crowd the short ones


# ------------------------------------------------------------------------------------------------
# decoded samples


def plot_fact_depth(df: pd.DataFrame, *, provenance: str, title: str) -> plt.Figure:
    """One heatmap per model, stacked: accuracy by the number of segments of the test sample
    (columns) and where the answering fact sits in it (rows, the start of the sample at the top),
    each cell annotated; ``df`` as :func:`rmt_lite.book.chapters.synthetic.depth_accuracy` returns it."""
    models = model_order(df["model"])
    fig, axes = plt.subplots(len(models), 1, figsize=(6.4, 1.9 * len(models) + 0.9), sharex=True, squeeze=False)
    depths = list(df["depth"].cat.categories) if hasattr(df["depth"], "cat") else sorted(set(df["depth"]))
    for ax, m in zip(axes[:, 0], models):
        grid = df[df["model"] == m].pivot(index="depth", columns="segments", values="acc").reindex(depths)
        image = ax.imshow(grid.to_numpy(float), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
            if not np.isnan(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=9, color="white" if v < 0.6 else "black")
        ax.set_xticks(range(grid.shape[1]), [str(int(s)) for s in grid.columns])
        ax.set_yticks(range(len(depths)), depths)
        ax.set_ylabel(m, rotation=0, ha="right", va="center", fontweight="bold")
        ax.grid(False)
    axes[-1, 0].set_xlabel("segments of the test sample")
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="accuracy", shrink=0.8)
    fig.suptitle(f"{title}\n(rows: where the fact starts, as a share of the sample)")
    return stamp(fig, provenance)


def plot_needle_memory(df: pd.DataFrame, *, provenance: str, title: str, chance: float | None = None) -> plt.Figure:
    """One panel per seed: against the part of the sample the fact sits in, the share of samples
    whose fact a probe reads from the memory just after it was written, before the question, and
    that the model answers; ``df`` as :func:`rmt_lite.book.chapters.synthetic.needle_memory_table`."""
    seeds = sorted(set(df["seed"]))
    fig, axes = plt.subplots(1, len(seeds), figsize=(2.6 * len(seeds) + 0.8, 3.3), sharey=True, squeeze=False)
    lines = (
        ("written", "probe, just after the fact", "o", "-"),
        ("kept", "probe, before the question", "s", "--"),
        ("answered", "the model's answer", "^", ":"),
    )
    colors = sns.color_palette("colorblind")
    for ax, seed in zip(axes[0], seeds):
        g = df[df["seed"] == seed]
        x = range(len(g))
        for k, (col, label, marker, ls) in enumerate(lines):
            ax.plot(x, g[col], marker=marker, ls=ls, color=colors[k], label=label)
        if chance is not None:
            ax.axhline(chance, color="0.45", ls=":", lw=1.0)
        ax.set_xticks(list(x), [w.replace("segments ", "") for w in g["where"]])
        ax.set_xlim(-0.5, len(g) - 0.5)  # keeps the tick labels of neighbouring panels apart
        ax.set_title(f"seed {seed}")
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("share of test samples")
    axes[0][len(seeds) // 2].set_xlabel("segments the fact sits in")
    _top_legend(fig, axes[0][0].get_legend_handles_labels()[0], title)
    return stamp(fig, provenance)
