"""Chapter 6 (language modelling with limited input): the figure of our runs and the paper's at
equal memory size and across BPTT depths.

Drawing only: the rows come prepared from :mod:`rmt_lite.book.chapters.lm` (``figure_panels``).
"Memory size" is the XL cache length for ``xl`` and the number of memory tokens for ``rmt``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import MODEL_COLORS, stamp


# ------------------------------------------------------------------------------------------------
# figures
def _empty_panel(ax, text: str, title: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)


def _memory_panel(ax, curve: pd.DataFrame, ylabel: str, title: str) -> None:
    if not len(curve):
        _empty_panel(ax, "no runs", title)
        return
    sizes = sorted(curve.loc[curve["model"] != "transformer", "mem_size"].unique())
    for model in ("xl", "rmt"):
        sub = curve[curve["model"] == model]
        if not len(sub):
            continue
        sns.lineplot(
            data=sub,
            x="mem_size",
            y="value",
            color=MODEL_COLORS[model],
            marker="o",
            errorbar="sd",
            err_style="bars",
            label="xl (cache)" if model == "xl" else "rmt (memory tokens)",
            ax=ax,
        )
        if model == "rmt":
            for m, d in sub.groupby("mem_size")["bptt_depth"].max().items():
                v = sub.loc[sub["mem_size"] == m, "value"].mean()
                ax.annotate(
                    f"d{int(d)}",
                    (m, v),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                    color=MODEL_COLORS["rmt"],
                )
    trans = curve.loc[curve["model"] == "transformer", "value"]
    if len(trans):
        ax.axhline(trans.mean(), color=MODEL_COLORS["transformer"], ls="--", lw=1.2, label="transformer (no memory)")
    if sizes:
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.minorticks_off()
    ax.set_xlabel("memory size (cache length / memory tokens)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, title=None, loc="best")


def _depth_panel(ax, rmt: pd.DataFrame, ylabel: str, title: str) -> None:
    if not len(rmt):
        _empty_panel(ax, "no rmt runs", title)
        return
    rmt = rmt.assign(memory=[f"{int(m)} token{'s' if m != 1 else ''}" for m in rmt["mem_size"]])
    order = [f"{m} token{'s' if m != 1 else ''}" for m in sorted(rmt["mem_size"].unique())]
    palette = dict(zip(order, sns.color_palette("crest", len(order))))
    sns.lineplot(
        data=rmt,
        x="bptt_depth",
        y="value",
        hue="memory",
        hue_order=order,
        palette=palette,
        marker="o",
        errorbar="sd",
        err_style="bars",
        ax=ax,
    )
    ax.set_xticks(sorted(rmt["bptt_depth"].dropna().unique().astype(int)))
    ax.set_xlabel("rmt BPTT depth (segments the gradient crosses)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, title="rmt memory", title_fontsize=8, loc="best")


def plot_lm(
    panels: dict[str, tuple[pd.DataFrame, pd.DataFrame]], ylabel: str, provenance: str, title: str = ""
) -> plt.Figure:
    """One row of two panels per source (``{"ours (cpu)": (curve, rmt), "paper ...": (curve, rmt)}``,
    from ``rmt_lite.book.chapters.lm.figure_panels``). Left, the metric against memory size: ``curve``
    rows (model, mem_size, bptt_depth, value) of xl and rmt, the transformer as a dashed line.
    Right, ``rmt`` rows against BPTT depth, one line per memory size. Sources get their own rows:
    the scales differ."""
    fig = plt.figure(figsize=(10, 3.9 * len(panels) + (0.4 if title else 0)), layout="constrained")
    subfigs = fig.subfigures(len(panels), 1, squeeze=False)[:, 0]
    memory_axes = []
    for sub, (source, (curve, rmt)) in zip(subfigs, panels.items()):
        axes = sub.subplots(1, 2)
        _memory_panel(axes[0], curve, ylabel, "equal memory")
        _depth_panel(axes[1], rmt, ylabel, "BPTT depth")
        sub.suptitle(source, fontweight="bold", fontsize=11)
        memory_axes.append(axes[0])
    if title:
        fig.suptitle(title, fontsize=13)
    # memory sizes close on the log axis (75 and 100) would read as one number
    return stamp(fig, provenance, thin=memory_axes)


def plot_learning_curves(curves: pd.DataFrame, ylabel: str, provenance: str, title: str) -> plt.Figure:
    """Validation loss against the training tokens seen (``curves`` from
    ``rmt_lite.book.chapters.lm.learning_curves``): one line per run, one colour per model (rmt's BPTT
    depths in shades of its colour), one line style per seed."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    labels = sorted(set(curves["label"]), key=lambda x: (not x.startswith("transformer"), not x.startswith("xl"), x))
    depths = [x for x in labels if x.startswith("rmt")]
    shades = dict(zip(depths, sns.light_palette(MODEL_COLORS["rmt"], len(depths) + 1)[1:]))
    styles = ["-", "--", ":", "-."]
    for (label, seed), g in curves.groupby(["label", "seed"]):
        color = shades.get(label, MODEL_COLORS.get(label, "0.3"))
        ax.plot(g["tokens_seen"] / 1e6, g["value"], color=color, ls=styles[int(seed) % len(styles)], lw=1.6)
    handles = [plt.Line2D([], [], color=shades.get(x, MODEL_COLORS.get(x, "0.3")), lw=2, label=x) for x in labels]
    handles += [
        plt.Line2D([], [], color="0.3", ls=styles[int(s) % len(styles)], label=f"seed {s}")
        for s in sorted(set(curves["seed"]))
    ]
    ax.legend(handles=handles, loc="upper right", frameon=False, fontsize=8)
    ax.set_xlabel("training tokens seen (millions)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return stamp(fig, provenance)
