"""Seaborn figures for the book. Every figure carries a provenance line (profile, seed, commit).

Plots only draw: they take the tables :mod:`rmt_lite.book.chapters` prepares and return figures. The
shared pieces (style, palette, readable text, the provenance stamp) live here; each chapter family
has its own submodule (``plots.tasks``, ...).
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Sequence

import matplotlib.layout_engine
import matplotlib.pyplot as plt
import matplotlib.text
import matplotlib.transforms
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
            size = max(smallest, ticks[0].label1.get_fontsize()) if ticks else smallest
            ax.tick_params(axis=which, which="both", labelsize=size)
    # larger text needs room: lay the figure out again (tight_layout() left a placeholder engine)
    engine = fig.get_layout_engine()
    if engine is None or isinstance(engine, matplotlib.layout_engine.PlaceHolderLayoutEngine):
        fig.set_layout_engine("constrained")
    return fig


def _drawn_texts(fig: plt.Figure) -> list[matplotlib.text.Text]:
    """The texts a drawing of ``fig`` shows: visible, not empty, and for tick labels only those of
    ticks inside the axis' view (matplotlib keeps labels of ticks it does not draw)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * max(1.0, hi - lo)  # a tick at the edge of the view is drawn
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - eps <= tick.get_loc() <= hi + eps:
                    hidden |= {id(tick.label1), id(tick.label2)}
    texts = fig.findobj(matplotlib.text.Text)
    return [t for t in texts if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def _text_boxes(fig: plt.Figure) -> list[tuple[matplotlib.text.Text, matplotlib.transforms.Bbox]]:
    """Each text a drawing of ``fig`` shows, with its drawn box in pixels (empty boxes left out)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t, t.get_window_extent(renderer)) for t in _drawn_texts(fig)]
    return [(t, b) for t, b in boxes if b.width >= 1 and b.height >= 1]


def _em_px(fig: plt.Figure, text: matplotlib.text.Text) -> float:
    """One em of ``text`` in the pixels of ``fig``'s drawing."""
    return text.get_fontsize() * fig.dpi / 72


def _overlap(a, b, tolerance_px: float = 1.0) -> bool:
    """Two drawn boxes cover each other by more than ``tolerance_px`` both ways."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tolerance_px and min(a.y1, b.y1) - max(a.y0, b.y0) > tolerance_px


def overlapping_texts(fig: plt.Figure, tolerance_px: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of texts of ``fig`` printed over each other (their drawn boxes overlap by more than
    ``tolerance_px`` both ways): a suptitle on a panel title, two labels in one place, crowded ticks."""
    boxes = _text_boxes(fig)
    found = []
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1 :]:
            if _overlap(a, b, tolerance_px):
                found.append((ta.get_text(), tb.get_text()))
    return found


def run_together_texts(fig: plt.Figure, gap_em: float = 0.3) -> list[tuple[str, str]]:
    """Pairs of texts of ``fig`` on one line that do not overlap but stand closer than ``gap_em``
    of their font size (about a space): a reader takes them for one string, as two cells' numbers
    of a heatmap 2 px apart."""
    level = [(t, b) for t, b in _text_boxes(fig) if t.get_rotation() % 360 == 0]  # a turned label runs along no line
    found = []
    for i, (ta, a) in enumerate(level):
        for tb, b in level[i + 1 :]:
            same_line = min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5 * min(a.height, b.height)
            gap = max(a.x0, b.x0) - min(a.x1, b.x1)  # negative where they overlap
            if same_line and -1.0 <= gap < gap_em * min(_em_px(fig, ta), _em_px(fig, tb)):
                found.append((ta.get_text(), tb.get_text()))
    return found


def thin_tick_labels(ax: plt.Axes, gap_em: float = 0.4) -> None:
    """Blank the x tick labels of a numeric axis that stand closer than ``gap_em`` of their font size
    to the last one kept, so that none runs into another (:func:`run_together_texts`); their ticks
    stay. For numbers only: a category's name must never go. :func:`stamp` calls it for the axes it
    is given, once the figure's layout is final."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks, labels = ax.get_xticks(), ax.get_xticklabels()
    texts, kept = [t.get_text() for t in labels], None
    for i in sorted(range(len(labels)), key=lambda k: ticks[k]):
        box = labels[i].get_window_extent(renderer)
        if not texts[i] or box.width < 1:
            continue
        if kept is not None and box.x0 - kept.x1 < gap_em * _em_px(fig, labels[i]):
            texts[i] = ""
        else:
            kept = box
    ax.set_xticks(ticks, texts)  # through the axis' formatter: a label's own text is redrawn from it


def tokens_label(n: int) -> str:
    """A number of tokens as a reader says it: 4k and 256k (multiples of 1,024), 1M (2^20 or a
    million), else with thousands separators."""
    if n >= 1_000_000 and (n % (1 << 20) == 0 or n % 1_000_000 == 0):
        return f"{n >> 20}M" if n % (1 << 20) == 0 else f"{n // 1_000_000}M"
    return f"{n // 1024}k" if n % 1024 == 0 else f"{n:,}"


def stamp(fig: plt.Figure, provenance: str, thin: Sequence[plt.Axes] = ()) -> plt.Figure:
    """Write where the figure comes from under it (wrapped to the figure's width), then make every
    text of the figure readable at the book's page width; the numeric x axes ``thin`` lose the tick
    labels that would run together (:func:`thin_tick_labels`)."""
    size = min_font_pt(fig)
    chars = max(40, int(fig.get_size_inches()[0] * 72 / (0.55 * size)))
    lines = "\n".join(textwrap.fill(line, chars) for line in provenance.split("\n"))
    fig.text(0.99, -0.01, lines, ha="right", va="top", fontsize=size, color="0.35")
    readable(fig)
    _fit_titles(fig)
    _spread_annotations(fig)
    for ax in thin:
        thin_tick_labels(ax)
    crowded = overlapping_texts(fig) + run_together_texts(fig)
    if crowded:  # on stderr, where `make book` looks for warnings: a figure with text on text fails the build
        warnings.warn(
            f"texts printed over or against each other in the figure {_name(fig)!r}: {crowded[:5]}", stacklevel=2
        )
    small = small_texts(fig)
    if small:  # the same for text a reader could not read at the column's width
        warnings.warn(f"text under {MIN_PT} px as displayed in the figure {_name(fig)!r}: {small[:5]}", stacklevel=2)
    return fig


def small_texts(fig: plt.Figure) -> list[str]:
    """The drawn texts of ``fig`` that come out under ``MIN_PT`` px when it is shown in the book's column."""
    smallest = min_font_pt(fig) - 1e-6
    return [t.get_text() for t in _drawn_texts(fig) if t.get_fontsize() < smallest]


def _name(fig: plt.Figure) -> str:
    if fig._suptitle is not None:
        return fig._suptitle.get_text()
    return next((ax.get_title() for ax in fig.axes if ax.get_title()), "untitled")


def _fit_titles(fig: plt.Figure) -> None:
    """Wrap a panel title that is wider than its panel (it would run into the next one)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        title = ax.title
        text, width = title.get_text(), ax.get_window_extent(renderer).width
        drawn = title.get_window_extent(renderer).width
        if text and "\n" not in text and drawn > width:
            chars = max(12, int(len(text) * width / drawn))
            title.set_text(textwrap.fill(text, chars, break_long_words=False, break_on_hyphens=False))


def _spread_annotations(fig: plt.Figure, step_pt: float = 2.0, rounds: int = 40) -> None:
    """Move the annotations of each panel (labels placed at points, in offset points) apart
    vertically until none is printed over another."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        notes = [t for t in ax.texts if isinstance(t, matplotlib.text.Annotation) and t.get_visible() and t.get_text()]
        notes = [t for t in notes if t.get_anncoords() == "offset points"]
        frame = ax.get_window_extent(renderer)
        px = step_pt * fig.dpi / 72
        for _ in range(rounds):
            moved = False
            boxes = [t.get_window_extent(renderer) for t in notes]
            for i, a in enumerate(boxes):
                for j in range(i + 1, len(boxes)):
                    b = boxes[j]
                    if _overlap(a, b):
                        (lower, low), (upper, high) = sorted(((notes[i], a), (notes[j], b)), key=lambda n: n[1].y0)
                        # apart, but never out of the panel (into its title or under its axis)
                        up = step_pt if high.y1 + px <= frame.y1 else 0.0
                        down = step_pt if low.y0 - px >= frame.y0 else 0.0
                        if not up and not down:
                            continue
                        lower.xyann = (lower.xyann[0], lower.xyann[1] - (down or 0) - (step_pt if not up else 0))
                        upper.xyann = (upper.xyann[0], upper.xyann[1] + (up or 0) + (step_pt if not down else 0))
                        moved = True
            if not moved:
                break


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
            ax.set_xticks(centers, labels, rotation=90, fontsize=8)
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
    fig.suptitle("The paper: per-token accuracy against the number of segments")
    fig.tight_layout()
    return stamp(fig, provenance)
