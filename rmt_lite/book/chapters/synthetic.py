"""Chapters 2-4 (copy and reverse, associative retrieval, longer sequences; paper section 4.1,
Fig. 4 and 5): the tables and summaries their figures draw, the paper's numbers beside ours, the
decoded samples, the curriculum and the length generalisation of trained models.

Names used throughout:

- ``label``: the model as the book names it (:func:`rmt_lite.config.display_name`); a
  ``transformer`` that reads the whole sample in one segment is ``"transformer (whole)"`` (the
  full-attention upper bound), as in the paper's CSVs;
- a *summary* is one row per setting (task, label, memory size, number of segments) with the
  mean, minimum and maximum over seeds of the per-token accuracy (``acc``: greedy, the paper's
  metric) and of the whole-answer exact match (``exact``), and the seeds and commits behind it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import data_gen

from ...config import display_name, remembers
from ...evaluate import greedy_predictions
from ...records import RunRecord, load_records, read_records
from ...repro import paper
from ...repro.generalisation import generalisation_lengths, length_generalisation
from ...run_config import EXPERIMENTS, resolve
from ...runs import finished, load_model, train_or_reuse
from ..plots import MODEL_ORDER, model_order
from .provenance import format_seeds, records_provenance

SUMMARY_COLUMNS = [
    "source",
    "task",
    "label",
    "mem_size",
    "mem_sizes",
    "num_segments",
    "segment_len",
    "seq_len",
    "acc_mean",
    "acc_min",
    "acc_max",
    "exact_mean",
    "exact_min",
    "exact_max",
    "n_runs",
    "seeds",
    "commits",
    "wall_time_s",
]
# per-token chance of a model that guesses uniformly among the answer's possible symbols
RETRIEVAL_VALUES = 10


def chance_level(task: str, num_symbols: int | None = None) -> float:
    """Per-token accuracy of uniform guessing: ``1 / num_symbols`` for copy and reverse (each answer
    token is one of ``num_symbols`` symbols), ``1 / 10`` for associative retrieval (the answer is
    one of the 10 values). ``task`` may carry the paper's length suffix (``copy120``) or be a
    long experiment's name (``copy_long``)."""
    base = task.split("_")[0].rstrip("0123456789")
    if base == "retrieval":
        return 1.0 / RETRIEVAL_VALUES
    if base in ("copy", "reverse"):
        if not num_symbols or num_symbols < 1:
            raise ValueError(f"num_symbols={num_symbols!r} is not allowed for task {task!r}: a positive integer")
        return 1.0 / num_symbols
    raise ValueError(f"task={task!r} is not allowed: copy, reverse or retrieval (optionally with a suffix)")


def _task_columns(experiment: str) -> list[str]:
    return list(EXPERIMENTS[experiment].profiles["smoke"].get("task", {}))


def _seq_len(experiment: str, row: pd.Series) -> int:
    spec = EXPERIMENTS[experiment]
    params = {k: int(row[k]) for k in _task_columns(experiment) if k in row and not pd.isna(row[k])}
    return int(data_gen.make_task(spec.task_name, **params).seq_len)


def summarise_records(
    records: pd.DataFrame, *, split: str = "test", mem_size: int | dict | None = None, source: str = "ours"
) -> pd.DataFrame:
    """One row per (experiment, label, mem_size, num_segments) of a :func:`rmt_lite.load_records`
    table: mean / min / max over seeds of ``<split>_acc`` and ``<split>_exact_match``, the seeds,
    the commits and the summed training time.

    ``mem_size``: keep only memory models (``mt``, ``xl``, ``rmt``, ``rmt_xl``) of that memory
    size (the equal-memory comparison), or of ``mem_size[experiment]`` for a dict; the
    ``transformer`` rows have no memory and are kept.
    Returns an empty frame with :data:`SUMMARY_COLUMNS` when there is nothing to summarise.
    """
    if records is None or len(records) == 0:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    df = records.copy()
    for col in (f"{split}_acc", f"{split}_exact_match"):
        if col not in df:
            raise ValueError(f"split={split!r} is not allowed for these records: they have no column {col!r}")
    df["label"] = [display_name(m, n) for m, n in zip(df["model"], df["num_segments"])]
    df["mem_size"] = df["mem_size"].where(df["model"].map(remembers), 0).astype(int)
    if mem_size is not None:
        want = df["experiment"].map(mem_size) if isinstance(mem_size, dict) else mem_size
        df = df[(df["mem_size"] == want) | ~df["model"].map(remembers)]
    df["seq_len"] = [_seq_len(e, r) for e, (_, r) in zip(df["experiment"], df.iterrows())]
    rows = []
    keys = ["experiment", "label", "mem_size", "num_segments", "segment_len", "seq_len"]
    for key, g in df.groupby(keys, sort=False):
        acc, ex = g[f"{split}_acc"].astype(float), g[f"{split}_exact_match"].astype(float)
        rows.append(
            dict(
                zip(keys, key),
                source=source,
                mem_sizes=str(int(key[2])),
                acc_mean=acc.mean(),
                acc_min=acc.min(),
                acc_max=acc.max(),
                exact_mean=ex.mean(),
                exact_min=ex.min(),
                exact_max=ex.max(),
                n_runs=len(g),
                seeds=format_seeds(g["seed"]),
                commits=",".join(sorted(set(g["git_sha"].astype(str)))),
                wall_time_s=float(g["wall_time_s"].sum()),
            )
        )
    out = pd.DataFrame(rows).rename(columns={"experiment": "task"})
    out["num_segments"] = out["num_segments"].astype(int)
    return _sort(out[SUMMARY_COLUMNS])


def _sort(df: pd.DataFrame) -> pd.DataFrame:
    rank = {m: i for i, m in enumerate(MODEL_ORDER)}
    return (
        df.assign(_r=df["label"].map(lambda m: rank.get(m, len(rank))))
        .sort_values(["task", "_r", "mem_size", "num_segments"])
        .drop(columns="_r")
        .reset_index(drop=True)
    )


def memory_as_long_as_segment(records: pd.DataFrame) -> pd.DataFrame:
    """The runs whose memory (or cache) is as long as a segment, the paper's headline rows, and the
    transformer's, which has none."""
    if not len(records):
        return records
    return records[(records["mem_size"] == records["segment_len"]) | ~records["model"].map(remembers)]


def load_task_records(results_dir: str | Path, experiments: Sequence[str], profile: str) -> pd.DataFrame:
    """:func:`rmt_lite.load_records` of several experiments at one profile, in one table (empty,
    without columns, when none has a record)."""
    frames = [load_records(results_dir, e, profile=profile) for e in experiments]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def chance_levels(tasks: Sequence[str], records: pd.DataFrame | None = None, profile: str = "cpu") -> dict[str, float]:
    """:func:`chance_level` of each experiment in ``tasks``, for the number of symbols of its
    runs in ``records`` (when they hold it) or else of ``profile``."""
    out = {}
    for t in tasks:
        n = None
        if records is not None and len(records) and "num_symbols" in records:
            vals = records.loc[records["experiment"] == t, "num_symbols"].dropna().unique()
            if len(vals) > 1:
                raise ValueError(f"records of {t!r} mix num_symbols {sorted(vals)}; allowed: one value per task")
            n = int(vals[0]) if len(vals) else None
        if n is None:
            n = resolve(t, "rmt", profile).task.get("num_symbols")
        out[t] = chance_level(t, n)
    return out


def find_checkpoint(results_dir: str | Path, experiment: str, model: str, profile: str) -> Path | None:
    """The folder of a finished run (``record.json``) of ``experiment``/``model``/``profile`` under
    ``results_dir`` that holds its ``checkpoint.pt`` (not committed: only where the run was
    trained) or its shipped weights (``model.safetensors``), lowest seed first; None when there is none."""
    found = []
    for r in read_records(results_dir, experiment):
        folder = Path(results_dir) / experiment / r.run_id
        if r.model == model and r.profile == profile and finished(folder):
            found.append((r.seed, r.run_id, folder))
    return sorted(found)[0][2] if found else None


@dataclass
class Shown:
    """Which runs a chapter's figures show: the committed records when there are any, else the
    notebook's own fresh runs (see :func:`choose_records`)."""

    records: pd.DataFrame  # load_records-style table
    name: str  # legend name of our runs: "ours (cpu)" or "this smoke run"
    provenance: str  # the stamp line of the figures
    committed: bool
    profile: str  # the profile the records come from

    @property
    def title_suffix(self) -> str:
        """Nothing for committed runs; `` (smoke run, not a result)`` for the fresh ones."""
        return "" if self.committed else f" ({self.profile} run, not a result)"


def choose_records(
    committed: pd.DataFrame,
    fresh: pd.DataFrame,
    *,
    committed_profile: str,
    profile: str,
    fresh_provenance: str,
) -> Shown:
    """The committed records (``committed``, profile ``committed_profile``) when there are any;
    otherwise the notebook's own ``fresh`` runs at ``profile``, whose provenance line says that a
    smoke run says nothing about the paper."""
    if len(committed):
        return Shown(
            committed,
            f"ours ({committed_profile})",
            records_provenance(committed, "committed records"),
            True,
            committed_profile,
        )
    smoke = profile == "smoke"
    return Shown(
        fresh,
        f"this {profile} run",
        fresh_provenance + (": a smoke run, says nothing about the paper" if smoke else ""),
        False,
        profile,
    )


def titles_with_lengths(ours: pd.DataFrame, paper: pd.DataFrame, tasks: Sequence[str]) -> list[str]:
    """Panel titles naming our sample length(s) and the paper's for each task."""
    out = []
    for t in tasks:
        mine = ", ".join(map(str, sorted(set(ours.loc[ours["task"] == t, "seq_len"])))) or "-"
        theirs = ", ".join(map(str, sorted(set(paper.loc[paper["task"] == t, "seq_len"])))) or "-"
        out.append(f"{t.capitalize()}: ours {mine} tokens, paper {theirs}")
    return out


def train_label(
    experiment: str,
    label: str,
    profile: str,
    seed: int,
    *,
    num_segments: int | None = None,
    overrides: dict | None = None,
    results_dir: str | Path | None = None,
    device: str = "auto",
    log=None,
) -> tuple[RunRecord, Path]:
    """One run of a book label through the chapters' one policy
    (:func:`rmt_lite.runs.train_or_reuse`): ``"transformer (whole)"`` is a
    ``transformer`` on one segment, the others use ``num_segments`` (None: the profile's)."""
    model = "transformer" if label == "transformer (whole)" else label
    ov = dict(overrides or {})
    if label == "transformer (whole)":
        ov["num_segments"] = 1
    elif num_segments is not None:
        ov["num_segments"] = num_segments
    return train_or_reuse(experiment, model, profile, seed, ov or None, results_dir=results_dir, device=device, log=log)


def runs_table(records: pd.DataFrame) -> pd.DataFrame:
    """A short table of runs for the reader: model, seed, segments, segment length, memory, steps,
    why training stopped (``steps`` or ``target``), time, and the test accuracy (per token, the
    paper's metric) and exact match."""
    if len(records) == 0:
        return pd.DataFrame()
    df = records.assign(label=[display_name(m, n) for m, n in zip(records["model"], records["num_segments"])])
    out = pd.DataFrame(
        {
            "experiment": df["experiment"],
            "model": df["label"],
            "seed": df["seed"],
            "segments": df["num_segments"].astype(int),
            "seg. len": df["segment_len"],
            "memory": df["mem_size"].where(df["model"].map(remembers), 0),
            "steps": df["steps_done"],
            "stop": df["stop_reason"].str.split(":").str[0],
            "time s": df["wall_time_s"].round(0).astype(int),
            "accuracy": df["test_acc"].round(3),
            "exact": df["test_exact_match"].round(3),
        }
    )
    return out.reset_index(drop=True)


def paper_summary(
    datasets: str | Sequence[str],
    *,
    memory: str = "segment_len",
    query: str | None = None,
    task: str | None = None,
    synthetic: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The paper's runs of ``datasets`` (the CSVs' names: ``copy``, ``reverse``, ``retrieval``,
    ``copy120``, ...) summarised like :func:`summarise_records` (``exact_*`` are NaN: the paper
    reports per-token accuracy only).

    ``memory="segment_len"`` keeps the memory models' runs whose memory size equals the nominal
    segment length (the CSVs' ``tgt_len``; the setting behind the headline numbers, e.g. copy in 9
    segments: xl 0.28, rmt 1.0) and pools them by the number of segments the reference really
    made (``mem_sizes`` lists the sizes pooled); ``"all"`` keeps every memory size apart.
    ``segment_len`` is the real segment length, ``ceil(seq_len / num_segments)``. ``query`` is an extra
    :meth:`pandas.DataFrame.query` filter on the columns of :func:`rmt_lite.repro.paper.synthetic`.
    ``task`` renames the rows' task (e.g. to put the paper beside our experiment ``copy_long``).
    """
    if memory not in ("segment_len", "all"):
        raise ValueError(f"memory={memory!r} is not allowed: 'segment_len' or 'all'")
    df = synthetic if synthetic is not None else paper.synthetic()
    names = [datasets] if isinstance(datasets, str) else list(datasets)
    unknown = sorted(set(names) - set(df["task"]))
    if unknown:
        raise ValueError(f"datasets={unknown} are not allowed: the paper's CSVs hold {sorted(set(df['task']))}")
    df = df[df["task"].isin(names)]
    if memory == "segment_len":
        df = df[df["model"].str.startswith("transformer") | (df["mem_size"] == df["segment_len"])]
    if query:
        df = df.query(query)
    if len(df) == 0:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = []
    # the reference split with torch.chunk, so two nominal segment lengths can give the same
    # number of segments (rmt_lite.repro.paper.chunked_segments): group by the real number
    keys = ["task", "model", "n_segments", "seq_len"] + (["mem_size"] if memory == "all" else [])
    for key, g in df.groupby(keys, sort=False):
        d = dict(zip(keys, key))
        acc = g["accuracy"].astype(float)
        mems = sorted({int(m) for m in g["mem_size"]})
        rows.append(
            dict(
                source="paper",
                task=task or d["task"],
                label=d["model"],
                mem_size=mems[-1],
                mem_sizes=",".join(map(str, mems)),
                num_segments=int(d["n_segments"]),
                segment_len=-(-int(d["seq_len"]) // int(d["n_segments"])),
                seq_len=int(d["seq_len"]),
                acc_mean=acc.mean(),
                acc_min=acc.min(),
                acc_max=acc.max(),
                exact_mean=np.nan,
                exact_min=np.nan,
                exact_max=np.nan,
                n_runs=len(g),
                seeds=format_seeds(g["seed"]),
                commits="paper",
                wall_time_s=np.nan,
            )
        )
    return _sort(pd.DataFrame(rows)[SUMMARY_COLUMNS])


def generalisation_runs(
    results_dir: str | Path,
    experiment: str,
    models: Sequence[str],
    *,
    committed_profile: str,
    fresh: Iterable,
    profile: str,
    factors: Sequence[float],
    n_samples: int = 200,
    device: str = "cpu",
) -> pd.DataFrame:
    """:func:`length_generalisation` of each model of ``models``: the committed
    ``committed_profile`` run when its checkpoint is still in ``results_dir``
    (:func:`find_checkpoint`), otherwise the fresh run (a :class:`rmt_lite.RunRecord` of
    ``fresh``) of ``experiment`` at ``profile``'s memory size. Test lengths: ``factors`` times the
    trained length. Columns of :func:`length_generalisation` plus model, profile, seed and
    ``source`` (which run was tested)."""
    fresh = list(fresh)
    rows = []
    for m in models:
        run_dir = find_checkpoint(results_dir, experiment, m, committed_profile)
        source = f"committed {committed_profile} run {run_dir.name}" if run_dir is not None else ""
        if run_dir is None:
            want = resolve(experiment, m, profile).mem_size
            runs = [r for r in fresh if r.experiment == experiment and r.model == m and r.config["mem_size"] == want]
            if not runs:
                raise ValueError(
                    f"models contains {m!r}, which has neither a committed {committed_profile} checkpoint "
                    f"in {results_dir} nor a fresh {profile} run of {experiment}; allowed: models "
                    "trained in the notebook"
                )
            run_dir, source = runs[0].run_dir, f"this notebook's {profile} run"
        model, cfg = load_model(run_dir, device=device)
        df = length_generalisation(model, cfg, generalisation_lengths(cfg, factors), n_samples=n_samples)
        rows.append(
            df.assign(
                model=m, profile=cfg.profile, seed=cfg.seed, source=f"{source} (profile={cfg.profile}, seed={cfg.seed})"
            )
        )
    return pd.concat(rows, ignore_index=True)


def decode_example(task, tokens, targets, loss_mask, segment_len: int, prediction=None) -> str:
    """One sample as aligned text lines: the segment of every position, the prompt (what the
    model reads before it has to answer), the answer, and with ``prediction`` (aligned with
    ``targets``, e.g. from :func:`predict`) the model's answer with a ``^`` under every wrong
    token. Tokens are shown as the task's ``decode`` shows them, one character each (copy,
    reverse, retrieval)."""
    tokens, targets, loss_mask = (torch.as_tensor(t).flatten() for t in (tokens, targets, loss_mask))
    text = task.decode(tokens)
    if len(text) != len(tokens):
        raise ValueError(
            f"task {task.name!r} does not decode one character per token; allowed: copy, reverse, "
            "retrieval with at most 26 symbols"
        )
    scored = loss_mask.nonzero().flatten()
    if len(scored) == 0:
        raise ValueError("loss_mask marks no position: there is no answer to show")
    a = int(scored[0])  # the answer's first token is predicted at position a, written at a + 1
    S = len(tokens)
    seg_row = "".join(str(min(i, S - 1) // segment_len % 10) for i in range(S + 1))
    pad = " " * (a + 1)
    answer = task.decode(targets[loss_mask])
    lines = [f"segment : {seg_row}", f"prompt  : {text[: a + 1]}", f"answer  : {pad}{answer}"]
    if prediction is not None:
        pred = torch.as_tensor(prediction).flatten()
        got, want = pred[loss_mask].tolist(), targets[loss_mask].tolist()
        marks = "".join("^" if p != t else " " for p, t in zip(got, want))
        n_ok = marks.count(" ")
        lines += [
            f"model   : {pad}{task.decode(pred[loss_mask])}",
            f"errors  : {pad}{marks}".rstrip() if "^" in marks else f"errors  : {pad}(none)",
            f"          {n_ok}/{len(marks)} answer tokens right",
        ]
    return "\n".join(lines)


def predict(model, batch, segment_len: int):
    """Greedy predictions of a task model on a ``TaskBatch`` (aligned with ``batch.targets``), as
    the paper's metric computes them: the model continues from its own tokens across segments."""
    with torch.no_grad():
        model.eval()
        return greedy_predictions(model, batch.tokens, batch.loss_mask, segment_len).cpu()


def lookup(summary: pd.DataFrame, task: str, label: str, num_segments: int, stat: str = "acc_mean") -> float:
    """One number of a summary (NaN when that setting was not run)."""
    g = summary[(summary["task"] == task) & (summary["label"] == label) & (summary["num_segments"] == num_segments)]
    return float(g[stat].iloc[0]) if len(g) == 1 else (float(g[stat].mean()) if len(g) else math.nan)


def comparison_table(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Ours beside the paper's, one row per (task, model, segments): our mean accuracy and exact
    match with the seeds behind them, the paper's mean accuracy and number of runs, and each
    side's memory size (memory tokens or cache length; 0 for the transformer)."""
    cols = ["task", "label", "num_segments"]
    o = ours[cols + ["mem_sizes", "acc_mean", "exact_mean", "seeds"]].rename(
        columns={"acc_mean": "acc ours", "exact_mean": "exact ours", "seeds": "seeds ours", "mem_sizes": "mem ours"}
    )
    p = paper[cols + ["mem_sizes", "acc_mean", "n_runs"]].rename(
        columns={"acc_mean": "acc paper", "n_runs": "runs paper", "mem_sizes": "mem paper"}
    )
    out = o.merge(p, on=cols, how="outer").rename(columns={"label": "model", "num_segments": "segs"})
    out["runs paper"] = out["runs paper"].astype("Int64")
    out = out.assign(model=pd.Categorical(out["model"], model_order(out["model"]), ordered=True))
    return out.sort_values(["task", "model", "segs"]).reset_index(drop=True)
