"""Figures of the benchmarks page: what reading a long input and training through many segments cost."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from . import model_color, stamp, tokens_label


def _tokens_axis(ax: plt.Axes, tokens) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(tokens, [tokens_label(n) for n in tokens])
    ax.minorticks_off()
    ax.set_xlabel("tokens read")


def plot_cost_against_length(length: pd.DataFrame, fit: pd.DataFrame, provenance: str) -> plt.Figure:
    """Time per token and peak memory of one evaluation forward against the input's length, one
    line per model (``length``: ``rmt_lite.book.chapters.bench.load(...).length``); the whole-sample
    transformer's quadratic fit (``fit``: tokens, us_per_token, activation_mib) dashed over every
    length, and the length where it ran out of memory marked at the memory the fit predicts."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    tokens = sorted(length["tokens"].unique())
    for ax, value, label in (
        (axes[0], "us_per_token", "µs per token"),
        (axes[1], "activation_mib", "peak memory above the model (MiB)"),
    ):
        for model, rows in length.groupby("model", sort=False):
            done = rows.dropna(subset=[value])
            ax.plot(done["tokens"], done[value], marker="o", color=model_color(model), label=model)
        ax.plot(fit["tokens"], fit[value], ls="--", lw=1, color=model_color("transformer"), label="transformer, fit")
        ax.set_yscale("log")
        ax.set_ylabel(label)
        _tokens_axis(ax, tokens)
    stopped = length[length["stopped"].fillna("").astype(str) != ""]
    for _, row in stopped.iterrows():
        axes[1].plot(row["tokens"], row["estimated_mib"], marker="x", ms=9, color=model_color(row["model"]))
        axes[1].annotate(
            "out of memory",
            (row["tokens"], row["estimated_mib"]),
            xytext=(-8, 0),
            textcoords="offset points",
            ha="right",
            va="center",
        )
    axes[0].set_title("Time")
    axes[1].set_title("Memory")
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    return stamp(fig, provenance)


def plot_training_memory(memory: pd.DataFrame, modes: list[str], provenance: str) -> plt.Figure:
    """Peak memory and step time of one training step against the number of segments, one line per
    back-propagation mode in ``modes`` (``memory``: ``results/bench/memory.csv``)."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    styles = dict(zip(modes, ("o-", "s-", "^-", "d-")))
    segments = sorted(memory["segments"].unique())
    for ax, value, label in ((axes[0], "peak_mib", "peak memory (MiB)"), (axes[1], "step_ms", "step time (s)")):
        for mode in modes:
            rows = memory[memory["mode"] == mode].sort_values("segments")
            y = rows[value] / (1000 if value == "step_ms" else 1)
            ax.plot(rows["segments"], y, styles[mode], label=mode)
        ax.set_xscale("log", base=2)
        ax.set_xticks(segments, [str(s) for s in segments])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel("segments in the step")
        ax.set_ylabel(label)
    axes[0].set_title("Memory")
    axes[1].set_title("Time")
    axes[1].legend(loc="upper left", fontsize=8)  # the time panel's upper left stays empty
    fig.tight_layout()
    return stamp(fig, provenance)
