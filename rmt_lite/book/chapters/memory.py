"""Chapter 7 (what the memory holds): which analysis to show, where it comes from, and the tables
and numbers of the chapter.

The measurements (attention means, block mass, memory states, probes, norms) and the saved
analyses are :mod:`rmt_lite.repro.memory_analysis`; the figures :mod:`rmt_lite.book.plots.memory`. Here: the
committed analyses, their provenance line, the accuracy beside the paper's, the probe and block
tables, and the numbers the prose of the chapter glues in (the sentences are in the notebook).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ...records import RunRecord, repo_root
from ...repro.memory_analysis import BLOCKS, MemoryAnalysis, find_analyses
from .provenance import records_provenance


# ------------------------------------------------------------------------------------------------
# which analysis, from where
def committed_analysis(
    results_dir: str | Path, experiment: str, profile: str = "cpu", seed: int = 0
) -> MemoryAnalysis | None:
    """The saved analysis of ``experiment`` at ``profile`` under ``results_dir`` (the run of
    ``seed`` when there is one, else the first found), or None."""
    paths = find_analyses(results_dir, experiment, profile)
    if not paths:
        return None
    mine = [p for p in paths if p.stem.endswith(f"-s{seed}") or f"-s{seed}-" in p.stem]
    return MemoryAnalysis.load((mine or paths)[0])


def analysis_provenance(analysis: MemoryAnalysis, where: str) -> str:
    """The :func:`~rmt_lite.book.chapters.provenance.records_provenance` line of the run an analysis comes
    from, naming the run, and the commit of the analysis when it differs from the run's."""
    m = analysis.meta
    run = pd.DataFrame([dict(profile=m["profile"], seed=m["seed"], git_sha=m.get("git_sha", "?"))])
    line = records_provenance(run, f"{where} ({m['experiment']}/{m.get('run_id', '?')})")
    made = m.get("analysis_git_sha")
    return line + (f", analysed at commit {made}" if made and made != m.get("git_sha") else "")


def models_table(runs: dict[str, tuple[RunRecord, Path]]) -> pd.DataFrame:
    """One row per task of the runs ``{task: (record, run_dir)}`` of
    :func:`~rmt_lite.runs.train_or_reuse`: the run, its folder (relative to the
    checkout), steps, why training stopped, training seconds, test accuracy and exact match, commit."""
    root = repo_root() or Path.cwd()
    rows = []
    for task, (record, run_dir) in runs.items():
        folder = Path(run_dir).resolve()
        rows.append(
            {
                "task": task,
                "run": record.run_id,
                "folder": str(folder.relative_to(root)) if folder.is_relative_to(root) else folder.name,
                "steps": record.steps,
                "stopped by": record.stop_reason,
                "train s": record.wall_time_s,
                "test acc": record.metrics.get("test", {}).get("acc"),
                "exact match": record.metrics.get("test", {}).get("exact_match"),
                "commit": record.git_sha,
            }
        )
    return pd.DataFrame(rows)


def model_facts(analysis: MemoryAnalysis) -> dict:
    """What the prose says about the analysed model: profile, seed, steps, n_layers, d_model,
    memory slots, segments, segment length, test accuracy (NaN when not recorded) and chance."""
    m = analysis.meta
    acc = m.get("test_acc")
    return dict(
        profile=m["profile"],
        seed=int(m["seed"]),
        steps=m.get("steps", math.nan),
        n_layers=int(m["n_layers"]),
        d_model=int(m["d_model"]),
        slots=int(m["num_mem_tokens"]),
        segments=len(m["segment_lens"]),
        segment_len=int(m["segment_len"]),
        test_acc=float(acc) if acc is not None else math.nan,
        chance=float(m["chance"]),
    )


def accuracy_beside_paper(analysis: MemoryAnalysis, results_dir: str | Path, this_run: str) -> pd.DataFrame:
    """Per-token test accuracy of ``rmt`` on the analysed task: the paper's runs with the same
    number of segments (its raw CSVs), our committed ``cpu`` records of that task and number of
    segments, and the analysed model (its row named ``this_run``)."""
    from ...records import load_records
    from ...repro import paper

    m = analysis.meta
    n_seg = len(m["segment_lens"])
    rows = []
    ref = paper.synthetic()
    ref = ref[(ref["task"] == m["task"]) & (ref["model"] == "rmt") & (ref["n_segments"] == n_seg)]
    for mem, g in ref.groupby("mem_size"):
        rows.append(
            dict(
                source="paper",
                input_tokens=int(g["seq_len"].iloc[0]),
                segments=n_seg,
                memory_tokens=int(mem),
                accuracy=float(g["accuracy"].mean()),
                runs=len(g),
                seeds=",".join(str(int(s)) for s in sorted(g["seed"].dropna().unique())),
            )
        )
    rec = load_records(results_dir, m["experiment"], profile="cpu")
    if len(rec):
        rec = rec[(rec["model"] == "rmt") & (rec["num_segments"] == n_seg)]
        for mem, g in rec.groupby("mem_size"):
            rows.append(
                dict(
                    source="ours (cpu)",
                    input_tokens=int(g["seq_len"].iloc[0]),
                    segments=n_seg,
                    memory_tokens=int(mem),
                    accuracy=float(g["test_acc"].mean()),
                    runs=len(g),
                    seeds=",".join(str(int(s)) for s in sorted(g["seed"].unique())),
                )
            )
    rows.append(
        dict(
            source=this_run,
            input_tokens=int(m["seq_len"]),
            segments=n_seg,
            memory_tokens=int(m["num_mem_tokens"]),
            accuracy=float(m["test_acc"]) if m.get("test_acc") is not None else math.nan,
            runs=1,
            seeds=str(m["seed"]),
        )
    )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# attention
def block_table(analysis: MemoryAnalysis) -> pd.DataFrame:
    """Share of each query block's attention per key block, mean over layers: one row per segment
    and query block (columns segment, query, read, tokens, write; each row sums to 1)."""
    b = analysis.blocks
    wide = b.pivot_table(index=["segment", "query"], columns="key", values="share", aggfunc="mean")
    wide = wide.reindex(columns=list(BLOCKS)).reset_index()
    wide.columns.name = None
    return wide


def attention_share(analysis: MemoryAnalysis, query: str, key: str, segments: list[int] | None = None) -> float:
    """Mean (over layers and the given segments) share of the ``query`` block's attention that
    goes to the ``key`` block (NaN when no segment is given or matches)."""
    b = analysis.blocks
    sel = (b["query"] == query) & (b["key"] == key)
    if segments is not None:
        sel &= b["segment"].isin(segments)
    return float(b[sel]["share"].mean()) if sel.any() else math.nan


def attention_numbers(analysis: MemoryAnalysis) -> dict:
    """The shares the prose quotes: the tokens' attention to the read memory in segment 0
    (``read_first``) and in the later segments (``read_later``), and the write slots' attention
    to the tokens of their segment in the segments whose memory is read later (``write_tokens``)."""
    n = len(analysis.seg_lens)
    return dict(
        read_first=attention_share(analysis, "tokens", "read", [0]),
        read_later=attention_share(analysis, "tokens", "read", list(range(1, n))),
        write_tokens=attention_share(analysis, "write", "tokens", list(range(n - 1))),
    )


# ------------------------------------------------------------------------------------------------
# probes
def probe_summary(analysis: MemoryAnalysis) -> pd.DataFrame:
    """Mean held-out probe accuracy over input positions, per model ("trained"/"untrained") and
    memory state: ``all_slots`` (one probe on all slots together) and ``best_single_slot`` (for
    each position its best single slot)."""
    df = analysis.probes
    rows = []
    for (model, t), g in df.groupby(["model", "memory"]):
        joint = g[g["slot"] == "all"]["accuracy"].mean()
        best = g[g["slot"] != "all"].groupby("position")["accuracy"].max().mean()
        rows.append(dict(model=model, memory=int(t), all_slots=float(joint), best_single_slot=float(best)))
    return pd.DataFrame(rows)


def probe_table(analyses: dict[str, MemoryAnalysis]) -> pd.DataFrame:
    """:func:`probe_summary` of every task side by side: one row per task and memory state
    (``M0``, ``M1``, ...), the all-slot and best-single-slot accuracy of the trained and the
    untrained model."""
    frames = []
    for task, analysis in analyses.items():
        s = probe_summary(analysis)
        wide = s.pivot(index="memory", columns="model", values=["all_slots", "best_single_slot"])
        frames.append(
            pd.DataFrame(
                {
                    "task": task,
                    "memory": [f"M{t}" for t in wide.index],
                    "all slots, trained": wide[("all_slots", "trained")].to_numpy(),
                    "all slots, untrained": wide[("all_slots", "untrained")].to_numpy(),
                    "best slot, trained": wide[("best_single_slot", "trained")].to_numpy(),
                    "best slot, untrained": wide[("best_single_slot", "untrained")].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def probe_numbers(analysis: MemoryAnalysis, memory: int = 1) -> dict:
    """The probe numbers the prose quotes for memory state ``M<memory>``: all-slot and best-single-
    slot accuracy of the trained and untrained model, chance, the number of features of the
    all-slot probe, the number of input positions, and how many different slots are the best
    slot of some position (trained model)."""
    s = probe_summary(analysis).set_index(["model", "memory"])
    g = analysis.probes
    g = g[(g["model"] == "trained") & (g["memory"] == memory) & (g["slot"] != "all")]
    winners = g.loc[g.groupby("position")["accuracy"].idxmax(), "slot"]
    m = analysis.meta
    return dict(
        all_trained=float(s.loc[("trained", memory), "all_slots"]),
        all_untrained=float(s.loc[("untrained", memory), "all_slots"]),
        best_trained=float(s.loc[("trained", memory), "best_single_slot"]),
        best_untrained=float(s.loc[("untrained", memory), "best_single_slot"]),
        chance=float(m["chance"]),
        features=int(m["num_mem_tokens"]) * int(m["d_model"]),
        positions=int(g["position"].nunique()),
        distinct_best=int(winners.nunique()),
    )


# ------------------------------------------------------------------------------------------------
# norms
def norm_numbers(analysis: MemoryAnalysis) -> dict:
    """The norm numbers the prose quotes: the lowest and highest slot norm after the first segment
    (``norm_min``, ``norm_max``), the mean norm of ``M0`` (``norm_m0``), and the highest mean
    cosine between the slots of a sample after the first segment, of the raw vectors
    (``cosine_raw``) and of their sample-specific parts (``cosine_centred``)."""
    df = analysis.norms
    later = df[df["memory"] >= 1]
    return dict(
        norm_min=float(later["norm"].min()),
        norm_max=float(later["norm"].max()),
        norm_m0=float(df.loc[df["memory"] == 0, "norm"].mean()),
        cosine_raw=float(later.groupby("memory")["cosine_to_other_slots"].mean().max()),
        cosine_centred=float(later.groupby("memory")["centred_cosine"].mean().max()),
    )
