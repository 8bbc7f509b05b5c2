"""Chapter 8 (long-document classification): the data, the bag-of-words baselines, the runs of an
encoder ``rmt`` that reads several segments and of a ``transformer`` that reads the first one, and
the paper's Hyperpartisan numbers as a table. The figures are drawn by
:mod:`rmt_lite.book.plots.classification`."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from data_gen.classification import DEFAULT_FOLD, SOTU_FOLDS

from ...records import RunRecord
from ...repro import paper
from ...run_config import resolve

#: the models the chapter trains, in the order its tables list them
MODELS = ("transformer", "rmt")


def paper_table() -> pd.DataFrame:
    """The paper's Hyperpartisan numbers (``rmt_lite.repro.paper.HYPERPARTISAN``) as a table: model,
    accuracy (a fraction, like ours), dataset, setting, source."""
    return pd.DataFrame(
        [
            dict(
                model=m,
                accuracy=v / 100,
                dataset="Hyperpartisan",
                setting="fine-tuned RoBERTa-base",
                source=paper.HYPERPARTISAN_SOURCE,
            )
            for m, v in paper.HYPERPARTISAN.items()
        ]
    )


def queue_overrides(model: str) -> dict:
    """The overrides the reproduction queue (:mod:`rmt_lite.repro.reproduce`) trains ``model`` with on
    the classification experiment (the transformer: ``max_segments=1``, one segment), so that a
    notebook run at a real profile finds the queue's finished runs instead of training again."""
    from ...repro.reproduce import queue

    found = [dict(r.overrides) for r in queue() if r.experiment == "classification" and r.model == model]
    return found[0] if found else {}


def load_dataset(cfg) -> object:
    """The ``data_gen`` classification data of a classification :class:`rmt_lite.RunConfig`, loaded
    as the trainer loads it (``dataset`` names the loader; None arguments are left out)."""
    import data_gen

    task = dict(cfg.task)
    name = task.pop("dataset")
    return data_gen.load_classification(name, **{k: v for k, v in task.items() if v is not None})


def reads(cfg) -> dict[str, int]:
    """Tokens of a document each model reads under ``cfg``: the transformer one segment, ``rmt``
    all ``max_segments`` of them."""
    return {"transformer": int(cfg.segment_len), "rmt": int(cfg.segment_len) * int(cfg.max_segments)}


# ------------------------------------------------------------------------------------------------
# the data
def document_lengths(data) -> pd.DataFrame:
    """Tokens per document of a ``data_gen`` ``ClassificationData``: columns split, label, tokens."""
    rows = []
    for split in ("train", "valid", "test"):
        for ids, y in data.split(split):
            rows.append(dict(split=split, label=data.label_names[y], tokens=int(len(ids))))
    return pd.DataFrame(rows)


def length_summary(lengths: pd.DataFrame) -> pd.DataFrame:
    """Per split (train, valid, test; those with documents): documents and the fewest, median and
    most tokens per document."""
    g = lengths.groupby("split")["tokens"]
    out = pd.DataFrame(
        {"documents": g.size(), "fewest tokens": g.min(), "median tokens": g.median(), "most tokens": g.max()}
    )
    order = [s for s in ("train", "valid", "test") if s in out.index]
    return out.loc[order].round().astype(int).rename_axis("split").reset_index()


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


def bow_at(bow: pd.DataFrame) -> dict[int | None, float]:
    """The accuracies of a :func:`bow_curve` by tokens read (None: the whole document)."""
    return {(None if pd.isna(n) else int(n)): float(a) for n, a in zip(bow["tokens"], bow["accuracy"])}


def bow_references(bow: pd.DataFrame, reads: dict[str, int], majority: float, whole: str = "whole document") -> dict:
    """Horizontal reference lines for :func:`rmt_lite.book.plots.classification.plot_accuracy`: the bag
    of words on the spans the models read (``reads``: model -> tokens) and on the whole document,
    and the majority class (``{label: accuracy}``)."""
    at = bow_at(bow)
    refs = {f"bag of words, first {n} tokens": at.get(n, float("nan")) for n in sorted(set(reads.values()))}
    refs[f"bag of words, {whole}"] = at[None]
    refs["majority class"] = majority
    return refs


def hyperpartisan_overrides(
    articles_xml: str, ground_truth_xml: str, test_articles_xml: str = "", test_ground_truth_xml: str = ""
) -> dict | None:
    """The overrides that switch the classification experiment to Hyperpartisan files; None when
    ``articles_xml`` and ``ground_truth_xml`` are empty (skip)."""
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
    try:
        resolve("classification", "rmt", profile, 0, overrides)
    except ValueError as err:
        return str(err)
    return None


# ------------------------------------------------------------------------------------------------
# runs
def fold_of(record: RunRecord) -> int | None:
    """The fold of presidents a State of the Union run was tested on (records from before the
    folds have none: they ran the default split, fold 4); None for another data set."""
    task = record.config.get("task", {})
    if task.get("dataset") != "sotu":
        return None
    return DEFAULT_FOLD if task.get("fold") is None else int(task["fold"])


def committed_records(
    results_dir, profile: str = "cpu", dataset: str = "sotu", fold: int | None = DEFAULT_FOLD
) -> list[RunRecord]:
    """The committed classification records of ``profile`` on ``dataset`` under ``results_dir``;
    on State of the Union those of one ``fold`` of presidents (the default split), or of every
    fold with ``fold=None``."""
    from ...records import read_records

    return [
        r
        for r in read_records(results_dir, "classification")
        if r.profile == profile
        and r.config.get("task", {}).get("dataset") == dataset
        and (fold is None or dataset != "sotu" or fold_of(r) == fold)
    ]


def folds_table(records: Iterable[RunRecord]) -> pd.DataFrame:
    """Cross-validation over presidents: one row per model and seed, the test accuracy on each
    fold (columns ``fold 0`` ... ``fold 4``, missing where not run) and the mean over the folds of
    the seeds that have all of them (``mean over folds``)."""
    rows = [
        dict(model=r.model, seed=int(r.seed), fold=fold_of(r), acc=(r.metrics.get("test") or {}).get("acc"))
        for r in records
    ]
    cols = ["model", "seed"] + [f"fold {f}" for f in range(SOTU_FOLDS)] + ["mean over folds"]
    df = pd.DataFrame(rows, columns=["model", "seed", "fold", "acc"]).dropna(subset=["fold", "acc"])
    if df.empty:
        return pd.DataFrame(columns=cols)
    wide = df.pivot_table(index=["model", "seed"], columns="fold", values="acc", aggfunc="mean")
    wide = wide.reindex(columns=range(SOTU_FOLDS))
    wide.columns = [f"fold {f}" for f in wide.columns]
    complete = wide.notna().all(axis=1)
    wide["mean over folds"] = wide.mean(axis=1).where(complete)
    rank = {m: i for i, m in enumerate(MODELS)}
    out = wide.reset_index()
    return out.sort_values(["model", "seed"], key=lambda c: c.map(rank) if c.name == "model" else c)[cols].reset_index(
        drop=True
    )


RUN_COLUMNS = [
    "model",
    "dataset",
    "profile",
    "seed",
    "tokens_read",
    "test_acc",
    "valid_acc",
    "test_docs",
    "steps_done",
    "wall_time_s",
    "git_sha",
]
#: the names a reader sees for the columns of :func:`runs_table`
PLAIN_NAMES = {
    "dataset": "data set",
    "tokens_read": "tokens read",
    "test_acc": "test accuracy",
    "valid_acc": "valid accuracy",
    "test_docs": "test documents",
    "steps_done": "steps",
    "wall_time_s": "train time (s)",
    "git_sha": "commit",
}


def runs_table(records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per run of :class:`rmt_lite.RunRecord` objects: model, dataset, profile, seed,
    tokens read per document (segment length x the segments the model reads: all of
    ``max_segments`` for rmt, the first one for the transformer), test/valid accuracy, test
    documents, steps, wall time and commit; the transformer first, then by seed. The columns
    profile, seed and git_sha are what :func:`rmt_lite.book.chapters.provenance.records_provenance` reads."""
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
                test_docs=(m.get("test") or {}).get("docs"),
                steps_done=r.steps,
                wall_time_s=r.wall_time_s,
                git_sha=r.git_sha,
            )
        )
    out = pd.DataFrame(rows, columns=RUN_COLUMNS)
    if out.empty:
        return out
    rank = {m: i for i, m in enumerate(MODELS)}
    out = out.sort_values(["dataset", "model", "seed"], key=lambda c: c.map(rank).fillna(9) if c.name == "model" else c)
    return out.reset_index(drop=True)


def plain(runs: pd.DataFrame) -> pd.DataFrame:
    """The columns of a :func:`runs_table` a reader sees, by their plain names (:data:`PLAIN_NAMES`;
    profile and commit are left to the provenance line)."""
    shown = [c for c in RUN_COLUMNS if c not in ("profile", "git_sha")]
    return runs[shown].rename(columns=PLAIN_NAMES)


def accuracy_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per data set and model of a :func:`runs_table`: tokens read, the seeds, and the mean,
    standard deviation, lowest and highest test accuracy over them."""
    cols = ["data set", "model", "tokens read", "seeds", "mean", "sd", "lowest", "highest"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    g = runs.groupby(["dataset", "model"], sort=False)
    acc = runs["test_acc"].astype(float).groupby([runs["dataset"], runs["model"]], sort=False)
    out = acc.agg(mean="mean", sd="std", lowest="min", highest="max")
    out["seeds"] = g["seed"].agg(lambda s: ",".join(str(int(v)) for v in sorted(s)))
    out["tokens read"] = g["tokens_read"].first()
    out = out.reset_index().rename(columns={"dataset": "data set"})
    return out[cols]


def seed_pairs(runs: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy of a :func:`runs_table` (one data set) with one row per seed and one column per
    model, only the seeds in which both models ran: the pairs a per-seed comparison reads."""
    if runs.empty:
        return pd.DataFrame(columns=list(MODELS))
    wide = runs.assign(test_acc=runs["test_acc"].astype(float)).pivot_table(
        index="seed", columns="model", values="test_acc"
    )
    return wide.reindex(columns=list(MODELS)).dropna()
