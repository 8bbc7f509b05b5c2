"""Chapter 9's figures: the ways of training rmt on the needle (issue 31's runs beside the profile's)
and the needle read across a million tokens."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import stamp, tokens_label


def plot_settings(curves: pd.DataFrame, chance: float, provenance: str) -> plt.Figure:
    """One panel per way of training (``curves``: :func:`rmt_lite.book.chapters.needle.settings_curves`,
    in its order): test accuracy against the number of segments of the test sample, one line per
    seed; the part beyond the trained length shaded; ``chance`` dotted."""
    settings = list(dict.fromkeys(curves["trained"]))
    # two panels get room for their titles; more share the column
    fig, axes = plt.subplots(1, len(settings), figsize=(max(2.1 * len(settings), 6.0), 3.0), sharey=True, squeeze=False)
    segments = sorted(curves["segments"].unique())
    markers = "osd^v"
    for ax, name in zip(axes.flat, settings):
        sub = curves[curves["trained"] == name]
        for seed, g in sub.groupby("seed"):  # a seed keeps its colour and marker in every panel
            ax.plot(g["segments"], g["acc"], marker=markers[seed % 5], ms=4, color=f"C{seed}", label=f"seed {seed}")
        trained = int(sub["trained_segments"].max())
        ax.axvspan(trained, max(segments), color="0.92", zorder=0)
        ax.axhline(chance, color="0.5", ls=":", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_xticks(segments, [str(s) for s in segments])
        ax.minorticks_off()
        ax.set_ylim(0, 1.05)
        ax.set_title(name)
        ax.set_xlabel("test segments")
    axes.flat[0].set_ylabel("test accuracy")
    axes.flat[0].legend(loc="lower left")
    fig.tight_layout()
    return stamp(fig, provenance)


def plot_million(million: pd.DataFrame, provenance: str) -> plt.Figure:
    """BABILong's picture, one panel per seed (``million``: ``rmt_lite.repro.needle_million.load``):
    accuracy by where the fact sits (rows, 0 % = it opens the haystack) and how many tokens are read
    (columns), each cell written out."""
    seeds = sorted(million["seed"].unique())
    # one panel under the other, each as wide as the column: side by side, three panels of five
    # lengths left each cell's number too little room to stay apart from its neighbours on the page
    fig, axes = plt.subplots(len(seeds), 1, figsize=(8, 0.8 + 1.9 * len(seeds)), squeeze=False, sharex=True)
    for ax, seed in zip(axes.flat, seeds):
        grid = million[million["seed"] == seed].pivot(index="depth", columns="length", values="acc")
        image = ax.imshow(grid.to_numpy(), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        for (i, j), acc in np.ndenumerate(grid.to_numpy()):
            if acc == acc:
                ax.text(j, i, f"{acc:.2f}", ha="center", va="center", color="black")
        ax.set_xticks(range(grid.shape[1]), [tokens_label(int(n)) for n in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{d:.0%}" for d in grid.index])
        ax.set_title(f"seed {seed}")
        ax.grid(False)
        ax.set_ylabel("where the fact sits")
    axes.flat[-1].set_xlabel("tokens read")
    fig.colorbar(image, ax=axes.ravel().tolist(), label="test accuracy", shrink=0.9)
    return stamp(fig, provenance)
