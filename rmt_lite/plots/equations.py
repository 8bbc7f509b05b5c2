"""Chapter 5 (quadratic equations): decoded samples, per-chunk accuracy, our answer accuracy beside
the paper's.

A sample is six chunks of ``chunk_len`` (30) characters: problem | canonical form | discriminant |
root 1 | root 2 | answer (``data_gen.QuadraticTask``). With 30-token segments, input segment ``i``
predicts exactly chunk ``i``; the paper's metric, *answer accuracy*, is the whole final chunk exactly
right under greedy decoding. Helpers here only read tasks, records and predictions and draw them;
training goes through :func:`rmt_lite.train_experiment` (wrapped by :func:`train_fresh`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.colors import ListedColormap
from torch import Tensor

from ..config import display_name
from . import readable, stamp

CHUNK_NAMES = ("problem", "canonical form", "discriminant", "root 1", "root 2", "answer")
#: display order and names of the settings compared in the chapter
SETTING_ORDER = ["transformer (whole)", "transformer (segmented)", "xl", "rmt", "mt", "rmt_xl"]


# ------------------------------------------------------------------------------------------------
# runs
def train_fresh(
    experiment: str,
    model: str,
    profile: str,
    seed: int,
    overrides: dict | None = None,
    *,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> tuple[Any, Path]:
    """A fresh run of the chapter at ``profile``: returns ``(record, run_dir)``.

    Calls :func:`rmt_lite.train_experiment` with its default output folder (``runs/smoke/`` for
    smoke, ``results/`` otherwise). A smoke run is always retrained (seconds); a longer run is
    reused only when its folder still holds the trained checkpoint (checkpoints are never
    committed, so a fresh clone retrains), which the decoded samples need.
    """
    from ..experiments import resolve
    from ..records import CHECKPOINT, RECORD
    from ..trainer import default_out_dir, default_run_id, train_experiment

    cfg = resolve(experiment, model, profile, seed, overrides)
    run_dir = default_out_dir(profile) / experiment / default_run_id(cfg)
    reuse = profile != "smoke" and (run_dir / CHECKPOINT).exists() and (run_dir / RECORD).exists()
    record = train_experiment(
        experiment, model, profile, seed, overrides, device=device, progress=False, rerun=not reuse, log=log
    )
    return record, run_dir


# ------------------------------------------------------------------------------------------------
# samples
def _chars(row) -> list[str]:
    """One character per token: '·' for padding, '>' for the start token, '?' for anything else."""
    from data_gen.tasks import ID_TO_CHAR, PAD, START

    out = []
    for t in row.tolist() if isinstance(row, Tensor) else list(row):
        t = int(t)
        out.append("·" if t == PAD else ">" if t == START else ID_TO_CHAR.get(t, "?"))
    return out


def chunk_texts(row, chunk_len: int = 30) -> list[str]:
    """The six chunks of a target (or predicted) row as text: trailing padding removed, padding
    inside a chunk shown as '·' (a correct chunk never has any)."""
    chars = _chars(row)
    if len(chars) % chunk_len:
        raise ValueError(f"row of {len(chars)} tokens is not allowed: a multiple of chunk_len={chunk_len}")
    return ["".join(chars[i : i + chunk_len]).rstrip("·") for i in range(0, len(chars), chunk_len)]


def has_real_roots(targets_row, chunk_len: int = 30) -> bool:
    """Whether a sample's equation has real roots (otherwise its root chunks are empty)."""
    return chunk_texts(targets_row, chunk_len)[3] != ""


def pick_samples(targets: Tensor, n_real: int = 2, n_none: int = 1, chunk_len: int = 30) -> list[int]:
    """Indices of the first ``n_real`` samples with real roots and the first ``n_none`` without."""
    real, none = [], []
    for i, row in enumerate(targets):
        (real if has_real_roots(row, chunk_len) else none).append(i)
    if len(real) < n_real or len(none) < n_none:
        raise ValueError(
            f"targets hold {len(real)} samples with real roots and {len(none)} without; "
            f"allowed: at least n_real={n_real} and n_none={n_none}"
        )
    return sorted(real[:n_real] + none[:n_none])


def samples_table(targets: Tensor, indices: list[int], chunk_len: int = 30) -> pd.DataFrame:
    """Chunks (rows) of the chosen samples (columns), as text."""
    cols = {}
    for i in indices:
        kind = "real roots" if has_real_roots(targets[i], chunk_len) else "no real root"
        cols[f"sample {i} ({kind})"] = chunk_texts(targets[i], chunk_len)
    table = pd.DataFrame(cols, index=[f"{k + 1}. {n}" for k, n in enumerate(CHUNK_NAMES)])
    table.index.name = "chunk = segment"
    return table


def plot_sample_grid(
    tokens_row: Tensor, targets_row: Tensor, provenance: str, chunk_len: int = 30, title: str = ""
) -> plt.Figure:
    """One sample as the model meets it: one row per 30-token segment, the input characters
    (top half of each row) and the targets it must predict (bottom half); unscored cells grey."""
    inp, tgt = _chars(tokens_row), _chars(targets_row)
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


# ------------------------------------------------------------------------------------------------
# decoding
@torch.no_grad()
def greedy_decode(model, batch, segment_len: int, batch_size: int = 128) -> Tensor:
    """Greedy predictions ``[N, S]`` aligned with ``batch.targets`` (positions before the first
    scored one hold 0), exactly as the paper's answer accuracy decodes
    (:func:`rmt_lite.evaluate.greedy_predictions`)."""
    from ..evaluate import greedy_predictions

    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, batch.tokens.shape[0], batch_size):
        t, m = batch.tokens[i : i + batch_size].to(device), batch.loss_mask[i : i + batch_size].to(device)
        out.append(greedy_predictions(model, t, m, segment_len).cpu())
    return torch.cat(out)


def empty_answer_share(targets: Tensor, chunk_len: int = 30) -> float:
    """Share of samples whose final chunk is empty (no real root): the answer accuracy of a model
    that writes nothing but padding."""
    return float((targets[:, -chunk_len:] == 0).all(dim=1).float().mean())


def chunk_accuracy(pred: Tensor, targets: Tensor, chunk_len: int = 30, first: int = 1) -> pd.DataFrame:
    """Fraction of samples whose chunk is exactly right (text and padding), for chunks ``first``
    (0-based; default 1: chunk 1 is the given problem, never scored) to the last. Columns
    ``chunk`` (name), ``index`` (1-based) and ``accuracy``; the last row is the answer accuracy."""
    if pred.shape != targets.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and targets {tuple(targets.shape)} must have one shape")
    n = targets.shape[1] // chunk_len
    rows = []
    for k in range(first, n):
        sl = slice(k * chunk_len, (k + 1) * chunk_len)
        ok = (pred[:, sl] == targets[:, sl]).all(dim=1)
        rows.append(
            dict(
                chunk=CHUNK_NAMES[k] if k < len(CHUNK_NAMES) else f"chunk {k + 1}",
                index=k + 1,
                accuracy=float(ok.float().mean()),
            )
        )
    return pd.DataFrame(rows)


def decoded_table(targets_row: Tensor, preds: dict[str, Tensor], chunk_len: int = 30) -> pd.DataFrame:
    """Target chunks beside each model's greedy chunks, each marked ✓ (exactly right) or ✗;
    an empty chunk shows as —."""
    target = chunk_texts(targets_row, chunk_len)
    cols = {"target": [t or "—" for t in target]}
    for name, row in preds.items():
        got = chunk_texts(row, chunk_len)
        cols[name] = [
            ("✓ " if _exact(row, targets_row, k, chunk_len) else "✗ ") + (g or "—") for k, g in enumerate(got)
        ]
    table = pd.DataFrame(cols, index=list(CHUNK_NAMES[: len(target)]))
    table.iloc[0, 1:] = "(given)"
    return table


def _exact(row: Tensor, targets_row: Tensor, k: int, chunk_len: int) -> bool:
    sl = slice(k * chunk_len, (k + 1) * chunk_len)
    return bool((row[sl] == targets_row[sl]).all())


def plot_chunk_accuracy(df: pd.DataFrame, provenance: str, title: str = "", floor: float | None = None) -> plt.Figure:
    """``df`` with columns setting, chunk, accuracy (one row per setting and chunk): bars per chunk.
    ``floor``: the share of samples whose last three chunks are empty (dotted line over them)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    order = [c for c in CHUNK_NAMES if c in set(df["chunk"])]
    hue_order = [s for s in SETTING_ORDER if s in set(df["setting"])] + sorted(set(df["setting"]) - set(SETTING_ORDER))
    sns.barplot(data=df, x="chunk", y="accuracy", hue="setting", order=order, hue_order=hue_order, ax=ax)
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


# ------------------------------------------------------------------------------------------------
# records beside the paper
def setting_of(model: str, num_segments: Any) -> str:
    """The chapter's name of a run: the transformer is split into whole-sample and segmented."""
    try:
        name = display_name(model, num_segments)
    except (TypeError, ValueError):
        name = model
    return "transformer (segmented)" if name == "transformer" else name


def source_order(sources) -> list[str]:
    """Our sources first (sorted), the paper last."""
    sources = set(sources)
    return sorted(sources - {"paper"}) + (["paper"] if "paper" in sources else [])


def answer_accuracy_table(
    records: pd.DataFrame | None, paper: pd.DataFrame | None = None, label: str = "ours"
) -> pd.DataFrame:
    """Tidy rows ``source, setting, mem_size, segment_len, seed, answer_accuracy`` from our
    records (``rmt_lite.load_records``: ``test_answer_acc``; source = ``label``) and the paper's
    (``rmt_lite.paper.quadratic()``; source = "paper")."""
    frames = []
    if records is not None and len(records):
        frames.append(
            pd.DataFrame(
                {
                    "source": label,
                    "setting": [setting_of(m, n) for m, n in zip(records["model"], records["num_segments"])],
                    "mem_size": [0 if m == "transformer" else s for m, s in zip(records["model"], records["mem_size"])],
                    "segment_len": records["segment_len"],
                    "seed": records["seed"],
                    "answer_accuracy": records["test_answer_acc"].astype(float),
                }
            )
        )
    if paper is not None and len(paper):
        frames.append(
            pd.DataFrame(
                {
                    "source": "paper",
                    "setting": paper["model"],
                    "mem_size": paper["mem_size"],
                    "segment_len": paper["segment_len"],
                    "seed": paper["seed"],
                    "answer_accuracy": paper["answer_accuracy"].astype(float),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["source", "setting", "mem_size", "segment_len", "seed", "answer_accuracy"])
    return pd.concat(frames, ignore_index=True)


def summarize(tidy: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation, min, max and number of seeds of the answer accuracy per source and
    setting (rows in the chapter's order)."""
    g = tidy.groupby(["source", "setting"])
    out = g["answer_accuracy"].agg(mean="mean", std="std", min="min", max="max", seeds="count")
    out["mem_size"] = g["mem_size"].agg(lambda s: ", ".join(str(int(v)) for v in sorted(set(s))))
    out["segment_len"] = g["segment_len"].agg(lambda s: ", ".join(str(int(v)) for v in sorted(set(s))))
    order = {s: i for i, s in enumerate(SETTING_ORDER)}
    out = out.reset_index()
    sources = source_order(out["source"])
    out["_o"] = [(sources.index(s), order.get(t, 99)) for s, t in zip(out["source"], out["setting"])]
    return out.sort_values("_o").drop(columns="_o").set_index(["source", "setting"])


def plot_answer_accuracy(
    tidy: pd.DataFrame, provenance: str, title: str = "", floor: float | None = None
) -> plt.Figure:
    """Answer accuracy per setting: bars = mean over seeds, dots = single seeds; ours beside the
    paper's. ``floor``: the score of a model that writes nothing (dotted line)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    present = set(tidy["setting"])
    order = [s for s in SETTING_ORDER if s in present] + sorted(present - set(SETTING_ORDER))
    hue_order = source_order(tidy["source"])
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


def claim_sentence(summary: pd.DataFrame, source: str = "ours") -> str:
    """Claim 5 in words, computed from ``summarize`` output for one source: is rmt above xl, and how
    close to the whole-sample transformer? Differences smaller than the seeds' spread are called so."""
    if source not in summary.index.get_level_values(0):
        return f"There are no {source} results to compare."
    s = summary.loc[source]
    need = [k for k in ("rmt", "xl") if k not in s.index]
    if need:
        return f"The {source} results lack {' and '.join(need)}, so the comparison cannot be made."

    def fmt(k):
        r = s.loc[k]
        spread = f" (seeds {r['min']:.3f}-{r['max']:.3f})" if r["seeds"] > 1 else " (one seed)"
        return f"{k} {r['mean']:.3f}{spread}"

    rmt, xl = s.loc["rmt"], s.loc["xl"]
    separated = rmt["min"] > xl["max"] or xl["min"] > rmt["max"]
    if rmt["mean"] > xl["mean"]:
        verdict = "rmt is above xl" + (
            "" if separated or min(rmt["seeds"], xl["seeds"]) < 2 else ", but within the spread of the seeds"
        )
    elif rmt["mean"] < xl["mean"]:
        verdict = "rmt is below xl" + (
            "" if separated or min(rmt["seeds"], xl["seeds"]) < 2 else ", but within the spread of the seeds"
        )
    else:
        verdict = "rmt and xl are equal"
    text = f"Answer accuracy: {fmt('rmt')} against {fmt('xl')}: {verdict}."
    if "transformer (whole)" in s.index:
        w = s.loc["transformer (whole)"]
        gap = w["mean"] - rmt["mean"]
        text += f" The whole-sample transformer reaches {w['mean']:.3f}, " + (
            f"{gap:.3f} above rmt." if gap > 0 else f"{-gap:.3f} below rmt." if gap < 0 else "the same as rmt."
        )
    return text


def plot_answer_curves(
    history: pd.DataFrame,
    provenance: str,
    floor: float | None = None,
    title: str = "Validation answer accuracy during training",
) -> plt.Figure:
    """Training curves of the answer accuracy (``rmt_lite.load_history`` rows with ``model``
    renamed to the setting) through :func:`rmt_lite.plots.plot_training_curves`, with the
    writes-nothing floor as a dotted line."""
    from . import plot_training_curves

    fig = plot_training_curves(history, "answer_acc", title, provenance)
    ax = fig.axes[0]
    ax.set_ylabel("answer accuracy (greedy)")
    if floor is not None:
        ax.axhline(floor, color="0.4", ls=":", lw=1)
        ax.text(ax.get_xlim()[0], floor, " writes nothing", ha="left", va="bottom", fontsize=8, color="0.3")
    ax.legend(title=None, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return readable(fig)  # the figure was laid out and stamped already: raise the new text too


def records_provenance(records: pd.DataFrame, source: str = "committed results") -> str:
    """One line naming the profile(s), seeds, commit(s) and device(s) of a set of records."""
    if records is None or not len(records):
        return f"{source}: none"

    def join(col):
        return ",".join(str(v) for v in sorted(set(records[col].dropna())))

    devices = sorted({str(d).split(" (")[0] for d in records["device"].dropna()})
    return (
        f"{source}: profile={join('profile')}, seeds {join('seed')}, commit {join('git_sha')}, "
        f"torch {join('torch')}, {','.join(devices)}, {len(records)} runs"
    )
