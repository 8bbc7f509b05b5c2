"""Chapter 9's figure of the ways of training rmt on the needle (issue 31's runs beside the profile's)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from . import stamp


def plot_settings(curves: pd.DataFrame, chance: float, provenance: str) -> plt.Figure:
    """One panel per way of training (``curves``: :func:`rmt_lite.book.chapters.needle.settings_curves`,
    in its order): test accuracy against the number of segments of the test sample, one line per
    seed; the part beyond the trained length shaded; ``chance`` dotted."""
    settings = list(dict.fromkeys(curves["trained"]))
    fig, axes = plt.subplots(1, len(settings), figsize=(2.1 * len(settings), 3.0), sharey=True, squeeze=False)
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
