"""The paper's claims, checked one by one against our committed run records (issue 6, chapter 9).

Each claim is a function of two tables: our records (``rmt_lite.load_records``, one row per run)
and the paper's numbers (``rmt_lite.paper``). It returns the paper's number, ours, the seeds and
runs it rests on, a verdict computed by a stated rule and, where the claim does not fully hold
at our scale, the likely reason with the numbers behind it (``why``). The rules:

- ``holds`` / ``does not hold``: the rule's comparison of means, where every compared group has
  at least ``MIN_SEEDS`` seeds;
- ``holds (tentative)`` / ``does not hold (tentative)``: the same with fewer seeds;
- ``partly``: one half of a two-part claim holds;
- ``not run yet``: the records it needs are missing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from . import paper

MIN_SEEDS = 3
CHANCE_MARGIN = 0.05      # "at chance" = within 5 points of 1/num_symbols
MATCH_MARGIN = 0.01       # "matches" = at most 1 point below
LEARNED = 0.5             # retrieval "learned": guessing among the four stored values scores 0.25


@dataclass(frozen=True)
class Verdict:
    paper: str
    ours: str
    runs: str
    verdict: str
    why: str = ""      # where the claim does not fully hold: the likely reason, with its numbers


def _fmt(values: pd.Series, digits: int = 3) -> str:
    values = values.dropna()
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _tentative(text: str, seeds: int) -> str:
    return text if seeds >= MIN_SEEDS else f"{text} (tentative: {seeds} seed{'s' if seeds != 1 else ''})"


def _verdict(ok: bool, seeds: int) -> str:
    return _tentative("holds" if ok else "does not hold", seeds)


def _partly(seeds: int) -> str:
    return _tentative("partly", seeds)


def _runs(df: pd.DataFrame) -> str:
    """How many runs a verdict rests on, their profile and seeds, and what they cost."""
    if df.empty:
        return "-"
    profiles = ",".join(sorted(df["profile"].unique()))
    seeds = ",".join(str(s) for s in sorted(df["seed"].unique()))
    text = f"{len(df)} runs, profile {profiles}, seeds {seeds}"
    if "wall_time_s" in df and df["wall_time_s"].notna().any():   # every cpu run trains on one thread
        text += f", {df['wall_time_s'].sum() / 60:.0f} min of training"
    return text


def _budget(ours: pd.DataFrame, experiment: str, unit: str = "samples") -> str:
    """Our training budget beside the ``paper`` profile's: steps x samples (x segment length in
    ``tokens``), and how many times as much the paper's allows."""
    from .experiments import resolve

    if not {"steps", "batch_size", "segment_len"} <= set(ours):
        return ""
    ref = resolve(experiment, "rmt", "paper")
    steps, per_step, ref_per_step = int(ours["steps"].max()), int(ours["batch_size"].max()), ref.batch_size
    if unit == "tokens":
        per_step, ref_per_step = per_step * int(ours["segment_len"].max()), ref_per_step * ref.segment_len
    times = ref.steps * ref_per_step / (steps * per_step)
    return (f"Our runs trained {steps:,} steps of {per_step:,} {unit}; the `paper` profile allows "
            f"{ref.steps:,} steps of {ref_per_step:,}, {times:,.0f} times as many.")


def _min_seeds(df: pd.DataFrame, keys: list[str]) -> int:
    return int(df.groupby(keys)["seed"].nunique().min()) if len(df) else 0


def _task_runs(records: pd.DataFrame, experiments: tuple[str, ...]) -> pd.DataFrame:
    if records.empty:
        return records
    return records[records["experiment"].isin(experiments)].dropna(subset=["test_acc"])


NOT_RUN = "not run yet"


# -- claims ---------------------------------------------------------------------------------------
def segmented_transformer_at_chance(records: pd.DataFrame) -> Verdict:
    ref = paper.synthetic()
    ref = ref[ref["task"].isin(["copy", "reverse"]) & (ref["model"] == "transformer")]
    paper_text = f"copy/reverse, 2-9 segments: {_fmt(ref['accuracy'])} (chance 0.10)"
    ours = _task_runs(records, ("copy", "reverse"))
    ours = ours[(ours["model"] == "transformer") & (ours["num_segments"] > 1)] if len(ours) else ours
    if ours.empty:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    chance = 1.0 / ours["num_symbols"]
    ok = bool((ours["test_acc"] <= chance + CHANCE_MARGIN).all())
    return Verdict(paper_text, f"{_fmt(ours['test_acc'])} (chance {_fmt(chance, 2)})", _runs(ours),
                   _verdict(ok, _min_seeds(ours, ["experiment", "num_segments"])))


def rmt_matches_xl_and_gap_grows(records: pd.DataFrame) -> Verdict:
    ref = paper.synthetic()
    ref9 = ref[(ref["task"] == "copy") & (ref["n_segments"] == 9) & ref["model"].isin(["xl", "rmt"])]
    means = ref9[ref9["mem_size"] == 8].groupby("model")["accuracy"].mean()
    paper_text = f"copy, 9 segments, memory 8: xl {means.get('xl', float('nan')):.2f}, rmt {means.get('rmt', float('nan')):.2f}"
    ours = _task_runs(records, ("copy", "reverse"))
    ours = ours[ours["model"].isin(["xl", "rmt"])] if len(ours) else ours
    if ours.empty or ours["model"].nunique() < 2:
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    # equal memory size: xl's cache length = rmt's number of memory tokens within each row
    keys = ["experiment", "num_segments", "mem_size"]
    table = ours.groupby([*keys, "model"])["test_acc"].mean().unstack("model").dropna()
    if table.empty:
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    gap = table["rmt"] - table["xl"]
    matches = bool((gap >= -MATCH_MARGIN).all())
    # growth: the gap at the most segments (smallest memory there) against the fewest segments
    by_task = [g.sort_index(level=["num_segments", "mem_size"], ascending=[True, False])
               for _, g in gap.groupby(level="experiment")]
    testable = all(g.index.get_level_values("num_segments").nunique() >= 2 for g in by_task)
    grows = all(g.iloc[-1] >= g.iloc[0] for g in by_task)
    ours_text = "; ".join(f"{exp} {int(n)} seg, memory {int(m)}: xl {row['xl']:.2f}, rmt {row['rmt']:.2f}"
                          for (exp, n, m), row in table.iterrows())
    seeds = _min_seeds(ours, [*keys, "model"])
    if not testable:
        verdict = _verdict(matches, seeds) + " (growth untested: one segment count)"
    elif matches and grows:
        verdict = _verdict(True, seeds)
    elif matches or grows:
        verdict = _partly(seeds)
    else:
        verdict = _verdict(False, seeds)
    return Verdict(paper_text, ours_text, _runs(ours), verdict)


def start_only_memory_no_better(records: pd.DataFrame) -> Verdict:
    ref = paper.synthetic()
    ref = ref[ref["task"].isin(["copy", "reverse"]) & ref["model"].isin(["mt", "transformer"])]
    m = ref.groupby("model")["accuracy"].mean()
    paper_text = f"copy/reverse: mt {m.get('mt', float('nan')):.2f}, segmented transformer {m.get('transformer', float('nan')):.2f}"
    ours = _task_runs(records, ("copy", "reverse"))
    ours = ours[ours["model"].isin(["mt", "transformer"]) & (ours["num_segments"] > 1)] if len(ours) else ours
    if ours.empty or ours["model"].nunique() < 2:
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    table = ours.groupby(["experiment", "num_segments", "model"])["test_acc"].mean().unstack("model").dropna()
    ok = bool((table["mt"] <= table["transformer"] + CHANCE_MARGIN).all())
    ours_text = f"mt {_fmt(ours[ours.model == 'mt']['test_acc'])}, transformer {_fmt(ours[ours.model == 'transformer']['test_acc'])}"
    return Verdict(paper_text, ours_text, _runs(ours), _verdict(ok, _min_seeds(ours, ["experiment", "num_segments", "model"])))


def _how_runs_learned(history: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run of ``runs`` with a training curve: ``learned_at``, the first evaluation
    at which validation accuracy passed ``LEARNED`` (NaN: never) and ``learned_on``, the number of
    segments the run was training on then; ``gain``, validation accuracy's change over the
    last three evaluations (``span`` steps); ``at_layout``, the steps trained on the final number
    of segments (a curriculum spends the others on fewer); ``at_target``, stopped early because
    it reached its target accuracy."""
    rows = []
    for run in runs.itertuples():
        h = history[(history["experiment"] == run.experiment) & (history["run_id"] == run.run_id)].sort_values("step")
        if len(h) < 4:
            continue
        earlier, passed = h.loc[h["segments"] < run.num_segments, "step"], h.loc[h["acc"] > LEARNED, "step"]
        first = h.loc[passed.index[0]] if len(passed) else None
        rows.append(dict(model=run.model, seed=run.seed, learned_at=float("nan") if first is None else first["step"],
                         learned_on=float("nan") if first is None else first["segments"],
                         gain=h["acc"].iloc[-1] - h["acc"].iloc[-4], span=h["step"].iloc[-1] - h["step"].iloc[-4],
                         at_layout=h["step"].iloc[-1] - (earlier.max() if len(earlier) else 0),
                         at_target=str(getattr(run, "stop_reason", "")).startswith("target")))
    return pd.DataFrame(rows, columns=["model", "seed", "learned_at", "learned_on", "gain", "span", "at_layout",
                                       "at_target"])


def _study_why(records: pd.DataFrame, history: pd.DataFrame | None) -> str:
    """What chapter 3's one-segment study found, in numbers ("" without its records)."""
    from .retrieval_study import finding

    found = finding(records, history) if history is not None else None
    if found is None:
        return ""
    tried = ", ".join(f"`{name}`" for name in found["settings"])
    if not found["settings"]:
        fix = ""
    elif found["matches"]:
        fix = (f"Of the settings tried ({tried}), {' and '.join(f'`{m}`' for m in found['matches'])} learned in as "
               "many seeds as the transformer and in none later than it.")
    else:
        fix = f"None of the settings tried ({tried}) learned in as many seeds as the transformer and in none later."
    return (f"Tested on one segment (chapter 3's study), where rmt differs from a transformer only by its read "
            f"memory slots and each seed gives both the same starting weights and batches: the transformer "
            f"passed {LEARNED} within the budget in {found['baseline']} seeds, rmt in {found['rmt']}, and rmt "
            f"passed it later than the transformer of the same seed in {found['rmt_later']}. {fix}").strip()


def _retrieval_why(ours: pd.DataFrame, history: pd.DataFrame | None, failing: list[int],
                   records: pd.DataFrame | None = None) -> str:
    text, late, rising, on_one = [], False, False, {"xl": 0, "rmt": 0}
    for n in failing:
        runs = _how_runs_learned(history, ours[ours["num_segments"] == n]) if history is not None else pd.DataFrame()
        if runs.empty or not {"xl", "rmt"} <= set(runs["model"]):
            continue
        by = {m: runs[runs["model"] == m].sort_values("seed") for m in ("xl", "rmt")}
        when = {m: ", ".join("never" if pd.isna(s) else f"{s:.0f}" for s in g["learned_at"]) for m, g in by.items()}
        # still improving at the end: among the runs that had learned and were not stopped at their target
        judged = runs["learned_at"].notna() & ~runs["at_target"]
        improving = judged & runs["gain"].gt(0.02)

        def still(m):
            n_judged = int(judged[runs["model"] == m].sum())
            return f"{int(improving[runs['model'] == m].sum())} of {n_judged}" if n_judged else "none to judge"
        one = {m: int((g["learned_on"] == 1).sum()) for m, g in by.items()}
        lo, hi = runs["at_layout"].min(), runs["at_layout"].max()
        explain = not text     # the first segment count says what the numbers mean
        text.append(f"At {n} segments validation accuracy first passed {LEARNED}"
                    + (" (guessing among the four stored values scores 0.25)" if explain else "")
                    + f" at step {when['xl']} for xl and {when['rmt']} for rmt (seed by seed); while still on "
                    "one segment" + (" (the curriculum's first stage, where the whole sample fits and no memory "
                                     "is needed)" if explain else "")
                    + f": xl {one['xl']} of {len(by['xl'])}, rmt {one['rmt']} of {len(by['rmt'])}. "
                    f"Of the runs past it that did not stop early at their target accuracy, "
                    f"still improving when training stopped (more than +0.02 over the last "
                    f"{runs['span'].max():.0f} steps): xl {still('xl')}, rmt {still('rmt')}. Each run spent "
                    f"{lo:.0f}{'' if lo == hi else f'-{hi:.0f}'} steps on the {n}-segment layout; the "
                    "curriculum moves on after a fixed share of the steps, learned or not.")
        median = {m: g["learned_at"].fillna(float("inf")).median() for m, g in by.items()}
        late, rising = late or median["rmt"] > median["xl"], rising or bool(improving.any())
        on_one = {m: on_one[m] + one[m] for m in on_one}
    text.append(_budget(ours, "retrieval"))
    study = _study_why(records, history) if records is not None else ""
    if late and on_one["rmt"] < on_one["xl"] and study:
        text.append(study)
        text.append("Likely reason: too little training for how slowly rmt learns this task here. It is learned "
                    "in a jump after a plateau at the four-value guess, and the memory slots beside the text "
                    "delay that jump even where no memory is needed (tested in chapter 3). Whether a longer budget "
                    "brings rmt to the paper's accuracy at 2 and 3 segments is not tested here.")
    elif late and on_one["rmt"] < on_one["xl"]:
        text.append("Likely reason: too little training for how slowly rmt learns this task here. It is learned "
                    "in a jump after a plateau at the four-value guess; rmt's runs reached the jump later than "
                    "xl's or not within the budget, already on one segment, where rmt is a transformer with "
                    "memory tokens beside the text. Why the memory tokens slow it there is not tested here.")
    elif late:
        text.append("Likely reason: too little training. The task is learned in a jump after a plateau at the "
                    "four-value guess, and rmt, which must learn to write all four pairs into its memory "
                    "before the query arrives, reached the jump later than xl, or not within the budget.")
    else:
        text.append("Likely reason: too little training on the final layout." if rising
                    else "We have no tested explanation.")
    return " ".join(t for t in text if t)


def retrieval(records: pd.DataFrame, history: pd.DataFrame | None = None) -> Verdict:
    ref = paper.synthetic()
    ref = ref[(ref["task"] == "retrieval") & ref["model"].isin(["xl", "rmt"])]
    m = ref.groupby(["n_segments", "model"])["accuracy"].mean()
    paper_text = "2 seg: xl {:.2f}, rmt {:.2f}; 3 seg: xl {:.2f}, rmt {:.2f}".format(
        m.get((2, "xl"), float("nan")), m.get((2, "rmt"), float("nan")),
        m.get((3, "xl"), float("nan")), m.get((3, "rmt"), float("nan")))
    ours = _task_runs(records, ("retrieval",))
    ours = ours[ours["model"].isin(["xl", "rmt"])] if len(ours) else ours
    if ours.empty:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    t = ours.groupby(["num_segments", "model"])["test_acc"].mean()
    if not {(2, "xl"), (2, "rmt"), (3, "xl"), (3, "rmt")} <= set(t.index):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    ok2 = t[(2, "xl")] >= 0.95 and t[(2, "rmt")] >= 0.95
    ok3 = t[(3, "rmt")] > t[(3, "xl")]
    ours_text = (f"2 seg: xl {t[(2, 'xl')]:.2f}, rmt {t[(2, 'rmt')]:.2f}; "
                 f"3 seg: xl {t[(3, 'xl')]:.2f}, rmt {t[(3, 'rmt')]:.2f}")
    seeds = _min_seeds(ours, ["num_segments", "model"])
    verdict = _verdict(ok2 and ok3, seeds) if ok2 == ok3 else _partly(seeds)
    failing = [n for n, ok in ((2, ok2), (3, ok3)) if not ok]
    why = _retrieval_why(ours, history, failing, records) if failing else ""
    return Verdict(paper_text, ours_text, _runs(ours), verdict, why)


def quadratic(records: pd.DataFrame) -> Verdict:
    ref = paper.quadratic().groupby("model")["answer_accuracy"].mean()
    paper_text = (f"xl {ref.get('xl', float('nan')):.3f}, rmt {ref.get('rmt', float('nan')):.3f}, "
                  f"whole transformer {ref.get('transformer (whole)', float('nan')):.3f}")
    ours = records[records["experiment"] == "quadratic"] if len(records) else records
    if ours.empty or "test_answer_acc" not in ours:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    ours = ours.assign(name=[("transformer (whole)" if m == "transformer" and n == 1 else m)
                             for m, n in zip(ours["model"], ours["num_segments"])])
    t = ours.groupby("name")["test_answer_acc"].mean()
    if not {"xl", "rmt"} <= set(t.index):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    beats = t["rmt"] > t["xl"]
    close = "transformer (whole)" not in t or t["transformer (whole)"] - t["rmt"] <= 0.05
    ours_text = ", ".join(f"{k} {v:.3f}" for k, v in t.items())
    if "test_acc_tf" in ours:   # how much of the solution each model gets right, token by token
        tf = ours.groupby("name")["test_acc_tf"].mean()
        ours_text += " (per-token teacher-forced accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in tf.items()) + ")"
    seeds = _min_seeds(ours, ["name"])
    verdict = _verdict(beats, seeds) if beats == close else _partly(seeds)
    return Verdict(paper_text, ours_text, _runs(ours), verdict, "" if beats and close else _quadratic_why(ours, t))


def _quadratic_why(ours: pd.DataFrame, answers: pd.Series) -> str:
    budget = _budget(ours, "quadratic")
    floor = ours["no_root_fraction"].max() if "no_root_fraction" in ours else float("nan")
    if not answers.max() < floor or "test_acc_tf" not in ours:
        return budget
    tf = ours.groupby("name")["test_acc_tf"].mean()
    return (f"Every model answers fewer equations than the {floor:.2f} a model scores by writing nothing "
            f"(the share of equations without real roots), yet gets {tf.min():.2f}-{tf.max():.2f} of the "
            "solution's tokens right when fed the true prefix: the models have learned the layout of a "
            "solution, not its arithmetic, so the comparison between them is one of noise. "
            f"{budget} Likely reason: far too little training.")


def _lm(records: pd.DataFrame) -> pd.DataFrame:
    if records.empty:
        return records
    lm = records[records["experiment"].isin(["lm_bytes", "lm_words"])].copy()
    lm["metric"] = lm["experiment"].map({"lm_bytes": "test_bpc", "lm_words": "test_ppl"})
    lm["value"] = [row[m] if m in row else float("nan") for m, (_, row) in zip(lm["metric"], lm.iterrows())]
    return lm.dropna(subset=["value"])


def language_modelling(records: pd.DataFrame) -> Verdict:
    ref = paper.language_modelling()
    ref = ref[(ref["dataset"] == "wt103") & (ref["segment_len"] == 50) & (ref["mem_size"] == 10)]
    xl = ref.loc[ref["model"] == "xl", "value"].mean()
    rmt = ref[ref["model"] == "rmt"]
    deepest = rmt["bptt_depth"].max()
    rmt_value = rmt.loc[rmt["bptt_depth"] == deepest, "value"].mean()
    paper_text = (f"WikiText-103, 50-token segments, size 10: xl {xl:.2f}, "
                  f"rmt {rmt_value:.2f} ppl (BPTT depth {deepest:.0f})")
    lm = _lm(records)
    if len(lm):   # depth 0 is the ablation of the next claim, not RMT as trained
        lm = lm[~((lm["model"] == "rmt") & (lm["bptt_depth"] == 0))]
    if lm.empty:
        return Verdict(paper_text, "-", "-", NOT_RUN)
    parts, oks, seeds, why = [], [], [], []
    for exp, g in lm.groupby("experiment"):
        t = g.groupby(["model", "mem_size"])["value"].mean()
        for size in sorted(g.loc[g.model == "rmt", "mem_size"].unique()):
            if ("xl", size) not in t or not any(k[0] == "transformer" for k in t.index):
                continue
            trans = min(v for k, v in t.items() if k[0] == "transformer")
            rmt, xl = t[("rmt", size)], t[("xl", size)]
            oks.append(rmt < trans and rmt <= xl * (1 + MATCH_MARGIN))
            parts.append(f"{exp} size {size}: transformer {trans:.3f}, xl {xl:.3f}, rmt {rmt:.3f}")
            seeds.append(_min_seeds(g[g.mem_size.isin([size]) | (g.model == "transformer")], ["model"]))
            if not oks[-1]:
                why.append(_lm_why(g, exp, size))
    if not parts:
        return Verdict(paper_text, "-", _runs(lm), NOT_RUN)
    ok = all(oks)
    verdict = _verdict(ok, min(seeds)) if ok or not any(oks) else _partly(min(seeds))
    if why:
        why.append("Likely reason: the models are far from converged, and early in training a cache of "
                   "the previous segment's hidden states is useful at once, while memory tokens must first "
                   "learn what to write. Whether rmt catches up with longer training is not tested here.")
    return Verdict(paper_text, "; ".join(parts), _runs(lm), verdict, " ".join(why))


def _lm_why(g: pd.DataFrame, experiment: str, size: int) -> str:
    """Seed by seed, which of rmt, xl and the transformer is ahead at memory ``size``."""
    by_seed = g[(g["mem_size"] == size) | (g["model"] == "transformer")].pivot_table(
        index="seed", columns="model", values="value", aggfunc="min").dropna()
    unit = "bpc" if experiment == "lm_bytes" else "ppl"
    return (f"{experiment} at size {size}: rmt is below the transformer in "
            f"{int((by_seed['rmt'] < by_seed['transformer']).sum())} of {len(by_seed)} seeds and below xl in "
            f"{int((by_seed['rmt'] < by_seed['xl']).sum())} of {len(by_seed)}, where lower {unit} is better. "
            + _budget(g, experiment, "tokens"))


def bptt_depth_matters(records: pd.DataFrame) -> Verdict:
    ref = paper.language_modelling()
    ref = ref[(ref["dataset"] == "wt103") & (ref["segment_len"] == 150) & (ref["model"] == "rmt") & (ref["mem_size"] == 10)]
    m = ref.groupby("bptt_depth")["value"].mean()
    paper_text = "WikiText-103, RMT-10: " + ", ".join(f"depth {int(d)} {v:.2f}" for d, v in m.items()) + " ppl"
    lm = _lm(records)
    lm = lm[lm["model"] == "rmt"] if len(lm) else lm
    if lm.empty or lm["bptt_depth"].nunique() < 2 or 0 not in set(lm["bptt_depth"].dropna().astype(int)):
        return Verdict(paper_text, "-", _runs(lm), NOT_RUN)
    parts, oks = [], []
    for exp, g in lm.groupby("experiment"):
        t = g.groupby("bptt_depth")["value"].mean()
        if 0 not in t.index or len(t) < 2:
            continue
        oks.append(t.drop(0).min() < t[0])
        parts.append(f"{exp}: " + ", ".join(f"depth {int(d)} {v:.3f}" for d, v in t.items()))
    if not parts:
        return Verdict(paper_text, "-", _runs(lm), NOT_RUN)
    return Verdict(paper_text, "; ".join(parts), _runs(lm), _verdict(all(oks), _min_seeds(lm, ["experiment", "bptt_depth"])))


def classification(records: pd.DataFrame) -> Verdict:
    from .plots.classification import PAPER_HYPERPARTISAN   # percent, with its source

    paper_text = (f"Hyperpartisan: transformer {PAPER_HYPERPARTISAN['transformer'] / 100:.3f}, "
                  f"rmt {PAPER_HYPERPARTISAN['rmt'] / 100:.3f} (pretrained RoBERTa)")
    ours = records[records["experiment"] == "classification"].dropna(subset=["test_acc"]) if len(records) else records
    if ours.empty or not {"transformer", "rmt"} <= set(ours["model"]):
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    if "dataset" not in ours:
        ours = ours.assign(dataset="sotu")
    parts, oks, seeds = [], [], []
    for dataset, g in ours.groupby("dataset"):   # never pool two data sets
        if not {"transformer", "rmt"} <= set(g["model"]):
            continue
        t = g.groupby("model")["test_acc"].mean()
        oks.append(t["rmt"] > t["transformer"])
        seeds.append(_min_seeds(g, ["model"]))
        parts.append(f"{dataset}: transformer (truncated) {_fmt(g[g.model == 'transformer']['test_acc'])}, "
                     f"rmt {_fmt(g[g.model == 'rmt']['test_acc'])}")
    if not parts:
        return Verdict(paper_text, "-", _runs(ours), NOT_RUN)
    verdict = _verdict(all(oks), min(seeds)) if all(oks) or not any(oks) else _partly(min(seeds))
    return Verdict(paper_text, "; ".join(parts), _runs(ours), verdict)


CLAIMS: list[tuple[str, Callable[[pd.DataFrame], Verdict]]] = [
    ("A segmented transformer is at chance on copy and reverse once the sample spans several segments.",
     segmented_transformer_at_chance),
    ("RMT matches or beats Transformer-XL at equal memory size on copy and reverse, and the gap grows "
     "with the number of segments.", rmt_matches_xl_and_gap_grows),
    ("Memory at the start only (MT) is no better than no memory in a causal decoder.", start_only_memory_no_better),
    ("Associative retrieval: RMT and Transformer-XL near 1.0 with 2 segments; RMT ahead with 3.", retrieval),
    ("Quadratic equations: RMT above Transformer-XL, close to the whole-sample transformer.", quadratic),
    ("Language modelling with limited input: RMT beats the transformer and matches or beats "
     "Transformer-XL at equal memory size.", language_modelling),
    ("BPTT depth 1 or more beats depth 0.", bptt_depth_matters),
    ("Long-document classification: memory beats truncation.", classification),
]


def claims_table(records: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per claim: claim, paper, ours, runs, verdict and why (``records`` from
    ``load_records``; ``history`` from ``load_history``, for how training ended)."""
    rows = []
    for number, (text, check) in enumerate(CLAIMS, start=1):
        v = check(records, history) if check is retrieval else check(records)
        rows.append({"#": number, "claim": text, "paper": v.paper, "ours": v.ours, "runs": v.runs,
                     "verdict": v.verdict, "why": v.why})
    return pd.DataFrame(rows).set_index("#")
