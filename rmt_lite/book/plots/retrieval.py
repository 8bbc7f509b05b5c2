"""Figures of chapter 3's retrieval study (``rmt_lite.repro.retrieval_study``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import stamp


def plot_study_curves(
    history: pd.DataFrame,
    order: list[str],
    *,
    learned: float,
    guess: float,
    provenance: str,
    title: str,
    ncols: int = 2,
) -> plt.Figure:
    """One panel per setting (``history["condition"]`` in ``order``): validation accuracy against
    the training step, one line per seed; the threshold ``learned`` and the four-value ``guess``
    as horizontal lines."""
    nrows = -(-len(order) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols, 2.3 * nrows), sharex=True, sharey=True, squeeze=False
    )  # two columns: the text stays readable in the page's width
    for ax, name in zip(axes.flat, order):
        sub = history[history["condition"] == name]
        sns.lineplot(
            data=sub,
            x="step",
            y="acc",
            hue="seed",
            units="seed",
            estimator=None,
            palette="colorblind",
            legend=ax is axes.flat[0],
            ax=ax,
        )
        ax.axhline(learned, color="0.3", lw=0.8, ls=":")
        ax.axhline(guess, color="0.5", lw=0.8, ls="--")
        ax.set_title(name, fontsize=11)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("training step", fontsize=10)
        ax.set_ylabel("validation accuracy", fontsize=10)
        ax.tick_params(labelsize=9)
    for ax in list(axes.flat)[len(order) :]:
        ax.set_visible(False)
    first = axes.flat[0]
    if first.get_legend() is not None:
        first.legend(title="seed", fontsize=9, title_fontsize=9, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return stamp(fig, provenance)
