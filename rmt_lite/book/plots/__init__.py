"""Seaborn figures for the book. Every figure carries a provenance line (profile, seed, commit).

Plots only draw: they take the tables :mod:`rmt_lite.book.chapters` prepares and return figures. The
shared pieces (style, palette, readable text, the provenance stamp) live here; each chapter family
has its own submodule (``plots.tasks``, ...).
"""

from __future__ import annotations

import textwrap

import matplotlib.layout_engine
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap, to_rgb

from ...config import REGISTRY, WHOLE, WHOLE_COLOUR, ModelConfig
from ...model import attention_mask

#: the book's names of the models (rmt_lite.config.display_name), in the order figures list them
MODEL_ORDER = (WHOLE, *sorted(REGISTRY, key=lambda v: REGISTRY[v].rank))
#: one colour per model in every figure of the book (the registry's)
MODEL_COLORS = {WHOLE: to_rgb(WHOLE_COLOUR)} | {v: to_rgb(has.colour) for v, has in REGISTRY.items()}


def model_color(label: str):
    """The colour of a model in every figure (grey for a name outside :data:`MODEL_COLORS`)."""
    return MODEL_COLORS.get(label, "0.3")


def model_order(labels) -> list[str]:
    """``labels`` without repeats, the book's models first in :data:`MODEL_ORDER`, then the rest sorted."""
    labels = list(dict.fromkeys(labels))
    return [m for m in MODEL_ORDER if m in labels] + sorted(m for m in labels if m not in MODEL_ORDER)


def set_style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.titleweight": "bold"})


# The book's text column is about 690 px wide (sphinx-book-theme at a 1280 px window): a wider
# figure is shown scaled down, and its text with it.
COLUMN_PX = 690
MIN_PT = 9  # smallest text a reader should meet, as rendered


def min_font_pt(fig: plt.Figure) -> float:
    """The font size (pt) that renders at ``MIN_PT`` when ``fig`` is shown in the book's column."""
    dpi, width = fig.dpi, fig.get_size_inches()[0]
    return MIN_PT * 96 / min(dpi, COLUMN_PX / width)


def readable(fig: plt.Figure) -> plt.Figure:
    """Raise every text of ``fig`` (labels, ticks, legends, notes) to at least ``min_font_pt``."""
    smallest = min_font_pt(fig)
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_text() and text.get_fontsize() < smallest:
            text.set_fontsize(smallest)
    for ax in fig.axes:  # tick labels made later, at draw time, take the axis' label size
        for axis, which in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            ticks = axis.get_major_ticks()
            if not ticks or ticks[0].label1.get_fontsize() < smallest:
                ax.tick_params(axis=which, which="both", labelsize=smallest)
    # larger text needs room: lay the figure out again (tight_layout() left a placeholder engine)
    engine = fig.get_layout_engine()
    if engine is None or isinstance(engine, matplotlib.layout_engine.PlaceHolderLayoutEngine):
        fig.set_layout_engine("constrained")
    return fig


def stamp(fig: plt.Figure, provenance: str) -> plt.Figure:
    """Write where the figure comes from under it (wrapped to the figure's width), then make every
    text of the figure readable at the book's page width."""
    size = min_font_pt(fig)
    chars = max(40, int(fig.get_size_inches()[0] * 72 / (0.55 * size)))
    lines = "\n".join(textwrap.fill(line, chars) for line in provenance.split("\n"))
    fig.text(0.99, -0.01, lines, ha="right", va="top", fontsize=size, color="0.35")
    return readable(fig)


def mask_blocks(cfg: ModelConfig, seg_len: int, cache_len: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Names and sizes of the row blocks and column blocks of a variant's mask."""
    M = cfg.num_mem_tokens if cfg.has_memory else 0
    C = cache_len if cfg.has_cache else 0
    rows = [("read mem", M)] if M else []
    rows.append(("tokens", seg_len))
    if cfg.writes_at_end:
        rows.append(("write mem", M))
    cols = ([("cache", C)] if C else []) + rows
    return rows, cols


def plot_attention_mask(ax: plt.Axes, cfg: ModelConfig, seg_len: int, cache_len: int = 0) -> None:
    """The mask of one variant: dark = may attend; block edges and names drawn on the axes."""
    rows, cols = mask_blocks(cfg, seg_len, cache_len)
    M = cfg.num_mem_tokens if cfg.has_memory else 0
    C = cache_len if cfg.has_cache else 0
    blocked = attention_mask(
        M, seg_len, C, write_mem=cfg.writes_at_end, read_mem_from_cache=cfg.read_mem_from_cache, causal=not cfg.encoder
    )
    cmap = ListedColormap(["#1f4e79", "#eef2f7"])
    ax.imshow(blocked.numpy(), cmap=cmap, vmin=0, vmax=1, aspect="equal")
    for axis, blocks in (("x", cols), ("y", rows)):
        edges = np.cumsum([n for _, n in blocks])[:-1] - 0.5
        centers = np.cumsum([n for _, n in blocks]) - np.array([n for _, n in blocks]) / 2 - 0.5
        for e in edges:
            (ax.axvline if axis == "x" else ax.axhline)(e, color="#c0392b", lw=1.2)
        labels = [name for name, _ in blocks]
        if axis == "x":
            ax.set_xticks(centers, labels, rotation=35, ha="right", fontsize=8)
        else:
            ax.set_yticks(centers, labels, fontsize=8)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    ax.grid(False)


def plot_masks(configs: dict[str, ModelConfig], seg_len: int, cache_len: int, provenance: str) -> plt.Figure:
    ncols = min(3, len(configs))
    nrows = -(-len(configs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 4.0 * nrows), squeeze=False)
    for ax, (title, cfg) in zip(axes.flat, configs.items()):
        plot_attention_mask(ax, cfg, seg_len, cache_len)
        ax.set_title(title)
    for ax in list(axes.flat)[len(configs) :]:
        ax.set_visible(False)
    fig.suptitle("Who may attend to whom (dark = allowed)", y=1.02)
    fig.tight_layout()
    return stamp(fig, provenance)


def plot_per_segment(
    df: pd.DataFrame, value: str, title: str, ylabel: str, provenance: str, log: bool = False, hue: str = "setting"
) -> plt.Figure:
    """One line per setting over the segment index (zeros drawn at the bottom edge on a log axis)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    data = df.copy()
    if log:
        floor = data.loc[data[value] > 0, value].min() / 10 if (data[value] > 0).any() else 1e-12
        data[value] = data[value].clip(lower=floor)
        ax.set_yscale("log")
    sns.lineplot(data=data, x="segment", y=value, hue=hue, style=hue, markers=True, dashes=False, ax=ax)
    if log:
        ax.axhline(floor, color="0.6", lw=0.8, ls=":")
        ax.text(data["segment"].min(), floor, " exactly zero", va="bottom", fontsize=8, color="0.4")
    ax.set_xticks(sorted(data["segment"].unique()))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("segment")
    ax.legend(title=None, fontsize=8, loc="best")
    fig.tight_layout()
    return stamp(fig, provenance)


def plot_training_curves(
    df: pd.DataFrame,
    metric: str,
    title: str,
    provenance: str,
    chance: float | None = None,
    chance_label: str = "chance",
    units: str | None = None,
    palette: dict | None = None,
) -> plt.Figure:
    """``df`` with columns step, metric, model: one curve per model (the mean over its rows), or
    with ``units`` (e.g. ``"seed"``) one curve per unit, nothing averaged; ``palette`` maps
    models to colours."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    each = dict(units=units, estimator=None) if units else {}
    sns.lineplot(
        data=df,
        x="step",
        y=metric,
        hue="model",
        style="model",
        markers=True,
        dashes=False,
        ax=ax,
        palette=palette,
        **each,
    )
    if chance is not None:
        ax.axhline(chance, color="0.5", ls="--", lw=1)
        ax.text(df["step"].max(), chance, chance_label, ha="right", va="bottom", fontsize=8, color="0.4")
    ax.set_title(title)
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    return stamp(fig, provenance)


def plot_paper_synthetic(ref: pd.DataFrame, provenance: str) -> plt.Figure:
    """The paper's accuracy against the number of segments, one panel per task (``paper.synthetic()``)."""
    tasks = list(dict.fromkeys(ref["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8), sharey=True, squeeze=False)
    order = [m for m in MODEL_ORDER if m in set(ref["model"])]
    for ax, task in zip(axes.flat, tasks):
        sub = ref[ref["task"] == task]
        sns.lineplot(
            data=sub,
            x="n_segments",
            y="accuracy",
            hue="model",
            hue_order=order,
            style="model",
            style_order=order,
            markers=True,
            dashes=False,
            errorbar=None,
            ax=ax,
        )
        ax.set_title(task)
        ax.set_xticks(sorted(sub["n_segments"].unique()))
        ax.set_xlabel("segments")
        ax.set_ylim(0, 1.05)
        if ax is not axes.flat[0]:
            ax.get_legend().remove()
    axes.flat[0].legend(title=None, fontsize=8)
    fig.suptitle("The paper: per-token accuracy against the number of segments", y=1.02)
    fig.tight_layout()
    return stamp(fig, provenance)
