"""Chapter 6 (language modelling with limited input): what to run, the tidy tables of our runs and
the paper's, and the numbers the chapter's prose glues in.

Experiments ``lm_bytes`` (bits per byte, the enwik8 metric) and ``lm_words`` (perplexity, the
WikiText-103 metric) train on the shipped Wikipedia excerpt by default, or on enwik8 / WikiText-103
when a path is given (:func:`corpus_overrides`). "Memory size" is the XL cache length for ``xl``
and the number of memory tokens for ``rmt``, as in the paper. The figure is drawn by
:func:`rmt_lite.book.plots.lm.plot_lm`; training goes through :func:`rmt_lite.runs.train_or_reuse`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...config import MEMORY_VARIANTS, REGISTRY, remembers
from ...records import RunRecord
from ...repro.claims import MATCH_MARGIN, SETTLED_FROM
from ...run_config import resolve
from .provenance import records_provenance

#: experiment -> (record column of the test metric, short name, axis label, the paper's data set)
METRICS = {
    "lm_bytes": ("test_bpc", "bpc", "bits per byte (bpc)", "enwik8"),
    "lm_bytes_long": ("test_bpc", "bpc", "bits per byte (bpc)", "enwik8"),
    "lm_words": ("test_ppl", "ppl", "perplexity", "wt103"),
}
#: decimals of the metric in the chapter's tables (bpc differ in the third decimal, ppl in the first)
DIGITS = {"lm_bytes": 3, "lm_bytes_long": 3, "lm_words": 1}
#: corpus used when a path is given
REAL_CORPUS = {"lm_bytes": "enwik8", "lm_words": "wt103"}
_MODEL_RANK = {m: REGISTRY[m].rank for m in ("transformer", "xl", "rmt")}  # the models of the LM runs


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
# the corpora and the fresh runs
def corpus_table(corpora: dict) -> pd.DataFrame:
    """One row per experiment: its corpus (a ``data_gen`` corpus: name, level, train / valid /
    test token tensors, vocab_size), the sizes of its splits and its metric."""
    rows = [
        {
            "experiment": exp,
            "corpus": c.name,
            "level": c.level,
            "train": len(c.train),
            "valid": len(c.valid),
            "test": len(c.test),
            "vocabulary": c.vocab_size,
            "metric": METRICS[exp][1],
        }
        for exp, c in corpora.items()
    ]
    return pd.DataFrame(rows)


def fresh_table(runs: Iterable[tuple[str, str, str, RunRecord]]) -> pd.DataFrame:
    """The runs of a sweep, one row each, from ``(experiment, corpus name, setting, record)``:
    corpus, setting, steps, segment length, training seconds, and the test metric of the
    experiment (bpc or ppl; the other column empty)."""
    rows = []
    for exp, corpus, setting, record in runs:
        row = {
            "corpus": corpus,
            "setting": setting,
            "steps": record.steps,
            "segment": record.config["segment_len"],
            "train s": record.wall_time_s,
        }
        short = METRICS[exp][1]
        row |= {"bpc": np.nan, "ppl": np.nan, short: record.metrics["test"][short]}
        rows.append(row)
    return pd.DataFrame(rows, columns=["corpus", "setting", "steps", "segment", "train s", "bpc", "ppl"])


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
            "mem_size": df["mem_size"].where(df["model"].map(remembers), 0).astype(int).to_numpy(),
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
    ``rmt_lite.repro.paper.language_modelling``)."""
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
            "mem_size": ref["mem_size"].where(ref["model"].map(remembers), 0).astype(int).to_numpy(),
            "bptt_depth": np.where(ref["model"] == "rmt", ref["bptt_depth"], np.nan),
            "seed": np.arange(len(ref)),  # the CSV has no seed column; each row is one run
            "value": ref["value"].astype(float).to_numpy(),
            "corpus": dataset,
        }
    )
    return out, chosen


def memory_curve(tidy: pd.DataFrame) -> pd.DataFrame:
    """Rows for the memory-size panel: transformer and xl as they are; rmt at the deepest BPTT
    depth run at each memory size (the paper's headline RMT-10 on WikiText-103 is its deepest)."""
    if not len(tidy):
        return tidy
    rmt = tidy[tidy["model"] == "rmt"]
    deepest = rmt.groupby("mem_size")["bptt_depth"].transform("max")
    return pd.concat([tidy[tidy["model"] != "rmt"], rmt[rmt["bptt_depth"] == deepest]], ignore_index=True)


def figure_panels(tidy: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What :func:`rmt_lite.book.plots.lm.plot_lm` draws for one source: the :func:`memory_curve` rows
    and the rmt rows at every BPTT depth."""
    rmt = tidy[tidy["model"] == "rmt"] if len(tidy) else tidy
    return memory_curve(tidy), rmt.reset_index(drop=True)


@dataclass
class Shown:
    """The runs a figure of the chapter shows for one corpus."""

    tidy: pd.DataFrame  # ours_table rows
    label: str  # the name of the source in the figure
    provenance: str  # records_provenance line
    committed: bool  # the committed records (else this notebook's fresh runs)


def shown_runs(committed: pd.DataFrame, fresh: pd.DataFrame, experiment: str, profile: str) -> Shown:
    """Our committed ``cpu`` records of ``experiment`` when there are any with its metric, else the
    notebook's fresh runs (``RunRecord.flat()`` rows) at ``profile``."""
    if committed is not None and len(committed) and METRICS[experiment][0] in committed:
        return Shown(
            ours_table(committed, experiment),
            "ours (cpu, committed)",
            records_provenance(committed, "committed records"),
            True,
        )
    return Shown(
        ours_table(fresh, experiment),
        f"this run ({profile}), not the committed runs",
        records_provenance(fresh, "this run"),
        False,
    )


def summary(tidy: pd.DataFrame) -> pd.DataFrame:
    """Mean, spread and number of runs per model, memory size and BPTT depth (columns model,
    memory, depth ("-" without memory tokens), mean, std, min, max, runs)."""
    if not len(tidy):
        return pd.DataFrame(columns=["model", "memory", "depth", "mean", "std", "min", "max", "runs"])
    keys = ["model", "mem_size", "bptt_depth"]
    g = tidy.assign(bptt_depth=tidy["bptt_depth"].fillna(-1)).groupby(keys)["value"]
    out = g.agg(mean="mean", std="std", min="min", max="max", runs="count").reset_index()
    out = out.sort_values(keys, key=lambda s: s.map(_MODEL_RANK) if s.name == "model" else s)
    out["bptt_depth"] = out["bptt_depth"].map(lambda d: "-" if d < 0 else str(int(d)))
    return out.rename(columns={"mem_size": "memory", "bptt_depth": "depth"}).reset_index(drop=True)


def per_seed(tidy: pd.DataFrame, mem_size: int) -> pd.DataFrame:
    """One row per seed: the transformer's value, xl's at ``mem_size`` and rmt's at ``mem_size`` at
    every BPTT depth run (columns ``seed, transformer, xl, rmt depth <k>...``). Seeds missing a
    model keep an empty cell."""
    if not len(tidy):
        return pd.DataFrame(columns=["seed"])
    sel = (tidy["model"] == "transformer") | (tidy["mem_size"] == mem_size)
    t = tidy[sel & tidy["model"].isin(_MODEL_RANK)]
    names = [
        m if m != "rmt" else f"rmt depth {int(d)}" for m, d in zip(t["model"], t["bptt_depth"].fillna(-1).astype(int))
    ]
    wide = t.assign(column=names).pivot_table(index="seed", columns="column", values="value", aggfunc="mean")
    order = [c for c in ("transformer", "xl") if c in wide] + sorted(
        (c for c in wide if c.startswith("rmt depth ")), key=lambda c: int(c.split()[-1])
    )
    out = wide[order].reset_index()
    out.columns.name = None
    return out


def late_order(records: pd.DataFrame, history: pd.DataFrame, experiment: str, mem_size: int) -> pd.DataFrame:
    """Where the order of the models can be seen settling, or not: per seed, the validation metric
    at every evaluation from ``SETTLED_FROM`` of training on, then the test metric (``step`` "test"),
    one column per model as in :func:`per_seed` (``records``: ``load_records`` rows; ``history``:
    ``load_history`` rows)."""
    runs = records[records["experiment"] == experiment] if len(records) else records
    if not len(runs) or history is None or not len(history):
        return pd.DataFrame(columns=["seed", "step"])
    metric = METRICS[experiment][1]
    h = history[(history["experiment"] == experiment) & history["run_id"].isin(runs["run_id"])]
    h = h[h["step"] >= SETTLED_FROM * h.groupby("run_id")["step"].transform("max")]
    at_step = h[["run_id", "step", metric]].merge(runs.drop(columns=[metric], errors="ignore"), on="run_id")
    frames = [
        per_seed(ours_table(g.assign(**{METRICS[experiment][0]: g[metric]}), experiment), mem_size).assign(
            step=f"{int(step):,}"
        )
        for step, g in at_step.groupby("step")
    ]
    frames.append(per_seed(ours_table(runs, experiment), mem_size).assign(step="test"))
    out = pd.concat(frames, ignore_index=True)
    order = {s: i for i, s in enumerate(out["step"].unique())}  # evaluations in order, then the test
    out = out.sort_values(["seed", "step"], key=lambda c: c.map(order) if c.name == "step" else c)
    return out[["seed", "step", *[c for c in out if c not in ("seed", "step")]]].reset_index(drop=True)


def seed_counts(tidy: pd.DataFrame, mem_size: int) -> dict:
    """The per-seed comparisons of claims 6 and 7 (lower is better), at ``mem_size``, over the seeds
    that ran every model compared. rmt is its deepest BPTT depth; ``deeper`` its deepest depth
    against depth 0. Keys: seeds, rmt_below_transformer, rmt_below_xl, rmt_matches_xl (at most
    ``claims.MATCH_MARGIN`` above xl, relative), xl_below_rmt, depth_seeds, deeper_below_depth0."""
    wide = per_seed(tidy, mem_size)
    depths = sorted(int(c.split()[-1]) for c in wide if str(c).startswith("rmt depth "))
    keys = ("seeds", "rmt_below_transformer", "rmt_below_xl", "rmt_matches_xl", "xl_below_rmt")
    out = dict.fromkeys(keys + ("depth_seeds", "deeper_below_depth0"), 0)
    deep = [d for d in depths if d > 0]
    if deep and {"transformer", "xl"} <= set(wide):
        p = wide[["transformer", "xl", f"rmt depth {deep[-1]}"]].dropna()
        rmt = p[f"rmt depth {deep[-1]}"]
        out.update(
            seeds=len(p),
            rmt_below_transformer=int((rmt < p["transformer"]).sum()),
            rmt_below_xl=int((rmt < p["xl"]).sum()),
            rmt_matches_xl=int((rmt <= p["xl"] * (1 + MATCH_MARGIN)).sum()),
            xl_below_rmt=int((p["xl"] < rmt).sum()),
        )
    if deep and 0 in depths:
        p = wide[["rmt depth 0", f"rmt depth {deep[-1]}"]].dropna()
        out.update(depth_seeds=len(p), deeper_below_depth0=int((p[f"rmt depth {deep[-1]}"] < p["rmt depth 0"]).sum()))
    return out


def means(tidy: pd.DataFrame, mem_size: int, depths: Iterable[int] = (0,)) -> dict:
    """Mean over seeds of the transformer, xl at ``mem_size`` and rmt at ``mem_size`` at each of
    ``depths``: ``{"transformer": .., "xl": .., "rmt depth 0": .., ...}``; NaN for what was not run."""
    wide = per_seed(tidy, mem_size)
    names = ["transformer", "xl"] + [f"rmt depth {int(d)}" for d in depths]
    return {c: float(wide[c].mean()) if c in wide else float("nan") for c in names}


def training_tokens(records: pd.DataFrame, experiment: str) -> dict:
    """Tokens our runs of ``experiment`` trained on (steps x streams x segment length, the longest
    run) beside the ``paper`` profile's: keys steps, tokens_per_step, tokens, paper_steps,
    paper_tokens_per_step, paper_tokens, times (paper tokens / ours). NaN without records."""
    ref = resolve(experiment, "rmt", "paper")
    paper_per_step = ref.batch_size * ref.segment_len
    out = dict(paper_steps=ref.steps, paper_tokens_per_step=paper_per_step, paper_tokens=ref.steps * paper_per_step)
    df = records[records["experiment"] == experiment] if len(records) and "experiment" in records else records
    if not len(df):
        return out | dict(steps=np.nan, tokens_per_step=np.nan, tokens=np.nan, times=np.nan)
    steps = int(df["steps"].max())
    per_step = int(df["batch_size"].max()) * int(df["segment_len"].max())
    return out | dict(
        steps=steps, tokens_per_step=per_step, tokens=steps * per_step, times=out["paper_tokens"] / (steps * per_step)
    )


# ------------------------------------------------------------------------------------------------
# the paper
def paper_means(paper_lm: pd.DataFrame, dataset: str, segment_len: int, mem_size: int) -> dict:
    """The paper's mean metric (over its runs) on ``dataset`` with ``segment_len``-token segments:
    the transformer, xl with cache ``mem_size`` and rmt with ``mem_size`` tokens per BPTT depth
    (``{"transformer": .., "xl": .., "rmt depth 4": .., "rmt deepest": <depth>}``)."""
    ref = paper_lm[
        (paper_lm["dataset"] == dataset)
        & (paper_lm["segment_len"] == segment_len)
        & (paper_lm["eval_segment_len"] == segment_len)
    ]
    out = {}
    trans = ref.loc[ref["model"] == "transformer", "value"]
    if len(trans):
        out["transformer"] = float(trans.mean())
    xl = ref.loc[(ref["model"] == "xl") & (ref["mem_size"] == mem_size), "value"]
    if len(xl):
        out["xl"] = float(xl.mean())
    rmt = ref[(ref["model"] == "rmt") & (ref["mem_size"] == mem_size)]
    for d, g in rmt.groupby("bptt_depth"):
        out[f"rmt depth {int(d)}"] = float(g["value"].mean())
    if len(rmt):
        out["rmt deepest"] = int(rmt["bptt_depth"].max())
    return out


def paper_overview(paper_lm: pd.DataFrame) -> pd.DataFrame:
    """The paper's language-modelling numbers in one table: one row per data set, segment length
    and setting; columns ``data set, segment, setting``, then "no memory tokens" (transformer,
    xl) and rmt at BPTT depth 0, 1, ...; mean over runs."""
    ref = paper_lm[paper_lm["model"].isin(["transformer", "xl", "rmt"])].copy()
    ref["setting"] = [
        ("transformer" if m == "transformer" else f"{m} {int(s)}") for m, s in zip(ref["model"], ref["mem_size"])
    ]
    ref["column"] = [
        "no memory tokens" if m != "rmt" else f"depth {int(d)}" for m, d in zip(ref["model"], ref["bptt_depth"])
    ]
    ref["_m"] = ref["model"].map(_MODEL_RANK)
    wide = ref.pivot_table(
        index=["dataset", "segment_len", "eval_segment_len", "_m", "mem_size", "setting"],
        columns="column",
        values="value",
        aggfunc="mean",
    ).sort_index()
    columns = sorted(wide.columns, key=lambda c: (c != "no memory tokens", c))
    keys = pd.DataFrame(
        [(d, str(a) if a == b else f"{a} (eval {b})", name) for d, a, b, _, _, name in wide.index],
        columns=["data set", "segment", "setting"],
    )
    out = pd.concat([keys, wide[columns].reset_index(drop=True)], axis=1)
    out.columns.name = None
    return out


def first_step_gains(paper_lm: pd.DataFrame) -> pd.DataFrame:
    """For each of the paper's rmt settings (data set, segment length, memory size) with runs at
    depth 0, 1 and deeper: the gain (drop of the mean metric) from depth 0 to 1 and from 1 to the
    deepest, whether the first step is the largest single step, and whether it gains more than all
    deeper steps together."""
    ref = paper_lm[paper_lm["model"] == "rmt"]
    rows = []
    for (dataset, seg, mem), g in ref.groupby(["dataset", "segment_len", "mem_size"]):
        m = g.groupby("bptt_depth")["value"].mean().sort_index()
        if not {0, 1} <= set(m.index.astype(int)) or len(m) < 3:
            continue
        steps = (-m.diff().dropna()).to_numpy()
        rows.append(
            dict(
                dataset=dataset,
                segment_len=int(seg),
                mem_size=int(mem),
                depths=len(m),
                first_gain=float(steps[0]),
                later_gain=float(steps[1:].sum()),
                first_is_largest=bool(steps[0] >= steps[1:].max()),
                first_beats_rest=bool(steps[0] > steps[1:].sum()),
            )
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# text of the corpora
def printable(text: str, width: int | None = None) -> str:
    """Text safe to print: control characters other than newlines and tabs (and undecodable
    bytes) become '·'; with ``width``, every line is wrapped to at most that many characters."""
    text = "".join(c if c in "\n\t" or (c.isprintable() and c != "\ufffd") else "·" for c in text)
    if width:
        text = "\n".join(textwrap.fill(line, width) if line else "" for line in text.split("\n"))
    return text


def learning_curves(records: pd.DataFrame, history: pd.DataFrame, metric: str = "bpc") -> pd.DataFrame:
    """Validation ``metric`` against the training tokens seen: one row per evaluation of each run
    in ``records`` (``rmt_lite.load_records``) found in ``history`` (``rmt_lite.load_history``),
    with columns label (the model, and rmt's BPTT depth), seed, tokens_seen (steps x streams x
    segment length) and value. Runs are matched by experiment and run id: the same run id names
    runs of other experiments."""
    cols = ["label", "seed", "tokens_seen", "value"]
    if records is None or not len(records) or history is None or not len(history):
        return pd.DataFrame(columns=cols)
    runs = records.set_index(["experiment", "run_id"])
    rows = []
    for key, g in history.groupby(["experiment", "run_id"]):
        if key not in runs.index:
            continue
        run = runs.loc[key]
        label = f"rmt depth {int(run['bptt_depth'])}" if run["model"] == "rmt" else str(run["model"])
        per_step = int(run["batch_size"]) * int(run["segment_len"])
        rows += [
            dict(label=label, seed=int(run["seed"]), tokens_seen=int(step) * per_step, value=float(v))
            for step, v in zip(g["step"], g[metric])
        ]
    return pd.DataFrame(rows, columns=cols).sort_values(["label", "seed", "tokens_seen"]).reset_index(drop=True)


def gap_over_training(curves: pd.DataFrame, ahead: str, behind: str) -> pd.DataFrame:
    """How far ``behind`` trails ``ahead`` along training, per seed, from :func:`learning_curves`
    rows (labels such as "xl" or "rmt depth 2"): columns seed, evaluations (those both have),
    ahead_at (how many of them ``ahead`` is lower at), ahead_at_all (at every one), first and last
    (``behind / ahead - 1`` at the first and the last evaluation; lower is better, so positive
    means ``ahead`` leads)."""
    cols = ["seed", "evaluations", "ahead_at", "ahead_at_all", "first", "last"]
    if not len(curves):
        return pd.DataFrame(columns=cols)
    wide = curves[curves["label"].isin([ahead, behind])].pivot_table(
        index=["seed", "tokens_seen"], columns="label", values="value"
    )
    if not {ahead, behind} <= set(wide.columns):
        return pd.DataFrame(columns=cols)
    gap = (wide[behind] / wide[ahead] - 1).dropna()
    rows = [
        dict(
            seed=int(seed),
            evaluations=len(g),
            ahead_at=int((g > 0).sum()),
            ahead_at_all=bool((g > 0).all()),
            first=g.iloc[0],
            last=g.iloc[-1],
        )
        for seed, g in gap.groupby(level="seed")
    ]
    return pd.DataFrame(rows, columns=cols)
