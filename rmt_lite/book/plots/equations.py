"""Chapter 5 (quadratic equations): a sample segment by segment, per-chunk accuracy, our answer
accuracy beside the paper's. These functions only draw what :mod:`rmt_lite.book.chapters.equations`
prepares.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap

from . import model_color, plot_training_curves, readable, stamp

CHUNK_NAMES = ("problem", "canonical form", "discriminant", "root 1", "root 2", "answer")
#: display order and names of the settings compared in the chapter
SETTING_ORDER = ["transformer (whole)", "transformer (segmented)", "xl", "rmt", "mt", "rmt_xl"]


def plot_sample_grid(
    inputs: Sequence[str], targets: Sequence[str], provenance: str, chunk_len: int = 30, title: str = ""
) -> plt.Figure:
    """One sample as the model meets it: one row per 30-token segment, the input characters
    (top half of each row) and the targets it must predict (bottom half); unscored cells grey.
    ``inputs`` and ``targets``: one character per token, '·' for padding
    (:func:`rmt_lite.book.chapters.equations.characters`)."""
    inp, tgt = list(inputs), list(targets)
    if len(inp) != len(tgt) or len(tgt) % chunk_len:
        raise ValueError(
            f"inputs ({len(inp)}) and targets ({len(tgt)}) must have one length, a multiple of chunk_len={chunk_len}"
        )
    n = len(tgt) // chunk_len
    fig, ax = plt.subplots(figsize=(9, 0.36 * 2 * n + 0.9))
    codes = np.zeros((2 * n, chunk_len))
    for s in range(n):
        for j in range(chunk_len):
            for r, chars in ((2 * s, inp), (2 * s + 1, tgt)):
                c = chars[s * chunk_len + j]
                scored = r % 2 == 1 and s >= 1
                codes[r, j] = 0 if c == "·" else (2 if scored else 1)
                if c != "·" or j == 0:  # padding drawn only where a segment starts
                    ax.text(
                        j,
                        r,
                        c,
                        ha="center",
                        va="center",
                        fontsize=9,
                        family="monospace",
                        color="0.45" if c == "·" else "black",
                    )
    cmap = ListedColormap(["#ffffff", "#e4e4e4", "#cfe3f5"])
    ax.imshow(codes, cmap=cmap, vmin=0, vmax=2, aspect="auto")
    for r in range(2, 2 * n, 2):
        ax.axhline(r - 0.5, color="#c0392b", lw=1)
    ax.set_yticks(
        range(2 * n), [f"seg {s + 1} {'in' if r == 0 else 'out'}" for s in range(n) for r in (0, 1)], fontsize=8
    )
    ax.set_xticks(range(0, chunk_len, 5), [str(j) for j in range(0, chunk_len, 5)], fontsize=8)
    ax.set_xlabel("position in the segment")
    ax.grid(False)
    for s, name in enumerate(CHUNK_NAMES[:n]):
        ax.text(chunk_len - 0.4, 2 * s + 0.5, f" {name}", ha="left", va="center", fontsize=9)
    ax.set_title(title or "One sample, segment by segment (blue: scored targets)", fontsize=11)
    fig.tight_layout()
    return stamp(fig, provenance)


def plot_chunk_accuracy(df: pd.DataFrame, provenance: str, title: str = "", floor: float | None = None) -> plt.Figure:
    """``df`` with columns setting, chunk, accuracy (one row per setting and chunk): bars per chunk.
    ``floor``: the share of samples whose last three chunks are empty (dotted line over them)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    order = [c for c in CHUNK_NAMES if c in set(df["chunk"])]
    hue_order = [s for s in SETTING_ORDER if s in set(df["setting"])] + sorted(set(df["setting"]) - set(SETTING_ORDER))
    palette = {s: _color(s) for s in hue_order}
    sns.barplot(
        data=df, x="chunk", y="accuracy", hue="setting", order=order, hue_order=hue_order, palette=palette, ax=ax
    )
    ax.set_ylim(0, 1.05)
    ax.set_xticks(range(len(order)), [c.replace("canonical ", "canonical\n") for c in order])
    if floor is not None and "root 1" in order:
        start = order.index("root 1") - 0.45
        ax.plot([start, len(order) - 0.55], [floor, floor], color="0.3", ls=":", lw=1.2)
        ax.text(start, floor, "writes nothing", ha="left", va="bottom", fontsize=8, color="0.3")
    ax.set_xlabel("chunk (= segment) written by greedy decoding")
    ax.set_ylabel("fraction exactly right")
    ax.set_title(title or "Which step goes wrong? Exact-match accuracy of each chunk")
    ax.legend(title=None, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return stamp(fig, provenance)


def _color(setting: str):
    """The book's colour of a setting (the segmented transformer is the transformer's)."""
    return model_color("transformer" if setting == "transformer (segmented)" else setting)


def _sources(sources) -> list[str]:
    """Our sources first (sorted), the paper last."""
    sources = set(sources)
    return sorted(sources - {"paper"}) + (["paper"] if "paper" in sources else [])


def plot_answer_accuracy(
    tidy: pd.DataFrame, provenance: str, title: str = "", floor: float | None = None
) -> plt.Figure:
    """Answer accuracy per setting: bars = mean over seeds, dots = single seeds; ours beside the
    paper's. ``floor``: the score of a model that writes nothing (dotted line)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    present = set(tidy["setting"])
    order = [s for s in SETTING_ORDER if s in present] + sorted(present - set(SETTING_ORDER))
    hue_order = _sources(tidy["source"])
    sns.barplot(
        data=tidy,
        x="setting",
        y="answer_accuracy",
        hue="source",
        order=order,
        hue_order=hue_order,
        errorbar=None,
        alpha=0.75,
        ax=ax,
    )
    sns.stripplot(
        data=tidy,
        x="setting",
        y="answer_accuracy",
        hue="source",
        order=order,
        hue_order=hue_order,
        dodge=True,
        palette={h: "black" for h in hue_order},
        size=4,
        jitter=0.08,
        legend=False,
        ax=ax,
    )
    ax.set_ylim(0, 1.05)
    if floor is not None:
        ax.axhline(floor, color="0.4", ls=":", lw=1)
        ax.text(ax.get_xlim()[0], floor, " writes nothing", ha="left", va="bottom", fontsize=8, color="0.3")
    ax.set_xlabel("")
    ax.set_ylabel("answer accuracy (greedy)")
    ax.set_title(title or "Quadratic equations: the final chunk exactly right")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, title=None, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return stamp(fig, provenance)


def plot_answer_curves(
    history: pd.DataFrame,
    provenance: str,
    floor: float | None = None,
    title: str = "Validation answer accuracy during training",
) -> plt.Figure:
    """Training curves of the answer accuracy (``rmt_lite.load_history`` rows with ``model``
    renamed to the setting) through :func:`rmt_lite.book.plots.plot_training_curves`, with the
    writes-nothing floor as a dotted line."""
    palette = {m: _color(m) for m in set(history["model"])}
    fig = plot_training_curves(history, "answer_acc", title, provenance, palette=palette)
    ax = fig.axes[0]
    ax.set_ylabel("answer accuracy (greedy)")
    if floor is not None:
        ax.axhline(floor, color="0.4", ls=":", lw=1)
        ax.text(ax.get_xlim()[0], floor, " writes nothing", ha="left", va="bottom", fontsize=8, color="0.3")
    ax.legend(title=None, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return readable(fig)  # the figure was laid out and stamped already: raise the new text too
