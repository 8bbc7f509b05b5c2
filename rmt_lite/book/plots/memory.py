"""Figures of chapter 07 (memory analysis): attention maps of the read and write blocks, probes of
the memory slots, memory norms across segments. Drawing only: the numbers come from
:mod:`rmt_lite.repro.memory_analysis` (its ``MemoryAnalysis``, passed in as ``analysis``), the
chapter's tables from :mod:`rmt_lite.book.chapters.memory`; every figure is stamped with its provenance."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.colors import PowerNorm

from . import stamp

_CMAP = "rocket_r"


def _block_axes(ax: plt.Axes, num_mem: int, seg_len: int, labels: bool = True) -> None:
    """Red lines between the read block, the tokens and the write block; block names as ticks."""
    M, T = num_mem, seg_len
    for e in (M - 0.5, M + T - 0.5):
        ax.axvline(e, color="#1f77b4", lw=0.9)
        ax.axhline(e, color="#1f77b4", lw=0.9)
    centers = [(M - 1) / 2, M + (T - 1) / 2, M + T + (M - 1) / 2]
    ax.set_xticks(centers, ["R", "x", "W"] if labels else [], fontsize=8)
    ax.set_yticks(centers, ["R", "x", "W"] if labels else [], fontsize=8)
    ax.grid(False)


def plot_attention_maps(analysis: Any, provenance: str, title: str | None = None, gamma: float = 0.5) -> plt.Figure:
    """Mean attention (over samples and heads) of every layer (rows) in every segment (columns).

    Rows of a map are queries, columns keys, both ``[R ; x ; W]``; colour on a power scale
    (``gamma`` < 1 shows small weights) shared by all panels."""
    att, M = analysis.attention, analysis.num_mem
    n_layers, n_segs = att[0].shape[0], len(att)
    vmax = max(float(a.max()) for a in att)
    size = 2.5 if n_segs > 2 else 2.9
    fig, axes = plt.subplots(
        n_layers, n_segs, figsize=(size * n_segs + 1.2, size * n_layers + 0.4), squeeze=False, layout="constrained"
    )
    norm = PowerNorm(gamma, vmin=0.0, vmax=vmax)
    for s in range(n_segs):
        for layer in range(n_layers):
            ax = axes[layer, s]
            im = ax.imshow(att[s][layer].numpy(), cmap=_CMAP, norm=norm, interpolation="nearest")
            _block_axes(ax, M, analysis.seg_lens[s])
            if layer == 0:
                ax.set_title(f"segment {s}", fontsize=10)
            if s == 0:
                ax.set_ylabel(f"layer {layer}\nquery", fontsize=9)
            if layer == n_layers - 1:
                ax.set_xlabel("key", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.6, label=f"attention weight (power scale, gamma {gamma})")
    meta = analysis.meta
    fig.suptitle(
        title
        or f"{meta['task']}: attention of every layer in every segment "
        f"(mean over {meta['n_attention']} test samples and {meta['n_heads']} heads)",
        fontsize=11,
    )
    return stamp(fig, provenance)


def plot_read_write(analysis: Any, by_layer: dict[int, tuple], provenance: str) -> plt.Figure:
    """Left: where each memory slot looks when it is written (write block -> tokens). Right: how
    much each later token reads each slot (tokens -> read block). One row per layer of ``by_layer``
    (:func:`rmt_lite.repro.memory_analysis.read_write_layers`); x = position in the sample, dashed
    lines at segment boundaries; colour scale shared within each column."""
    layers, maps = list(by_layer), list(by_layer.values())
    wmax = max(m[0].max() for m in maps)
    rmax = max(m[1].max() for m in maps)
    widths = [len(maps[0][2]), len(maps[0][3])]
    M = analysis.num_mem
    fig, axes = plt.subplots(
        len(layers),
        2,
        figsize=(10, max(3.0, (0.17 * M + 0.6) * len(layers) + 1.0)),  # room for the colour bars
        squeeze=False,
        layout="constrained",
        gridspec_kw=dict(width_ratios=widths),
    )
    bounds = np.cumsum(analysis.seg_lens).tolist()
    for col, (vmax, name) in enumerate(((wmax, "write"), (rmax, "read"))):
        for row, (layer, (w, r, wpos, rpos)) in enumerate(zip(layers, maps)):
            data, pos = (w, wpos) if col == 0 else (r, rpos)
            ax = axes[row, col]
            im = ax.imshow(
                data,
                cmap=_CMAP,
                vmin=0,
                vmax=vmax,
                aspect="auto",
                interpolation="nearest",
                extent=(pos[0] - 0.5, pos[-1] + 0.5, M - 0.5, -0.5),
            )
            for b in bounds:
                if pos[0] < b - 0.5 < pos[-1]:
                    ax.axvline(b - 0.5, color="#1f77b4", ls="--", lw=1.4)
            ax.set_yticks(range(M), [str(s) for s in range(M)], fontsize=7)
            ax.set_ylabel(f"layer {layer}\nslot", fontsize=9)
            ax.tick_params(axis="x", labelsize=8)
            ax.grid(False)
            if row == 0:
                ax.set_title(
                    "writing: write slot -> input token" if col == 0 else "reading: later token -> read slot",
                    fontsize=10,
                )
            if row == len(layers) - 1:
                ax.set_xlabel("token position in the sample", fontsize=9)
        fig.colorbar(im, ax=axes[:, col], shrink=min(0.8, 2.5 / len(layers)), aspect=20, label=f"{name} attention")
    fig.suptitle(
        f"{analysis.meta['task']}: what the memory slots attend to, and who attends to them\n"
        "(dashed: segment boundary)",
        fontsize=11,
    )
    return stamp(fig, provenance)


def plot_probes(analysis: Any, provenance: str, states: list[int] | None = None) -> plt.Figure:
    """Held-out accuracy of linear probes that decode input symbol ``x_j`` from the memory.

    Top row: one heatmap per memory state ``M_t`` (slots and "all" slots x input position j).
    Bottom row: the "all slots" probe per position, trained model against an untrained one of
    the same architecture, with chance (1 / number of symbols)."""
    df = analysis.probes
    n_states = int(df["memory"].max()) + 1
    states = list(range(1, n_states - 1)) if states is None else states
    if not states:
        states = [n_states - 1]
    chance = analysis.meta["chance"]
    M = analysis.num_mem
    order = [str(s) for s in range(M)] + ["all"]
    fig, axes = plt.subplots(
        2,
        len(states),
        figsize=(4.8 * len(states) + 1.6, 0.22 * (M + 1) + 0.6 + 3.4),
        squeeze=False,
        layout="constrained",
        gridspec_kw=dict(height_ratios=[0.22 * (M + 1) + 0.6, 2.6]),
    )
    for i, t in enumerate(states):
        g = df[(df["memory"] == t) & (df["model"] == "trained")]
        grid = g.pivot(index="slot", columns="position", values="accuracy").reindex(order)
        ax = axes[0, i]
        im = ax.imshow(grid.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        ax.axhline(M - 0.5, color="white", lw=2)
        ax.set_yticks(range(len(order)), [f"slot {s}" if s != "all" else "all slots" for s in order], fontsize=7)
        step = max(1, grid.shape[1] // 12)
        ax.set_xticks(range(0, grid.shape[1], step), [str(j) for j in range(0, grid.shape[1], step)], fontsize=7)
        ax.set_title(f"memory M{t} (written by segment {t - 1})", fontsize=10)
        ax.grid(False)
        ax2 = axes[1, i]
        lines = df[(df["memory"] == t) & (df["slot"] == "all")]
        sns.lineplot(
            data=lines,
            x="position",
            y="accuracy",
            hue="model",
            style="model",
            markers=True,
            dashes=False,
            ax=ax2,
            hue_order=["trained", "untrained"],
        )
        ax2.axhline(chance, color="0.5", ls="--", lw=1)
        ax2.text(lines["position"].max(), chance, "chance", ha="right", va="bottom", fontsize=8, color="0.4")
        ax2.set_ylim(0, 1.05)
        ax2.set_xlabel("input position j (symbol x_j decoded)")
        ax2.set_ylabel("accuracy, all slots" if i == 0 else "")
        ax2.legend(title=None, fontsize=8, loc="lower left")
    fig.colorbar(im, ax=axes[0, :], shrink=0.9, aspect=12, label="held-out accuracy")
    meta = analysis.meta
    fig.suptitle(
        f"{meta['task']}: decoding the input symbols from the memory (linear probes; "
        f"{meta['n_probe_train']} training / {meta['n_probe_test']} held-out samples)",
        fontsize=11,
    )
    return stamp(fig, provenance)


def plot_memory_norms(analysis: Any, provenance: str) -> plt.Figure:
    """From the learned ``M0`` to the memory after the last segment: the norm of each slot; how
    alike the slots of a sample are (mean cosine over slots, of the raw vectors and of their
    sample-specific parts); how much each slot changed since the previous state."""
    df = analysis.norms.copy()
    df["slot"] = df["slot"].astype(str)
    states = sorted(df["memory"].unique())
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.5), layout="constrained")
    sns.lineplot(data=df, x="memory", y="norm", hue="slot", marker="o", ax=axes[0], palette="crest", legend=False)
    axes[0].set_title("L2 norm, one line per slot", fontsize=10)
    cos = df.melt(
        id_vars=["memory", "slot"],
        value_vars=["cosine_to_other_slots", "centred_cosine"],
        var_name="vectors",
        value_name="cosine",
    ).dropna(subset=["cosine"])
    cos["vectors"] = cos["vectors"].map(
        {"cosine_to_other_slots": "raw vectors", "centred_cosine": "sample-specific parts"}
    )
    sns.lineplot(
        data=cos,
        x="memory",
        y="cosine",
        hue="vectors",
        style="vectors",
        markers=True,
        dashes=False,
        errorbar=None,
        ax=axes[1],
        hue_order=["raw vectors", "sample-specific parts"],
    )
    axes[1].set_ylim(-1.05, 1.05)
    axes[1].set_title("cosine between the slots of a sample", fontsize=10)
    axes[1].legend(title=None, fontsize=8, loc="lower right")
    data = df.dropna(subset=["relative_change"])
    sns.lineplot(
        data=data,
        x="memory",
        y="relative_change",
        hue="slot",
        marker="o",
        ax=axes[2],
        palette="crest",
        legend=analysis.num_mem <= 12,
    )
    axes[2].set_ylim(bottom=0)
    axes[2].set_title("change since the previous state", fontsize=10)
    if analysis.num_mem <= 12:
        axes[2].legend(
            title="slot",
            fontsize=7,
            ncols=2 if analysis.num_mem > 6 else 1,
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
        )
    for ax in axes:
        ax.set_xticks(states, [f"M{t}" for t in states])
        ax.set_xlim(states[0] - 0.2, states[-1] + 0.2)
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.supxlabel("memory state (Mt: after segment t-1)", fontsize=9)  # once: under three panels it would overlap
    fig.suptitle(
        f"{analysis.meta['task']}: the memory slots across segments "
        f"(mean over {analysis.meta['n_probe_test']} test samples)",
        fontsize=11,
    )
    return stamp(fig, provenance)
