"""The paper's claims, checked one by one against our committed run records (chapter 9).

Each claim is a function of our records (``rmt_lite.load_records``, one row per run) and the
paper's numbers (``rmt_lite.paper``). It returns the paper's number (mean, number of runs and
their range), ours (mean ± standard deviation and the value of each seed), the runs it rests on
and a verdict by one stated rule, the **seed rule**:

- a claim is a statement checked once per seed (a seed trains every compared model on the same
  data, so runs are paired by seed) or, against a fixed level such as chance, once per run;
- ``holds`` when the statement is true in every seed, ``does not hold`` when it is false in
  every seed, ``inconclusive`` otherwise (the seeds disagree);
- a claim of several parts (settings, corpora, "matches and grows") holds when every part holds,
  does not hold when a part does not hold and none holds, is ``partly`` when some parts hold and
  some do not, and is inconclusive otherwise;
- ``(tentative: n seeds)`` is added where a compared group has fewer than ``MIN_SEEDS`` seeds;
- language modelling (claims 6 and 7), given the validation curves: a seed counts only where its
  statement reads the same at every validation of the last quarter of training as on the test
  split (``SETTLED_FROM``); where it still changes, that corpus is ``inconclusive``;
- ``not run yet``: the records it needs are missing.

Claims 1 and 3 check the baselines (that models without a way across segments fail); the others
are claims about RMT (``Verdict.about``). Why a claim does not hold at our scale is written in
the chapters, next to the evidence; :func:`budget` gives the numbers of our training budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from data_gen.classification import DEFAULT_FOLD, SOTU_FOLDS

from . import paper
from .config import display_name

MIN_SEEDS = 3
CHANCE_MARGIN = 0.05  # "at chance" = within 5 points of 1/num_symbols
MATCH_MARGIN = 0.01  # "matches" = at most 1 point below
AHEAD = 0.01  # "ahead", "above", "beats" (an accuracy) = more than 1 point above: a tie at the ceiling is not a win
NEAR_ONE = 0.95  # retrieval "near 1.0"
SETTLED_FROM = 0.75  # language modelling: the order must not change from 3/4 of training on
CLOSE = 0.05  # quadratic "close to the whole-sample transformer" = at most 5 points below

HOLDS, FAILS, INCONCLUSIVE, PARTLY = "holds", "does not hold", "inconclusive", "partly"
NOT_RUN = "not run yet"
RMT, BASELINES = "RMT", "baselines"


@dataclass(frozen=True)
class Verdict:
    paper: str
    ours: str
    runs: str
    verdict: str


# -- the seed rule --------------------------------------------------------------------------------
def every(ok: pd.Series) -> str:
    """One statement checked per seed (or per run): holds in all, in none, or the seeds disagree."""
    ok = ok.astype(bool)
    if len(ok) == 0:
        return NOT_RUN
    return HOLDS if ok.all() else FAILS if not ok.any() else INCONCLUSIVE


def combine(parts: list[str]) -> str:
    """The verdict of a claim made of several parts (each from :func:`every`)."""
    parts = [p for p in parts if p != NOT_RUN]
    if not parts:
        return NOT_RUN
    if all(p == HOLDS for p in parts):
        return HOLDS
    if FAILS in parts:
        return PARTLY if HOLDS in parts else FAILS
    return INCONCLUSIVE


def _tentative(text: str, seeds: int) -> str:
    if text == NOT_RUN or seeds >= MIN_SEEDS:
        return text
    return f"{text} (tentative: {seeds} seed{'s' if seeds != 1 else ''})"


def _decide(parts: list[str], seeds: int) -> str:
    return _tentative(combine(parts), seeds)


def _paired(df: pd.DataFrame, keys: list[str], value: str = "test_acc", column: str = "model") -> pd.DataFrame:
    """One row per (keys, seed), one column per ``column`` value; rows missing a model dropped."""
    return df.pivot_table(index=[*keys, "seed"], columns=column, values=value, aggfunc="mean").dropna()


# -- how numbers are shown ------------------------------------------------------------------------
def _spread(values: pd.Series, digits: int = 2) -> str:
    """Ours: mean ± standard deviation [value of each seed, in seed order]."""
    values = values.dropna()
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    each = ", ".join(f"{v:.{digits}f}" for v in values)
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f} [{each}]"


def _by_seed(df: pd.DataFrame, value: str = "test_acc") -> pd.Series:
    return df.groupby("seed")[value].mean().sort_index()


def _paper_spread(values: pd.Series, digits: int = 2) -> str:
    """The paper's: mean (number of runs, min-max)."""
    values = values.dropna()
    if len(values) == 0:
        return "-"
    runs = f"{len(values)} run{'s' if len(values) != 1 else ''}"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f} ({runs})"
    return f"{values.mean():.{digits}f} ({runs}, {values.min():.{digits}f}-{values.max():.{digits}f})"


def _runs(df: pd.DataFrame) -> str:
    """How many runs a verdict rests on, their profile and seeds, and what they cost."""
    if df.empty:
        return "-"
    profiles = ",".join(sorted(df["profile"].unique()))
    seeds = ",".join(str(s) for s in sorted(df["seed"].unique()))
    text = f"{len(df)} runs, profile {profiles}, seeds {seeds}"
    if "wall_time_s" in df and df["wall_time_s"].notna().any():  # every cpu run trains on one thread
        text += f", {df['wall_time_s'].sum() / 60:.0f} min of training"
    return text


def budget(ours: pd.DataFrame, experiment: str, unit: str = "samples") -> dict[str, float]:
    """Our training budget beside the ``paper`` profile's, as numbers: ``steps`` and ``per_step``
    (samples, or tokens with ``unit="tokens"``: samples x segment length) of the longest of our
    runs in ``ours``, the paper profile's ``paper_steps`` and ``paper_per_step``, and ``times``,
    how many times as much the paper's budget holds. Empty when ``ours`` lacks the columns."""
    from .experiments import resolve

    if unit not in ("samples", "tokens"):
        raise ValueError(f"unit={unit!r} is not allowed: 'samples' or 'tokens'")
    if not len(ours) or not {"steps", "batch_size", "segment_len"} <= set(ours):
        return {}
    ref = resolve(experiment, "rmt", "paper")
    steps, per_step, ref_per_step = int(ours["steps"].max()), int(ours["batch_size"].max()), ref.batch_size
    if unit == "tokens":
        per_step, ref_per_step = per_step * int(ours["segment_len"].max()), ref_per_step * ref.segment_len
    return dict(
        steps=steps,
        per_step=per_step,
        paper_steps=ref.steps,
        paper_per_step=ref_per_step,
        times=ref.steps * ref_per_step / (steps * per_step),
    )


def _min_seeds(df: pd.DataFrame, keys: list[str]) -> int:
    return int(df.groupby(keys)["seed"].nunique().min()) if len(df) else 0


def _task_runs(records: pd.DataFrame, experiments: tuple[str, ...]) -> pd.DataFrame:
    if records.empty:
        return records
    return records[records["experiment"].isin(experiments)].dropna(subset=["test_acc"])


# -- claims ---------------------------------------------------------------------------------------
def _paper_at(ref: pd.DataFrame, task: str, n_segments: int, mem_size: int | None, model: str) -> pd.Series:
    rows = ref[(ref["task"] == task) & (ref["n_segments"] == n_segments) & (ref["model"] == model)]
    if mem_size is not None:
        rows = rows[rows["mem_size"] == mem_size]
    return rows["accuracy"]


def segmented_transformer_at_chance(records: pd.DataFrame) -> Verdict:
    """Statement per run: test accuracy within ``CHANCE_MARGIN`` of chance (1 / symbols)."""
    ref = paper.synthetic()
    ref = ref[ref["task"].isin(["copy", "reverse"]) & (ref["model"] == "transformer")]
    paper_text = f"copy/reverse, 2-9 segments: {_paper_spread(ref['accuracy'])} (chance 0.10)"
    ours = _task_runs(records, ("copy", "reverse"))
    ours = ours[(ours["model"] == "transformer") & (ours["num_segments"] > 1)] if len(ours) else ours
    if ours.empty:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    ok = ours["test_acc"] <= 1.0 / ours["num_symbols"] + CHANCE_MARGIN
    ours_text = "; ".join(
        f"{exp} {int(n)} seg: {_spread(_by_seed(g))} (chance {1 / g['num_symbols'].iloc[0]:.2f})"
        for (exp, n), g in ours.groupby(["experiment", "num_segments"])
    )
    return Verdict(
        paper_text, ours_text, _runs(ours), _decide([every(ok)], _min_seeds(ours, ["experiment", "num_segments"]))
    )


def rmt_matches_xl_and_gap_grows(records: pd.DataFrame) -> Verdict:
    """Per seed, at equal memory size (xl's cache length = rmt's number of memory tokens):
    rmt >= xl - ``MATCH_MARGIN`` in every setting; and per task, the gap rmt - xl at the most
    segments (smallest memory there) above the gap at the fewest."""
    ref = paper.synthetic()
    ours = _task_runs(records, ("copy", "reverse"))
    ours = ours[ours["model"].isin(["xl", "rmt"])] if len(ours) else ours
    if ours.empty or ours["model"].nunique() < 2:
        ref9 = ref[(ref["task"] == "copy") & (ref["n_segments"] == 9) & (ref["mem_size"] == 8)]
        paper_text = "copy, 9 segments, memory 8: " + ", ".join(
            f"{m} {_paper_spread(ref9.loc[ref9['model'] == m, 'accuracy'])}" for m in ("xl", "rmt")
        )
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    keys = ["experiment", "num_segments", "mem_size"]
    pairs = _paired(ours, keys)
    if pairs.empty or not {"xl", "rmt"} <= set(pairs.columns):
        return Verdict("-", "-", _runs(ours), NOT_RUN)
    settings = (
        pairs.reset_index()[keys]
        .drop_duplicates()
        .sort_values(["experiment", "num_segments", "mem_size"], ascending=[True, True, False])
    )
    matches, paper_parts, ours_parts = [], [], []
    for exp, n, m in settings.itertuples(index=False):
        p = pairs.xs((exp, n, m), level=keys)
        matches.append(every(p["rmt"] >= p["xl"] - MATCH_MARGIN))
        label = f"{exp} {int(n)} seg, memory {int(m)}"
        ours_parts.append(f"{label}: xl {_spread(p['xl'])}, rmt {_spread(p['rmt'])}")
        paper_parts.append(
            f"{label}: "
            + ", ".join(
                f"{model} {_paper_spread(_paper_at(ref, exp, int(n), int(m), model))}" for model in ("xl", "rmt")
            )
        )
    grows, testable = [], True
    for _, g in settings.groupby("experiment"):
        first, last = g.iloc[0], g.iloc[-1]
        if first["num_segments"] == last["num_segments"]:
            testable = False
            continue
        gap = {
            k: pairs.xs(tuple(row[keys]), level=keys).eval("rmt - xl") for k, row in (("first", first), ("last", last))
        }
        both = gap["first"].index.intersection(gap["last"].index)
        grows.append(every(gap["last"][both] > gap["first"][both]))
    seeds = _min_seeds(ours, [*keys, "model"])
    if not testable:
        verdict = _decide(matches, seeds) + " (growth untested: one segment count)"
    else:
        verdict = _tentative(combine([combine(matches), combine(grows)]), seeds)
    return Verdict("; ".join(paper_parts), "; ".join(ours_parts), _runs(ours), verdict)


def start_only_memory_no_better(records: pd.DataFrame) -> Verdict:
    """Per seed: mt at most ``CHANCE_MARGIN`` above the segmented transformer, every setting."""
    ref = paper.synthetic()
    ref = ref[ref["task"].isin(["copy", "reverse"]) & ref["model"].isin(["mt", "transformer"])]
    paper_text = (
        ", ".join(f"{m} {_paper_spread(ref.loc[ref['model'] == m, 'accuracy'])}" for m in ("mt", "transformer"))
        + " (copy/reverse, 2-9 segments)"
    )
    ours = _task_runs(records, ("copy", "reverse"))
    ours = ours[ours["model"].isin(["mt", "transformer"]) & (ours["num_segments"] > 1)] if len(ours) else ours
    if ours.empty or ours["model"].nunique() < 2:
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    keys = ["experiment", "num_segments"]
    pairs = _paired(ours, keys)
    if pairs.empty or not {"mt", "transformer"} <= set(pairs.columns):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    parts = [every(p["mt"] <= p["transformer"] + CHANCE_MARGIN) for _, p in pairs.groupby(level=keys)]
    ours_text = "; ".join(
        f"{exp} {int(n)} seg: mt {_spread(p['mt'])}, transformer {_spread(p['transformer'])}"
        for (exp, n), p in pairs.groupby(level=keys)
    )
    return Verdict(paper_text, ours_text, _runs(ours), _decide(parts, _min_seeds(ours, [*keys, "model"])))


def longer_samples(records: pd.DataFrame) -> Verdict:
    """Fig. 5a: per seed, at a fixed segment length and equal memory size, rmt >= xl -
    ``MATCH_MARGIN`` at every sample length, and rmt above xl at the longest."""
    from .experiments import resolve

    ref = paper.synthetic()
    ref = ref[ref["task"].isin(["copy120", "copy240", "copy360"]) & (ref["segment_len"] == 120)]
    paper_text = "copy, segments of 120, memory 60: " + "; ".join(
        f"{n} seg: " + ", ".join(f"{m} {_paper_spread(g.loc[g['model'] == m, 'accuracy'])}" for m in ("xl", "rmt"))
        for n, g in ref[ref["model"].isin(["xl", "rmt"])].groupby("n_segments")
    )
    ours = _task_runs(records, ("copy_long", "reverse_long"))
    if len(ours):
        size = {e: resolve(e, "rmt", "cpu").mem_size for e in ("copy_long", "reverse_long")}
        ours = ours[ours["model"].isin(["xl", "rmt"]) & (ours["mem_size"] == ours["experiment"].map(size))]
    if ours.empty or ours["model"].nunique() < 2:
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    keys = ["experiment", "num_segments"]
    pairs = _paired(ours, keys)
    if pairs.empty or not {"xl", "rmt"} <= set(pairs.columns):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    parts, texts = [], []
    for exp, by_task in pairs.groupby(level="experiment"):
        longest = by_task.index.get_level_values("num_segments").max()
        for n, p in by_task.groupby(level="num_segments"):
            parts.append(every(p["rmt"] >= p["xl"] - MATCH_MARGIN))
            texts.append(f"{exp} {int(n)} seg: xl {_spread(p['xl'])}, rmt {_spread(p['rmt'])}")
        last = by_task.xs(longest, level="num_segments")
        parts.append(every(last["rmt"] > last["xl"] + AHEAD))
    seeds = _min_seeds(ours, [*keys, "model"])
    return Verdict(paper_text, "; ".join(texts), _runs(ours), _decide(parts, seeds))


def beyond_trained(records: pd.DataFrame, generalisation: pd.DataFrame | None = None) -> Verdict:
    """Per run (``rmt_lite.generalisation.load``): rmt's accuracy on samples up to twice as long
    as those it was trained on at most ``CLOSE`` below its accuracy at the trained length."""
    paper_text = "no number in the paper's raw CSVs"
    gen = generalisation if generalisation is not None else pd.DataFrame()
    if len(gen):
        gen = gen[gen["experiment"].isin(["copy_long", "reverse_long"])]  # the needle is claim 11's
    if gen.empty or "rmt" not in set(gen["model"]):
        return Verdict(paper_text, "-", "-", NOT_RUN)
    texts, oks = [], []
    ordered = gen.sort_values(["experiment", "model", "seed", "factor"])
    for (exp, model, _run), g in ordered.groupby(["experiment", "model", "run_id"], sort=False):
        at = dict(zip(g["factor"], g["acc"]))
        texts.append(
            f"{exp} {model} (seed {g['seed'].iloc[0]}): "
            + ", ".join(f"x{f:g} {a:.2f} ({int(s)} seg)" for f, a, s in zip(g["factor"], g["acc"], g["segments"]))
        )
        if model == "rmt" and 1 in at:
            oks.append(all(a >= at[1] - CLOSE for f, a in at.items() if 1 < f <= 2))
    runs = gen.drop_duplicates("run_id")
    return Verdict(
        paper_text,
        "; ".join(texts),
        f"{len(runs)} trained runs evaluated, seeds " + ",".join(str(s) for s in sorted(runs["seed"].unique())),
        _decide([every(pd.Series(oks))], int(gen[gen["model"] == "rmt"]["seed"].nunique())),
    )


FAR = 16  # the needle "far beyond" its training length: 16 times as many segments or more


def needle_far_beyond(records: pd.DataFrame, generalisation: pd.DataFrame | None = None) -> Verdict:
    """Per seed (``rmt_lite.generalisation.load``, experiment ``needle``): rmt's accuracy on
    samples ``FAR`` or more times as long as its training samples at most ``CLOSE`` below its
    accuracy at the trained length."""
    paper_text = (
        "RMT on BERT, trained on up to 7 segments of 512 tokens, answered the needle across 4,096 "
        "segments, about 2M tokens (Bulatov et al. 2023; BABILong, Kuratov et al. 2024: up to 11M)"
    )
    gen = generalisation if generalisation is not None else pd.DataFrame()
    if len(gen):
        gen = gen[(gen["experiment"] == "needle") & (gen["model"] == "rmt")]
    if gen.empty:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    texts, oks = [], []
    for seed, g in gen.sort_values("factor").groupby("seed"):
        at = dict(zip(g["factor"], g["acc"]))
        far = {f: a for f, a in at.items() if f >= FAR}
        if 1 not in at or not far:
            continue
        oks.append(all(a >= at[1] - CLOSE for a in far.values()))
        longest = max(far)
        texts.append(
            f"seed {seed}: {at[1]:.2f} at {int(g.loc[g['factor'] == 1, 'segments'].iloc[0])} seg, "
            f"{at[longest]:.2f} at {int(g.loc[g['factor'] == longest, 'segments'].iloc[0])} seg"
        )
    if not oks:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    seeds = sorted(gen["seed"].unique())
    return Verdict(
        paper_text,
        "rmt " + "; ".join(texts),
        f"{len(seeds)} trained rmt runs evaluated, seeds " + ",".join(str(s) for s in seeds),
        _decide([every(pd.Series(oks))], len(oks)),
    )


def retrieval_runs(records: pd.DataFrame) -> pd.DataFrame:
    """The xl and rmt runs claim 4 rests on: those trained with three times the budget
    (``retrieval_long``) once both models have 2 and 3 segments there, else the ``retrieval`` runs."""

    def runs(experiment: str) -> pd.DataFrame:
        ours = _task_runs(records, (experiment,))
        return ours[ours["model"].isin(["xl", "rmt"])] if len(ours) else ours

    longer = runs("retrieval_long")
    needed = {(m, n) for m in ("xl", "rmt") for n in (2, 3)}
    if len(longer) and needed <= set(zip(longer["model"], longer["num_segments"])):
        return longer
    return runs("retrieval")


def retrieval(records: pd.DataFrame) -> Verdict:
    """Per seed: at 2 segments xl and rmt both at least ``NEAR_ONE``; at 3 segments rmt above xl."""
    ref = paper.synthetic()
    ref = ref[(ref["task"] == "retrieval") & ref["model"].isin(["xl", "rmt"])]
    paper_text = "; ".join(
        f"{n} seg: " + ", ".join(f"{m} {_paper_spread(_paper_at(ref, 'retrieval', n, None, m))}" for m in ("xl", "rmt"))
        for n in (2, 3)
    )
    ours = retrieval_runs(records)
    if ours.empty:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    pairs = _paired(ours, ["num_segments"])
    if not {"xl", "rmt"} <= set(pairs.columns) or not {2, 3} <= set(pairs.index.get_level_values("num_segments")):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    two, three = pairs.xs(2, level="num_segments"), pairs.xs(3, level="num_segments")
    parts = {2: every((two["xl"] >= NEAR_ONE) & (two["rmt"] >= NEAR_ONE)), 3: every(three["rmt"] > three["xl"] + AHEAD)}
    ours_text = "; ".join(f"{n} seg: xl {_spread(p['xl'])}, rmt {_spread(p['rmt'])}" for n, p in ((2, two), (3, three)))
    verdict = _decide(list(parts.values()), _min_seeds(ours, ["num_segments", "model"]))
    return Verdict(paper_text, ours_text, _runs(ours), verdict)


def _quadratic_names(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(name=[display_name(m, n) for m, n in zip(df["model"], df["num_segments"])])


QUADRATIC_SMALL = "quadratic_small"  # the variant a CPU can learn (roots in -25..25)


def quadratic_runs(records: pd.DataFrame) -> pd.DataFrame:
    """The runs claim 5 rests on: the small-range variant (``quadratic_small``) in place of the
    paper-range ``quadratic`` once a seed has the whole-sample transformer, xl and rmt there."""
    if records.empty:
        return records
    quad = records[records["experiment"].isin(["quadratic", QUADRATIC_SMALL])]
    small = _quadratic_names(quad[quad["experiment"] == QUADRATIC_SMALL])
    complete = small.groupby("seed")["name"].apply(lambda n: {"transformer (whole)", "xl", "rmt"} <= set(n))
    return quad[quad["experiment"] == (QUADRATIC_SMALL if complete.any() else "quadratic")]


def quadratic(records: pd.DataFrame) -> Verdict:
    """Per seed: rmt above xl, and at most ``CLOSE`` below the whole-sample transformer (on the
    small-range variant once it has run, see :func:`quadratic_runs`)."""
    ref = paper.quadratic()
    paper_text = ", ".join(
        f"{m} {_paper_spread(ref.loc[ref['model'] == m, 'answer_accuracy'], 3)}"
        for m in ("xl", "rmt", "transformer (whole)")
    )
    ours = quadratic_runs(records)
    if ours.empty or "test_answer_acc" not in ours:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    small = (ours["experiment"] == QUADRATIC_SMALL).all() and "root_range" in ours
    variant = f"small-range variant (roots in \u00b1{int(ours['root_range'].max())}): " if small else ""
    ours = _quadratic_names(ours)
    pairs = _paired(ours, [], "test_answer_acc", "name")
    if not {"xl", "rmt"} <= set(pairs.columns):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    beats = every(pairs["rmt"] > pairs["xl"] + AHEAD)
    close = every(pairs["transformer (whole)"] - pairs["rmt"] <= CLOSE) if "transformer (whole)" in pairs else HOLDS
    ours_text = variant + ", ".join(f"{k} {_spread(pairs[k], 3)}" for k in pairs.columns)
    if "test_acc_tf" in ours:  # how much of the solution each model gets right, token by token
        tf = ours.groupby("name")["test_acc_tf"].mean()
        ours_text += " (per-token teacher-forced accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in tf.items()) + ")"
    verdict = _decide([beats, close], _min_seeds(ours, ["name"]))
    return Verdict(paper_text, ours_text, _runs(ours), verdict)


LM_METRICS = {"lm_bytes": "test_bpc", "lm_bytes_long": "test_bpc", "lm_words": "test_ppl"}


def lm_runs(records: pd.DataFrame, claim: int = 6) -> pd.DataFrame:
    """The language-modelling runs claim 6 or 7 rests on, with their test metric as ``value``: the
    word-level runs, and the byte-level runs trained 13 times longer (``lm_bytes_long``) in place of
    ``lm_bytes`` once one seed has there what the claim compares: the transformer, xl and rmt
    (claim 6), or rmt at BPTT depth 0 and a deeper one (claim 7)."""
    if claim not in (6, 7):
        raise ValueError(f"claim={claim!r} is not allowed: 6 (memory size) or 7 (BPTT depth)")
    if records.empty:
        return records
    lm = records[records["experiment"].isin(list(LM_METRICS))].copy()
    lm["value"] = [row.get(LM_METRICS[e], float("nan")) for e, (_, row) in zip(lm["experiment"], lm.iterrows())]
    lm = lm.dropna(subset=["value"])
    if lm.empty:
        return lm
    longer = lm[lm["experiment"] == "lm_bytes_long"]
    if claim == 7:
        rmt = longer[longer["model"] == "rmt"]
        complete = rmt.groupby("seed")["bptt_depth"].agg(lambda d: (d == 0).any() and (d > 0).any())
    else:
        trained = longer[(longer["model"] != "rmt") | (longer["bptt_depth"] != 0)]
        complete = trained.groupby("seed")["model"].nunique() == 3  # transformer, xl and rmt in one seed
    return lm[lm["experiment"] != ("lm_bytes" if complete.any() else "lm_bytes_long")]


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
        g[(g["mem_size"] == size) | (g["model"] == "transformer")]
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
    return Verdict(paper_text, "; ".join(texts), _runs(lm), _decide(parts, min(seeds)))


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
    return Verdict(
        paper_text, "; ".join(texts), _runs(lm), _decide(parts, _min_seeds(lm, ["experiment", "bptt_depth"]))
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
    return Verdict(paper_text, "; ".join(texts), _runs(ours), _decide(parts, min(seeds)))


CLAIMS: list[tuple[str, str, Callable[[pd.DataFrame], Verdict]]] = [
    (
        "A segmented transformer is at chance on copy and reverse once the sample spans several segments.",
        BASELINES,
        segmented_transformer_at_chance,
    ),
    (
        "RMT matches or beats Transformer-XL at equal memory size on copy and reverse, and the gap grows "
        "with the number of segments.",
        RMT,
        rmt_matches_xl_and_gap_grows,
    ),
    (
        "Memory at the start only (MT) is no better than no memory in a causal decoder.",
        BASELINES,
        start_only_memory_no_better,
    ),
    ("Associative retrieval: RMT and Transformer-XL near 1.0 with 2 segments; RMT ahead with 3.", RMT, retrieval),
    ("Quadratic equations: RMT above Transformer-XL, close to the whole-sample transformer.", RMT, quadratic),
    (
        "Language modelling with limited input: RMT beats the transformer and matches or beats "
        "Transformer-XL at equal memory size.",
        RMT,
        language_modelling,
    ),
    ("BPTT depth 1 or more beats depth 0.", RMT, bptt_depth_matters),
    ("Long-document classification: memory beats truncation.", RMT, classification),
    (
        "Longer samples at a fixed segment length (Fig. 5): RMT stays level with or ahead of "
        "Transformer-XL with the same memory size as the sample grows, and ahead at the longest.",
        RMT,
        longer_samples,
    ),
    (
        "Trained on n segments, RMT keeps its accuracy on samples up to twice as long (more segments at "
        "the same segment length).",
        RMT,
        beyond_trained,
    ),
    (
        "Beyond the paper: a memory trained on at most k segments keeps its accuracy far beyond k (a needle "
        "in a haystack, 16 times as many segments or more).",
        RMT,
        needle_far_beyond,
    ),
]


def claims_table(
    records: pd.DataFrame, generalisation: pd.DataFrame | None = None, history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per claim: claim, about (RMT or the baselines), paper, ours, runs and verdict
    (``records`` from ``load_records``; ``generalisation`` from ``rmt_lite.generalisation.load``;
    ``history`` from ``load_history``, the validation curves claims 6 and 7 check for an order
    that is still moving)."""
    rows = []
    extra = {beyond_trained: generalisation, needle_far_beyond: generalisation}
    extra |= {language_modelling: history, bptt_depth_matters: history}
    for number, (text, about, check) in enumerate(CLAIMS, start=1):
        v = check(records, extra[check]) if check in extra else check(records)
        rows.append(
            {
                "#": number,
                "claim": text,
                "about": about,
                "paper": v.paper,
                "ours": v.ours,
                "runs": v.runs,
                "verdict": v.verdict,
            }
        )
    return pd.DataFrame(rows).set_index("#")


def verdict_counts(table: pd.DataFrame, about: str = RMT) -> dict[str, int]:
    """How many of the claims ``about`` RMT (or the baselines) hold, do not hold, are partly
    true, inconclusive or not run, tentative verdicts counted with their kind."""
    verdicts = table.loc[table["about"] == about, "verdict"]
    kinds = verdicts.str.replace(r" \(.*\)$", "", regex=True)
    counts = {kind: int((kinds == kind).sum()) for kind in (HOLDS, FAILS, PARTLY, INCONCLUSIVE, NOT_RUN)}
    return {**counts, "tentative": int(verdicts.str.contains("tentative").sum()), "total": len(verdicts)}
