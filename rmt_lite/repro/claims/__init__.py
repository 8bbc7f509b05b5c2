"""The paper's claims, checked one by one against our committed run records (chapter 10).

Each claim is a function of our records (``rmt_lite.load_records``, one row per run) and the
paper's numbers (``rmt_lite.repro.paper``). It returns the paper's number (mean, number of runs and
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
- a setting that joins a claim (the paper's own memory size, a longer-trained baseline) is read
  once every compared model has ``MIN_SEEDS`` seeds there; until then it is shown, not read, so
  that a verdict does not change setting run by run;
- language modelling (claims 6 and 7), given the validation curves: a seed counts only where its
  statement reads the same at every validation of the last quarter of training as on the test
  split (``SETTLED_FROM``); where it still changes, that corpus is ``inconclusive``;
- ``not run yet``: the records it needs are missing.

Claims 1 and 3 check the baselines (that models without a way across segments fail); the last row
reads capacity, not a claim of the paper; the others are claims about RMT (the ``about`` column).
Why a claim does not hold at our scale is written in the chapters, next to the evidence;
:func:`budget` gives the numbers of our training budget.
"""

from collections.abc import Callable

import pandas as pd

from .language import LM_METRICS, bptt_depth_matters, classification, depth_gaps, language_modelling, lm_runs
from .lengths import FAR, PAPER_TRAINED_SEGMENTS, beyond_trained, fixed_memory_capacity, needle_far_beyond
from .rule import (
    AHEAD,
    BASELINES,
    CAPACITY,
    CHANCE_MARGIN,
    CLOSE,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    MATCH_MARGIN,
    MIN_SEEDS,
    NEAR_ONE,
    NOT_RUN,
    PARTLY,
    RMT,
    SETTLED_FROM,
    Verdict,
    budget,
    clean,
    combine,
    every,
)
from .tasks import (
    QUADRATIC_SMALL,
    longer_samples,
    memory_tokens_improve_xl,
    quadratic,
    quadratic_runs,
    retrieval,
    retrieval_runs,
    rmt_matches_xl_and_gap_grows,
    segmented_transformer_at_chance,
    start_only_memory_no_better,
)

__all__ = [
    "AHEAD",
    "BASELINES",
    "CAPACITY",
    "CHANCE_MARGIN",
    "CLAIMS",
    "CLOSE",
    "FAILS",
    "FAR",
    "HOLDS",
    "INCONCLUSIVE",
    "LM_METRICS",
    "MATCH_MARGIN",
    "MIN_SEEDS",
    "NEAR_ONE",
    "NOT_RUN",
    "PAPER_TRAINED_SEGMENTS",
    "PARTLY",
    "QUADRATIC_SMALL",
    "RMT",
    "SETTLED_FROM",
    "Verdict",
    "beyond_trained",
    "bptt_depth_matters",
    "budget",
    "claims_table",
    "clean",
    "classification",
    "combine",
    "depth_gaps",
    "every",
    "fixed_memory_capacity",
    "language_modelling",
    "lm_runs",
    "longer_samples",
    "memory_tokens_improve_xl",
    "needle_far_beyond",
    "quadratic",
    "quadratic_runs",
    "retrieval",
    "retrieval_runs",
    "rmt_matches_xl_and_gap_grows",
    "segmented_transformer_at_chance",
    "start_only_memory_no_better",
    "verdict_counts",
]

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
    (
        "Memory tokens improve Transformer-XL: RMT combined with Transformer-XL (rmt_xl) beats "
        "Transformer-XL at the same cache length.",
        RMT,
        memory_tokens_improve_xl,
    ),
    (
        "Not a claim of the paper: with its memory fixed, RMT trained on copy or reverse keeps its accuracy "
        "on samples up to twice as long, which put more symbols in each memory slot.",
        CAPACITY,
        fixed_memory_capacity,
    ),
]


def claims_table(
    records: pd.DataFrame,
    generalisation: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    million: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per claim: claim, about (RMT or the baselines), paper, ours, runs and verdict
    (``records`` from ``load_records``; ``generalisation`` from ``rmt_lite.repro.generalisation.load``;
    ``history`` from ``load_history``, the validation curves claims 6 and 7 check for an order
    that is still moving; ``million`` from ``rmt_lite.repro.needle_million.load``, the needle read
    across a million tokens, claim 11's second part). Records trained from an edited tree are never
    read (:func:`clean`).
    ``paper_short`` and ``ours_short`` give the deciding comparison at a glance, ``differs`` how
    our setting differs from the paper's where that may decide the verdict."""
    records = clean(records)
    rows = []
    extra = {beyond_trained: [generalisation], fixed_memory_capacity: [generalisation]}
    extra |= {needle_far_beyond: [generalisation, million]}
    extra |= {language_modelling: [history], bptt_depth_matters: [history]}
    for number, (text, about, check) in enumerate(CLAIMS, start=1):
        v = check(records, *extra.get(check, []))
        rows.append(
            {
                "#": number,
                "claim": text,
                "about": about,
                "paper": v.paper,
                "ours": v.ours,
                "runs": v.runs,
                "verdict": v.verdict,
                "paper_short": v.paper_short or "-",
                "ours_short": v.ours_short or "-",
                "differs": v.differs or "none known",
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
