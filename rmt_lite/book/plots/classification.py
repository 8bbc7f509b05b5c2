"""Figures of chapter 8 (long-document classification): the documents and what a bag of words
finds in their first tokens, and the test accuracy of the truncated ``transformer`` and the
encoder ``rmt`` beside the baselines and the paper's Hyperpartisan numbers. These functions only
draw what :mod:`rmt_lite.book.chapters.classification` prepares."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import model_color, model_order, stamp

MODEL_LABELS = {"transformer": "transformer\n(first segment only)", "rmt": "rmt\n(memory across segments)"}


def plot_data_overview(
    lengths: pd.DataFrame, bow: pd.DataFrame, reads: dict[str, int], provenance: str, title: str
) -> plt.Figure:
    """Left: how long the documents are, with what each model reads marked. Right: the
    bag-of-words baseline when it reads only the first n tokens, with the same marks."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8), layout="constrained")
    ax = axes[0]
    sns.histplot(
        data=lengths,
        x="tokens",
        hue="split",
        log_scale=True,
        element="step",
        bins=30,
        ax=ax,
        hue_order=["train", "valid", "test"],
    )
    ax.set_xlabel("tokens per document (log scale)")
    ax.set_title("document lengths", fontsize=10)
    for name, n in reads.items():
        for a in axes:
            a.axvline(n, color=model_color(name), ls="--", lw=1.2)
        ax.text(
            n,
            0.02,
            f"{name} reads {n} ",
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=8,
            color=model_color(name),
            transform=ax.get_xaxis_transform(),
        )
    sns.move_legend(ax, "upper left", bbox_to_anchor=(0.33, 0.98), fontsize=8, title_fontsize=8, frameon=True)
    ax = axes[1]
    part = bow.dropna(subset=["tokens"])
    ax.plot(part["tokens"], part["accuracy"], marker="o", color="0.25", label="bag of words, first n tokens")
    whole = bow[bow["tokens"].isna()]
    if len(whole):
        ax.axhline(
            float(whole["accuracy"].iloc[0]),
            color="0.25",
            ls=":",
            lw=1.2,
            label=f"bag of words, whole document ({float(whole['accuracy'].iloc[0]):.2f})",
        )
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("tokens read from the start of each document (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title("what the first n tokens tell a bag of words", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=11)
    return stamp(fig, provenance)


def plot_accuracy(
    runs: pd.DataFrame, references: dict[str, float], provenance: str, title: str, paper: pd.DataFrame | None = None
) -> plt.Figure:
    """Test accuracy per model, one dot per seed and a bar at the mean, with horizontal reference
    lines (``{label: accuracy}``, e.g. the bag-of-words baselines and the majority class). With
    ``paper``, a second panel shows the paper's numbers, which come from another data set and
    another training regime (a pretrained model): they sit beside ours, not on the same axis."""
    ncols = 2 if paper is not None else 1
    fig, axes = plt.subplots(
        1,
        ncols,
        figsize=(7.5 + 3.5 * (ncols - 1), 4.2),
        squeeze=False,
        layout="constrained",
        gridspec_kw=dict(width_ratios=[2.2, 1][:ncols]),
    )
    ax = axes[0, 0]
    data = runs.copy()
    data["label"] = data["model"].astype(str).map(lambda m: MODEL_LABELS.get(m, m))
    models = model_order(data["model"].astype(str))
    order = [MODEL_LABELS.get(m, m) for m in models]
    palette = {MODEL_LABELS.get(m, m): model_color(m) for m in models}
    sns.barplot(
        data=data,
        x="label",
        y="test_acc",
        hue="label",
        order=order,
        palette=palette,
        errorbar=None,
        alpha=0.35,
        legend=False,
        ax=ax,
    )
    sns.stripplot(
        data=data,
        x="label",
        y="test_acc",
        hue="label",
        order=order,
        palette=palette,
        size=7,
        jitter=0.12,
        legend=False,
        ax=ax,
    )
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    for (label, value), ls in zip(references.items(), styles * 2):
        ax.axhline(value, color="0.4", ls=ls, lw=1.1, label=f"{label}: {value:.2f}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("")
    ax.set_ylabel("test accuracy (dots: seeds; bar: mean)")
    ax.set_title(title, fontsize=10)
    if references:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.25), frameon=False)
    if paper is not None:
        ax2 = axes[0, 1]
        p = paper.copy()
        p["label"] = p["model"].map({"transformer": "Transformer\n(512 tokens)", "rmt": "RMT"})
        sns.barplot(data=p, x="label", y="accuracy", ax=ax2, color="#dd8452", errorbar=None)
        for i, v in enumerate(p["accuracy"]):
            ax2.text(i, v + 0.01, f"{100 * v:.1f}", ha="center", va="bottom", fontsize=9)
        ax2.set_ylim(0, 1.08)
        ax2.set_xlabel("")
        ax2.set_ylabel("accuracy")
        ax2.set_title("the paper: Hyperpartisan,\nfine-tuned pretrained RoBERTa", fontsize=10)
    return stamp(fig, provenance)
