"""Chapter 6 (language modelling with limited input): our runs and the paper's at equal memory
size and across BPTT depths.

Experiments ``lm_bytes`` (bits per byte, the enwik8 metric) and ``lm_words`` (perplexity, the
WikiText-103 metric) train on the shipped Wikipedia excerpt by default, or on enwik8 / WikiText-103
when a path is given (:func:`corpus_overrides`). "Memory size" is the XL cache length for ``xl``
and the number of memory tokens for ``rmt``, as in the paper. Helpers here only select, tabulate
and draw; training goes through :func:`rmt_lite.train_experiment`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..config import MEMORY_VARIANTS
from . import MODEL_COLORS, stamp

#: experiment -> (record column of the test metric, short name, axis label, the paper's data set)
METRICS = {
    "lm_bytes": ("test_bpc", "bpc", "bits per byte (bpc)", "enwik8"),
    "lm_words": ("test_ppl", "ppl", "perplexity", "wt103"),
}
#: corpus used when a path is given
REAL_CORPUS = {"lm_bytes": "enwik8", "lm_words": "wt103"}


# ------------------------------------------------------------------------------------------------
# what to run
def corpus_overrides(experiment: str, path: str | None) -> dict:
    """Overrides that point ``experiment`` at the real corpus: ``{}`` (the offline Wikipedia
    default) for an empty path, else ``{"corpus": "enwik8" | "wt103", "corpus_path": path}``."""
    if experiment not in REAL_CORPUS:
        raise ValueError(f"experiment={experiment!r} is not allowed: one of {', '.join(REAL_CORPUS)}")
    if not path:
        return {}
    return {"corpus": REAL_CORPUS[experiment], "corpus_path": str(path)}


def sweep(mem_sizes: list[int], depths: list[int], default_depth: int) -> list[dict]:
    """The runs of a sweep: the transformer; ``xl`` and ``rmt`` at every memory size (rmt at
    ``default_depth``); ``rmt`` at every other BPTT depth at the first memory size. Each item:
    ``{"name", "model", "overrides"}`` (overrides without the corpus)."""
    if not mem_sizes:
        raise ValueError("mem_sizes=[] is not allowed: at least one memory size")
    runs = [dict(name="transformer", model="transformer", overrides={})]
    for m in mem_sizes:
        runs.append(dict(name=f"xl, cache {m}", model="xl", overrides={"mem_size": m}))
        runs.append(
            dict(
                name=f"rmt, {m} memory, depth {default_depth}",
                model="rmt",
                overrides={"mem_size": m, "bptt_depth": default_depth},
            )
        )
    for d in depths:
        if d != default_depth:
            m = mem_sizes[0]
            runs.append(
                dict(name=f"rmt, {m} memory, depth {d}", model="rmt", overrides={"mem_size": m, "bptt_depth": d})
            )
    return runs


# ------------------------------------------------------------------------------------------------
# tidy tables
def ours_table(records: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Tidy rows ``model, mem_size, bptt_depth, seed, value, corpus`` from records of
    ``experiment`` (``rmt_lite.load_records`` rows, or ``RunRecord.flat()`` rows). ``mem_size`` is 0
    for the transformer; ``bptt_depth`` is NaN for models without memory tokens (no write to train)."""
    column = METRICS[experiment][0]
    cols = ["model", "mem_size", "bptt_depth", "seed", "value", "corpus"]
    if records is None or not len(records) or column not in records:
        return pd.DataFrame(columns=cols)
    df = records[records["experiment"] == experiment] if "experiment" in records else records
    df = df.dropna(subset=[column])
    has_mem = df["model"].isin(MEMORY_VARIANTS)
    out = pd.DataFrame(
        {
            "model": df["model"].to_numpy(),
            "mem_size": np.where(df["model"] == "transformer", 0, df["mem_size"]).astype(int),
            "bptt_depth": np.where(has_mem, pd.to_numeric(df["bptt_depth"], errors="coerce"), np.nan),
            "seed": df["seed"].to_numpy(),
            "value": df[column].astype(float).to_numpy(),
            "corpus": df["corpus"].to_numpy() if "corpus" in df else "",
        }
    )
    return out[cols]


def paper_table(paper_lm: pd.DataFrame, experiment: str, segment_len: int) -> tuple[pd.DataFrame, int]:
    """The paper's runs of the matching data set (enwik8 for bytes, WikiText-103 for words) at the
    training segment length closest to ``segment_len`` (ties: the shorter), as tidy rows
    ``model, mem_size, bptt_depth, seed, value``; returns them and the segment length chosen.
    Only transformer, xl and rmt rows (the few "mt" rows of the CSVs are uncertain, see
    ``rmt_lite.paper.language_modelling``)."""
    dataset = METRICS[experiment][3]
    ref = paper_lm[(paper_lm["dataset"] == dataset) & paper_lm["model"].isin(["transformer", "xl", "rmt"])]
    ref = ref[ref["segment_len"] == ref["eval_segment_len"]]
    swept = ref.groupby("segment_len")["model"].nunique()
    lengths = sorted(swept[swept >= 3].index) or sorted(ref["segment_len"].unique())
    if not lengths:
        raise ValueError(f"the paper has no {dataset} rows")
    chosen = int(min(lengths, key=lambda s: (abs(s - segment_len), s)))
    ref = ref[ref["segment_len"] == chosen]
    out = pd.DataFrame(
        {
            "model": ref["model"].to_numpy(),
            "mem_size": np.where(ref["model"] == "transformer", 0, ref["mem_size"]).astype(int),
            "bptt_depth": np.where(ref["model"] == "rmt", ref["bptt_depth"], np.nan),
            "seed": np.arange(len(ref)),  # the CSV has no seed column; each row is one run
            "value": ref["value"].astype(float).to_numpy(),
            "corpus": dataset,
        }
    )
    return out, chosen


def memory_curve(tidy: pd.DataFrame) -> pd.DataFrame:
    """Rows for the memory-size figure: transformer and xl as they are; rmt at the deepest BPTT
    depth run at each memory size (the paper's headline RMT-10 on WikiText-103 is its deepest)."""
    if not len(tidy):
        return tidy
    rmt = tidy[tidy["model"] == "rmt"]
    deepest = rmt.groupby("mem_size")["bptt_depth"].transform("max")
    return pd.concat([tidy[tidy["model"] != "rmt"], rmt[rmt["bptt_depth"] == deepest]], ignore_index=True)


def summary(tidy: pd.DataFrame) -> pd.DataFrame:
    """Mean, spread and number of runs per model, memory size and BPTT depth."""
    if not len(tidy):
        return pd.DataFrame()
    keys = ["model", "mem_size", "bptt_depth"]
    g = tidy.assign(bptt_depth=tidy["bptt_depth"].fillna(-1)).groupby(keys)["value"]
    out = g.agg(mean="mean", std="std", min="min", max="max", runs="count").reset_index()
    out["bptt_depth"] = out["bptt_depth"].map(lambda d: "-" if d < 0 else str(int(d)))
    order = {"transformer": 0, "xl": 1, "rmt": 2}
    out = out.sort_values(["model", "mem_size", "bptt_depth"], key=lambda s: s.map(order) if s.name == "model" else s)
    return out.set_index(keys)


def paper_overview(paper_lm: pd.DataFrame) -> pd.DataFrame:
    """The paper's language-modelling numbers in one table: rows (data set, segment length,
    setting), columns = no BPTT (transformer, xl) and rmt at BPTT depth 0, 1, ...; mean over runs."""
    ref = paper_lm[paper_lm["model"].isin(["transformer", "xl", "rmt"])].copy()
    ref["setting"] = [
        ("transformer" if m == "transformer" else f"{m} {int(s)}") for m, s in zip(ref["model"], ref["mem_size"])
    ]
    ref["column"] = [
        "no memory tokens" if m != "rmt" else f"depth {int(d)}" for m, d in zip(ref["model"], ref["bptt_depth"])
    ]
    ref["_m"] = ref["model"].map({"transformer": 0, "xl": 1, "rmt": 2})
    table = ref.pivot_table(
        index=["dataset", "segment_len", "eval_segment_len", "_m", "mem_size", "setting"],
        columns="column",
        values="value",
        aggfunc="mean",
    ).sort_index()
    table.index = pd.MultiIndex.from_tuples(
        [(d, str(a) if a == b else f"{a} (eval {b})", name) for d, a, b, _, _, name in table.index],
        names=["data set", "segment", "setting"],
    )
    table.columns.name = None
    return table[sorted(table.columns, key=lambda c: (c != "no memory tokens", c))]


def first_step_gains(paper_lm: pd.DataFrame) -> pd.DataFrame:
    """For each of the paper's rmt settings (data set, segment length, memory size) with runs at
    depth 0, 1 and deeper: the gain (drop of the mean metric) from depth 0 to 1 and from 1 to the
    deepest, whether the first step is the largest single step, and whether it gains more than all
    deeper steps together."""
    ref = paper_lm[paper_lm["model"] == "rmt"]
    rows = []
    for (dataset, seg, mem), g in ref.groupby(["dataset", "segment_len", "mem_size"]):
        means = g.groupby("bptt_depth")["value"].mean().sort_index()
        if not {0, 1} <= set(means.index.astype(int)) or len(means) < 3:
            continue
        steps = (-means.diff().dropna()).to_numpy()
        rows.append(
            dict(
                dataset=dataset,
                segment_len=int(seg),
                mem_size=int(mem),
                depths=len(means),
                first_gain=float(steps[0]),
                later_gain=float(steps[1:].sum()),
                first_is_largest=bool(steps[0] >= steps[1:].max()),
                first_beats_rest=bool(steps[0] > steps[1:].sum()),
            )
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# figures
def _empty_panel(ax, text: str, title: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)


def _memory_panel(ax, tidy: pd.DataFrame, ylabel: str, title: str) -> None:
    curve = memory_curve(tidy)
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


def _depth_panel(ax, tidy: pd.DataFrame, ylabel: str, title: str) -> None:
    rmt = tidy[tidy["model"] == "rmt"] if len(tidy) else tidy
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


def plot_lm(panels: dict[str, pd.DataFrame], experiment: str, provenance: str, title: str = "") -> plt.Figure:
    """One row of two panels per source (``{"ours (cpu)": tidy, "paper (enwik8, 128)": tidy}``):
    the metric against memory size (xl, rmt at its deepest depth, the transformer as a dashed line)
    and rmt's metric against its BPTT depth. Sources get their own rows: the scales differ."""
    ylabel = METRICS[experiment][2]
    fig = plt.figure(figsize=(10, 3.9 * len(panels) + (0.4 if title else 0)), layout="constrained")
    subfigs = fig.subfigures(len(panels), 1, squeeze=False)[:, 0]
    for sub, (source, tidy) in zip(subfigs, panels.items()):
        axes = sub.subplots(1, 2)
        _memory_panel(axes[0], tidy, ylabel, "equal memory")
        _depth_panel(axes[1], tidy, ylabel, "BPTT depth")
        sub.suptitle(source, fontweight="bold", fontsize=11)
    if title:
        fig.suptitle(title, fontsize=13)
    return stamp(fig, provenance)


# ------------------------------------------------------------------------------------------------
# text
def printable(text: str, width: int | None = None) -> str:
    """Text safe to print: control characters other than newlines and tabs (and undecodable
    bytes) become '·'; with ``width``, every line is wrapped to at most that many characters."""
    import textwrap

    text = "".join(c if c in "\n\t" or (c.isprintable() and c != "\ufffd") else "·" for c in text)
    if width:
        text = "\n".join(textwrap.fill(line, width) if line else "" for line in text.split("\n"))
    return text
