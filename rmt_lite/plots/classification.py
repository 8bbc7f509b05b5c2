"""Figures and small tables of chapter 08 (long-document classification): an encoder ``rmt``
that reads several segments against a ``transformer`` that reads the first segment only, beside
a bag-of-words baseline and the paper's Hyperpartisan numbers."""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .. import paper
from . import stamp
from .memory import styled_table  # noqa: F401  (re-exported for chapter 08)

# The paper's Hyperpartisan accuracy (%), kept with its source in rmt_lite.paper.
PAPER_HYPERPARTISAN, PAPER_HYPERPARTISAN_SOURCE = paper.HYPERPARTISAN, paper.HYPERPARTISAN_SOURCE

MODEL_LABELS = {"transformer": "transformer (first segment only)", "rmt": "rmt (memory across segments)"}
MODEL_ORDER = ["transformer", "rmt"]


def paper_table() -> pd.DataFrame:
    """The paper's Hyperpartisan numbers as a table (accuracy as a fraction, like ours)."""
    return pd.DataFrame(
        [
            dict(
                model=m,
                accuracy=v / 100,
                dataset="Hyperpartisan",
                setting="fine-tuned RoBERTa-base",
                source=PAPER_HYPERPARTISAN_SOURCE,
            )
            for m, v in PAPER_HYPERPARTISAN.items()
        ]
    )


def queue_overrides(model: str) -> dict:
    """The overrides the reproduction queue (:mod:`rmt_lite.reproduce`) trains ``model`` with on
    the classification experiment (the transformer: ``max_segments=1``, one segment), so that a
    notebook run at a real profile finds the queue's finished runs instead of training again."""
    from ..reproduce import queue

    found = [dict(r.overrides) for r in queue() if r.experiment == "classification" and r.model == model]
    return found[0] if found else {}


def load_dataset(cfg) -> object:
    """The ``data_gen`` classification data of a classification :class:`rmt_lite.RunConfig`, loaded
    as the trainer loads it (``dataset`` names the loader; None arguments are left out)."""
    import data_gen

    task = dict(cfg.task)
    name = task.pop("dataset")
    return data_gen.load_classification(name, **{k: v for k, v in task.items() if v is not None})


# ------------------------------------------------------------------------------------------------
# the data
def document_lengths(data) -> pd.DataFrame:
    """Tokens per document of a ``data_gen`` ``ClassificationData``: columns split, label, tokens."""
    rows = []
    for split in ("train", "valid", "test"):
        for ids, y in data.split(split):
            rows.append(dict(split=split, label=data.label_names[y], tokens=int(len(ids))))
    return pd.DataFrame(rows)


def majority_accuracy(data, split: str = "test") -> float:
    """Accuracy of always answering the most frequent training label."""
    train = pd.Series([y for _, y in data.train])
    top = int(train.value_counts().idxmax())
    docs = data.split(split)
    return sum(int(y == top) for _, y in docs) / max(len(docs), 1)


def bow_curve(data, token_counts: Iterable[int | None], split: str = "test") -> pd.DataFrame:
    """The bag-of-words baseline (``data_gen.classification.bow_baseline``) when it reads only the
    first ``n`` tokens of every document (None = the whole document): columns tokens, accuracy,
    label."""
    from data_gen.classification import bow_baseline

    rows = []
    for n in token_counts:
        rows.append(
            dict(
                tokens=n,
                accuracy=bow_baseline(data, n, split=split),
                label="whole document" if n is None else f"first {n} tokens",
            )
        )
    return pd.DataFrame(rows)


def hyperpartisan_overrides(
    articles_xml: str, ground_truth_xml: str, test_articles_xml: str = "", test_ground_truth_xml: str = ""
) -> dict | None:
    """The ``train_experiment`` overrides that switch the classification experiment to
    Hyperpartisan files; None when ``articles_xml`` and ``ground_truth_xml`` are empty (skip)."""
    if not articles_xml and not ground_truth_xml:
        return None
    if not articles_xml or not ground_truth_xml:
        raise ValueError(
            "hyperpartisan: give both articles_xml and ground_truth_xml (or neither, to skip); got "
            f"articles_xml={articles_xml!r}, ground_truth_xml={ground_truth_xml!r}"
        )
    if bool(test_articles_xml) != bool(test_ground_truth_xml):
        raise ValueError("hyperpartisan: give both test_articles_xml and test_ground_truth_xml, or neither")
    out = {"dataset": "hyperpartisan", "articles_xml": articles_xml, "ground_truth_xml": ground_truth_xml}
    if test_articles_xml:
        out.update(test_articles_xml=test_articles_xml, test_ground_truth_xml=test_ground_truth_xml)
    return out


def overrides_refused(profile: str, overrides: dict) -> str | None:
    """Why the experiments module refuses ``overrides`` for the classification experiment at
    ``profile`` (its ValueError message), or None when they are accepted."""
    from ..experiments import resolve

    try:
        resolve("classification", "rmt", profile, 0, overrides)
    except ValueError as err:
        return str(err)
    return None


# ------------------------------------------------------------------------------------------------
# runs
def runs_table(records) -> pd.DataFrame:
    """One row per run of :class:`rmt_lite.RunRecord` objects: model, dataset, profile, seed,
    tokens read per document (segment length x the segments the model reads: all of
    ``max_segments`` for rmt, the first one for the transformer), test/valid accuracy, steps,
    wall time and commit."""
    rows = []
    for r in records:
        cfg, m = r.config, r.metrics
        segments = m.get("max_segments", cfg.get("max_segments", 1) if r.model == "rmt" else 1)
        rows.append(
            dict(
                model=r.model,
                dataset=cfg.get("task", {}).get("dataset", "?"),
                profile=r.profile,
                seed=int(r.seed),
                tokens_read=int(cfg["segment_len"]) * int(segments),
                test_acc=(m.get("test") or {}).get("acc"),
                valid_acc=(m.get("valid") or {}).get("acc"),
                steps_done=r.steps,
                wall_time_s=r.wall_time_s,
                git_sha=r.git_sha,
            )
        )
    cols = [
        "model",
        "dataset",
        "profile",
        "seed",
        "tokens_read",
        "test_acc",
        "valid_acc",
        "steps_done",
        "wall_time_s",
        "git_sha",
    ]
    out = pd.DataFrame(rows, columns=cols)
    if out.empty:
        return out
    rank = {m: i for i, m in enumerate(MODEL_ORDER)}
    out = out.sort_values(["dataset", "model", "seed"], key=lambda c: c.map(rank).fillna(9) if c.name == "model" else c)
    return out.reset_index(drop=True)


def provenance_of(runs: pd.DataFrame, source: str) -> str:
    """One line naming the profile(s), seeds and commit(s) behind ``runs`` (a :func:`runs_table`)."""
    if runs.empty:
        return f"{source}: no runs"
    seeds = ",".join(str(s) for s in sorted(runs["seed"].unique()))
    shas = ",".join(sorted(set(runs["git_sha"].astype(str))))
    profiles = ",".join(sorted(set(runs["profile"].astype(str))))
    return f"{source}: profile={profiles}, seeds={seeds}, commit {shas}"


def compare_sentence(runs: pd.DataFrame, dataset_label: str) -> str:
    """A sentence that says what ``runs`` show about memory against truncation, chosen from the
    numbers: every seed above / above on average with overlapping seeds / not above."""
    acc = {m: runs[runs["model"] == m]["test_acc"].astype(float) for m in MODEL_ORDER}
    if any(len(a) == 0 for a in acc.values()):
        return f"On {dataset_label} there are not yet runs of both models to compare."
    r, t = acc["rmt"], acc["transformer"]
    n = f"{len(r)} seed{'s' if len(r) > 1 else ''} of rmt and {len(t)} of the transformer"
    head = (
        f"On {dataset_label} ({n}), rmt scores {r.mean():.2f} test accuracy on average against "
        f"{t.mean():.2f} for the transformer that reads only the first segment"
    )
    if len(r) > 1 and len(t) > 1 and r.min() > t.max():
        return head + ": every rmt seed is above every transformer seed."
    if r.mean() > t.mean():
        if len(r) == 1 or len(t) == 1:
            return head + ": higher, but one seed per model cannot tell a gap from noise."
        return head + ": higher on average, but the seeds overlap, so the gap is not clear at this size."
    if r.mean() == t.mean():
        return head + ": no difference."
    return head + ": memory does not beat truncation here."


def bow_references(bow: pd.DataFrame, reads: dict[str, int], majority: float, whole: str = "whole document") -> dict:
    """Horizontal reference lines for :func:`plot_accuracy`: the bag of words on the spans the
    models read (``reads``: model -> tokens) and on the whole document, and the majority class."""
    at = {(-1 if pd.isna(n) else int(n)): a for n, a in zip(bow["tokens"], bow["accuracy"])}
    refs = {f"bag of words, first {n} tokens": at.get(n, float("nan")) for n in sorted(set(reads.values()))}
    refs[f"bag of words, {whole}"] = at[-1]
    refs["majority class"] = majority
    return refs


def span_sentence(first: float, span: float, whole: float, first_tokens: int, span_tokens: int) -> str:
    """What the bag-of-words baseline says about the spans the two models read."""
    gain = span - first
    text = (
        f"Reading {span_tokens} tokens instead of {first_tokens} changes the bag of words' accuracy by "
        f"{gain:+.2f}; reading the whole document, by {whole - first:+.2f}."
    )
    if gain >= 0.05:
        return text + " The longer span the rmt reads holds more of the label than the first segment alone."
    if whole - first >= 0.1:
        return text + (
            " Most of what the label needs lies beyond both spans: at this profile even the rmt reads "
            "only the beginning of a document, so memory has little to add for word identity."
        )
    return text + " On this data set the beginning of a document holds about as much of the label as the rest."


# ------------------------------------------------------------------------------------------------
# figures
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
    colors = dict(zip(MODEL_ORDER, sns.color_palette("dark", 2)))
    for name, n in reads.items():
        for a in axes:
            a.axvline(n, color=colors.get(name, "0.3"), ls="--", lw=1.2)
        ax.text(
            n,
            0.02,
            f"{name} reads {n} ",
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=8,
            color=colors.get(name, "0.3"),
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
    order = [MODEL_LABELS.get(m, m) for m in MODEL_ORDER if m in set(data["model"].astype(str))]
    sns.barplot(data=data, x="label", y="test_acc", order=order, errorbar=None, ax=ax, alpha=0.35, color="#4c72b0")
    sns.stripplot(data=data, x="label", y="test_acc", order=order, ax=ax, size=7, color="#1f3b73", jitter=0.12)
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    for (label, value), ls in zip(references.items(), styles * 2):
        ax.axhline(value, color="0.4", ls=ls, lw=1.1, label=f"{label}: {value:.2f}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("")
    ax.set_ylabel("test accuracy (dots: seeds; bar: mean)")
    ax.set_title(title, fontsize=10)
    if references:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.1), ncols=2, frameon=False)
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


def accuracy_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation, min and max of the test accuracy per dataset and model, with
    the seeds used."""
    if runs.empty:
        return pd.DataFrame()
    g = runs.groupby(["dataset", "model"], sort=False)
    out = g["test_acc"].agg(["mean", "std", "min", "max", "count"]).rename(columns={"count": "runs"})
    out["seeds"] = g["seed"].agg(lambda s: ",".join(str(int(v)) for v in sorted(s)))
    out["tokens_read"] = g["tokens_read"].first()
    return out.reset_index()
