"""The claims on language and documents (chapters 6 and 8): claims 6-8."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from data_gen.classification import DEFAULT_FOLD, SOTU_FOLDS

from ...config import remembers
from .. import paper
from .rule import (
    AHEAD,
    INCONCLUSIVE,
    MATCH_MARGIN,
    NOT_RUN,
    SETTLED_FROM,
    Verdict,
    _decide,
    _min_seeds,
    _paired,
    _paper_mean,
    _paper_spread,
    _runs,
    _spread,
    every,
    mean_sd,
)

LM_METRICS = {"lm_bytes": "test_bpc", "lm_bytes_long": "test_bpc", "lm_words": "test_ppl", "lm_words_long": "test_ppl"}
LM_LONGER = {"lm_bytes": "lm_bytes_long", "lm_words": "lm_words_long"}  # each corpus: the first runs, then longer


def lm_runs(records: pd.DataFrame, claim: int = 6) -> pd.DataFrame:
    """The language-modelling runs claim 6 or 7 rests on, with their test metric as ``value``: per
    corpus, the runs trained longer (``lm_bytes_long``, ``lm_words_long``) in place of the first ones
    once one seed has there what the claim compares: the transformer, xl and rmt (claim 6), or rmt
    at BPTT depth 0 and a deeper one (claim 7)."""
    if claim not in (6, 7):
        raise ValueError(f"claim={claim!r} is not allowed: 6 (memory size) or 7 (BPTT depth)")
    if records.empty:
        return records
    lm = records[records["experiment"].isin(list(LM_METRICS))].copy()
    lm["value"] = [row.get(LM_METRICS[e], float("nan")) for e, (_, row) in zip(lm["experiment"], lm.iterrows())]
    lm = lm.dropna(subset=["value"])
    if lm.empty:
        return lm
    dropped = []
    for first, longer_name in LM_LONGER.items():
        longer = lm[lm["experiment"] == longer_name]
        if claim == 7:
            rmt = longer[longer["model"] == "rmt"]
            complete = rmt.groupby("seed")["bptt_depth"].agg(lambda d: (d == 0).any() and (d > 0).any())
        else:
            trained = longer[(longer["model"] != "rmt") | (longer["bptt_depth"] != 0)]
            complete = trained.groupby("seed")["model"].nunique() == 3  # transformer, xl and rmt in one seed
        dropped.append(first if complete.any() else longer_name)
    return lm[~lm["experiment"].isin(dropped)]


def _still_moving(
    g: pd.DataFrame, history: pd.DataFrame | None, statement: Callable[[pd.DataFrame], pd.Series]
) -> list[int]:
    """Seeds of one experiment's runs ``g`` (``value``: the test metric) where ``statement`` (rows
    in, one boolean per seed out) reads differently at a validation of the last quarter of training
    than on the test split: the order of the models is still moving. A run without its validation
    at one of those steps counts as moving. ``history``: ``rmt_lite.load_history`` (None: not checked)."""
    if history is None:
        return []
    test = statement(g)
    exp = g["experiment"].iloc[0]
    metric = LM_METRICS[exp].removeprefix("test_")
    h = history[(history["experiment"] == exp) & history["run_id"].isin(g["run_id"])] if len(history) else history
    if h.empty:  # no curve at all: nothing says the order has settled
        return sorted(int(s) for s in test.index)
    h = h[h["step"] >= SETTLED_FROM * h.groupby("run_id")["step"].transform("max")]
    moving = {int(s) for s in g.loc[~g["run_id"].isin(h["run_id"]), "seed"] if s in test.index}
    for _, at_step in h.groupby("step"):
        at = g.drop(columns="value").merge(
            at_step[["run_id", metric]].rename(columns={metric: "value"}), on="run_id", how="left"
        )
        valid = statement(at.dropna(subset=["value"])).reindex(test.index)
        moving |= {int(s) for s, a, b in zip(test.index, valid, test) if pd.isna(a) or bool(a) != bool(b)}
    return sorted(moving)


def _settled(ok: pd.Series, moving: list[int]) -> str:
    """:func:`every`, or ``inconclusive`` while the order of some seed is still moving."""
    return INCONCLUSIVE if moving else every(ok)


def _moving_text(moving: list[int]) -> str:
    if not moving:
        return ""
    seeds = ", ".join(map(str, moving))
    return f" (not settled in seed {seeds}: a validation of the last quarter of training reads otherwise)"


def _lm_pairs(g: pd.DataFrame, size: int) -> pd.DataFrame:
    """Per seed, the transformer's value and xl's and rmt's at memory ``size``."""
    return (
        g[(g["mem_size"] == size) | ~g["model"].map(remembers)]
        .pivot_table(index="seed", columns="model", values="value", aggfunc="min")
        .dropna()
    )


def language_modelling(records: pd.DataFrame, history: pd.DataFrame | None = None) -> Verdict:
    """Per seed and corpus: rmt below the transformer and at most ``MATCH_MARGIN`` (relative)
    above xl at the same memory size (lower is better); with ``history``, only where that order
    has settled (:func:`_still_moving`)."""
    ref = paper.language_modelling()
    ref = ref[(ref["dataset"] == "wt103") & (ref["segment_len"] == 50) & (ref["mem_size"] == 10)]
    rmt = ref[ref["model"] == "rmt"]
    deepest = rmt["bptt_depth"].max()
    paper_text = (
        f"WikiText-103, 50-token segments, size 10: xl {_paper_spread(ref.loc[ref['model'] == 'xl', 'value'])}, "
        f"rmt {_paper_spread(rmt.loc[rmt['bptt_depth'] == deepest, 'value'])} ppl (BPTT depth {deepest:.0f})"
    )
    lm = lm_runs(records)
    if len(lm):  # depth 0 is the ablation of the next claim, not RMT as trained
        lm = lm[~((lm["model"] == "rmt") & (lm["bptt_depth"] == 0))]
    if lm.empty:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    texts, parts, seeds = [], [], []
    for exp, g in lm.groupby("experiment"):
        for size in sorted(g.loc[g.model == "rmt", "mem_size"].unique()):
            p = _lm_pairs(g, size)
            if not {"transformer", "xl", "rmt"} <= set(p.columns):
                continue

            def rmt_ahead(rows: pd.DataFrame, size: int = size) -> pd.Series:
                q = _lm_pairs(rows, size)
                return (q["rmt"] < q["transformer"]) & (q["rmt"] <= q["xl"] * (1 + MATCH_MARGIN))

            moving = _still_moving(g, history, rmt_ahead)
            parts.append(_settled(rmt_ahead(g), moving))
            texts.append(
                f"{exp} size {size}: "
                + ", ".join(f"{m} {_spread(p[m], 3)}" for m in ("transformer", "xl", "rmt"))
                + _moving_text(moving)
            )
            seeds.append(len(p))
    if not parts:
        return Verdict(paper_text, "-", _runs(lm), NOT_RUN)
    short = [
        f"{'bytes' if e.startswith('lm_bytes') else 'words'}: xl {mean_sd(p['xl'], 3)} / rmt {mean_sd(p['rmt'], 3)}"
        for e, g in lm.groupby("experiment")
        for p in [_lm_pairs(g, 10)]
        if {"xl", "rmt"} <= set(p.columns)
    ]
    paper_short = (
        f"WikiText-103: xl {_paper_mean(ref.loc[ref['model'] == 'xl', 'value'])} / "
        f"rmt {_paper_mean(rmt.loc[rmt['bptt_depth'] == deepest, 'value'])} ppl"
    )
    return Verdict(
        paper_text,
        "; ".join(texts),
        _runs(lm),
        _decide(parts, min(seeds)),
        paper_short,
        "; ".join(short),
        regime(records),
    )


def bptt_gain(values: pd.Series) -> float:
    """How much lower (%) the best depth of 1 or more leaves the metric than depth 0, from a series
    indexed by BPTT depth (means over runs)."""
    return float(100 * (values[0] - values.drop(0).min()) / values[0])


def regime(records: pd.DataFrame) -> str:
    """How far the byte-level runs of claims 6 and 7 are from the paper's regime: tokens trained on,
    bpc and the gain from back-propagating through memory, ours beside the paper's."""
    from ...run_config import resolve

    runs = (
        records[(records["experiment"] == "lm_bytes_long") & (records["model"] == "rmt")] if len(records) else records
    )
    if runs.empty or not {"test_bpc", "steps", "batch_size", "segment_len"} <= set(runs):
        return "-"
    tokens = int((runs["steps"] * runs["batch_size"] * runs["segment_len"]).max())
    ref = resolve("lm_bytes", "rmt", "paper")
    paper_tokens = ref.steps * ref.batch_size * ref.segment_len
    ours = runs.groupby("bptt_depth")["test_bpc"].mean()
    lm = paper.language_modelling()
    rmt = lm[lm["model"] == "rmt"]
    enwik8 = rmt[(rmt["dataset"] == "enwik8") & (rmt["segment_len"] == 128)]
    wt103 = rmt[(rmt["dataset"] == "wt103") & (rmt["segment_len"] == 50) & (rmt["mem_size"] == 10)]
    paper_bpc = enwik8[(enwik8["mem_size"] == 10) & (enwik8["bptt_depth"] == 2)]["value"].mean()
    text = (
        f"{tokens / 1e6:.1f}M training tokens (the paper: {paper_tokens / 1e9:.1f}B, "
        f"{paper_tokens / tokens:.0f} times as many); rmt {ours.get(2, float('nan')):.2f} bpc "
        f"(the paper: {paper_bpc:.2f})"
    )
    if 0 in ours.index and len(ours) > 1:
        by_depth = {
            name: g.groupby("bptt_depth")["value"].mean()
            for name, g in (("enwik8, memory 20", enwik8[enwik8["mem_size"] == 20]), ("WikiText-103", wt103))
        }
        text += (
            f"; BPTT through memory gains {bptt_gain(ours):.1f} % (the paper: "
            + ", ".join(f"{bptt_gain(v):.0f} % on {k}" for k, v in by_depth.items())
            + ")"
        )
    return text


def depth_gaps(runs: pd.DataFrame, experiment_prefix: str) -> pd.Series:
    """Per seed (the seeds with rmt at depth 0 and at a deeper depth among ``runs``, the frame of
    :func:`lm_runs`, of the experiments whose name starts with ``experiment_prefix``): depth 0's
    metric minus the best deeper depth's, what claim 7 compares; positive where going back through
    the memory helps. Empty where no seed has both."""
    g = runs[(runs["model"] == "rmt") & runs["experiment"].str.startswith(experiment_prefix)] if len(runs) else runs
    if not len(g):
        return pd.Series(dtype=float)
    by_depth = g.pivot_table(index="seed", columns="bptt_depth", values="value")
    if 0 not in by_depth or len(by_depth.columns) < 2:
        return pd.Series(dtype=float)
    return (by_depth[0] - by_depth.drop(columns=0).min(axis=1)).dropna()  # min skips depths a seed lacks


def _deeper_ahead(rows: pd.DataFrame) -> pd.Series:
    """Per seed: rmt's best depth of 1 or more below its depth 0."""
    p = _paired(rows, [], "value", "bptt_depth")
    return p.drop(columns=0).min(axis=1) < p[0]


def bptt_depth_matters(records: pd.DataFrame, history: pd.DataFrame | None = None) -> Verdict:
    """Per seed and corpus: the best of the depths 1 or more below depth 0 (lower is better); with
    ``history``, only where that order has settled (:func:`_still_moving`)."""
    ref = paper.language_modelling()
    ref = ref[
        (ref["dataset"] == "wt103") & (ref["segment_len"] == 150) & (ref["model"] == "rmt") & (ref["mem_size"] == 10)
    ]
    paper_text = (
        "WikiText-103, RMT-10: "
        + ", ".join(f"depth {int(d)} {_paper_spread(g['value'])}" for d, g in ref.groupby("bptt_depth"))
        + " ppl"
    )
    lm = lm_runs(records, claim=7)
    lm = lm[lm["model"] == "rmt"] if len(lm) else lm
    if lm.empty or lm["bptt_depth"].nunique() < 2 or 0 not in set(lm["bptt_depth"].dropna().astype(int)):
        return Verdict(paper_text, "-", _runs(lm), NOT_RUN)
    texts, parts = [], []
    for exp, g in lm.groupby("experiment"):
        p = _paired(g, [], "value", "bptt_depth")
        if 0 not in p.columns or len(p.columns) < 2:
            continue
        moving = _still_moving(g, history, _deeper_ahead)
        parts.append(_settled(_deeper_ahead(g), moving))
        texts.append(
            f"{exp}: " + ", ".join(f"depth {int(d)} {_spread(p[d], 3)}" for d in p.columns) + _moving_text(moving)
        )
    if not parts:
        return Verdict(paper_text, "-", _runs(lm), NOT_RUN)
    depths = ref.groupby("bptt_depth")["value"].mean()
    short = [
        f"{'bytes' if e.startswith('lm_bytes') else 'words'}: "
        + " / ".join(f"depth {int(d)} {mean_sd(v, 3)}" for d, v in _paired(g, [], "value", "bptt_depth").items())
        for e, g in lm.groupby("experiment")
    ]
    return Verdict(
        paper_text,
        "; ".join(texts),
        _runs(lm),
        _decide(parts, _min_seeds(lm, ["experiment", "bptt_depth"])),
        f"WikiText-103: depth 0 {depths.iloc[0]:.2f} / depth {int(depths.index[-1])} {depths.iloc[-1]:.2f} ppl",
        "; ".join(short),
        regime(records),
    )


def _sotu_pairs(g: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Per seed, the transformer's and rmt's test accuracy on State of the Union: the mean over the
    five folds of presidents where a seed has every fold for both models (cross-validation), else
    the default split alone (fold 4; records from before the folds have no ``fold``)."""
    fold = g["fold"].fillna(DEFAULT_FOLD) if "fold" in g else pd.Series(DEFAULT_FOLD, index=g.index)
    by = g.assign(fold=fold.astype(int)).pivot_table(
        index=["seed", "fold"], columns="model", values="test_acc", aggfunc="mean"
    )
    by = by.dropna() if {"transformer", "rmt"} <= set(by.columns) else by.iloc[0:0]
    folds = by.reset_index().groupby("seed")["fold"].nunique()
    complete = folds[folds == SOTU_FOLDS].index
    if len(complete):
        return by.loc[list(complete)].groupby("seed").mean(), f" ({SOTU_FOLDS}-fold cross-validation over presidents)"
    default = by.xs(DEFAULT_FOLD, level="fold") if DEFAULT_FOLD in by.index.get_level_values("fold") else by
    return default, ""


def classification(records: pd.DataFrame) -> Verdict:
    """Per seed and data set (never pooled): rmt above the truncated transformer. On State of the
    Union a seed's accuracy is its mean over the five folds of presidents once they are run."""
    paper_text = (
        f"Hyperpartisan: transformer {paper.HYPERPARTISAN['transformer'] / 100:.3f}, "
        f"rmt {paper.HYPERPARTISAN['rmt'] / 100:.3f} (one number each; pretrained RoBERTa)"
    )
    ours = records[records["experiment"] == "classification"].dropna(subset=["test_acc"]) if len(records) else records
    if ours.empty or not {"transformer", "rmt"} <= set(ours["model"]):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    if "dataset" not in ours:
        ours = ours.assign(dataset="sotu")
    texts, parts, seeds = [], [], []
    for dataset, g in ours.groupby("dataset"):
        p, how = _sotu_pairs(g) if dataset == "sotu" else (_paired(g, []), "")
        if not {"transformer", "rmt"} <= set(p.columns) or p.empty:
            continue
        parts.append(every(p["rmt"] > p["transformer"] + AHEAD))
        seeds.append(len(p))
        texts.append(f"{dataset}{how}: transformer (truncated) {_spread(p['transformer'])}, rmt {_spread(p['rmt'])}")
    if not parts:
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    sotu = _sotu_pairs(ours[ours["dataset"] == "sotu"])[0] if "sotu" in set(ours["dataset"]) else None
    return Verdict(
        paper_text,
        "; ".join(texts),
        _runs(ours),
        _decide(parts, min(seeds)),
        f"Hyperpartisan: transformer {paper.HYPERPARTISAN['transformer'] / 100:.2f} / "
        f"rmt {paper.HYPERPARTISAN['rmt'] / 100:.2f}",
        f"State of the Union: transformer {mean_sd(sotu['transformer'])} / rmt {mean_sd(sotu['rmt'])}"
        if sotu is not None and len(sotu)
        else "-",
        "State of the Union eras, trained from scratch (the paper: Hyperpartisan, pretrained RoBERTa)",
    )
